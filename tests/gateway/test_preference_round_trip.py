"""GET /v1/me/preferences, edited, sent back with PUT is taken (a new user's trial: the GET's own body was refused
for its read-only fields): `recipient_id`, `stored`, `available_channels`, `email_on_file` and `warnings` are
ignored, a `recipient_id` not the caller's is refused naming it, and any other unknown field is still refused."""

from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from services.gateway.http import preferences
from services.gateway.http.preferences import PreferencesUpdate
from tests.gateway.conftest import TokenFactory
from tests.gateway.fakes import World


async def test_the_gets_body_sent_back_round_trips_and_an_edit_is_stored(
    client: httpx.AsyncClient, token_for: TokenFactory, world: World
) -> None:
    member = world.new_member(world.cell_a1)
    world.emails_on_file[member] = False  # so the body carries a warning too
    headers = await token_for("member", world.cell_a1, member)
    got = (await client.get("/v1/me/preferences", headers=headers)).json()
    assert got["recipient_id"] == member and got["warnings"] and got["email_on_file"] is False

    same = await client.put("/v1/me/preferences", json=got, headers=headers)
    assert same.status_code == 200, same.text
    assert {k: same.json()[k] for k in ("channels", "digest")} == {"channels": got["channels"], "digest": False}

    edited = await client.put("/v1/me/preferences", json={**same.json(), "digest": True}, headers=headers)
    assert edited.status_code == 200, edited.text
    read = (await client.get("/v1/me/preferences", headers=headers)).json()
    assert read["digest"] is True and read["stored"] is True and read["recipient_id"] == member


async def test_someone_elses_recipient_id_is_refused_naming_it(
    client: httpx.AsyncClient, token_for: TokenFactory, world: World
) -> None:
    member = world.new_member(world.cell_a1)
    headers = await token_for("member", world.cell_a1, member)
    got = (await client.get("/v1/me/preferences", headers=headers)).json()
    other = {**got, "recipient_id": world.member_a1, "digest": True}
    refused = await client.put("/v1/me/preferences", json=other, headers=headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "recipient_id"
    assert refused.json()["message"].startswith(f"recipient_id: {world.member_a1!r} is not you")
    assert (await client.get("/v1/me/preferences", headers=headers)).json()["digest"] is False  # nothing stored


async def test_an_unknown_field_is_still_refused_naming_it(
    client: httpx.AsyncClient, token_for: TokenFactory, world: World
) -> None:
    headers = await token_for("member", world.cell_a1, world.new_member(world.cell_a1))
    got = (await client.get("/v1/me/preferences", headers=headers)).json()
    refused = await client.put("/v1/me/preferences", json={**got, "digets": True}, headers=headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "digets"


async def test_someone_elses_recipient_id_and_an_unknown_field_are_both_named(
    client: httpx.AsyncClient, token_for: TokenFactory, world: World
) -> None:
    """A trial: someone else's `recipient_id` beside an unknown field was refused naming only the unknown field; the
    gateway's refusals list every field at fault in `message` (errors.py), the unexpected one first in `field`."""
    member = world.new_member(world.cell_a1)
    headers = await token_for("member", world.cell_a1, member)
    got = (await client.get("/v1/me/preferences", headers=headers)).json()
    other = {**got, "recipient_id": world.member_a1, "digets": True}
    refused = await client.put("/v1/me/preferences", json=other, headers=headers)
    assert refused.status_code == 422, refused.text
    assert refused.json() == {
        "code": "invalid",
        "message": "digets: unexpected field: this body has no such field; recipient_id:"
        f" {world.member_a1!r} is not you; /v1/me/preferences keeps only your own preferences (recipient_id"
        f" {member!r}): send your own or leave it out",
        "field": "digets",
        "service": None,
    }
    assert (await client.get("/v1/me/preferences", headers=headers)).json()["stored"] is False  # nothing stored


async def test_each_put_validates_its_body_once_and_the_route_takes_that_result(
    client: httpx.AsyncClient,
    token_for: TokenFactory,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A read-through: a body naming someone else's `recipient_id` was validated twice (by the check that lists every
    fault, then by FastAPI for the route). own_preferences validates each body once and the route takes its result:
    FastAPI hands it the parsed JSON unvalidated (the OpenAPI document still names PreferencesUpdate)."""
    judged: list[Any] = []
    validate = PreferencesUpdate.model_validate

    def counted(raw: Any, **options: Any) -> PreferencesUpdate:
        judged.append(raw)
        return validate(raw, **options)

    monkeypatch.setattr(preferences.PreferencesUpdate, "model_validate", counted)
    member = world.new_member(world.cell_a1)
    headers = await token_for("member", world.cell_a1, member)
    for body, status in [
        ({"channels": ["email"], "recipient_id": member}, 200),
        ({"channels": ["email"], "recipient_id": world.member_a1}, 422),
        ({"channels": ["email"], "recipient_id": world.member_a1, "digets": True}, 422),
        ({"channels": ["pigeon"]}, 422),
    ]:
        judged.clear()
        answer = await client.put("/v1/me/preferences", json=body, headers=headers)
        assert answer.status_code == status, answer.text
        assert judged == [body], body
    route = next(
        each
        for each in preferences.router.routes
        if isinstance(each, APIRoute) and each.path == "/v1/me/preferences" and "PUT" in (each.methods or ())
    )
    assert route.body_field is not None
    _, errors = route.body_field.validate({"channels": ["pigeon"]}, loc=("body",))
    assert errors == []  # FastAPI itself does not judge the body: own_preferences does, once
