"""A secretary cannot move a meeting to a start at or before the moment its members were notified of it. A helper
found such a move unchecked: the notice then reads as given after the meeting began and `preparation.notified` scores
0 unsaid, the very thing a secretary's schedule with a late `notified_at` is refused for (notified_after_start). A
notice that was never before the start is not made late by a move, and an integration's move is a fact, taken."""

from datetime import datetime, timedelta
from typing import Any

import pytest

from services.meetings import handlers
from shared.envelope import GATEWAY_SOURCE, HELD_EXTENSION, now
from shared.refusals import RefusalCode
from tests.meetings import events as ev
from tests.support.ids import random_id

FEED = "urn:test:feed"


async def scheduled_meeting(
    uow_factory: Any, *, sent: datetime, starts_in: timedelta, notified_in: timedelta | None, held: bool = False
) -> str:
    """A fresh cell and a meeting its secretary scheduled (or recorded as already held) at `sent`, starting
    `starts_in` from it, members notified `notified_in` from it (None: not given, so at `sent`)."""
    cell, meeting = random_id("cell"), random_id("mtg")
    notice = {} if notified_in is None else {"notified_at": (sent + notified_in).isoformat()}
    schedule = ev.scheduled(
        meeting, cell, starts_at=sent + starts_in, source=GATEWAY_SOURCE, time=sent, data=notice
    ) | ({HELD_EXTENSION: True} if held else {})
    results = await handlers.ingest_batch(
        [ev.unit(cell, time=sent - timedelta(days=60)), schedule], uow_factory, route="http"
    )
    assert [result.outcome for result in results] == ["accepted"] * 2, results[-1].reason
    return meeting


def move(meeting: str, starts_at: datetime, *, source: str = GATEWAY_SOURCE) -> dict[str, Any]:
    """meeting.rescheduled.v1 of the meeting to `starts_at`, sent now under `source`."""
    data = {"meeting_id": meeting, "starts_at": starts_at.isoformat()}
    return ev.raw_event("meeting.rescheduled.v1", data, source=source, time=now().replace(microsecond=0))


async def start_and_notice(uow_factory: Any, meeting: str) -> tuple[datetime, datetime | None]:
    """The meeting's start in force and its notice as stored."""
    async with uow_factory() as uow:
        state = await uow.meetings.get_state(meeting)
    assert state is not None
    return state.starts_at, state.notified_at


@pytest.mark.parametrize(
    ("starts_in", "notified_in", "moved_to"),
    [
        # a meeting of 10 days ago scheduled 20 days ago (members notified then), "corrected" to 25 days ago
        (timedelta(days=10), None, -timedelta(days=5)),
        (timedelta(days=10), None, timedelta(0)),  # to the very moment of the notice: not before it
        # a meeting still ahead whose secretary gave a notice on the 5th day, moved to the 3rd (both still ahead)
        (timedelta(days=30), timedelta(days=25), timedelta(days=23)),
    ],
)
async def test_a_secretarys_move_to_a_start_at_or_before_the_notice_is_refused_naming_the_start(
    uow_factory: Any, starts_in: timedelta, notified_in: timedelta | None, moved_to: timedelta
) -> None:
    sent = now().replace(microsecond=0) - timedelta(days=20)
    meeting = await scheduled_meeting(uow_factory, sent=sent, starts_in=starts_in, notified_in=notified_in)
    notice = sent + (notified_in or timedelta(0))
    command = move(meeting, sent + moved_to)
    [refused] = await handlers.ingest_batch([command], uow_factory, route="http")
    assert (refused.outcome, refused.field) == ("rejected", "data.starts_at")
    assert refused.refusal is not None and refused.refusal.code == RefusalCode.MOVED_BEFORE_NOTICE
    assert refused.reason == (
        f"data.starts_at: {(sent + moved_to).isoformat()} is not after the members were notified of meeting"
        f" {meeting} ({notice.isoformat()}): a meeting is moved to a start after its notice"
    )
    assert await start_and_notice(uow_factory, meeting) == (sent + starts_in, notice)  # nothing moved
    # the same command sent again is judged again, and refused alike (a rejection leaves the inbox)
    [again] = await handlers.ingest_batch([command], uow_factory, route="http")
    assert (again.outcome, again.field, again.reason) == ("rejected", "data.starts_at", refused.reason)


@pytest.mark.parametrize(
    ("starts_in", "notified_in", "moved_to"),
    [
        (timedelta(days=10), None, timedelta(minutes=1)),  # a minute after the notice: the correction stands
        (timedelta(days=10), None, timedelta(days=12)),  # later than it was
        (timedelta(days=30), timedelta(days=25), timedelta(days=32)),  # a meeting still ahead, put off
    ],
)
async def test_a_secretarys_move_to_a_start_after_the_notice_is_taken_once(
    uow_factory: Any, starts_in: timedelta, notified_in: timedelta | None, moved_to: timedelta
) -> None:
    sent = now().replace(microsecond=0) - timedelta(days=20)
    meeting = await scheduled_meeting(uow_factory, sent=sent, starts_in=starts_in, notified_in=notified_in)
    command = move(meeting, sent + moved_to)
    [taken] = await handlers.ingest_batch([command], uow_factory, route="http")
    assert (taken.outcome, taken.field) == ("accepted", None), taken.reason
    notice = sent + (notified_in or timedelta(0))
    assert await start_and_notice(uow_factory, meeting) == (sent + moved_to, notice)
    [again] = await handlers.ingest_batch([command], uow_factory, route="http")
    assert again.outcome == "duplicate"
    assert await start_and_notice(uow_factory, meeting) == (sent + moved_to, notice)


async def test_a_meeting_recorded_as_held_without_a_notice_is_still_corrected_to_an_earlier_start(
    uow_factory: Any,
) -> None:
    """Recorded as already held, its members count as notified at the recording, after the start (README): moving its
    start an hour earlier leaves the notice as late as it was, and is taken."""
    sent = now().replace(microsecond=0) - timedelta(hours=1)
    meeting = await scheduled_meeting(uow_factory, sent=sent, starts_in=-timedelta(days=2), notified_in=None, held=True)
    [taken] = await handlers.ingest_batch([move(meeting, sent - timedelta(days=2, hours=1))], uow_factory, route="http")
    assert (taken.outcome, taken.field) == ("accepted", None), taken.reason
    assert await start_and_notice(uow_factory, meeting) == (sent - timedelta(days=2, hours=1), sent)


async def test_an_integrations_move_before_the_notice_is_a_fact_taken_and_read_as_not_notified(
    uow_factory: Any,
) -> None:
    """CONTRACT.md: an integration's facts are stored in any order; its move to before the notice is taken, and the
    notice then is not before the start in force (evaluation scores `preparation.notified` 0 for it, strictly)."""
    sent = now().replace(microsecond=0) - timedelta(days=20)
    meeting = await scheduled_meeting(uow_factory, sent=sent, starts_in=timedelta(days=10), notified_in=None)
    [taken] = await handlers.ingest_batch([move(meeting, sent, source=FEED)], uow_factory, route="http")
    assert (taken.outcome, taken.field) == ("accepted", None), taken.reason
    assert await start_and_notice(uow_factory, meeting) == (sent, sent)


async def test_a_move_in_the_batch_of_its_schedule_is_judged_on_that_schedules_notice(uow_factory: Any) -> None:
    """The notice is known from the schedule written earlier in the same transaction, not only once stored."""
    sent = now().replace(microsecond=0)
    cell, meeting = random_id("cell"), random_id("mtg")
    notice = {"notified_at": (sent + timedelta(days=5)).isoformat()}
    batch = [
        ev.unit(cell, time=sent - timedelta(days=60)),
        ev.scheduled(meeting, cell, starts_at=sent + timedelta(days=10), source=GATEWAY_SOURCE, time=sent, data=notice),
        move(meeting, sent + timedelta(days=5)),
    ]
    results = await handlers.ingest_batch(batch, uow_factory, route="http")
    assert [(result.outcome, result.field) for result in results] == [
        ("accepted", None),
        ("accepted", None),
        ("rejected", "data.starts_at"),
    ]
    assert results[2].refusal is not None and results[2].refusal.code == RefusalCode.MOVED_BEFORE_NOTICE
