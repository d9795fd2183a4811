"""meeting_rated_low on a meeting's settled rating (a fresh-user trial: an integration sent a meeting's facts in reverse
order, evaluation published an interim 69.23 "average" from the minutes before the roster, then 89.23 "fair" 0.2 s
later, and the committee's inbox and mail kept "xếp loại Trung bình" for a meeting rated Fair). The alert is decided
by a check `settle_minutes` (30) after a low score, re-armed by later ones, on the meeting's latest score then
(real database, the schedule's clock driven by the test)."""

from datetime import datetime, timedelta

import asyncpg

from services.notifications.config import Settings
from services.notifications.handlers import BATCH_HANDLERS, HANDLERS
from services.notifications.handlers.commands import Commands
from services.notifications.handlers.jobs import run_job
from services.notifications.repository.outgoing import Job
from services.notifications.unit_of_work import NotificationsUnitOfWork
from shared.contracts.registry import read_event
from shared.envelope import CloudEvent
from shared.periods import VIETNAM_TZ
from tests.notifications.events import Province, event
from tests.notifications.fakes import Clock
from tests.support.ids import random_id

NOW = datetime(2026, 11, 10, 9, 0, tzinfo=VIETNAM_TZ)
CHECK = "score.meeting"


def scored(p: Province, meeting_id: str, rating: str, score: float, *, time: datetime) -> CloudEvent:
    """score.meeting.updated.v1 of the meeting, final (not provisional), published at `time`."""
    data = {
        "meeting_id": meeting_id,
        "cell_id": p.cell,
        "framework": {"id": "f", "version": "1"},
        "score": score,
        "rating": rating,
        "provisional": False,
        "criteria": [],
    }
    return event("score.meeting.updated.v1", data, source="urn:chibo:evaluation", time=time)


async def handle(pool: asyncpg.Pool, settings: Settings, clock: Clock, *events: CloudEvent) -> None:
    """Each event through its handler in its own committed unit of work, at the clock's time."""
    for item in events:
        async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
            await HANDLERS[item.type](read_event(item), uow)
            await uow.commit()


async def held(pool: asyncpg.Pool, settings: Settings, clock: Clock) -> tuple[Province, str]:
    """A projected cell and a meeting of it that started yesterday."""
    p, meeting_id = Province(), random_id("mtg")
    await handle(pool, settings, clock, *p.setup(), p.scheduled(meeting_id, clock.value - timedelta(days=1)))
    return p, meeting_id


async def run_due(pool: asyncpg.Pool, settings: Settings, clock: Clock, meeting_id: str) -> int | None:
    """The meeting's rating check as the schedule runs it once due at the clock's time (claimed, run, marked fired,
    in one transaction): the alerts it created, None while it is not due (or not planned, or fired already)."""
    async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
        row = await uow.connection.fetchrow(
            "SELECT id, kind, subject_id, due_at, attempts, cursor FROM schedule WHERE kind = $1 AND subject_id = $2"
            " AND done_at IS NULL AND due_at <= $3 FOR UPDATE",
            CHECK,
            meeting_id,
            clock.value,
        )
        if row is None:
            return None
        created = (await run_job(Job(**dict(row)), uow)).created
        await uow.outgoing.finish_job(row["id"], now=clock.value)
        await uow.commit()
    return created


async def due_at(pool: asyncpg.Pool, meeting_id: str) -> datetime | None:
    """When the meeting's rating check is due (None when none is planned)."""
    async with pool.acquire() as conn:
        found: datetime | None = await conn.fetchval(
            "SELECT due_at FROM schedule WHERE kind = $1 AND subject_id = $2", CHECK, meeting_id
        )
    return found


async def alerts(pool: asyncpg.Pool, meeting_id: str) -> list[tuple[str, str, str, str]]:
    """(recipient, rating, title, body) of every meeting_rated_low alert about the meeting."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT recipient_id, period, title, body FROM notification WHERE rule = 'meeting_rated_low'"
            " AND subject_id = $1 ORDER BY recipient_id, period",
            meeting_id,
        )
    return [(row["recipient_id"], row["period"], row["title"], row["body"]) for row in rows]


async def test_an_interim_average_replaced_by_fair_within_the_settle_period_raises_no_alert(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    clock = Clock(NOW)
    p, meeting_id = await held(pool, settings, clock)
    interim = scored(p, meeting_id, "average", 69.23, time=NOW)
    settled = scored(p, meeting_id, "fair", 89.23, time=NOW + timedelta(milliseconds=200))
    await handle(pool, settings, clock, interim)
    assert await alerts(pool, meeting_id) == []  # not judged on the interim score
    assert await due_at(pool, meeting_id) == NOW + timedelta(minutes=30)
    await handle(pool, settings, clock, settled)

    clock.value = NOW + timedelta(minutes=30)
    assert await run_due(pool, settings, clock, meeting_id) == 0
    assert await alerts(pool, meeting_id) == []


async def test_a_late_older_average_after_fair_plans_nothing_and_raises_nothing(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    clock = Clock(NOW)
    p, meeting_id = await held(pool, settings, clock)
    await handle(pool, settings, clock, scored(p, meeting_id, "fair", 89.23, time=NOW))
    await handle(pool, settings, clock, scored(p, meeting_id, "average", 69.23, time=NOW - timedelta(seconds=1)))
    assert await due_at(pool, meeting_id) is None
    clock.value = NOW + timedelta(hours=2)
    assert await run_due(pool, settings, clock, meeting_id) is None
    assert await alerts(pool, meeting_id) == []


async def test_an_average_that_stays_raises_one_alert_after_the_settle_period_with_its_score(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    clock = Clock(NOW)
    p, meeting_id = await held(pool, settings, clock)
    await handle(pool, settings, clock, scored(p, meeting_id, "average", 69.23, time=NOW))

    clock.value = NOW + timedelta(minutes=29)
    assert await run_due(pool, settings, clock, meeting_id) is None  # not settled yet
    assert await alerts(pool, meeting_id) == []
    clock.value = NOW + timedelta(minutes=30)
    assert await run_due(pool, settings, clock, meeting_id) == 1
    [(recipient, rating, title, body)] = await alerts(pool, meeting_id)
    assert (recipient, rating) == (p.committee, "average")
    assert "Trung bình" in title and "69,2" in body and "Trung bình" in body


async def test_average_then_poor_raises_one_alert_naming_poor_after_the_later_score_settles(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    clock = Clock(NOW)
    p, meeting_id = await held(pool, settings, clock)
    await handle(pool, settings, clock, scored(p, meeting_id, "average", 69.23, time=NOW))
    clock.value = NOW + timedelta(minutes=10)
    await handle(pool, settings, clock, scored(p, meeting_id, "poor", 41.5, time=NOW + timedelta(minutes=10)))
    assert await due_at(pool, meeting_id) == NOW + timedelta(minutes=40)  # re-armed by the later score

    clock.value = NOW + timedelta(minutes=30)
    assert await run_due(pool, settings, clock, meeting_id) is None
    clock.value = NOW + timedelta(minutes=40)
    assert await run_due(pool, settings, clock, meeting_id) == 1
    [(recipient, rating, title, body)] = await alerts(pool, meeting_id)
    assert (recipient, rating) == (p.committee, "poor")
    assert "Kém" in title and "41,5" in body and "Trung bình" not in title + body


async def test_a_meeting_cancelled_before_the_check_raises_nothing(pool: asyncpg.Pool, settings: Settings) -> None:
    clock = Clock(NOW)
    p, meeting_id = await held(pool, settings, clock)
    await handle(pool, settings, clock, scored(p, meeting_id, "poor", 41.5, time=NOW))
    clock.value = NOW + timedelta(minutes=5)
    await handle(pool, settings, clock, event("meeting.cancelled.v1", {"meeting_id": meeting_id, "reason": "Họp nhầm"}))

    clock.value = NOW + timedelta(minutes=30)
    assert await run_due(pool, settings, clock, meeting_id) == 0
    assert await alerts(pool, meeting_id) == []


async def test_a_redelivered_low_score_neither_moves_the_check_nor_alerts_twice(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    clock = Clock(NOW)
    p, meeting_id = await held(pool, settings, clock)
    low = scored(p, meeting_id, "average", 69.23, time=NOW)
    await handle(pool, settings, clock, low)
    clock.value = NOW + timedelta(minutes=20)
    await handle(pool, settings, clock, low)  # a copy before the check: it stays due as planned
    assert await due_at(pool, meeting_id) == NOW + timedelta(minutes=30)

    clock.value = NOW + timedelta(minutes=30)
    assert await run_due(pool, settings, clock, meeting_id) == 1
    clock.value = NOW + timedelta(minutes=45)
    await handle(pool, settings, clock, low)  # a copy after it: not newer, no check again
    clock.value = NOW + timedelta(hours=2)
    assert await run_due(pool, settings, clock, meeting_id) is None
    assert [rating for _, rating, _, _ in await alerts(pool, meeting_id)] == ["average"]


async def test_a_batch_of_the_interim_and_the_settled_score_plans_no_check(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    clock = Clock(NOW)
    p, meeting_id = await held(pool, settings, clock)
    batch = [
        scored(p, meeting_id, "average", 69.23, time=NOW),
        scored(p, meeting_id, "fair", 89.23, time=NOW + timedelta(milliseconds=200)),
    ]
    async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
        await BATCH_HANDLERS["score.meeting.updated.v1"]([read_event(item) for item in batch], uow)
        await uow.commit()
    assert await due_at(pool, meeting_id) is None
    async with pool.acquire() as conn:
        stored = await conn.fetchrow("SELECT rating, score FROM meeting_score WHERE meeting_id = $1", meeting_id)
    assert (stored["rating"], stored["score"]) == ("fair", 89.23)


async def test_a_committee_settle_period_moves_a_pending_check_of_its_cells(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    clock = Clock(NOW)
    p, meeting_id = await held(pool, settings, clock)
    await handle(pool, settings, clock, scored(p, meeting_id, "average", 69.23, time=NOW))
    commands = Commands(lambda: NotificationsUnitOfWork(pool, settings=settings, clock=clock))
    answer = await commands.set_rule(p.committee, "meeting_rated_low", {"settle_minutes": 90})
    assert answer["rules"]["meeting_rated_low"]["params"]["settle_minutes"] == 90
    assert await due_at(pool, meeting_id) == NOW + timedelta(minutes=90)

    later = random_id("mtg")
    await handle(pool, settings, clock, p.scheduled(later, NOW - timedelta(hours=3)))
    await handle(pool, settings, clock, scored(p, later, "poor", 41.5, time=NOW))
    assert await due_at(pool, later) == NOW + timedelta(minutes=90)  # a new check takes the committee's period
