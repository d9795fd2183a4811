"""The daily sweep in batches: a cursor per batch, resumed after a restart, claimed by one runner at a time."""

from collections.abc import AsyncIterator, Iterator
from datetime import datetime

import asyncpg
import pytest

from services.notifications.background import run_due_jobs
from services.notifications.bootstrap import SERVICE_DIR
from services.notifications.config import Settings
from services.notifications.handlers.jobs import DAILY_SWEEP
from services.notifications.unit_of_work import NotificationsUnitOfWork, uow_factory
from shared.db import create_pool
from shared.periods import VIETNAM_TZ
from shared.runtime import migrate
from tests.notifications.bench_sweep import SWEEP_DAY, project
from tests.support.env import fresh_database

SWEEP_AT = datetime(SWEEP_DAY.year, SWEEP_DAY.month, SWEEP_DAY.day, 8, 0, tzinfo=VIETNAM_TZ)


@pytest.fixture(scope="module")
def sweep_database_url(database_url: str) -> Iterator[str]:
    """A database of its own: the runner fires every due job it finds, so none may come from other tests."""
    with fresh_database(database_url) as url:
        yield url


@pytest.fixture
async def sweep_settings(sweep_database_url: str, settings: Settings) -> AsyncIterator[Settings]:
    """Settings on the sweep's database with batches of two cells, and five projected cells."""
    configured = settings.model_copy(update={"database_url": sweep_database_url, "sweep_batch_size": 2})
    await migrate(configured, schema="notifications", service_dir=SERVICE_DIR)
    conn = await asyncpg.connect(sweep_database_url)
    try:
        projected = await conn.fetchval("SELECT count(*) FROM notifications.unit")
    finally:
        await conn.close()
    if not projected:
        await project(configured, cells=5, members=60)
    yield configured


async def swept_cells(pool: asyncpg.Pool) -> set[str]:
    """Cells that have a sweep notification."""
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT DISTINCT cell_id FROM notification WHERE cell_id IS NOT NULL")
    return {row["cell_id"] for row in rows}


async def sweep_row(pool: asyncpg.Pool) -> asyncpg.Record:
    """The schedule row of the day's sweep."""
    async with pool.acquire() as conn:
        return await conn.fetchrow(
            "SELECT cursor, done_at FROM schedule WHERE kind = $1 AND subject_id = $2",
            DAILY_SWEEP,
            SWEEP_DAY.isoformat(),
        )


async def test_the_sweep_commits_each_batch_with_its_cursor_and_a_restart_resumes_there(
    sweep_settings: Settings,
) -> None:
    pool = await create_pool(sweep_settings.database_url, schema="notifications")
    try:
        factory = uow_factory(pool, settings=sweep_settings, clock=lambda: SWEEP_AT)
        # the day's prunes of old attendance figures, old meeting scores, old holds on mail addresses and old
        # notifications (due at 03:00), then the sweep's first batch
        assert await run_due_jobs(factory, limit=5) == 5
        row = await sweep_row(pool)
        # cell 1 had no regular meeting last month; cell 5 has no thematic meeting this quarter
        assert row["cursor"] == "cell-000002" and row["done_at"] is None
        assert await swept_cells(pool) == {"cell-000001"}
    finally:
        await pool.close()

    restarted = await create_pool(sweep_settings.database_url, schema="notifications")
    try:
        factory = uow_factory(restarted, settings=sweep_settings, clock=lambda: SWEEP_AT)
        assert await run_due_jobs(factory, limit=10) == 2
        row = await sweep_row(restarted)
        assert row["done_at"] is not None
        assert await swept_cells(restarted) == {"cell-000001", "cell-000005"}
        async with restarted.acquire() as conn:
            per_key = await conn.fetchval(
                "SELECT max(n) FROM (SELECT count(*) AS n FROM notification"
                " GROUP BY rule, subject_id, recipient_id, period) x"
            )
        assert per_key == 1
    finally:
        await restarted.close()


async def test_a_batch_in_progress_is_not_claimed_by_a_second_runner(sweep_settings: Settings) -> None:
    pool = await create_pool(sweep_settings.database_url, schema="notifications")
    try:
        async with NotificationsUnitOfWork(pool, settings=sweep_settings, clock=lambda: SWEEP_AT) as uow:
            await uow.outgoing.schedule(kind=DAILY_SWEEP, subject_id=SWEEP_DAY.isoformat(), due_at=SWEEP_AT, rearm=True)
            await uow.commit()
        async with NotificationsUnitOfWork(pool, settings=sweep_settings, clock=lambda: SWEEP_AT) as first:
            claimed = await first.outgoing.claim_due_job(SWEEP_AT)
            assert claimed is not None and claimed.kind == DAILY_SWEEP
            async with NotificationsUnitOfWork(pool, settings=sweep_settings, clock=lambda: SWEEP_AT) as second:
                assert await second.outgoing.claim_due_job(SWEEP_AT) is None
    finally:
        await pool.close()
