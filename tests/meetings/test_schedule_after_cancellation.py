"""An integration's `meeting.scheduled.v1` re-sent for a meeting it had cancelled was stored silently: the meeting
stayed cancelled while its start, place, kind and agenda took the new schedule's, announced to nobody and refused to
nobody (the secretary's schedule of a known meeting is refused). DOMAIN.md and CONTRACT.md know no reopening: a
meeting is held when it has minutes "and is not cancelled", and "once cancelled" its score is withdrawn. So a schedule
issued after the meeting's earliest cancellation is refused `meeting_cancelled` naming `data.meeting_id`, as a move
issued after it is (domain.check_not_rescheduled_when_cancelled); arriving before the cancellation, it is undone and
rejected when the cancellation comes (domain.moves_undone_by_cancellation), so both arrival orders end alike
(CONTRACT.md: "The system converges to the same state whatever order"; "A rejection is never silent"). A schedule
issued before the cancellation is a late fact, stored in either order.

Over the real database through meetings.rpc (as POST /v1/events sends a body), one event per delivery.
"""

from datetime import timedelta
from typing import Any

import pytest

from services.meetings import queries
from tests.meetings import events as ev
from tests.meetings.test_cancelled_facts_both_routes import ingest, without_ids
from tests.meetings.test_scoping import rpc_methods
from tests.support.ids import random_id

START = ev.BASE_TIME + timedelta(days=10)
CANCELLED_AT = ev.BASE_TIME + timedelta(days=2)
RESENT_AT = {"after": CANCELLED_AT + timedelta(hours=1), "before": CANCELLED_AT - timedelta(hours=1)}
"""When the re-sent schedule is issued: after the cancellation (refused) or before it (a late fact)."""


def resent(meeting_id: str, cell_id: str, *, time: Any) -> dict[str, Any]:
    """The meeting scheduled again, three days later, elsewhere, as a thematic meeting with another agenda."""
    return ev.scheduled(
        meeting_id,
        cell_id,
        starts_at=START + timedelta(days=3),
        kind="thematic",
        time=time,
        data={"location": "Hội trường xã", "agenda": ["Chuyên đề Chỉ thị 50"]},
    )


@pytest.mark.parametrize("when", sorted(RESENT_AT))
async def test_a_schedule_issued_after_the_cancellation_is_refused_in_either_order(  # type: ignore[no-untyped-def]
    meetings_pool, when: str
) -> None:
    methods = rpc_methods(meetings_pool)
    committee, cell = random_id("xa"), random_id("cb")
    world = [ev.unit(committee, kind="committee", name="Đảng ủy xã"), ev.unit(cell, parent_id=committee)]
    assert {r.outcome for r in (await ingest(methods, world)).results} == {"accepted"}

    stored: dict[str, dict[str, Any]] = {}
    for order in ("cancel_first", "schedule_first"):
        mtg = random_id("mtg")
        first = ev.scheduled(mtg, cell, starts_at=START, time=ev.BASE_TIME)
        cancel = ev.raw_event("meeting.cancelled.v1", {"meeting_id": mtg, "reason": "Mưa bão"}, time=CANCELLED_AT)
        again = resent(mtg, cell, time=RESENT_AT[when])
        feed = [first, cancel, again] if order == "cancel_first" else [first, again, cancel]
        outcomes = {}
        for raw in feed:  # one at a time, as separate deliveries
            [result] = (await ingest(methods, [raw])).results
            outcomes[raw["id"]] = result
        async with meetings_pool.acquire() as conn:
            found = await queries.get_meeting(conn, mtg)
            rejection = await queries.open_rejection(conn, source=ev.SOURCE, event_id=again["id"])
        assert found is not None and found["status"] == "cancelled", (order, found)
        stored[order] = found
        if when == "after":
            # never silent: refused at once, or undone and rejected when the cancellation comes
            assert rejection is not None, order
            assert (rejection["field"], rejection["refusal"]["code"]) == ("data.meeting_id", "meeting_cancelled")
            assert "cancelled" in rejection["reason"]
            assert (found["starts_at"], found["kind"], found["location"]) == (START, "regular", "Nhà văn hóa thôn 1")
            if order == "cancel_first":
                assert outcomes[again["id"]].outcome == "rejected"
                assert outcomes[again["id"]].field == "data.meeting_id"
        else:
            assert rejection is None, (order, rejection)
            assert outcomes[again["id"]].outcome == "accepted", outcomes[again["id"]].reason
            assert (found["starts_at"], found["kind"]) == (START + timedelta(days=3), "thematic")
    # the same end state whatever the order (CONTRACT.md)
    assert without_ids(stored["cancel_first"]) == without_ids(stored["schedule_first"])
