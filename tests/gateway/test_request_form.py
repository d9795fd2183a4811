"""What FastAPI would read silently is refused naming it, on every route (http.routing.ApiRoute) and every page
(web.core.WebRoute): a body not sent as JSON to a route reading JSON (415), a query parameter given more than once
(422; a 400 page under /app). The routes are walked from the routers themselves, so a new one is covered.

The user trial: `Content-Type: text/plain` to the secretary's `POST /v1/cells/{id}/meetings` answered 422 "body: Input
should be a valid dictionary…" where /v1/events answers 415 naming the content type; `?period=2026-11&period=2026-10`
silently used the last one."""

import json
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from services.gateway.http import ROUTERS
from services.gateway.http.deps import RoleCheck
from services.gateway.http.routing import ApiRoute, query_names
from tests.gateway.fakes import World
from tests.gateway.test_app_error_pages import is_page
from tests.gateway.test_command_bodies import SCHEDULE
from tests.gateway.test_role_before_body import INVALID, TOKENS, WRITES, path_of, write_routes_with_a_body

NOT_JSON = ["text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded", "text/json", None]


def routes() -> list[APIRoute]:
    return [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]


def json_routes() -> list[APIRoute]:
    """Every route reading a JSON body into a model (POST /v1/events reads its own content types)."""
    return [route for route in write_routes_with_a_body() if route.body_field is not None]


def token_of(route: APIRoute, headers: dict[str, dict[str, str]]) -> dict[str, str]:
    """A token of a role the route allows (the province officer's where any caller may call it)."""
    checks = [each.dependency for each in route.dependencies if isinstance(each.dependency, RoleCheck)]
    if not checks:
        return headers["province_officer"]
    return headers[TOKENS[next(role for role in TOKENS if role in checks[0].roles)]]


def test_every_route_is_an_api_route_and_the_walks_find_theirs() -> None:
    assert all(isinstance(route, ApiRoute) for route in routes())
    assert {"/v1/cells/{cell_id}/meetings", "/v1/me/preferences", "/v1/accounts"} <= {r.path for r in json_routes()}
    queried = {route.path for route in routes() if query_names(route)}
    assert {
        "/v1/cells/{cell_id}/meetings",
        "/v1/committees/{committee_id}/rollup",
        "/v1/events",
        "/v1/audit",
    } <= queried


async def test_the_trials_text_plain_schedule_is_refused_415_naming_the_content_type(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    url = f"/v1/cells/{world.cell_a1}/meetings"
    sent = await client.post(
        url, content=json.dumps(SCHEDULE), headers={**headers["secretary"], "Content-Type": "text/plain"}
    )
    assert sent.status_code == 415, sent.text
    assert sent.json() == {
        "code": "unsupported_media_type",
        "message": "header.content-type: the content type 'text/plain' is not JSON: send the body as JSON with"
        " Content-Type: application/json",
        "field": "header.content-type",
        "service": None,
    }
    events = await client.post(
        "/v1/events", content=b"{}", headers={**headers["integration"], "Content-Type": "text/plain"}
    )
    assert (events.status_code, events.json()["code"]) == (415, sent.json()["code"])  # the same refusal's shape


@pytest.mark.parametrize("route", json_routes(), ids=lambda route: route.path)
async def test_every_json_body_sent_as_another_content_type_is_refused_415(
    route: APIRoute, client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    method = sorted(set(route.methods or ()) & WRITES)[0]
    token = token_of(route, headers)
    for content_type in NOT_JSON:
        sent = await client.request(
            method,
            path_of(route, world),
            content=json.dumps(INVALID),
            headers={**token, **({"Content-Type": content_type} if content_type else {})},
        )
        assert sent.status_code == 415, (route.path, content_type, sent.text)
        answer: dict[str, Any] = sent.json()
        assert (answer["code"], answer["field"]) == ("unsupported_media_type", "header.content-type"), answer
        assert "application/json" in answer["message"], answer
        assert (repr(content_type.strip()) if content_type else "no content type") in answer["message"], answer
    # JSON with parameters, or as application/*+json, is read: the body's own fault is named
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        judged = await client.request(
            method, path_of(route, world), content=json.dumps(INVALID), headers={**token, "Content-Type": content_type}
        )
        assert judged.status_code == 422 and judged.json()["field"] == "zz_not_a_field", (route.path, judged.text)


async def test_a_json_route_without_a_body_still_says_the_body_is_missing(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    sent = await client.post(f"/v1/cells/{world.cell_a1}/meetings", headers={**headers["secretary"]})
    assert (sent.status_code, sent.json()["field"]) == (422, "body"), sent.text


async def test_the_api_document_says_415_of_every_json_body(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    for route in json_routes():
        for method in set(route.methods or ()) & WRITES:
            assert "415" in document["paths"][route.path][method.lower()]["responses"], route.path


@pytest.mark.parametrize("route", [route for route in routes() if query_names(route)], ids=lambda route: route.path)
async def test_every_query_parameter_given_twice_is_refused_naming_it(
    route: APIRoute, client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    method = sorted(set(route.methods or ()))[0]
    for name in sorted(query_names(route)):
        sent = await client.request(
            method, path_of(route, world), params=[(name, "1"), (name, "2")], headers=token_of(route, headers)
        )
        assert sent.status_code == 422, (route.path, name, sent.text)
        assert sent.json() == {
            "code": "invalid",
            "message": f"query.{name}: given more than once (2 times): give it once, the value meant",
            "field": f"query.{name}",
            "service": None,
        }


async def test_the_trials_period_given_twice_is_refused_and_once_is_read(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    url = f"/v1/committees/{world.ward_a}/rollup"
    officer = headers["ward_officer"]
    twice = await client.get(f"{url}?period=2026-11&period=2026-10", headers=officer)
    assert (twice.status_code, twice.json()["field"]) == (422, "query.period"), twice.text
    once = await client.get(f"{url}?period=2026-10", headers=officer)
    assert once.status_code == 200, once.text
    other = await client.get(f"{url}?period=2026-10&unknown=1&unknown=2", headers=officer)
    assert other.status_code == 200, other.text  # a parameter the route has not is ignored, once or more


@pytest.mark.parametrize(
    "path",
    ["/app/committees/x?period=2026-11&period=2026-10", "/app/sign-in?next=%2Fapp%2F&next=%2Fapp%2Fx", "/app/?a=1&a=1"],
)
async def test_a_page_whose_address_gives_a_parameter_twice_is_a_vietnamese_400_page(
    client: httpx.AsyncClient, path: str
) -> None:
    answer = await client.get(path)
    assert answer.status_code == 400 and is_page(answer), answer.text
    name = path.split("?")[1].split("=")[0]
    assert "Địa chỉ không hợp lệ" in answer.text, answer.text
    assert f"Tham số “{name}” xuất hiện 2 lần trong địa chỉ của trang" in answer.text, answer.text


async def test_a_page_given_each_parameter_once_is_answered_as_before(client: httpx.AsyncClient) -> None:
    answer = await client.get("/app/sign-in?next=%2Fapp%2F")
    assert answer.status_code == 200 and is_page(answer), answer.text
