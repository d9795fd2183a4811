"""The unexcused-absence alert of a roster only for a held meeting (DOMAIN.md: it has minutes and is not cancelled),
whichever of roster and minutes comes first, through the handlers on the real database."""

from datetime import datetime, timedelta

import asyncpg

from services.notifications.config import Settings
from services.notifications.handlers import BATCH_HANDLERS, HANDLERS
from services.notifications.unit_of_work import NotificationsUnitOfWork
from shared.contracts.registry import read_event
from shared.envelope import CloudEvent
from shared.periods import VIETNAM_TZ
from tests.notifications.events import Province, event
from tests.notifications.fakes import Clock
from tests.support.ids import random_id

NOW = datetime(2026, 11, 10, 9, 0, tzinfo=VIETNAM_TZ)


def roster(meeting_id: str, p: Province) -> CloudEvent:
    """attendance.recorded.v1 with the plain member absent without reason."""
    return event(
        "attendance.recorded.v1",
        {
            "meeting_id": meeting_id,
            "records": [
                {"member_id": p.secretary, "status": "present"},
                {"member_id": p.deputy, "status": "present"},
                {"member_id": p.member, "status": "absent"},
                {"member_id": p.exempt, "status": "exempt"},
            ],
        },
        time=NOW - timedelta(hours=1),
    )


async def handle(pool: asyncpg.Pool, settings: Settings, *events: CloudEvent, batch: bool = False) -> None:
    """Each event through its handler in its own unit of work, or (`batch`) all through the batch handler of their
    one type in one unit of work."""
    clock = Clock(NOW)
    if batch:
        async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
            await BATCH_HANDLERS[events[0].type]([read_event(item) for item in events], uow)
            await uow.commit()
        return
    for item in events:
        async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
            await HANDLERS[item.type](read_event(item), uow)
            await uow.commit()


async def alerted(pool: asyncpg.Pool, meeting_id: str) -> list[tuple[str, str]]:
    """(recipient, period) of every unexcused-absence alert about the meeting, sorted."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT recipient_id, period FROM notification WHERE rule = 'unexcused_absence' AND subject_id = $1",
            meeting_id,
        )
    return sorted((row["recipient_id"], row["period"]) for row in rows)


async def held_cell(pool: asyncpg.Pool, settings: Settings, *, days_ago: float = 1) -> tuple[Province, str]:
    """A projected cell and a meeting of it that started `days_ago` days ago."""
    p, meeting_id = Province(), random_id("mtg")
    await handle(pool, settings, *p.setup(), p.scheduled(meeting_id, NOW - timedelta(days=days_ago)))
    return p, meeting_id


def committee(p: Province, meeting_id: str) -> list[tuple[str, str]]:
    """The alerts one unexcused absence of the plain member raises: one to each of the cell committee."""
    return sorted([(p.secretary, meeting_id), (p.deputy, meeting_id)])


async def test_a_roster_alerts_nothing_until_the_minutes_then_once(pool: asyncpg.Pool, settings: Settings) -> None:
    p, meeting_id = await held_cell(pool, settings)
    await handle(pool, settings, roster(meeting_id, p))
    assert await alerted(pool, meeting_id) == []
    await handle(pool, settings, p.minutes(meeting_id, NOW - timedelta(days=1) + timedelta(hours=2)))
    assert await alerted(pool, meeting_id) == committee(p, meeting_id)
    await handle(pool, settings, p.minutes(meeting_id, NOW - timedelta(hours=20)), roster(meeting_id, p))
    assert await alerted(pool, meeting_id) == committee(p, meeting_id)  # again: still once


async def test_minutes_then_a_roster_alert_once(pool: asyncpg.Pool, settings: Settings) -> None:
    p, meeting_id = await held_cell(pool, settings)
    await handle(pool, settings, p.minutes(meeting_id, NOW - timedelta(hours=20)))
    assert await alerted(pool, meeting_id) == []
    await handle(pool, settings, roster(meeting_id, p))
    assert await alerted(pool, meeting_id) == committee(p, meeting_id)


async def test_a_roster_without_minutes_alerts_nothing(pool: asyncpg.Pool, settings: Settings) -> None:
    p, meeting_id = await held_cell(pool, settings)
    await handle(pool, settings, roster(meeting_id, p))
    assert await alerted(pool, meeting_id) == []


async def test_a_roster_of_a_meeting_cancelled_before_its_minutes_alerts_nothing(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    p, meeting_id = await held_cell(pool, settings)
    await handle(
        pool,
        settings,
        roster(meeting_id, p),
        event("meeting.cancelled.v1", {"meeting_id": meeting_id, "reason": "Hoãn do mưa bão"}),
        p.minutes(meeting_id, NOW - timedelta(hours=20)),
    )
    assert await alerted(pool, meeting_id) == []


async def test_minutes_in_a_batch_alert_for_each_held_meeting_with_a_roster(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    p, held = await held_cell(pool, settings)
    quiet, unknown = random_id("mtg"), random_id("mtg")
    await handle(pool, settings, p.scheduled(quiet, NOW - timedelta(days=2)), roster(held, p), roster(unknown, p))
    minutes = [p.minutes(meeting_id, NOW - timedelta(hours=20)) for meeting_id in (held, quiet, unknown, held)]
    await handle(pool, settings, *minutes, batch=True)
    assert await alerted(pool, held) == committee(p, held)
    assert await alerted(pool, quiet) == []  # no roster
    assert await alerted(pool, unknown) == []  # its meeting is not known: its schedule will decide
    await handle(pool, settings, p.scheduled(unknown, NOW - timedelta(days=3)))
    assert await alerted(pool, unknown) == committee(p, unknown)  # held and known now


async def test_imported_history_stays_silent_with_roster_and_minutes(pool: asyncpg.Pool, settings: Settings) -> None:
    p, meeting_id = await held_cell(pool, settings, days_ago=300)
    await handle(pool, settings, roster(meeting_id, p), p.minutes(meeting_id, NOW - timedelta(days=300)))
    await handle(pool, settings, p.minutes(meeting_id, NOW - timedelta(days=300)), batch=True)
    assert await alerted(pool, meeting_id) == []
