"""A meeting's minutes resubmitted: the end the latest minutes give by the event's (time, id), as meetings keeps them
(CONTRACT.md: snapshots, latest wins by time), is the end the late-records deadline counts from, whatever order the
two snapshots arrive in, one by one or in one batch (real database).

Before, the projection kept the end of whichever minutes it processed last: the first minutes arriving late (the
broker does not keep order) moved the deadline back to their older end."""

from datetime import datetime, timedelta

import asyncpg
import pytest

from services.notifications.config import Settings
from services.notifications.handlers import BATCH_HANDLERS
from services.notifications.unit_of_work import NotificationsUnitOfWork
from shared.contracts.registry import read_event
from shared.envelope import CloudEvent
from shared.periods import VIETNAM_TZ
from tests.notifications.events import Province, event
from tests.notifications.fakes import Clock
from tests.notifications.test_handlers import due_times, handle
from tests.support.ids import random_id

STARTS = datetime(2026, 11, 30, 8, 0, tzinfo=VIETNAM_TZ)
FIRST_END = datetime(2026, 11, 30, 10, 0, tzinfo=VIETNAM_TZ)
CORRECTED_END = datetime(2026, 11, 30, 12, 0, tzinfo=VIETNAM_TZ)


def _minutes(
    p: Province, meeting_id: str, ended_at: datetime, *, time: datetime, content: str, event_id: str | None = None
) -> CloudEvent:
    data = p.minutes(meeting_id, ended_at, started_at=STARTS.isoformat(), content=content).data
    assert isinstance(data, dict)
    return event("minutes.submitted.v1", data, time=time, event_id=event_id or random_id("evt"))


async def _stored(pool: asyncpg.Pool, meeting_id: str) -> tuple[datetime, datetime]:
    """(minutes submitted at, ended at) as the projection keeps them."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT minutes_submitted_at, ended_at FROM meeting WHERE meeting_id = $1", meeting_id
        )
    return row["minutes_submitted_at"], row["ended_at"]


async def _handle_batch(pool: asyncpg.Pool, settings: Settings, clock: Clock, *events: CloudEvent) -> None:
    """The events of one type through the type's batch handler, in one unit of work."""
    async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
        await BATCH_HANDLERS[events[0].type]([read_event(item) for item in events], uow)
        await uow.commit()


@pytest.mark.parametrize("path", ["one by one", "one batch", "two batches"])
@pytest.mark.parametrize("newest_last", [True, False])
async def test_the_latest_minutes_give_the_end_whatever_order_they_arrive_in(
    pool: asyncpg.Pool, settings: Settings, path: str, newest_last: bool
) -> None:
    p = Province()
    clock = Clock(STARTS - timedelta(days=1))
    meeting_id = random_id("mtg")
    await handle(pool, settings, clock, *p.setup())
    await handle(pool, settings, clock, p.scheduled(meeting_id, STARTS))
    clock.value = CORRECTED_END + timedelta(hours=3)
    submitted = FIRST_END + timedelta(hours=1)
    first = _minutes(p, meeting_id, FIRST_END, time=submitted, content="Biên bản lần đầu")
    corrected = _minutes(
        p,
        meeting_id,
        CORRECTED_END,
        time=CORRECTED_END + timedelta(hours=1),
        content="Biên bản sửa lại: họp đến 12 giờ",
    )
    arrival = [first, corrected] if newest_last else [corrected, first]

    if path == "one by one":
        await handle(pool, settings, clock, *arrival)
    elif path == "one batch":
        await _handle_batch(pool, settings, clock, *arrival)
    else:
        for item in arrival:
            await _handle_batch(pool, settings, clock, item)

    # the earliest submission says when minutes first arrived; the corrected minutes say when the meeting ended
    assert await _stored(pool, meeting_id) == (submitted, CORRECTED_END)
    due = await due_times(pool, meeting_id)
    assert due["meeting.minutes"] == (CORRECTED_END + timedelta(days=2), False)
    assert due["meeting.minutes_superior"] == (CORRECTED_END + timedelta(days=5), False)


async def test_minutes_at_the_same_time_are_ordered_by_their_id(pool: asyncpg.Pool, settings: Settings) -> None:
    p = Province()
    clock = Clock(STARTS - timedelta(days=1))
    first_id, second_id = random_id("mtg"), random_id("mtg")
    await handle(pool, settings, clock, *p.setup())
    await handle(pool, settings, clock, p.scheduled(first_id, STARTS), p.scheduled(second_id, STARTS))
    clock.value = CORRECTED_END + timedelta(hours=3)
    at = CORRECTED_END + timedelta(hours=1)
    for meeting_id, batch in ((first_id, False), (second_id, True)):
        older = _minutes(p, meeting_id, FIRST_END, time=at, content="Biên bản A", event_id=f"{meeting_id}-a")
        newer = _minutes(p, meeting_id, CORRECTED_END, time=at, content="Biên bản B", event_id=f"{meeting_id}-b")
        if batch:
            await _handle_batch(pool, settings, clock, newer, older)
        else:
            await handle(pool, settings, clock, newer, older)
        assert (await _stored(pool, meeting_id))[1] == CORRECTED_END
