"""`?cursor=` on every /v1 list that pages (services/gateway/http/paging.py): the accounts and the audit log read
whole while rows are added (the gateway's own tables, real PostgreSQL), and on every list a cursor not given by the
list, tampered with, or carrying a value its query parameter refuses is a 422 naming `query.cursor`. A user trial: a
hand-made members cursor carrying `"at":"9999-12-31…"` was accepted where `?at=9999-12-31T00:00:00Z` was refused."""

import base64
import json
from typing import Any

import httpx
import pytest
from starlette.requests import Request

from services.gateway.bootstrap import GatewayState
from services.gateway.http.errors import query_field
from services.gateway.http.paging import Carried, encode_cursor
from tests.gateway.conftest import TokenFactory
from tests.gateway.fakes import World
from tests.support.cursor_walk import each_once, walk_inserting
from tests.support.ids import random_id


class Loose(Carried):
    """Any carried parameters, as a tampering client would write them (encode_cursor signs whatever it is given)."""

    model_config = {"extra": "allow", "frozen": True}


def lists(world: World, headers: dict[str, dict[str, str]]) -> list[tuple[str, str, dict[str, str], dict[str, Any]]]:
    """Every list that pages: (its cursor's list name, its path, a caller who may read it, a carried parameter its
    query parameter refuses: an unknown one where the list has none)."""
    cell, ward = world.cell_a1, world.ward_a
    return [
        (f"cells/{cell}/members", f"/v1/cells/{cell}/members", headers["secretary"], {"at": "9999-12-31T00:00:00Z"}),
        (f"cells/{cell}/meetings", f"/v1/cells/{cell}/meetings", headers["secretary"], {"period": "2026-13"}),
        (f"cells/{cell}/tasks", f"/v1/cells/{cell}/tasks", headers["secretary"], {"open_only": "maybe"}),
        (f"committees/{ward}/units", f"/v1/committees/{ward}/units", headers["ward_officer"], {"parent": "x"}),
        (f"inbox/{world.member_a1}", "/v1/me/inbox", headers["member"], {"unread_only": "maybe"}),
        (f"inbox/{ward}", f"/v1/committees/{ward}/inbox", headers["ward_officer"], {"unread_only": [1]}),
        ("rejections", "/v1/rejections", headers["operator"], {"status": "bogus"}),
        ("held-events", "/v1/held-events", headers["operator"], {"source": "x"}),
        ("deliveries/failed", "/v1/deliveries/failed", headers["operator"], {"status": "x"}),
        ("outbox/meetings/parked", "/v1/outbox/meetings/parked", headers["operator"], {"service": "x"}),
        ("accounts", "/v1/accounts", headers["admin"], {"role": "admin"}),
        ("audit", "/v1/audit", headers["admin"], {"sub": "s" * 65}),
    ]


EXTRA = {"rejections": {"counts"}}
"""What a list's cursor page gives besides its rows and paging: the rejections' breakdown by status, as its offset
pages give it."""


def b64(data: dict[str, Any]) -> str:
    """URL-safe base64 of the JSON of `data`, unpadded."""
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


async def test_every_list_refuses_a_cursor_it_did_not_give_naming_cursor(
    client: httpx.AsyncClient, state: GatewayState, world: World, headers: dict[str, dict[str, str]]
) -> None:
    for name, path, auth, refused_value in lists(world, headers):
        valid = encode_cursor(state.secret, list_name=name, after=["x"], query=Loose())
        payload, _, signature = valid.partition(".")
        flipped = payload[:-1] + ("A" if payload[-1] != "A" else "B")
        cases = {
            "not a cursor": {"cursor": "not a cursor"},
            "hand-made, unsigned (the trial's)": {"cursor": b64({"after": "x", "at": "9999-12-31T00:00:00Z"})},
            "payload changed under its signature": {"cursor": f"{flipped}.{signature}"},
            "signed by another secret": {
                "cursor": encode_cursor("another secret", list_name=name, after=["x"], query=Loose())
            },
            "another list's": {
                "cursor": encode_cursor(state.secret, list_name="elsewhere", after=["x"], query=Loose())
            },
            "signed, carrying a value its parameter refuses": {
                "cursor": encode_cursor(state.secret, list_name=name, after=["x"], query=Loose(**refused_value))
            },
            "signed, with a key of no row": {
                "cursor": encode_cursor(state.secret, list_name=name, after=[], query=Loose())
            },
            "beside an offset": {"cursor": "", "offset": "1"},
        }
        for case, params in cases.items():
            refused = await client.get(path, params=params, headers=auth)
            assert refused.status_code == 422, (path, case, refused.text)
            assert refused.json()["field"] == "query.cursor", (path, case, refused.text)
            assert refused.json()["message"].startswith("query.cursor: "), (path, case, refused.text)
        first = await client.get(path, params={"cursor": "", "limit": "1"}, headers=auth)
        shape = {"items", "limit", "next"} | EXTRA.get(name, set())
        assert first.status_code == 200 and set(first.json()) == shape, (path, first.text)


async def test_a_members_cursor_moment_obeys_the_rules_of_at(
    client: httpx.AsyncClient, state: GatewayState, world: World, headers: dict[str, dict[str, str]]
) -> None:
    path = f"/v1/cells/{world.cell_a1}/members"
    name = f"cells/{world.cell_a1}/members"
    query = await client.get(path, params={"at": "9999-12-31T00:00:00Z"}, headers=headers["secretary"])
    assert query.status_code == 422 and query.json()["field"] == "query.at", query.text
    for at in ("9999-12-31T00:00:00Z", "2019-12-31T08:00:00", "1899-12-31T00:00:00Z"):
        cursor = encode_cursor(state.secret, list_name=name, after=["x"], query=Loose(at=at))
        refused = await client.get(path, params={"cursor": cursor}, headers=headers["secretary"])
        assert refused.status_code == 422, (at, refused.text)
        assert refused.json()["field"] == "query.cursor", refused.text
        assert refused.json()["message"].startswith("query.cursor: at: "), refused.text


@pytest.mark.parametrize("newest_first", ["accounts", "audit"])
async def test_the_accounts_and_the_audit_log_by_cursor_each_once_while_rows_are_added(
    client: httpx.AsyncClient,
    state: GatewayState,
    token_for: TokenFactory,
    headers: dict[str, dict[str, str]],
    newest_first: str,
) -> None:
    auth = headers["admin"]

    async def insert() -> None:
        if newest_first == "accounts":
            await token_for("operator")
            return
        await state.pool.executemany(
            "INSERT INTO audit_log (sub, role, method, path, status) VALUES ($1, 'admin', 'POST', '/v1/x', 200)",
            [(random_id("sub"),) for _ in range(3)],
        )

    for _ in range(10):
        await insert()
    key = "sub" if newest_first == "accounts" else "id"
    table = "account" if newest_first == "accounts" else "audit_log"
    before = [row[key] for row in await state.pool.fetch(f"SELECT {key} FROM {table}")]

    async def page(cursor: str) -> dict[str, Any]:
        reply = await client.get(f"/v1/{newest_first}", params={"limit": "25", "cursor": cursor}, headers=auth)
        assert reply.status_code == 200, reply.text
        body: dict[str, Any] = reply.json()
        return body

    each_once(await walk_inserting(page, insert, key=key, pages=2000), before)


async def test_the_openapi_document_offers_the_cursor_of_every_list_and_says_offset_is_for_compatibility(
    client: httpx.AsyncClient, world: World, headers: dict[str, dict[str, str]]
) -> None:
    document = (await client.get("/openapi.json")).json()
    for _, path, _, _ in lists(world, headers):
        template = next(
            p
            for p in document["paths"]
            if p.count("/") == path.count("/")
            and all(a == b or a.startswith("{") for a, b in zip(p.split("/"), path.split("/"), strict=True))
        )
        params = {param["name"]: param for param in document["paths"][template]["get"]["parameters"]}
        assert "`next`" in params["cursor"]["description"], template
        assert "compatibility" in params["offset"]["description"], template


def test_a_services_refusal_of_a_cursors_key_is_named_as_the_cursor() -> None:
    # the services refuse a key they cannot read as `after` (shared.keyset); the caller sent a cursor, not `after`
    scope = {"type": "http", "method": "GET", "path": "/v1/rejections", "query_string": b"cursor=abc", "headers": []}
    field, message = query_field(Request(scope), "after", "after: 'x' is not a timestamptz value")
    assert field == "query.cursor" and message.startswith("query.cursor: "), (field, message)
