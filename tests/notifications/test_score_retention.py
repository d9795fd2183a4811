"""The daily purge of meeting scores (migration 0013 kept one row per scored meeting forever): a score stored more
than `meeting_score_retention_days` ago goes once its settled-rating check fired (or none was planned: not low), in
batches of `prune_batch_size` meetings; a recent score or one whose check is still pending stays, and an old copy of
a purged score redelivered later stores nothing and plans no check (real database, the clock driven by the test)."""

from dataclasses import replace
from datetime import datetime, timedelta

import asyncpg
import pytest
from pydantic import ValidationError

from services.notifications.config import Settings
from services.notifications.handlers.jobs import DAILY_SCORE_PRUNE, plan_daily_jobs, run_job
from services.notifications.repository.outgoing import Job
from services.notifications.unit_of_work import NotificationsUnitOfWork
from shared.periods import VIETNAM_TZ, at_local_hour
from tests.notifications.conftest import due_at, handle, run_due, scored
from tests.notifications.events import Province
from tests.notifications.fakes import Clock, FakeUnitOfWork
from tests.support.ids import random_id

NOW = datetime(2026, 11, 10, 9, 0, tzinfo=VIETNAM_TZ)
OLD = NOW - timedelta(days=200)
RECENT = NOW - timedelta(days=1)


async def scored_at(
    pool: asyncpg.Pool, settings: Settings, clock: Clock, p: Province, rating: str, *, at: datetime, check: bool
) -> str:
    """A meeting of the cell scored `rating` at `at` (stored then); with `check`, its settled-rating check fired."""
    meeting_id = random_id("mtg")
    clock.value = at
    await handle(pool, settings, clock, scored(p, meeting_id, rating, 60.0 if rating == "average" else 90.0, time=at))
    if check:
        clock.value = at + timedelta(minutes=30)
        assert await run_due(pool, settings, clock, meeting_id) is not None
    return meeting_id


async def prune(pool: asyncpg.Pool, settings: Settings, clock: Clock) -> list[str]:
    """The day's purge as the schedule runs it (batch after batch, each in its own transaction with the job's
    cursor); the cursors of the unfinished batches."""
    job = Job(id=0, kind=DAILY_SCORE_PRUNE, subject_id=NOW.date().isoformat(), due_at=NOW, attempts=0)
    cursors: list[str] = []
    for _ in range(10_000):
        async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
            ran = await run_job(job, uow)
            await uow.commit()
        if ran.resume_after is None:
            return cursors
        assert ran.resume_after > (job.cursor or ""), "the purge's cursor moves on"
        cursors.append(ran.resume_after)
        job = replace(job, cursor=ran.resume_after)
    raise AssertionError("the purge never finished")


async def kept(pool: asyncpg.Pool, meeting_ids: list[str]) -> set[str]:
    """Those of the meetings whose score is still stored."""
    rows = await pool.fetch("SELECT meeting_id FROM meeting_score WHERE meeting_id = ANY($1::text[])", meeting_ids)
    return {row["meeting_id"] for row in rows}


async def test_old_scores_whose_check_is_over_go_and_recent_or_pending_ones_stay(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    p, clock = Province(), Clock(OLD - timedelta(days=1))
    await handle(pool, settings, clock, *p.setup())
    old_checked = await scored_at(pool, settings, clock, p, "average", at=OLD, check=True)
    old_fair = await scored_at(pool, settings, clock, p, "fair", at=OLD, check=False)  # no check planned
    old_pending = await scored_at(pool, settings, clock, p, "average", at=OLD, check=False)  # its check not fired
    recent_checked = await scored_at(pool, settings, clock, p, "poor", at=RECENT, check=True)
    recent_fair = await scored_at(pool, settings, clock, p, "fair", at=RECENT, check=False)
    everyone = [old_checked, old_fair, old_pending, recent_checked, recent_fair]
    assert await kept(pool, everyone) == set(everyone)

    clock.value = NOW
    await prune(pool, settings, clock)
    assert await kept(pool, everyone) == {old_pending, recent_checked, recent_fair}

    # the purged fair score's older "average", redelivered now: nothing is left to be newer than, so without the
    # retention it would be stored and alert; it is older than the retention, so it stores and plans nothing
    await handle(pool, settings, clock, scored(p, old_fair, "average", 60.0, time=OLD - timedelta(seconds=1)))
    assert await kept(pool, [old_fair]) == set() and await due_at(pool, old_fair) is None
    # a score published now about the same meeting (rescored) is stored as before
    await handle(pool, settings, clock, scored(p, old_fair, "average", 60.0, time=NOW))
    assert await kept(pool, [old_fair]) == {old_fair} and await due_at(pool, old_fair) == NOW + timedelta(minutes=30)


async def test_a_province_purge_goes_batch_after_batch(pool: asyncpg.Pool, settings: Settings) -> None:
    """Many short transactions, never one over every row: five old scores in batches of two take at least three
    batches, in cursor order, and all five go."""
    p, clock = Province(), Clock(OLD - timedelta(days=1))
    await handle(pool, settings, clock, *p.setup())
    old = [await scored_at(pool, settings, clock, p, "good", at=OLD, check=False) for _ in range(5)]
    clock.value = NOW
    async with pool.acquire() as conn:  # the database may hold other tests' scores too
        stored = await conn.fetchval("SELECT count(*) FROM meeting_score")
    cursors = await prune(pool, settings.model_copy(update={"prune_batch_size": 2}), clock)
    assert len(cursors) == stored // 2 >= 2 and cursors == sorted(cursors)
    assert await kept(pool, old) == set()


async def test_the_purge_is_planned_daily_at_the_prune_hour() -> None:
    uow = FakeUnitOfWork(Settings(), now=NOW)
    await plan_daily_jobs(uow)
    job = uow.outgoing.jobs[(DAILY_SCORE_PRUNE, NOW.date().isoformat())]
    assert job.due_at == at_local_hour(NOW.date(), uow.settings.prune_hour)


def test_the_retention_must_outlast_the_history_cutoff() -> None:
    """A score purged while its meeting still alerts would let an older copy of it count as new."""
    with pytest.raises(ValidationError, match="MEETING_SCORE_RETENTION_DAYS"):
        Settings(history_cutoff_days=14, meeting_score_retention_days=14)
    assert Settings().meeting_score_retention_days > Settings().history_cutoff_days
