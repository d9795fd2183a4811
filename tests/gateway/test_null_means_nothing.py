"""Finding of a new user's trial (h286) on the /v1 API: a change's field sent as JSON null where null means nothing
was taken as left out and silently ignored (an alert rule's `params: null` beside `enabled`, a move's `location:
null`); it is now refused naming the field (common.NotNull). `enabled: null` keeps its documented meaning (on or off
given back to the committees above)."""

from typing import Any

import httpx
import pytest

import services.gateway.main  # noqa: F401 (every request body's model defined)
from services.gateway.schemas.common import NotNull
from tests.gateway.bodies import request_bodies, send_command
from tests.gateway.fakes import World
from tests.gateway.test_command_bodies import COMMANDS


@pytest.mark.parametrize("body", [{"enabled": False, "params": None}, {"params": None}])
async def test_an_alert_rules_params_null_is_refused_naming_params_and_changes_nothing(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, body: dict[str, Any]
) -> None:
    ward, path = headers["ward_officer"], f"/v1/committees/{world.ward_a}/alert-rules/unexcused_months"
    before = (await client.get(f"/v1/committees/{world.ward_a}/alert-rules", headers=ward)).json()
    answer = await client.put(path, json=body, headers=ward)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "params"
    assert answer.json()["message"].startswith("params: null means nothing here; "), answer.text
    assert (await client.get(f"/v1/committees/{world.ward_a}/alert-rules", headers=ward)).json() == before
    # `enabled: null` keeps its documented meaning: on or off given back to the committees above
    back = await client.put(path, json={"enabled": None}, headers=ward)
    assert back.status_code == 200, back.text


async def test_a_moves_location_null_is_refused_naming_it_and_left_out_keeps_the_place(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    before = len(world.ingested)
    body = COMMANDS["reschedule"][4]
    answer = await send_command(client, headers, world, "reschedule", {**body, "location": None})
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "location"
    assert answer.json()["message"].startswith("location: null means nothing here; a meeting always has a place")
    assert len(world.ingested) == before  # nothing reached meetings
    kept = await send_command(client, headers, world, "reschedule", body)
    assert kept.status_code == 202, kept.text
    [event] = [event for event in world.ingested if event["id"] == kept.json()["event_id"]]
    assert event["data"].get("location") is None  # no new place: the meeting keeps its own


CHANGES = {
    "AlertRuleUpdate": {"enabled": "gives on or off back to the committees above (reset_enabled)"},
    "MeetingRescheduleCreate": {"reason": "no reason given, as left out"},
}
"""The bodies that change what exists (a field left out keeps its value), and each optional field's meaning of an
explicit null; every other optional field of them refuses null (NotNull), never reading it as left out."""


def test_every_optional_field_of_a_change_gives_null_a_meaning_or_refuses_it() -> None:
    bodies = {model.__name__: model for model in request_bodies()}
    for name, meanings in CHANGES.items():
        for field, info in bodies[name].model_fields.items():
            if info.is_required() or info.default is not None:
                continue
            refused = any(isinstance(item, NotNull) for item in info.metadata)
            assert refused != (field in meanings), f"{name}.{field}: refuse null (NotNull) or say what it means"


@pytest.mark.parametrize(("field", "value", "needs"), [("location", None, "text"), ("agenda", None, "a list")])
async def test_a_null_where_a_value_is_needed_is_said_so_not_in_the_libraries_words(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, field: str, value: None, needs: str
) -> None:
    """A trial's `"location": null` of a new meeting read "location: Input should be a valid string", the validation
    library's words, as if the place were wrong text (trial 26 #5); every type of field null cannot fill says so."""
    before = len(world.ingested)
    answer = await send_command(client, headers, world, "schedule", {**COMMANDS["schedule"][4], field: value})
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
    assert answer.json()["message"] == f"{field}: null is not a value here; give {needs}", answer.text
    assert len(world.ingested) == before
