"""A restart of the real notifications service with a changed `CHIBO_DIGEST_HOUR` moves today's digest, not yet run,
to the new hour: to a past hour it runs at once; a day's digest that already ran does not run again. Real broker,
database and service process."""

from datetime import datetime
from pathlib import Path

import asyncpg

from services.notifications.config import Settings
from services.notifications.handlers.jobs import DAILY_DIGEST, plan_daily_jobs
from services.notifications.unit_of_work import uow_factory
from shared.periods import VIETNAM_TZ, at_local_hour
from tests.notifications.test_crash_duplicates import spawn, wait_for
from tests.support.running import free_port, stop_process
from tests.support.system import service_env

OLD_HOUR, NEW_HOUR = 23, 0
"""The last hour of the day (still ahead but in its own hour) and the first (always passed)."""


async def test_a_restart_with_a_new_digest_hour_moves_todays_digest(
    pool: asyncpg.Pool, amqp_url: str, database_url: str, tmp_path: Path
) -> None:
    """Started with the digest at 23:00, restarted with it at 00:00: today's digest runs at once (once)."""
    today = datetime.now(VIETNAM_TZ).date()
    await pool.execute("DELETE FROM schedule WHERE kind = $1 AND subject_id >= $2", DAILY_DIGEST, today.isoformat())
    log = tmp_path / "notifications.log"
    env = service_env(amqp_url, database_url, free_port())

    async def row() -> asyncpg.Record | None:
        return await pool.fetchrow(
            "SELECT due_at, done_at FROM schedule WHERE kind = $1 AND subject_id = $2", DAILY_DIGEST, today.isoformat()
        )

    async def planned() -> bool:
        return await row() is not None

    process = spawn({**env, "CHIBO_HTTP_PORT": str(free_port()), "CHIBO_DIGEST_HOUR": str(OLD_HOUR)}, log)
    try:
        await wait_for(planned, "today's digest planned", process=process, log=log)
    finally:
        stop_process(process)
    first = await row()
    assert first is not None and first["due_at"] == at_local_hour(today, OLD_HOUR)
    process = spawn({**env, "CHIBO_HTTP_PORT": str(free_port()), "CHIBO_DIGEST_HOUR": str(NEW_HOUR)}, log)

    async def replanned() -> bool:
        now = await row()
        return now is not None and now["done_at"] is not None and "daily_jobs_replanned" in log.read_text()

    async def ran_once() -> bool:
        now = await row()
        return now is not None and now["done_at"] is not None

    try:
        if first["done_at"] is None:
            # not run under the old hour: moved to the new one, already passed, so it runs now
            await wait_for(replanned, "today's digest run at the new hour", process=process, log=log)
            after = await row()
            assert after is not None and after["due_at"] == at_local_hour(today, NEW_HOUR)
        else:
            # ran under the old hour (the test runs in its last hour): the restart leaves it as it was
            await wait_for(ran_once, "the service's first poll", process=process, log=log)
            assert await row() == first
    finally:
        stop_process(process)


async def test_only_the_jobs_not_started_move_to_a_new_hour(pool: asyncpg.Pool, settings: Settings) -> None:
    """Today's digest moves to each new hour, later or earlier, while it has not started; one with a batch done (its
    cursor stored) or fired keeps its time, so no day's job runs twice."""
    today = datetime.now(VIETNAM_TZ).date()
    await pool.execute("DELETE FROM schedule WHERE kind = $1 AND subject_id >= $2", DAILY_DIGEST, today.isoformat())

    async def plan(hour: int) -> asyncpg.Record:
        async with uow_factory(pool, settings=settings.model_copy(update={"digest_hour": hour}))() as uow:
            await plan_daily_jobs(uow, replan=True)  # as a process's first pass does
            await uow.commit()
        found = await pool.fetchrow(
            "SELECT due_at, done_at FROM schedule WHERE kind = $1 AND subject_id = $2", DAILY_DIGEST, today.isoformat()
        )
        assert found is not None
        return found

    for hour in (3, 22, 9):
        assert (await plan(hour))["due_at"] == at_local_hour(today, hour)
    await pool.execute(
        "UPDATE schedule SET cursor = 'r1' WHERE kind = $1 AND subject_id = $2", DAILY_DIGEST, today.isoformat()
    )
    assert (await plan(15))["due_at"] == at_local_hour(today, 9)  # between two batches: left alone
    await pool.execute(
        "UPDATE schedule SET cursor = NULL, done_at = now() WHERE kind = $1 AND subject_id = $2",
        DAILY_DIGEST,
        today.isoformat(),
    )
    assert (await plan(15))["due_at"] == at_local_hour(today, 9)  # fired: left alone
    await pool.execute("DELETE FROM schedule WHERE kind = $1 AND subject_id = $2", DAILY_DIGEST, today.isoformat())
