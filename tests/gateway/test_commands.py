"""The secretary's commands become CloudEvents from urn:chibo:gateway, sent through meetings' ingest."""

import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest

from services.gateway.bootstrap import GatewayState
from services.gateway.http.commands import generated_meeting_id, longer_unit_starts
from shared.contracts import meetings_rpc as meetings
from shared.refusals import RefusalCode
from tests.gateway.conftest import TokenFactory
from tests.gateway.fakes import World
from tests.support.ids import random_id


def schedule_body(**overrides: object) -> dict:
    return {
        "kind": "regular",
        "starts_at": "2026-12-03T19:00:00+07:00",
        "location": "Nhà văn hóa khu phố 1",
        "agenda": ["Kiểm điểm nghị quyết tháng trước", "Phương hướng tháng tới"],
        **overrides,
    }


def last_event(world: World, event_id: str) -> dict:
    return next(event for event in world.ingested if event["id"] == event_id)


async def test_a_secretary_schedules_a_meeting_of_their_cell(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    meeting_id = random_id(world.cell_a1)  # named after the cell (a chosen mtg- id must be one the gateway made)
    response = await client.post(
        f"/v1/cells/{world.cell_a1}/meetings", json=schedule_body(meeting_id=meeting_id), headers=headers["secretary"]
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["outcome"] == "accepted" and body["subject"] == meeting_id and body["type"] == "meeting.scheduled.v1"
    event = last_event(world, body["event_id"])
    assert event["source"] == "urn:chibo:gateway"
    offset = datetime.fromisoformat(event["time"]).utcoffset()
    assert offset is not None and offset.total_seconds() == 7 * 3600
    assert event["data"]["cell_id"] == world.cell_a1 and event["data"]["meeting_id"] == meeting_id


async def test_scheduling_in_another_cell_is_refused_like_a_missing_cell(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    foreign = await client.post(
        f"/v1/cells/{world.cell_b1}/meetings", json=schedule_body(), headers=headers["secretary"]
    )
    missing = await client.post("/v1/cells/cell-nowhere/meetings", json=schedule_body(), headers=headers["secretary"])
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["message"] == f"cell {world.cell_b1} not found"
    assert missing.json()["message"] == "cell cell-nowhere not found"


async def test_only_secretaries_schedule(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    for role in ("member", "ward_officer", "integration", "operator", "admin"):
        response = await client.post(f"/v1/cells/{world.cell_a1}/meetings", json=schedule_body(), headers=headers[role])
        assert response.status_code == 403, role


async def test_a_thematic_meeting_without_topic_is_a_422_naming_the_field(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    response = await client.post(
        f"/v1/cells/{world.cell_a1}/meetings", json=schedule_body(kind="thematic"), headers=headers["secretary"]
    )
    assert response.status_code == 422
    assert response.json()["field"] == "topic"


async def test_an_unknown_body_field_is_a_422_naming_it(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    response = await client.post(
        f"/v1/cells/{world.cell_a1}/meetings", json=schedule_body(colour="red"), headers=headers["secretary"]
    )
    assert response.status_code == 422 and response.json()["field"] == "colour"


async def test_the_meeting_lifecycle_commands_reach_meetings(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    mid = world.meeting_a1
    secretary = headers["secretary"]
    calls = [
        (
            "post",
            f"/v1/meetings/{mid}/reschedule",
            {"starts_at": "2026-11-04T19:00:00+07:00", "reason": "Trùng lịch"},
            "meeting.rescheduled.v1",
        ),
        (
            "post",
            f"/v1/meetings/{mid}/documents",
            {"items": [{"title": "Dự thảo nghị quyết", "kind": "draft_resolution"}]},
            "documents.published.v1",
        ),
        (
            "put",
            f"/v1/meetings/{mid}/attendance",
            {
                "records": [
                    {"member_id": world.member_a1, "status": "present"},
                    {"member_id": "m2", "status": "excused", "reason": "Ốm"},
                ]
            },
            "attendance.recorded.v1",
        ),
        (
            "put",
            f"/v1/meetings/{mid}/minutes",
            {
                "started_at": "2026-11-04T19:00:00+07:00",
                "ended_at": "2026-11-04T20:45:00+07:00",
                "chair_id": "m1",
                "recorder_id": "m2",
                "speakers": ["m1"],
                "resolutions": [{"text": "Thông qua", "votes_for": 10, "votes_against": 0, "abstentions": 0}],
                "tasks": [
                    {"task_id": "t-9", "assignee_id": "m1", "description": "Thu đảng phí", "due_on": "2026-11-30"}
                ],
            },
            "minutes.submitted.v1",
        ),
        ("post", f"/v1/meetings/{mid}/minutes/approval", {"votes_for": 10}, "minutes.approved.v1"),
        (
            "post",
            f"/v1/meetings/{mid}/assessments",
            {"role": "cell_committee", "points": {"conduct.procedure": 5}},
            "meeting.assessed.v1",
        ),
        ("post", f"/v1/meetings/{mid}/tasks/t-9/completion", {"completed_on": "2026-11-20"}, "task.completed.v1"),
        ("post", f"/v1/meetings/{mid}/cancel", {"reason": "Bão lớn"}, "meeting.cancelled.v1"),
    ]
    for method, path, body, event_type in calls:
        response = await client.request(method.upper(), path, json=body, headers=secretary)
        assert response.status_code == 202, (path, response.text)
        event = last_event(world, response.json()["event_id"])
        assert event["type"] == event_type and event["data"]["meeting_id"] == mid


async def test_a_command_on_a_cancelled_meeting_is_a_422_with_meetings_reason_code(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    """Meetings' machine-readable code reaches the API's error beside the English message (an optional field)."""
    mid = random_id("mtg")
    world.meetings[mid] = {**world._meeting(mid, world.cell_a1), "status": "cancelled"}
    response = await client.post(
        f"/v1/meetings/{mid}/documents",
        json={"items": [{"title": "x", "kind": "content"}]},
        headers=headers["secretary"],
    )
    assert response.status_code == 422, response.text
    error = response.json()
    assert (error["code"], error["field"], error["reason_code"]) == ("invalid", "meeting_id", "meeting_cancelled")
    assert "is cancelled" in error["message"]


async def test_minutes_ending_before_they_start_are_a_422_naming_ended_at(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    body = {
        "started_at": "2026-11-04T19:00:00+07:00",
        "ended_at": "2026-11-04T18:00:00+07:00",
        "chair_id": "m1",
        "recorder_id": "m2",
        "speakers": [],
        "resolutions": [],
        "tasks": [],
    }
    response = await client.put(f"/v1/meetings/{world.meeting_a1}/minutes", json=body, headers=headers["secretary"])
    assert response.status_code == 422 and response.json()["field"] == "ended_at"


async def test_commands_on_another_cells_meeting_are_refused_like_a_missing_meeting(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    foreign = await client.post(
        f"/v1/meetings/{world.meeting_b1}/cancel", json={"reason": "x"}, headers=headers["secretary"]
    )
    missing = await client.post("/v1/meetings/mtg-nowhere/cancel", json={"reason": "x"}, headers=headers["secretary"])
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == {**missing.json(), "message": f"meeting {world.meeting_b1} not found"}


async def test_an_officer_assesses_as_upper_monitor_and_a_secretary_may_not(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    body = {"role": "upper_monitor", "points": {"chairing.flexible": 2}, "comment": "Điều hành tốt"}
    officer = await client.post(
        f"/v1/meetings/{world.meeting_a1}/assessments", json=body, headers=headers["ward_officer"]
    )
    assert officer.status_code == 202, officer.text
    event = last_event(world, officer.json()["event_id"])
    assert event["data"]["assessor"]["role"] == "upper_monitor" and event["data"]["assessor"]["person_id"]
    secretary = await client.post(
        f"/v1/meetings/{world.meeting_a1}/assessments", json=body, headers=headers["secretary"]
    )
    assert secretary.status_code == 403
    outside = await client.post(
        f"/v1/meetings/{world.meeting_b1}/assessments", json=body, headers=headers["ward_officer"]
    )
    assert outside.status_code == 404


async def test_only_the_assigned_monitor_assesses_as_upper_monitor(
    client: httpx.AsyncClient, token_for: TokenFactory, world: World
) -> None:
    """The monitor's points win over the members' vote, so an officer of the same ward who does not follow the cell,
    or an officer account without a person, may not post them (the fresh user's fault 7): 403, and nothing sent."""
    body = {"role": "upper_monitor", "points": {"conduct.procedure": 0}}
    before = len(world.ingested)
    for who in (
        await token_for("committee_officer", world.ward_a, random_id("per")),  # a person following no cell
        await token_for("committee_officer", world.ward_a),  # no person at all
    ):
        refused = await client.post(f"/v1/meetings/{world.meeting_a1}/assessments", json=body, headers=who)
        assert refused.status_code == 403, refused.text
        assert "upper-level monitor" in refused.json()["message"]
    assert len(world.ingested) == before
    assigned = await token_for("committee_officer", world.ward_a, world.officer_a)
    accepted = await client.post(f"/v1/meetings/{world.meeting_a1}/assessments", json=body, headers=assigned)
    assert accepted.status_code == 202, accepted.text
    assert last_event(world, accepted.json()["event_id"])["data"]["assessor"]["person_id"] == world.officer_a


async def test_commands_are_audited(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, state: GatewayState
) -> None:
    response = await client.post(
        f"/v1/meetings/{world.meeting_a1}/cancel", json={"reason": "Mất điện"}, headers=headers["secretary"]
    )
    row = await state.pool.fetchrow(
        "SELECT * FROM audit_log WHERE detail->>'event_id' = $1", response.json()["event_id"]
    )
    assert row["role"] == "secretary" and row["path"] == f"/v1/meetings/{world.meeting_a1}/cancel"
    assert row["status"] == 202 and row["client_ip"] == "203.0.113.7"


async def test_an_overlong_or_malformed_correlation_header_is_a_400_naming_the_header(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    """Issue 10 fault 1: an 8,000-character X-Correlation-Id never reaches an event (nor an AMQP property)."""
    for value in ("c" * 8000, "a b", "c" * 129):
        response = await client.post(
            f"/v1/cells/{world.cell_a1}/meetings",
            json=schedule_body(),
            headers={**headers["secretary"], "X-Correlation-Id": value},
        )
        assert response.status_code == 400, response.text
        assert response.json()["field"] == "X-Correlation-Id"
    fine = await client.post(
        f"/v1/cells/{world.cell_a1}/meetings",
        json=schedule_body(),
        headers={**headers["secretary"], "X-Correlation-Id": "req-42:a.b_c"},
    )
    assert fine.status_code == 202, fine.text


COMMAND_ROUTES = [
    ("POST", "reschedule", {"starts_at": "2026-12-04T19:00:00+07:00"}, "reschedule meetings"),
    ("POST", "cancel", {"reason": "Trùng lịch họp của xã"}, "cancel meetings"),
    (
        "POST",
        "documents",
        {"items": [{"title": "Dự thảo nghị quyết", "kind": "draft_resolution"}]},
        "publish documents",
    ),
    ("PUT", "attendance", {"records": []}, "record attendance"),
    (
        "PUT",
        "minutes",
        {
            "started_at": "2026-12-03T19:00:00+07:00",
            "ended_at": "2026-12-03T21:00:00+07:00",
            "chair_id": "m1",
            "recorder_id": "m2",
            "speakers": [],
            "resolutions": [],
            "tasks": [],
        },
        "submit minutes",
    ),
    ("POST", "minutes/approval", {}, "approve minutes"),
    ("POST", "tasks/t-1/completion", {}, "complete tasks"),
]


async def test_a_refused_command_names_the_action_refused_not_reading(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    """A role that may not send a meeting's command gets a 403 naming that command (an officer's reschedule said
    "may not read meetings", though officers read them)."""
    for method, path, body, action in COMMAND_ROUTES:
        for role, name in (("ward_officer", "committee_officer"), ("member", "member"), ("operator", "operator")):
            response = await client.request(
                method, f"/v1/meetings/{world.meeting_a1}/{path}", json=body, headers=headers[role]
            )
            assert response.status_code == 403, (path, role, response.text)
            assert response.json()["message"] == f"the role {name} may not {action}", (path, role)


async def test_a_secretary_cannot_take_a_meeting_id_named_after_another_cell(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, state: GatewayState
) -> None:
    """Trial 21 #4: the secretary of one cell scheduled `demo-cb-cong-an-2027-01`, and the police cell's genuine feed
    event for it was then refused as another cell's meeting. A chosen id begins with the cell's own id and a separator
    (or the gateway's own `mtg-`); any other is refused naming `meeting_id` with one answer, whether a start of it is
    a unit's id (outside the secretary's scope: `cell_b1`, the other ward's) or nobody's (h249's refusal said "begins
    with the id of another unit" only for real units, telling which ids exist elsewhere)."""
    answers = set()
    squatted = (f"{world.cell_b1}-2027-01", f"{world.cell_b1}.2027.01", f"{world.ward_b}-2027-01")
    unknown = (f"{random_id('nobody')}-2027-01", "hop-2027-01", f"{world.cell_a1}x-2027")
    for chosen in (*squatted, *unknown):
        refused = await client.post(
            f"/v1/cells/{world.cell_a1}/meetings", json=schedule_body(meeting_id=chosen), headers=headers["secretary"]
        )
        assert refused.status_code == 422, (chosen, refused.text)
        assert refused.json()["field"] == "meeting_id"
        assert refused.json()["reason_code"] == RefusalCode.MEETING_ID_NOT_CELLS
        answers.add(refused.text.replace(chosen, "<id>"))
    assert len(answers) == 1, answers
    assert world.cell_b1 not in answers.pop()
    assert not [event for event in world.ingested if event["data"].get("meeting_id", "").startswith(world.cell_b1)]
    generated = generated_meeting_id(state.secret, world.cell_a1)
    for taken in (f"{world.cell_a1}-2027-01", generated, f"{world.cell_a1}:2027.01"):
        accepted = await client.post(
            f"/v1/cells/{world.cell_a1}/meetings", json=schedule_body(meeting_id=taken), headers=headers["secretary"]
        )
        assert accepted.status_code == 202, accepted.text


async def test_scheduling_under_another_cells_meeting_id_does_not_tell_whether_it_exists(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    """Trial 24 #1: the naming was judged after the lookup, so a secretary scheduling under another cell's meeting id
    read 404 where it existed and 422 where it did not; and `mtg-` with anything after it was the gateway's namespace,
    so a guessable id one cell took (`mtg-`, `mtg-1`) answered another cell's secretary 404. Now an id outside the
    cell's naming is one 422 whether or not it exists; the gateway's namespace takes only ids as random as its own."""
    existing = f"{world.cell_b1}-2026-11"
    world.meetings[existing] = world._meeting(existing, world.cell_b1)
    world.meetings["mtg-1"] = world._meeting("mtg-1", world.cell_b1)
    answers = set()
    for chosen in (existing, f"{world.cell_b1}-2099-01", "mtg-1", "mtg-2", "mtg-", "mtg-ABCDEF0123456789"):
        refused = await client.post(
            f"/v1/cells/{world.cell_a1}/meetings", json=schedule_body(meeting_id=chosen), headers=headers["secretary"]
        )
        assert refused.status_code == 422, (chosen, refused.text)
        assert refused.json()["reason_code"] == RefusalCode.MEETING_ID_NOT_CELLS
        answers.add(refused.text.replace(chosen, "<id>"))
    assert len(answers) == 1, answers


async def refused_alike(
    client: httpx.AsyncClient, headers: dict[str, str], cell_id: str, chosen: tuple[str, ...]
) -> set[str]:
    """Schedule under each chosen id; each answer must be the 422 naming `meeting_id` coded MEETING_ID_NOT_CELLS; the
    answers with the chosen id blanked."""
    answers = set()
    for meeting_id in chosen:
        refused = await client.post(
            f"/v1/cells/{cell_id}/meetings", json=schedule_body(meeting_id=meeting_id), headers=headers
        )
        assert refused.status_code == 422, (meeting_id, refused.text)
        assert refused.json()["field"] == "meeting_id"
        assert refused.json()["reason_code"] == RefusalCode.MEETING_ID_NOT_CELLS
        answers.add(refused.text.replace(meeting_id, "<id>"))
    return answers


async def test_a_secretary_cannot_take_the_meeting_ids_of_a_cell_whose_id_extends_their_own(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    """Trial 25 #1: `demo-cb-thon-1`'s secretary scheduled `demo-cb-thon-1-a-2027-01`, and the feed of the cell
    `demo-cb-thon-1-a` then had its own meeting refused as another cell's. The longest unit id that begins a chosen
    id (before a separator) must be the cell's own, whatever unit it is (here outside the secretary's scope); the
    refusal is the one of any id outside the cell's naming."""
    extension = f"{world.cell_a1}-a"
    world.add_unit(extension, "Chi bộ thôn 1A", "cell", None)
    deeper = f"{world.cell_a1}-x.b"
    world.add_unit(deeper, "Chi bộ x.b", "cell", None)
    chosen = (f"{extension}-2027-01", f"{extension}.2027", f"{extension}:x-1", f"{deeper}-2027-01")
    answers = await refused_alike(client, headers["secretary"], world.cell_a1, (*chosen, f"{world.cell_b1}-2027-01"))
    assert len(answers) == 1, answers
    assert extension not in answers.pop()
    assert not [event for event in world.ingested if event["data"].get("meeting_id") in chosen]
    for taken in (f"{world.cell_a1}-ab-2027-01", f"{world.cell_a1}-x-2027", f"{world.cell_a1}-a2027"):
        accepted = await client.post(
            f"/v1/cells/{world.cell_a1}/meetings", json=schedule_body(meeting_id=taken), headers=headers["secretary"]
        )
        assert accepted.status_code == 202, (taken, accepted.text)


async def test_a_chosen_meeting_ids_starts_are_looked_up_in_one_call(
    client: httpx.AsyncClient,
    headers: dict[str, dict[str, str]],
    world: World,
    state: GatewayState,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A chosen id of 64 characters with a separator every other one after the cell's id has some 20 starts that could
    be another unit's: they are asked of meetings in one `known_units` call (they were as many `get_unit` calls at
    once), with the same decision: the id is the cell's while no start is a unit, another unit's once one is."""
    asked: list[object] = []
    call = state.rpc.call

    async def recorded(request: Any, **kwargs: Any) -> Any:
        asked.append(request)
        return await call(request, **kwargs)

    monkeypatch.setattr(state.rpc, "call", recorded)
    stem = f"{world.cell_a1}-{uuid.uuid4().hex[:4]}"
    taken = stem + "-x" * ((64 - len(stem)) // 2)  # starts: the stem, then each `-x` more but the whole id
    assert len(taken) <= 64 and len(longer_unit_starts(world.cell_a1, taken)) == (64 - len(stem)) // 2 >= 20
    accepted = await client.post(
        f"/v1/cells/{world.cell_a1}/meetings", json=schedule_body(meeting_id=taken), headers=headers["secretary"]
    )
    assert accepted.status_code == 202, accepted.text
    lookups = [request for request in asked if isinstance(request, meetings.GetUnit | meetings.KnownUnits)]
    assert [type(request) for request in lookups] == [meetings.KnownUnits], lookups
    assert isinstance(lookups[0], meetings.KnownUnits)
    assert lookups[0].unit_ids == longer_unit_starts(world.cell_a1, taken)

    world.add_unit(f"{stem}-y", "Chi bộ y", "cell", None)  # a start not asked yet (the unknown ones are cached)
    asked.clear()
    refused = await client.post(
        f"/v1/cells/{world.cell_a1}/meetings",
        json=schedule_body(meeting_id=f"{stem}-y-x-2027"),
        headers=headers["secretary"],
    )
    assert refused.status_code == 422 and refused.json()["field"] == "meeting_id", refused.text
    lookups = [request for request in asked if isinstance(request, meetings.GetUnit | meetings.KnownUnits)]
    assert [type(request) for request in lookups] == [meetings.KnownUnits], lookups


async def test_only_ids_the_gateway_generated_for_the_cell_are_taken_in_its_namespace(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, state: GatewayState
) -> None:
    """Trial 25 #2: `mtg-aaaaaaaaaaaa` and `mtg-000000000000` had the shape of a generated id and were taken; one cell
    took it and another cell's secretary sending it read 404 where a free one was accepted, so it told which meetings
    exist. Now a chosen `mtg-` id is taken only if the gateway generated it for the cell (its MAC under the gateway's
    secret checks out); any other is the one 422 of an id outside the cell's naming, whether or not it is taken."""
    guessed = "mtg-aaaaaaaaaaaa"
    world.meetings[guessed] = world._meeting(guessed, world.cell_b1)
    forged = f"mtg-{'0' * 16}{'1' * 16}"
    chosen = (guessed, "mtg-000000000000", forged, f"{world.cell_b1}-2027-01")
    answers = await refused_alike(client, headers["secretary"], world.cell_a1, chosen)
    elsewhere = generated_meeting_id(state.secret, world.cell_b1)
    world.meetings[elsewhere] = world._meeting(elsewhere, world.cell_b1)
    unkeyed = generated_meeting_id("another secret", world.cell_a1)
    answers |= await refused_alike(client, headers["secretary"], world.cell_a1, (elsewhere, unkeyed))
    assert len(answers) == 1, answers
    ours = generated_meeting_id(state.secret, world.cell_a1)
    assert ours.startswith("mtg-") and len(ours) == 36 and ours != generated_meeting_id(state.secret, world.cell_a1)
    accepted = await client.post(
        f"/v1/cells/{world.cell_a1}/meetings", json=schedule_body(meeting_id=ours), headers=headers["secretary"]
    )
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["subject"] == ours
    left_out = await client.post(
        f"/v1/cells/{world.cell_a1}/meetings", json=schedule_body(), headers=headers["secretary"]
    )
    assert left_out.status_code == 202, left_out.text
    assert left_out.json()["subject"].startswith("mtg-") and len(left_out.json()["subject"]) == 36
