"""Every consumer's inbox (processed_message) is pruned by one shared helper: ids recorded before the retention go,
in batches, newer ones stay and still answer a copy as a duplicate; each service refuses a retention below what a
duplicate's arrival needs, naming CHIBO_PROCESSED_RETENTION_DAYS."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from pydantic import ValidationError

from services.evaluation.bootstrap import SERVICE_DIR as EVALUATION_DIR
from services.evaluation.config import Settings as EvaluationSettings
from services.meetings.bootstrap import SERVICE_DIR as MEETINGS_DIR
from services.meetings.config import Settings as MeetingsSettings
from services.notifications.bootstrap import SERVICE_DIR as NOTIFICATIONS_DIR
from services.notifications.config import Settings as NotificationsSettings
from shared.config import ServiceSettings
from shared.db import create_pool
from shared.metrics import ROWS_PRUNED
from shared.retention import keep_pruning_processed
from shared.runtime import migrate
from shared.unit_of_work import PgUnitOfWork
from tests.support.ids import random_id

SERVICES: dict[str, tuple[type[ServiceSettings], Path]] = {
    "meetings": (MeetingsSettings, MEETINGS_DIR),
    "evaluation": (EvaluationSettings, EVALUATION_DIR),
    "notifications": (NotificationsSettings, NOTIFICATIONS_DIR),
}


@pytest.fixture(params=sorted(SERVICES))
async def service(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[tuple[str, asyncpg.Pool]]:
    """(schema, a pool on it) of each service that keeps processed ids, migrated."""
    name: str = request.param
    settings_class, service_dir = SERVICES[name]
    await migrate(settings_class(database_url=database_url), schema=name, service_dir=service_dir)
    pool = await create_pool(database_url, schema=name)
    try:
        yield name, pool
    finally:
        await pool.close()


async def record(pool: asyncpg.Pool, consumer: str, source: str, ids: list[str], at: datetime) -> None:
    await pool.execute(
        "INSERT INTO processed_message (consumer, source, event_id, processed_at)"
        " SELECT $1, $2, i, $4 FROM unnest($3::text[]) AS i",
        consumer,
        source,
        ids,
        at,
    )


async def seen_again(pool: asyncpg.Pool, schema: str, consumer: str, source: str, event_id: str) -> bool:
    """What a consumer's unit of work says of one more copy: True when it is a duplicate (nothing committed)."""
    async with PgUnitOfWork(pool, schema=schema) as uow:
        return await uow.already_processed(consumer=consumer, source=source, event_id=event_id)


async def old_rows(pool: asyncpg.Pool, before: datetime) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM processed_message WHERE processed_at < $1", before))


@contextlib.asynccontextmanager
async def service_pruning(pool: asyncpg.Pool, schema: str, *, batch_size: int) -> AsyncIterator[asyncio.Task[None]]:
    """keep_pruning_processed as every service's lifespan starts it (shared.runtime), an hour between idle rounds;
    cancelled on the way out, as the service's shutdown does."""
    task = asyncio.create_task(
        keep_pruning_processed(pool, schema=schema, retention_days=400, every_seconds=3600, batch_size=batch_size)
    )
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until_gone(pool: asyncpg.Pool, source: str, event_ids: list[str]) -> None:
    """Wait (5 s at most) until none of `event_ids` is in the inbox any more."""
    for _ in range(100):
        query = "SELECT count(*) FROM processed_message WHERE source = $1 AND event_id = ANY($2::text[])"
        if not await pool.fetchval(query, source, event_ids):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the old ids were not pruned at start")


async def test_ids_older_than_the_retention_go_in_batches_and_newer_ones_still_make_duplicates(
    service: tuple[str, asyncpg.Pool],
) -> None:
    """The prune every service runs: full batches follow each other at once (seven old ids in batches of two go
    before the hour's wait), each counted in the shared metric."""
    schema, pool = service
    now = datetime.now(UTC)
    retention = timedelta(days=400)
    consumer, source = f"{schema}.test", f"urn:test:{random_id('src')}"
    old = [random_id("old") for _ in range(7)]
    recent = [random_id("new") for _ in range(3)]
    await record(pool, consumer, source, old, now - retention - timedelta(days=1))
    await record(pool, consumer, source, recent, now - retention + timedelta(days=1))
    counted = ROWS_PRUNED.labels(schema, "processed_message")._value.get()
    doomed = await old_rows(pool, now - retention)  # other tests' old rows too, if any

    async with service_pruning(pool, schema, batch_size=2):
        await until_gone(pool, source, old)

    assert doomed >= len(old)
    assert await old_rows(pool, now - retention) == 0
    assert ROWS_PRUNED.labels(schema, "processed_message")._value.get() == counted + doomed
    left = await pool.fetch("SELECT event_id FROM processed_message WHERE source = $1", source)
    assert sorted(row["event_id"] for row in left) == sorted(recent)
    # a copy within the window is still a duplicate; one of a pruned id is handled again (its state converges)
    assert await seen_again(pool, schema, consumer, source, recent[0]) is True
    assert await seen_again(pool, schema, consumer, source, old[0]) is False


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_a_retention_below_the_duplicate_window_is_refused_naming_the_setting(name: str) -> None:
    settings_class, _ = SERVICES[name]
    floor, _ = settings_class().processed_retention_floor_days()
    with pytest.raises(ValidationError, match=f"CHIBO_PROCESSED_RETENTION_DAYS is {floor - 1}: it must be at least"):
        settings_class(processed_retention_days=floor - 1)
    assert settings_class(processed_retention_days=floor).processed_retention_days == floor


def test_each_floor_covers_its_services_duplicate_windows() -> None:
    """RabbitMQ redelivers an unsettled delivery within its consumer timeout (30 min); meetings applies a held event
    up to CHIBO_HOLD_TIMEOUT_SECONDS later; notifications may raise an alert again for 181 days (probation)."""
    assert EvaluationSettings().processed_retention_floor_days()[0] == 2
    held_a_week = MeetingsSettings(hold_timeout_seconds=7 * 86400.0, processed_retention_days=8)
    assert held_a_week.processed_retention_floor_days()[0] == 8
    with pytest.raises(ValidationError, match="CHIBO_HOLD_TIMEOUT_SECONDS"):
        MeetingsSettings(hold_timeout_seconds=7 * 86400.0, processed_retention_days=7)
    assert NotificationsSettings().processed_retention_floor_days()[0] == NotificationsSettings().reraise_days() + 1


async def test_the_services_prune_runs_at_once_and_stops_with_the_service(service: tuple[str, asyncpg.Pool]) -> None:
    """The first batch at start (not after the first hour), and the prune ends when the service stops."""
    schema, pool = service
    source, event_id = f"urn:test:{random_id('src')}", random_id("old")
    await record(pool, f"{schema}.test", source, [event_id], datetime.now(UTC) - timedelta(days=401))
    async with service_pruning(pool, schema, batch_size=5000) as task:
        await until_gone(pool, source, [event_id])
    assert task.cancelled()


def test_meetings_keeps_the_public_ids_for_ever_unless_told() -> None:
    """CONTRACT.md: (`source`, `id`) sent again is `duplicate` with no time limit, so meetings (the public ingest)
    prunes nothing by default; the services downstream prune after 400 days."""
    assert MeetingsSettings().processed_retention_days is None
    assert EvaluationSettings().processed_retention_days == 400
    assert NotificationsSettings().processed_retention_days == 400
    assert MeetingsSettings(processed_retention_days=30).processed_retention_days == 30
