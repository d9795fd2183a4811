"""The service running in-process: AMQP ingest to chibo.events, and the meetings.rpc catalog."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.contracts import meetings_rpc as meetings
from shared.rpc import RpcClient, RpcError
from tests.meetings import events as ev
from tests.meetings.feed import feed
from tests.support.ids import random_id
from tests.support.rpc import ask, rpc_client
from tests.support.running import eventually

START = ev.BASE_TIME + timedelta(days=5)


@pytest.fixture(scope="module")
async def rpc(meetings_service: str, amqp_url: str) -> AsyncIterator[RpcClient]:
    """An RPC client on the test vhost."""
    async with rpc_client(amqp_url, timeout=10) as client:
        yield client


async def test_an_event_published_to_ingest_comes_out_validated_on_events(meetings_service: str, amqp_url: str) -> None:
    cell, mem, mtg = random_id("cell"), random_id("mem"), random_id("mtg")
    async with feed(amqp_url) as bus:
        schedule = ev.scheduled(mtg, cell, starts_at=START, correlationid="corr-42")
        for raw in (schedule, ev.member(mem, cell), ev.unit(cell)):  # worst order: the meeting waits for the cell
            await bus.publish(raw)
        out = await eventually(lambda: bus.find("meeting.scheduled.v1", originid=schedule["id"]), timeout=60)
    assert out["source"] == "urn:chibo:meetings" and out["originsource"] == ev.SOURCE
    assert out["time"] == schedule["time"] and out["correlationid"] == "corr-42" and out["subject"] == mtg
    assert out["data"]["meeting_id"] == mtg and out["data"]["notified_at"] == schedule["time"]
    async with httpx.AsyncClient() as client:
        health = (await client.get(meetings_service + "/health")).json()
        asyncapi = await client.get(meetings_service + "/asyncapi")
    assert asyncapi.status_code == 200 and "meetings.ingest" in asyncapi.text
    assert health["status"] == "ok" and health["consumers"] == "ok"
    assert health["outbox"]["parked"] == 0 and "meetings.ingest.dlq" in health["dead_letters"]
    assert isinstance(health["held_events"], int)


async def test_the_rpc_catalog_answers_what_was_ingested(rpc: RpcClient) -> None:
    root, commune, cell = random_id("prov"), random_id("xa"), random_id("cell")
    secretary, newcomer, mtg = random_id("mem"), random_id("mem"), random_id("mtg")
    task = {"task_id": "t1", "assignee_id": newcomer, "description": "Thu đảng phí", "due_on": "2026-02-01"}
    events = [
        ev.unit(root, kind="committee", name="Tỉnh ủy"),
        ev.unit(commune, kind="committee", parent_id=root, name="Đảng ủy xã"),
        ev.unit(cell, parent_id=commune),
        ev.member(secretary, cell, role="secretary"),
        ev.member(newcomer, cell, status="probationary", data={"admitted_on": "2025-09-15"}),
        ev.scheduled(mtg, cell, starts_at=START, kind="combined"),
        ev.attendance(mtg, {secretary: "present", newcomer: "absent"}),
        ev.minutes(mtg, chair_id=secretary, started_at=START, tasks=[task]),
        ev.raw_event(
            "minutes.approved.v1", {"meeting_id": mtg, "approved_at": (START + timedelta(hours=2)).isoformat()}
        ),
        ev.raw_event("meeting.cancelled.v1", {"meeting_id": mtg}),
    ]
    answer = await ask(rpc, meetings.Ingest(events=events, route="http", account="feed-test"))
    outcomes = [r["outcome"] for r in answer["results"]]
    assert outcomes == ["accepted"] * 9 + ["rejected"]
    assert answer["results"][-1]["field"] == "data.reason" and answer["results"][-1]["index"] == 9
    again = await ask(rpc, meetings.Ingest(events=events[:1], route="http", account="feed-test"))
    assert again["results"][0]["outcome"] == "duplicate"

    unit = await ask(rpc, meetings.GetUnit(unit_id=cell))
    assert unit["ancestors"] == [root, commune, cell] and unit["kind"] == "cell"
    children = await ask(rpc, meetings.ListUnits(parent_id=commune, limit=10, offset=0))
    assert [u["id"] for u in children["items"]] == [cell] and children["total"] == 1
    assert children["items"][0]["ancestors"] == unit["ancestors"]  # a listed unit has its path, as the unit itself
    not_a_unit = f"{cell}-2026-01"
    found = await ask(rpc, meetings.KnownUnits(unit_ids=[not_a_unit, cell, root, cell, commune]))
    assert found == {"unit_ids": [cell, root, commune]}  # the units among the ids, in the order asked, each once
    members = await ask(rpc, meetings.ListMembers(cell_id=cell, limit=10, offset=0))
    probation = {m["id"]: m["probation_ends_on"] for m in members["items"]}
    assert probation == {secretary: None, newcomer: "2026-09-15"}
    meeting = await ask(rpc, meetings.GetMeeting(meeting_id=mtg))
    assert meeting["status"] == "minutes_approved" and meeting["kind"] == "combined"
    assert {r["member_id"]: r["status"] for r in meeting["attendance"]["records"]} == {
        secretary: "present",
        newcomer: "absent",
    }
    assert meeting["minutes"]["chair_id"] == secretary and meeting["tasks"][0]["task_id"] == "t1"
    listed = await ask(rpc, meetings.ListMeetings(cell_id=cell, period="2026-01", limit=10, offset=0))
    assert [m["meeting_id"] for m in listed["items"]] == [mtg]
    everything = await ask(rpc, meetings.ListMeetings(cell_id=cell, period=None, limit=10, offset=0))
    assert everything["total"] == 1 and everything["items"][0]["status"] == "minutes_approved"
    tasks = await ask(rpc, meetings.ListTasks(cell_id=cell, open_only=True, limit=10, offset=0))
    assert tasks["total"] == 1
    history = await ask(rpc, meetings.GetMemberHistory(member_id=newcomer))
    assert history["consecutive_absences"] == 1 and history["unexcused_months_last_year"] == 1

    monitor = random_id("uv")
    assigned = ev.raw_event(
        "monitor.assigned.v1",
        {"person_id": monitor, "full_name": "Trần Thị Hương", "committee_id": commune, "cell_id": cell},
    )
    assert (await ask(rpc, meetings.Ingest(events=[assigned])))["results"][0]["outcome"] == "accepted"
    followed = await ask(rpc, meetings.ListMonitorAssignments(person_id=monitor))
    assert followed["total"] == 1 and followed["items"][0]["cell_id"] == cell
    assert followed["items"][0]["cell_name"] == "Chi bộ thôn 1" and followed["items"][0]["committee_id"] == commune
    nobody = await ask(rpc, meetings.ListMonitorAssignments(person_id=random_id("uv")))
    assert nobody == {"items": [], "total": 0, "limit": 50, "offset": 0, "next_after": None}

    rejections = await ask(rpc, meetings.ListRejections(limit=1000, offset=0, status="open"))
    [rejected] = [r for r in rejections["items"] if r["event_id"] == events[-1]["id"]]
    fixed = events[-1] | {"data": {"meeting_id": mtg, "reason": "Trùng lịch"}}
    replay = await ask(rpc, meetings.ReplayRejection(rejection_id=rejected["rejection_id"], event=fixed))
    # an integration's cancellation of a held meeting is a fact like any other: stored, the meeting no longer held
    assert replay["outcome"] == "accepted"
    assert (await ask(rpc, meetings.GetMeeting(meeting_id=mtg)))["status"] == "cancelled"
    history = await ask(rpc, meetings.GetMemberHistory(member_id=newcomer))
    assert history["consecutive_absences"] == 0 and history["unexcused_months_last_year"] == 0

    with pytest.raises(RpcError) as missing:
        await ask(rpc, meetings.GetMeeting(meeting_id=random_id("mtg")))
    assert missing.value.code == "not_found"
    with pytest.raises(RpcError) as bad_period:
        await ask(rpc, meetings.ListMeetings.model_construct(cell_id=cell, period="2026-13", limit=10, offset=0))
    assert bad_period.value.field == "period"


async def test_a_meetings_reply_says_whether_its_minutes_were_published(rpc: RpcClient) -> None:
    """The list and the meeting say `minutes_published` (a minutes document published, documents.published.v1), so
    that the pages can tell minutes recorded from minutes published (the reply could not)."""
    cell, secretary, mtg = random_id("cell"), random_id("mem"), random_id("mtg")
    events = [
        ev.unit(cell),
        ev.member(secretary, cell, role="secretary"),
        ev.scheduled(mtg, cell, starts_at=START),
        ev.attendance(mtg, {secretary: "present"}),
    ]
    answer = await ask(rpc, meetings.Ingest(events=events, route="http", account="feed-test"))
    assert [r["outcome"] for r in answer["results"]] == ["accepted"] * 4

    async def published() -> tuple[Any, Any]:
        listed = await ask(rpc, meetings.ListMeetings(cell_id=cell, period=None, limit=10, offset=0))
        meeting = await ask(rpc, meetings.GetMeeting(meeting_id=mtg))
        return listed["items"][0]["minutes_published"], meeting["minutes_published"]

    assert await published() == (False, False)
    content = {"title": "Nội dung sinh hoạt", "kind": "content"}
    documents = {"meeting_id": mtg, "published_at": (START - timedelta(days=2)).isoformat(), "items": [content]}
    recorded = [
        ev.minutes(mtg, chair_id=secretary, started_at=START),
        ev.raw_event("documents.published.v1", documents),
    ]
    answer = await ask(rpc, meetings.Ingest(events=recorded, route="http", account="feed-test"))
    assert [r["outcome"] for r in answer["results"]] == ["accepted"] * 2
    assert await published() == (False, False)  # minutes recorded, a content document: no minutes published
    final = {
        "meeting_id": mtg,
        "published_at": (START + timedelta(days=1)).isoformat(),
        "items": [{"title": "Biên bản sinh hoạt", "kind": "minutes"}],
    }
    answer = await ask(rpc, meetings.Ingest(events=[ev.raw_event("documents.published.v1", final)]))
    assert answer["results"][0]["outcome"] == "accepted"
    assert await published() == (True, True)


async def test_a_roster_sent_ahead_of_its_meeting_is_not_in_the_member_history(rpc: RpcClient) -> None:
    """Trial 36 #1: an integration's roster of a meeting still ahead (no minutes, its start later) listed the member
    `absent` in their history before the meeting began; a meeting not begun (shared.plausible.meeting_begun) is
    left out, as a scheduled meeting without a roster is."""
    cell, member, past, ahead = random_id("cell"), random_id("mem"), random_id("mtg"), random_id("mtg")
    later = datetime.now(UTC) + timedelta(days=1)
    events = [
        ev.unit(cell),
        ev.member(member, cell),
        ev.scheduled(past, cell, starts_at=START),
        ev.attendance(past, {member: "present"}),
        ev.minutes(past, chair_id=member, started_at=START),
        ev.scheduled(ahead, cell, starts_at=later),
        ev.attendance(ahead, {member: "absent"}),
    ]
    answer = await ask(rpc, meetings.Ingest(events=events, route="http", account="feed-test"))
    assert {r["outcome"] for r in answer["results"]} == {"accepted"}
    history = await ask(rpc, meetings.GetMemberHistory(member_id=member))
    assert [r["meeting_id"] for r in history["records"]] == [past]
    assert history["consecutive_absences"] == 0
