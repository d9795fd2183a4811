"""A refused body names every field at fault, unexpected (extra) ones first, and a command's refusal names the body's
field as the caller sent it (`starts_at`, never the event's `data.starts_at`): a new user's trial sent the CONTRACT
shape of an assessment and read "role: Field required", `{"digest": "yes"}` was told only of `channels`, and one
command's refusals named `starts_at` or `data.starts_at` depending on who refused it."""

import httpx

from tests.gateway.bodies import send_command
from tests.gateway.fakes import World
from tests.support.ids import random_id

UNEXPECTED = "unexpected field: this body has no such field"


def refusal(message: str, field: str) -> dict[str, object]:
    """The whole answer of a body refused by the gateway's validation."""
    return {"code": "invalid", "message": message, "field": field, "service": None}


async def test_the_contract_shape_of_an_assessment_is_told_its_unexpected_field_first(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    body = {"assessor": {"role": "cell_committee"}, "points": {"conduct.procedure": 5}}
    response = await send_command(client, headers, world, "assessment", body)
    assert response.status_code == 422, response.text
    assert response.json() == refusal(f"assessor: {UNEXPECTED}; role: Field required", "assessor")


async def test_every_unexpected_field_and_every_wrong_one_is_named(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    response = await client.put("/v1/me/preferences", json={"digest": "yes"}, headers=headers["member"])
    assert response.status_code == 422, response.text
    assert response.json() == refusal(
        "channels: Field required; digest: Input should be a valid boolean, not text", "channels"
    )
    sent = {"channels": ["email"], "digest": False, "dgest": True, "sms": "on"}
    response = await client.put("/v1/me/preferences", json=sent, headers=headers["member"])
    assert response.status_code == 422, response.text
    assert response.json() == refusal(f"dgest: {UNEXPECTED}; sms: {UNEXPECTED}", "dgest")


async def test_a_commands_refusal_names_the_body_field_whoever_refuses_it(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    """The gateway's own validation names the body's field; meetings' refusal of the command's event names
    `data.meeting_id`, said to the caller as the same `meeting_id` the path and body give."""
    refused = await send_command(client, headers, world, "reschedule", {"starts_at": "tomorrow"})
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "starts_at" and refused.json()["message"].startswith("starts_at: ")
    meeting = random_id("mtg")
    world.meetings[meeting] = {**world._meeting(meeting, world.cell_a1), "status": "cancelled"}
    response = await client.post(
        f"/v1/meetings/{meeting}/reschedule",
        json={"starts_at": "2026-12-20T19:00:00+07:00"},
        headers=headers["secretary"],
    )
    assert response.status_code == 422, response.text
    assert response.json() == {
        "code": "invalid",
        "message": f"meeting_id: meeting {meeting} is cancelled; nothing more is recorded",
        "field": "meeting_id",
        "service": None,
        "reason_code": "meeting_cancelled",
    }


def test_a_commands_data_path_is_said_as_its_body_field() -> None:
    from services.gateway.handlers import body_field, body_reason

    assert body_field("data.starts_at") == body_field("starts_at") == "starts_at"
    assert body_field("data.records.1.member_id") == "records.1.member_id"
    assert body_field("data.assessor.role") == body_field("assessor.role") == "role"
    assert body_field(None) is None
    assert body_reason("data.starts_at: in the past", "data.starts_at") == "starts_at: in the past"
    assert body_reason(None, None) == "rejected"


async def test_a_secretarys_reference_meetings_does_not_know_is_refused_at_once_naming_the_body_field(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    """A new user's trial: a roster guest of an unknown committee and a completion of a task not in the minutes came
    back 202 "held"; meetings now refuses a person's command at once (domain.held_or_refused), and the caller reads
    the field as the body (or path) names it."""
    committee, task = random_id("committee"), random_id("task")
    world.unknown |= {committee, task}
    roster = {
        "records": [{"member_id": "m1", "status": "present"}],
        "guests": [{"name": "Khách", "committee_id": committee}],
    }
    response = await send_command(client, headers, world, "attendance", roster)
    assert response.status_code == 422, response.text
    assert response.json() == {
        "code": "invalid",
        "message": f"guests.0.committee_id: unit {committee} is unknown; a guest's committee is one above the meeting's"
        " cell (or left out)",
        "field": "guests.0.committee_id",
        "service": None,
        "reason_code": "guest_committee_unknown",
    }
    meeting = random_id("mtg")
    world.meetings[meeting] = world._meeting(meeting, world.cell_a1)
    response = await client.post(
        f"/v1/meetings/{meeting}/tasks/{task}/completion", json={}, headers=headers["secretary"]
    )
    assert response.status_code == 422, response.text
    assert response.json() == {
        "code": "invalid",
        "message": f"task_id: task {task} is not in the minutes of meeting {meeting}; a secretary marks done a task of"
        " the meeting's recorded minutes",
        "field": "task_id",
        "service": None,
        "reason_code": "task_not_in_minutes",
    }
