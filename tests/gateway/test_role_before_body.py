"""The role comes before the body and the query: on every route that takes a body or query parameters and a role, a
caller without the role who sends a body or a query that breaks the schema gets 403 (not a 422 that would show them
the schema), and a caller with the role gets the 422 naming the field. The routes are walked from the routers
themselves, so a new route is covered (and a new one without its RoleCheck dependency fails here)."""

import inspect
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from services.gateway.auth import Role
from services.gateway.http import ROUTERS, deps
from services.gateway.http.deps import RoleCheck
from tests.gateway.fakes import World

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TOKENS = {
    Role.MEMBER: "member",
    Role.SECRETARY: "secretary",
    Role.COMMITTEE_OFFICER: "province_officer",
    Role.INTEGRATION: "integration",
    Role.OPERATOR: "operator",
    Role.ADMIN: "admin",
}
"""The `headers` fixture's token of each role."""
INVALID = {"zz_not_a_field": 1}
"""A body no route's model accepts: every body model refuses unknown fields (CreateModel), so the 422 names one."""


def write_routes_with_a_body() -> list[APIRoute]:
    """Every write route whose request has a body: a pydantic body model, or one the endpoint reads itself."""
    return [
        route
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        and set(route.methods or ()) & WRITES
        and (route.body_field is not None or "requestBody" in (route.openapi_extra or {}))
    ]


def role_check(route: APIRoute) -> RoleCheck:
    """The route's RoleCheck dependency; the test fails naming a route that has none."""
    checks = [each.dependency for each in route.dependencies if isinstance(each.dependency, RoleCheck)]
    assert len(checks) == 1, f"{sorted(route.methods or ())} {route.path} takes a body but no RoleCheck dependency"
    return checks[0]


def path_of(route: APIRoute, world: World) -> str:
    """The route's path with a valid value in every parameter (so only the body is wrong)."""
    samples = {
        "cell_id": world.cell_a1,
        "meeting_id": world.meeting_a1,
        "task_id": "t-1",
        "rejection_id": "rej-1",
        "queue": "meetings.ingest.dlq",
        "service": "meetings",
        "row_id": "1",
        "committee_id": world.ward_a,
        "rule": "meeting_reminder",
    }
    path = route.path
    for name in route.param_convertors:
        assert name in samples, f"{route.path}: give the path parameter {name!r} a sample value here"
        path = path.replace("{" + name + "}", samples[name])
    return path


def test_every_write_route_with_a_body_is_found() -> None:
    """The walk sees the routes it must (a change in how routes are declared cannot empty it silently)."""
    paths = {route.path for route in write_routes_with_a_body()}
    assert {"/v1/events", "/v1/cells/{cell_id}/meetings", "/v1/accounts", "/v1/me/preferences"} <= paths
    assert len(paths) >= 20


@pytest.mark.parametrize("route", write_routes_with_a_body(), ids=lambda route: f"{route.path}")
async def test_a_caller_without_the_role_gets_403_before_the_body_is_judged(
    route: APIRoute, client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    rule = role_check(route)
    method = sorted(set(route.methods or ()) & WRITES)[0]
    path = path_of(route, world)
    outsider = next(role for role in TOKENS if role not in rule.roles)
    refused = await client.request(method, path, json=INVALID, headers=headers[TOKENS[outsider]])
    assert refused.status_code == 403, (path, outsider, refused.text)
    error: dict[str, Any] = refused.json()
    assert error["code"] == "forbidden" and rule.action in error["message"]
    assert "zz_not_a_field" not in refused.text

    if route.body_field is None:
        return  # the endpoint reads the body itself, after its role check (POST /v1/events: outcomes, not 422)
    insider = next(role for role in TOKENS if role in rule.roles)
    judged = await client.request(method, path, json=INVALID, headers=headers[TOKENS[insider]])
    assert judged.status_code == 422, (path, insider, judged.text)
    field = judged.json()["field"]
    assert field and field != "body" and judged.json()["message"].startswith(f"{field}: "), judged.text


BAD_QUERY_VALUE = "zz_not_a_value" * 20
"""Breaks every query parameter the routes have: not a number, a boolean or a listed value, and over every length."""


def routes_with_a_role_and_a_query() -> list[APIRoute]:
    """Every route with a RoleCheck dependency and query parameters."""
    return [
        route
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        and route.dependant.query_params
        and any(isinstance(each.dependency, RoleCheck) for each in route.dependencies)
    ]


def test_role_rules_are_route_dependencies_everywhere() -> None:
    """No route module checks a role by hand (`require_role` after FastAPI has validated the query), only through a
    RoleCheck; and the walk below finds the operators' lists."""
    for router_module in {
        inspect.getmodule(route.endpoint) for r in ROUTERS for route in r.routes if isinstance(route, APIRoute)
    }:
        assert router_module is not None and router_module is not deps
        assert "require_role(" not in inspect.getsource(router_module), router_module.__name__
    paths = {route.path for route in routes_with_a_role_and_a_query()}
    assert {"/v1/rejections", "/v1/audit", "/v1/held-events", "/v1/me/inbox", "/v1/dead-letters/{queue}"} <= paths


@pytest.mark.parametrize("route", routes_with_a_role_and_a_query(), ids=lambda route: f"{route.path}")
async def test_a_caller_without_the_role_gets_403_before_the_query_is_judged(
    route: APIRoute, client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    rule = role_check(route)
    method = sorted(set(route.methods or ()))[0]
    path = path_of(route, world)
    query = {param.alias: BAD_QUERY_VALUE for param in route.dependant.query_params}
    outsider = next(role for role in TOKENS if role not in rule.roles)
    refused = await client.request(method, path, params=query, headers=headers[TOKENS[outsider]])
    assert refused.status_code == 403, (path, outsider, refused.text)
    assert refused.json()["code"] == "forbidden" and rule.action in refused.json()["message"]
    assert not any(param.alias in refused.text for param in route.dependant.query_params)

    insider = next(role for role in TOKENS if role in rule.roles)
    judged = await client.request(method, path, params=query, headers=headers[TOKENS[insider]])
    assert judged.status_code == 422, (path, insider, judged.text)
    assert judged.json()["field"] in {f"query.{param.alias}" for param in route.dependant.query_params}, judged.text
