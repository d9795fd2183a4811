"""A new user's trial: an integration's `meeting.rescheduled.v1` for a cancelled meeting was accepted (the start
changed, the meeting stayed cancelled, no notice) while the secretary's reschedule of it was refused
`meeting_cancelled`. A move is now judged by its `time` against the cancellation's (domain.check_not_moved_when_
cancelled): issued after it, it is refused `meeting_cancelled` naming `data.meeting_id` on arrival, or undone and
rejected when the cancellation arrives after it (domain.moves_undone_by_cancellation), so both arrival orders end
alike (CONTRACT.md: "The system converges to the same state whatever order ... the events arrive in"; "A rejection is
never silent"). Any other fact of a cancelled meeting from an integration is stored whatever its `time`: a roster or
minutes is a snapshot that may have replaced an earlier one, which could not be restored if the cancellation arrived
after it; a cancelled meeting is never held nor scored whatever else is known of it (DOMAIN.md).

Over the real database, for every meeting fact type and for a fact older and newer than the cancellation: both
arrival orders end in the same stored meeting, still cancelled; the secretary's same fact is refused
`meeting_cancelled` naming `data.meeting_id`.
"""

from datetime import timedelta
from typing import Any

import pytest

from services.meetings import queries
from shared.contracts.meetings_rpc import IngestReply
from shared.envelope import GATEWAY_SOURCE
from shared.refusals import RefusalCode
from tests.meetings import events as ev
from tests.meetings.test_cancelled_meeting_facts import FACT_TYPES, START, TASK, facts
from tests.meetings.test_scoping import rpc_methods
from tests.support.ids import random_id

CANCELLED_AT = START - timedelta(hours=1)
"""The cancellation's `time`; the integration's fact is an hour before it (older) or at the start (newer)."""

FACT_TIMES = {"older": CANCELLED_AT - timedelta(hours=1), "newer": START}

PER_MEETING = ("meeting_id", "id", "origin_id", "task_id")


async def ingest(methods: dict[str, Any], events: list[dict[str, Any]], account: str = "feed") -> IngestReply:
    return IngestReply.model_validate(await methods["ingest"](events=events, route="http", account=account))


def without_ids(value: Any) -> Any:
    """A stored meeting with the fields naming the meeting itself left out, to compare two meetings."""
    if isinstance(value, dict):
        return {key: without_ids(item) for key, item in value.items() if key not in PER_MEETING}
    if isinstance(value, list):
        return [without_ids(item) for item in value]
    return value


@pytest.mark.parametrize("when", sorted(FACT_TIMES))
@pytest.mark.parametrize("event_type", FACT_TYPES)
async def test_an_integrations_fact_on_a_cancelled_meeting_converges_and_a_persons_is_refused(  # type: ignore[no-untyped-def]
    meetings_pool, event_type: str, when: str
) -> None:
    methods = rpc_methods(meetings_pool)
    committee, cell, member = random_id("xa"), random_id("cb"), random_id("dv")
    world = [ev.unit(committee, kind="committee", name="Đảng ủy xã"), ev.unit(cell, parent_id=committee)]
    world.append(ev.member(member, cell))
    assert {r.outcome for r in (await ingest(methods, world)).results} == {"accepted"}

    stored: dict[str, dict[str, Any]] = {}
    outcomes: dict[str, list[tuple[str, str, str | None]]] = {}
    fact_ids: dict[str, str] = {}
    for order in ("cancel_first", "fact_first"):
        mtg = random_id("mtg")
        task = {"task_id": f"{mtg}-{TASK}", "assignee_id": member, "description": "Vận động", "due_on": "2026-02-01"}
        held = [
            ev.scheduled(mtg, cell, starts_at=START),
            ev.attendance(mtg, {member: "present"}),
            ev.minutes(mtg, chair_id=member, started_at=START, tasks=[task]),
        ]
        cancel = ev.raw_event("meeting.cancelled.v1", {"meeting_id": mtg, "reason": "Mưa bão"}, time=CANCELLED_AT)
        fact = facts(mtg, member, time=FACT_TIMES[when])[event_type]
        if event_type == "task.completed.v1":  # each meeting's own task
            fact["data"]["task_id"] = task["task_id"]
        fact_ids[order] = fact["id"]
        feed = [*held, cancel, fact] if order == "cancel_first" else [*held, fact, cancel]
        outcomes[order] = []
        for raw in feed:  # one at a time, as separate deliveries
            [result] = (await ingest(methods, [raw])).results
            outcomes[order].append((raw["type"], result.outcome, result.reason))
        async with meetings_pool.acquire() as conn:
            found = await queries.get_meeting(conn, mtg)
        assert found is not None and found["status"] == "cancelled", (order, found)
        stored[order] = found

        if order == "cancel_first":
            persons = facts(mtg, member, source=GATEWAY_SOURCE, time=START + timedelta(days=1))[event_type]
            if event_type == "task.completed.v1":
                persons["data"]["task_id"] = task["task_id"]
            [refused] = (await ingest(methods, [persons], account="secretary")).results
            assert (refused.outcome, refused.field) == ("rejected", "data.meeting_id"), refused.reason
            assert refused.refusal is not None and refused.refusal.code is RefusalCode.MEETING_CANCELLED

    # the same end state whatever the order (CONTRACT.md)
    assert without_ids(stored["cancel_first"]) == without_ids(stored["fact_first"])
    if event_type == "meeting.rescheduled.v1" and when == "newer":
        # a move issued after the cancellation ends refused in either order: at once when it arrives after it, and
        # undone when the cancellation arrives after it (domain.moves_undone_by_cancellation), never silently
        for order, fact_id in fact_ids.items():
            async with meetings_pool.acquire() as conn:
                rejection = await queries.open_rejection(conn, source=ev.SOURCE, event_id=fact_id)
            assert rejection is not None, order
            assert (rejection["field"], rejection["refusal"]["code"]) == ("data.meeting_id", "meeting_cancelled")
        assert outcomes["cancel_first"][-1][1] == "rejected"
        assert stored["cancel_first"]["starts_at"] == START
        return
    for order, seen in outcomes.items():  # nothing else refused on either order
        assert all(outcome in ("accepted", "duplicate") for _, outcome, _ in seen), (order, seen)
