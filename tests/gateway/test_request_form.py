"""What FastAPI would read silently is refused naming it, on every route (http.routing.ApiRoute) and every page
(web.core.WebRoute): a body not sent as JSON to a route reading JSON (415), a query parameter given more than once
(422; a 400 page under /app), a query parameter a /v1 route does not read (422; pages ignore it, see http.routing).
The routes are walked from the routers themselves and from the app's route table, so a new one is covered.

The user trial: `Content-Type: text/plain` to the secretary's `POST /v1/cells/{id}/meetings` answered 422 "body: Input
should be a valid dictionary…" where /v1/events answers 415 naming the content type; `?period=2026-11&period=2026-10`
silently used the last one."""

import json
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from services.gateway.http import ROUTERS
from services.gateway.http.deps import RoleCheck
from services.gateway.http.routing import UNEXPECTED_PARAMETER, ApiRoute, query_names
from services.gateway.main import create_app
from tests.gateway.conftest import gateway_settings
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
    assert (other.status_code, other.json()["field"]) == (422, "query.unknown"), other.text  # not ignored: named


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


APP_ROUTES = [
    each.original_route
    for each in iter_route_contexts(
        create_app(gateway_settings("amqp://guest:guest@127.0.0.1:5672/", "postgresql://127.0.0.1/unused")).routes
    )
]
"""The app's route table as served, its included routers walked (built without connecting: in its lifespan)."""
UNEXPECTED = "zz_not_a_param"


def v1_routes(method: str | None = None) -> list[APIRoute]:
    """Every /v1 route of the app's route table (of `method` when given)."""
    return [
        route
        for route in APP_ROUTES
        if isinstance(route, APIRoute)
        and route.path.startswith("/v1/")
        and (method is None or method in (route.methods or ()))
    ]


def any_path_of(route: APIRoute, world: World) -> str:
    """The route's path, a cell, meeting or committee of the fake province in its parameters, `1` in any other (the
    refusal comes before the route reads its path, so a /v1 route added later needs no sample here)."""
    samples = {"cell_id": world.cell_a1, "meeting_id": world.meeting_a1, "committee_id": world.ward_a}
    path = route.path
    for name in route.param_convertors:
        path = path.replace("{" + name + "}", samples.get(name, "1"))
    return path


def unexpected_answer(*names: str) -> dict[str, Any]:
    """The 422 of query parameters a route does not read, named in the order sent."""
    message = "; ".join(f"query.{name}: {UNEXPECTED_PARAMETER}" for name in names)
    return {"code": "invalid", "message": message, "field": f"query.{names[0]}", "service": None}


def test_every_v1_route_of_the_app_refuses_an_unexpected_parameter_and_the_walk_finds_them() -> None:
    assert all(isinstance(route, ApiRoute) and route.refuses_unexpected_parameters for route in v1_routes())
    gets = {route.path for route in v1_routes("GET")}
    assert {"/v1/committees/{committee_id}/ranking", "/v1/committees/{committee_id}/rollup", "/v1/audit"} <= gets
    assert len(gets) >= 30


@pytest.mark.parametrize("route", v1_routes("GET"), ids=lambda route: route.path)
async def test_every_v1_get_route_refuses_a_query_parameter_it_does_not_read_naming_it(
    route: APIRoute, client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    sent = await client.get(any_path_of(route, world), params={UNEXPECTED: "1"}, headers=token_of(route, headers))
    assert sent.status_code == 422, (route.path, sent.text)
    assert sent.json() == unexpected_answer(UNEXPECTED)


@pytest.mark.parametrize(
    "route", [route for route in v1_routes() if "GET" not in (route.methods or ())], ids=lambda route: route.path
)
async def test_every_v1_command_refuses_a_query_parameter_it_does_not_read_before_its_body(
    route: APIRoute, client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    method = sorted(set(route.methods or ()))[0]
    sent = await client.request(
        method, any_path_of(route, world), params={UNEXPECTED: "1"}, json=INVALID, headers=token_of(route, headers)
    )
    assert sent.status_code == 422, (route.path, sent.text)
    assert sent.json() == unexpected_answer(UNEXPECTED)


@pytest.mark.parametrize("route", [route for route in v1_routes() if query_names(route)], ids=lambda route: route.path)
async def test_no_parameter_a_route_declares_is_refused_as_unexpected(
    route: APIRoute, client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    method = sorted(set(route.methods or ()))[0]
    sent = await client.request(
        method,
        any_path_of(route, world),
        params={name: "1" for name in query_names(route)},
        headers=token_of(route, headers),
    )
    assert UNEXPECTED_PARAMETER not in sent.text, (route.path, sent.text)  # a value may be refused, never the name


async def test_the_trials_misspelt_order_and_bogus_parameter_are_refused_and_the_known_ones_read(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    officer = headers["ward_officer"]
    ranking = f"/v1/committees/{world.ward_a}/ranking"
    typo = await client.get(ranking, params={"period": "2026-11", "ordr": "asc"}, headers=officer)
    assert (typo.status_code, typo.json()) == (422, unexpected_answer("ordr")), typo.text
    spelt = await client.get(ranking, params={"period": "2026-11", "order": "asc"}, headers=officer)
    assert spelt.status_code == 200, spelt.text
    rollup = f"/v1/committees/{world.ward_a}/rollup"
    bogus = await client.get(rollup, params={"period": "2026-11", "bogus": "1"}, headers=officer)
    assert (bogus.status_code, bogus.json()) == (422, unexpected_answer("bogus")), bogus.text
    several = await client.get(f"{rollup}?b=1&period=2026-11&a=1&b=2", headers=officer)
    assert (several.status_code, several.json()) == (422, unexpected_answer("b", "a")), several.text
    assert (await client.get(rollup, params={"period": "2026-11"}, headers=officer)).status_code == 200


async def test_an_unexpected_parameter_is_refused_before_the_caller_is_known(
    client: httpx.AsyncClient, world: World
) -> None:
    sent = await client.get(f"/v1/committees/{world.ward_a}/rollup?period=2026-11&ordr=asc")
    assert (sent.status_code, sent.json()) == (422, unexpected_answer("ordr")), sent.text


async def test_health_ignores_a_probes_cache_busting_parameter(client: httpx.AsyncClient) -> None:
    plain = await client.get("/health")
    busted = await client.get("/health", params={"_": "1733400000"})
    assert busted.status_code == plain.status_code != 422, busted.text


async def test_the_api_document_says_an_unexpected_parameter_is_refused_422(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    assert "422 `invalid` naming it in `field` (`query.ordr`)" in document["info"]["description"]
    for route in v1_routes():
        for method in route.methods or ():
            described = document["paths"][route.path][method.lower()]["responses"]["422"]["description"]
            assert "query parameter the route does not read" in described, (route.path, method, described)
