"""A cancelled meeting takes no more facts from a person: every meeting fact a secretary (or a monitor) sends through
the gateway is refused alike, naming `data.meeting_id` with the code MEETING_CANCELLED, while an integration's fact is
stored (CONTRACT.md: order is not guaranteed and the state converges whatever the order, so a fact that could have
arrived before the cancellation is not refused for arriving after it; a cancelled meeting is never held nor scored).

A trial's secretary published documents on a cancelled meeting ("Đã ghi nhận") while its roster was refused.
"""

from datetime import timedelta
from typing import Any

import pytest

from services.meetings import handlers, queries
from shared.contracts.meetings_rpc import IngestReply
from shared.envelope import GATEWAY_SOURCE
from shared.refusals import RefusalCode
from tests.meetings import events as ev
from tests.meetings.fakes import FakeStore
from tests.meetings.rejection_cases import WORLD_IDS, world_events
from tests.meetings.test_scoping import rpc_methods
from tests.support.ids import random_id

START = ev.BASE_TIME + timedelta(days=10)
SENT = START + timedelta(days=1)
"""When the person sends each fact: after the meeting's start, so only the cancellation can refuse it."""

TASK = "task-1"


def facts(meeting_id: str, member_id: str, **kw: Any) -> dict[str, dict[str, Any]]:
    """One event of every meeting fact type (all but its schedule and cancellation), by type."""
    at = START + timedelta(hours=2)
    return {
        "meeting.rescheduled.v1": ev.raw_event(
            "meeting.rescheduled.v1",
            {"meeting_id": meeting_id, "starts_at": (SENT + timedelta(days=3)).isoformat()},
            **kw,
        ),
        "documents.published.v1": ev.raw_event(
            "documents.published.v1",
            {
                "meeting_id": meeting_id,
                "published_at": at.isoformat(),
                "items": [{"title": "Nghị quyết", "kind": "resolution"}],
            },
            **kw,
        ),
        "attendance.recorded.v1": ev.attendance(meeting_id, {member_id: "present"}, **kw),
        "minutes.submitted.v1": ev.minutes(meeting_id, chair_id=member_id, started_at=START, **kw),
        "minutes.approved.v1": ev.raw_event(
            "minutes.approved.v1", {"meeting_id": meeting_id, "approved_at": at.isoformat(), "votes_for": 1}, **kw
        ),
        "meeting.assessed.v1": ev.raw_event(
            "meeting.assessed.v1",
            {"meeting_id": meeting_id, "assessor": {"role": "cell_committee"}, "points": {"preparation.content": 3}},
            **kw,
        ),
        "task.completed.v1": ev.raw_event(
            "task.completed.v1",
            {"task_id": TASK, "meeting_id": meeting_id, "completed_on": SENT.date().isoformat()},
            **kw,
        ),
    }


FACT_TYPES = sorted(facts("m", "x"))


async def cancelled_meeting() -> tuple[FakeStore, str, str]:
    """A store with a meeting held (roster, minutes with one task) and then cancelled by an integration: every fact
    type has what it refers to, so only the cancellation decides."""
    store, ids = FakeStore(), {name: random_id(name) for name in WORLD_IDS}
    mtg, member = random_id("mtg"), ids["mem"]
    task = {"task_id": TASK, "assignee_id": member, "description": "Vận động hội viên", "due_on": "2026-02-01"}
    feed = [
        *world_events(ids, start=START),
        ev.scheduled(mtg, ids["cell"], starts_at=START),
        ev.attendance(mtg, {member: "present"}),
        ev.minutes(mtg, chair_id=member, started_at=START, tasks=[task]),
        ev.raw_event("meeting.cancelled.v1", {"meeting_id": mtg, "reason": "Mưa bão"}),
    ]
    assert {result.outcome for result in await handlers.ingest_batch(feed, store.uow, route="test")} == {"accepted"}
    return store, mtg, member


@pytest.mark.parametrize("event_type", FACT_TYPES)
async def test_a_persons_fact_on_a_cancelled_meeting_is_refused_as_cancelled(event_type: str) -> None:
    store, mtg, member = await cancelled_meeting()
    raw = facts(mtg, member, source=GATEWAY_SOURCE, time=SENT)[event_type]
    [result] = await handlers.ingest_batch([raw], store.uow, route="test")
    assert (result.outcome, result.field) == ("rejected", "data.meeting_id"), result.reason
    assert result.refusal is not None and result.refusal.code is RefusalCode.MEETING_CANCELLED
    assert result.reason and f"meeting {mtg} is cancelled" in result.reason


@pytest.mark.parametrize("event_type", [kind for kind in FACT_TYPES if kind != "meeting.rescheduled.v1"])
async def test_an_integrations_fact_on_a_cancelled_meeting_is_stored(event_type: str) -> None:
    """The same fact from an integration is accepted, as it would have been before the cancellation arrived (sent
    before the meeting ended: an integration's move issued after it is refused by its own rule, and one issued after
    the cancellation too: test_cancelled_move_both_routes)."""
    store, mtg, member = await cancelled_meeting()
    raw = facts(mtg, member, time=START)[event_type]
    [result] = await handlers.ingest_batch([raw], store.uow, route="test")
    assert result.outcome in ("accepted", "duplicate"), result.reason


async def test_an_integrations_move_issued_after_the_cancellation_is_refused_as_cancelled() -> None:
    """An integration's move whose `time` is after the cancellation's is refused as the secretary's is (same code,
    same field); one issued before it is a late fact, stored (domain.check_not_moved_when_cancelled)."""
    store, mtg, member = await cancelled_meeting()
    after = facts(mtg, member, time=START)["meeting.rescheduled.v1"]
    [result] = await handlers.ingest_batch([after], store.uow, route="test")
    assert (result.outcome, result.field) == ("rejected", "data.meeting_id"), result.reason
    assert result.refusal is not None and result.refusal.code is RefusalCode.MEETING_CANCELLED
    before = facts(mtg, member, time=ev.BASE_TIME - timedelta(hours=1))["meeting.rescheduled.v1"]
    [result] = await handlers.ingest_batch([before], store.uow, route="test")
    assert result.outcome == "accepted", result.reason


async def test_a_secretarys_documents_on_a_cancelled_meeting_are_refused_and_not_listed(  # type: ignore[no-untyped-def]
    meetings_pool, db
) -> None:
    """The trial over the real database through meetings.rpc: the secretary's documents on a meeting cancelled
    ahead of its day are refused as cancelled, and the meeting lists no document."""
    methods = rpc_methods(meetings_pool)
    commune, cell, member = random_id("demo-xa"), random_id("demo-cb"), random_id("demo-dv")
    meeting = f"{cell}-2026-12"
    start = ev.BASE_TIME + timedelta(days=330)
    feed = [
        ev.unit(commune, kind="committee", name="Đảng ủy xã"),
        ev.unit(cell, parent_id=commune, name="Chi bộ thôn 1"),
        ev.member(member, cell),
        ev.scheduled(meeting, cell, starts_at=start, kind="regular"),
        ev.raw_event("meeting.cancelled.v1", {"meeting_id": meeting, "reason": "Mưa bão"}, source=GATEWAY_SOURCE),
    ]
    reply = await methods["ingest"](events=feed, route="http", account="feed")
    assert [result["outcome"] for result in reply["results"]] == ["accepted"] * len(feed)
    documents = facts(meeting, member, source=GATEWAY_SOURCE, time=ev.BASE_TIME)["documents.published.v1"]
    answered = await methods["ingest"](events=[documents], route="http", account="secretary")
    [result] = IngestReply.model_validate(answered).results
    assert (result.outcome, result.field) == ("rejected", "data.meeting_id")
    assert result.refusal is not None and result.refusal.code is RefusalCode.MEETING_CANCELLED
    async with meetings_pool.acquire() as conn:
        found = await queries.get_meeting(conn, meeting)
    assert found is not None and found["status"] == "cancelled" and found["documents"] == []


async def test_an_integrations_schedule_issued_after_the_cancellation_is_refused_as_cancelled() -> None:
    """A schedule re-sent by an integration is judged as its move is: issued after the cancellation, refused naming
    `data.meeting_id` (nothing reopens a cancelled meeting), the meeting as it was; issued before it, a late fact,
    stored (domain.check_not_rescheduled_when_cancelled)."""
    store, mtg, _ = await cancelled_meeting()
    cell = store.state.meetings[mtg]["cell_id"]
    moved = START + timedelta(days=2)
    after = ev.scheduled(mtg, cell, starts_at=moved, kind="thematic", time=START)
    [result] = await handlers.ingest_batch([after], store.uow, route="test")
    assert (result.outcome, result.field) == ("rejected", "data.meeting_id"), result.reason
    assert result.refusal is not None and result.refusal.code is RefusalCode.MEETING_CANCELLED
    assert (store.state.meetings[mtg]["starts_at"], store.state.meetings[mtg]["kind"]) == (START, "regular")
    before = ev.scheduled(mtg, cell, starts_at=moved, time=ev.BASE_TIME - timedelta(hours=1))
    [result] = await handlers.ingest_batch([before], store.uow, route="test")
    assert result.outcome == "accepted", result.reason
