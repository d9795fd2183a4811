"""Retention of what a service keeps only for a while: one batched prune, its metric and log, its setting's floor.

Every consumer's inbox (processed_message: one row per event handled, for deduplication) grows by every event; a row
matters only while a copy of its event can still arrive. The gateway's Idempotency-Keys (idempotency_key) matter only
for CHIBO_IDEMPOTENCY_KEY_HOURS. The prune deletes in batches of `batch_size` rows, each batch a statement of its own
(its own transaction), so no prune holds locks or a huge delete for long, and it counts and logs what it deleted
(`chibo_rows_pruned_total{schema,table}`, `rows_pruned`)."""

from datetime import UTC, datetime, timedelta

import asyncpg

from shared.background import poll
from shared.logs import get_logger
from shared.metrics import ROWS_PRUNED

log = get_logger(__name__)

PRUNE_EVERY_SECONDS = 3600.0
"""How often a service prunes its inbox: the retention is days, so hourly keeps each batch run small."""
PRUNE_BATCH_SIZE = 5000


def _prune_statement(table: str, column: str) -> str:
    """Delete at most $2 rows of `table` whose `column` is before $1, counting them (`table` and `column` are the
    code's own names, never input)."""
    return (
        f"WITH doomed AS (SELECT ctid FROM {table} WHERE {column} < $1 LIMIT $2),"
        f" gone AS (DELETE FROM {table} WHERE ctid IN (SELECT ctid FROM doomed) RETURNING 1)"
        " SELECT count(*) FROM gone"
    )


def count_pruned(*, schema: str, table: str, rows: int) -> None:
    """Count rows a prune deleted in the shared metric."""
    if rows:
        ROWS_PRUNED.labels(schema, table).inc(rows)


async def prune_batch(
    pool: asyncpg.Pool, *, schema: str, table: str, column: str, before: datetime, batch_size: int
) -> int:
    """Delete at most `batch_size` rows of `table` (in the pool's schema) whose moment `column` is before `before`, in
    one statement; the rows deleted, counted and logged (`rows_pruned`, when any)."""
    async with pool.acquire() as conn:
        deleted = int(await conn.fetchval(_prune_statement(table, column), before, batch_size))
    count_pruned(schema=schema, table=table, rows=deleted)
    if deleted:
        log.info("rows_pruned", schema=schema, table=table, rows=deleted, before=before.isoformat())
    return deleted


async def prune_processed_batch(pool: asyncpg.Pool, *, schema: str, before: datetime, batch_size: int) -> int:
    """Delete at most `batch_size` inbox rows (processed_message of the pool's schema) recorded before `before`, in
    one statement; the rows deleted, counted and logged (`rows_pruned`, when any)."""
    return await prune_batch(
        pool, schema=schema, table="processed_message", column="processed_at", before=before, batch_size=batch_size
    )


async def keep_pruning(
    pool: asyncpg.Pool,
    *,
    job: str,
    schema: str,
    table: str,
    column: str,
    keep: timedelta,
    every_seconds: float = PRUNE_EVERY_SECONDS,
    batch_size: int = PRUNE_BATCH_SIZE,
) -> None:
    """Prune `table` of rows whose `column` is older than `keep` (the first batch at once), a batch a step of
    shared.background.poll (named `job`): the next at once while batches come full, else after `every_seconds`."""

    async def step() -> bool:
        before = datetime.now(UTC) - keep
        deleted = await prune_batch(
            pool, schema=schema, table=table, column=column, before=before, batch_size=batch_size
        )
        return deleted == batch_size

    await poll(job, step, poll_seconds=every_seconds)


async def keep_pruning_processed(
    pool: asyncpg.Pool,
    *,
    schema: str,
    retention_days: int,
    every_seconds: float = PRUNE_EVERY_SECONDS,
    batch_size: int = PRUNE_BATCH_SIZE,
) -> None:
    """Prune the inbox of rows older than `retention_days` (the first batch at once), a batch a step of
    shared.background.poll: the next at once while batches come full, else after `every_seconds`."""
    await keep_pruning(
        pool,
        job=f"{schema}.inbox_prune",
        schema=schema,
        table="processed_message",
        column="processed_at",
        keep=timedelta(days=retention_days),
        every_seconds=every_seconds,
        batch_size=batch_size,
    )
