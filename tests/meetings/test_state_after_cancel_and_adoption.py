"""What meetings takes once a meeting is cancelled or its minutes adopted, pinned against the documents: a second
cancellation, a task done or an assessment after the adoption were thought loose (to be refused); the documents say
they are taken, and these tests keep it so:

- A second cancellation (another event id) is neither `duplicate` nor refused: CONTRACT.md "Idempotency" makes only
  the same (`source`, `id`) pair a duplicate; "Order is not guaranteed ... converges ... whatever order" makes the
  latest cancellation by (`time`, `id`) give the reason, as it does for every snapshot (domain.first_cancellation);
  and a second cancellation is none of what CONTRACT.md rejects (invalid, or naming something not yet known).
  The meeting stays cancelled from its earliest one (DOMAIN.md "How to read it": cancelled, not held, not scored).
- After the adoption a task is still done (task.completed.v1) and the meeting still assessed (meeting.assessed.v1):
  DOMAIN.md "Meetings" assigns tasks with deadlines at the meeting, and criterion 7 `results` scores them by
  `completed_on` ≤ `due_on` at the next meeting, so they are done after the minutes are adopted; DOMAIN.md "Who uses
  the product" has the upper-level monitor confirm the self-score, and "How to read it" lets the latest assessment of
  a role win, with no bound at the adoption. What the adoption locks is the minutes, tasks included (DOMAIN.md: the
  minutes hold tasks with assignee and due date; CONTRACT.md: `tasks` are a field of minutes.submitted.v1): a
  secretary's minutes rewriting a task are refused `minutes_adopted` naming `data.meeting_id`
  (domain.check_adopted_minutes_unchanged).
"""

from datetime import timedelta
from typing import Any

import pytest

from services.meetings import handlers
from shared.envelope import GATEWAY_SOURCE
from shared.refusals import RefusalCode
from tests.meetings import events as ev
from tests.meetings.fakes import FakeStore
from tests.meetings.rejection_cases import WORLD_IDS, world_events
from tests.support.ids import random_id

START = ev.BASE_TIME + timedelta(days=10)
SENT = START + timedelta(days=1)
"""When a person sends a fact about the held meeting: the day after it."""

TASK = {"task_id": "task-1", "description": "Vận động hội viên", "due_on": "2026-02-01"}


async def ingest(store: FakeStore, *raws: dict[str, Any]) -> list[handlers.IngestResult]:
    """Each event's result, in one batch."""
    return await handlers.ingest_batch(list(raws), store.uow, route="test")


@pytest.mark.parametrize("source", [ev.SOURCE, GATEWAY_SOURCE])
async def test_a_second_cancellation_is_taken_and_its_reason_stands_while_the_same_event_is_a_duplicate(
    source: str,
) -> None:
    store, ids = FakeStore(), {name: random_id(name) for name in WORLD_IDS}
    mtg = random_id("mtg")
    await ingest(store, *world_events(ids, start=START), ev.scheduled(mtg, ids["cell"], starts_at=START))

    def cancellation(reason: str, hours: int) -> dict[str, Any]:
        data = {"meeting_id": mtg, "reason": reason}
        return ev.raw_event("meeting.cancelled.v1", data, time=ev.BASE_TIME + timedelta(hours=hours), source=source)

    first, second = cancellation("Mưa bão", 1), cancellation("Hoãn vì lũ", 2)
    results = await ingest(store, first, second, first)
    assert [result.outcome for result in results] == ["accepted", "accepted", "duplicate"], results
    stored = store.state.meetings[mtg]
    assert stored["cancel_reason"] == "Hoãn vì lũ"  # the latest cancellation's reason
    assert stored["cancel_version"][2] == first["id"]  # cancelled from the earliest one
    assert store.rejection_of(second["id"]) is None


async def adopted_meeting() -> tuple[FakeStore, str, str]:
    """A store with a meeting held (roster, minutes with one task) and its minutes adopted, by an integration."""
    store, ids = FakeStore(), {name: random_id(name) for name in WORLD_IDS}
    mtg, member = random_id("mtg"), ids["mem"]
    held = ev.minutes(mtg, chair_id=member, started_at=START, tasks=[TASK | {"assignee_id": member}])
    adoption = {"meeting_id": mtg, "approved_at": (START + timedelta(minutes=100)).isoformat(), "votes_for": 1}
    feed = [
        *world_events(ids, start=START),
        ev.scheduled(mtg, ids["cell"], starts_at=START),
        ev.attendance(mtg, {member: "present"}),
        held,
        ev.raw_event("minutes.approved.v1", adoption, time=START + timedelta(minutes=100)),
    ]
    assert {result.outcome for result in await ingest(store, *feed)} == {"accepted"}
    return store, mtg, member


async def test_after_the_adoption_a_task_is_done_and_the_meeting_assessed_by_its_secretary() -> None:
    store, mtg, _member = await adopted_meeting()
    done = ev.raw_event(
        "task.completed.v1",
        {"task_id": TASK["task_id"], "meeting_id": mtg, "completed_on": SENT.date().isoformat()},
        source=GATEWAY_SOURCE,
        time=SENT,
    )
    assessed = ev.raw_event(
        "meeting.assessed.v1",
        {"meeting_id": mtg, "assessor": {"role": "cell_committee"}, "points": {"preparation.content": 3}},
        source=GATEWAY_SOURCE,
        time=SENT,
    )
    reassessed = ev.raw_event(
        "meeting.assessed.v1",
        {"meeting_id": mtg, "assessor": {"role": "cell_committee"}, "points": {"preparation.content": 2}},
        source=GATEWAY_SOURCE,
        time=SENT + timedelta(hours=1),
    )
    results = await ingest(store, done, assessed, reassessed)
    assert [result.outcome for result in results] == ["accepted"] * 3, [result.reason for result in results]


async def test_after_the_adoption_a_secretarys_minutes_rewriting_a_task_are_refused_as_adopted() -> None:
    store, mtg, member = await adopted_meeting()
    moved_task = TASK | {"assignee_id": member, "due_on": "2026-03-01"}
    rewritten = ev.minutes(mtg, chair_id=member, started_at=START, tasks=[moved_task], source=GATEWAY_SOURCE, time=SENT)
    [result] = await ingest(store, rewritten)
    assert (result.outcome, result.field) == ("rejected", "data.meeting_id"), result.reason
    assert result.refusal is not None and result.refusal.code is RefusalCode.MINUTES_ADOPTED
    assert store.rejection_of(rewritten["id"]) is not None  # stored for operators like every rejection
