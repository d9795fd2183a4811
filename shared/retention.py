"""Retention of what a service keeps only for a while: one batched prune, its metric and log, its setting's floor.

Every consumer's inbox (processed_message: one row per event handled, for deduplication) grows by every event; a row
matters only while a copy of its event can still arrive. The prune deletes in batches of `batch_size` rows, each
batch a statement of its own (its own transaction), so no prune holds locks or a huge delete for long, and it counts
and logs what it deleted (`chibo_rows_pruned_total{schema,table}`, `rows_pruned`)."""

from datetime import UTC, datetime, timedelta

import asyncpg

from shared.background import poll
from shared.logs import get_logger
from shared.metrics import ROWS_PRUNED

log = get_logger(__name__)

PRUNE_EVERY_SECONDS = 3600.0
"""How often a service prunes its inbox: the retention is days, so hourly keeps each batch run small."""
PRUNE_BATCH_SIZE = 5000

_PRUNE_PROCESSED = (
    "WITH doomed AS (SELECT ctid FROM processed_message WHERE processed_at < $1 LIMIT $2),"
    " gone AS (DELETE FROM processed_message WHERE ctid IN (SELECT ctid FROM doomed) RETURNING 1)"
    " SELECT count(*) FROM gone"
)


def count_pruned(*, schema: str, table: str, rows: int) -> None:
    """Count rows a prune deleted in the shared metric."""
    if rows:
        ROWS_PRUNED.labels(schema, table).inc(rows)


async def prune_processed_batch(pool: asyncpg.Pool, *, schema: str, before: datetime, batch_size: int) -> int:
    """Delete at most `batch_size` inbox rows (processed_message of the pool's schema) recorded before `before`, in
    one statement; the rows deleted, counted and logged (`rows_pruned`, when any)."""
    async with pool.acquire() as conn:
        deleted = int(await conn.fetchval(_PRUNE_PROCESSED, before, batch_size))
    count_pruned(schema=schema, table="processed_message", rows=deleted)
    if deleted:
        log.info("rows_pruned", schema=schema, table="processed_message", rows=deleted, before=before.isoformat())
    return deleted


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

    async def step() -> bool:
        before = datetime.now(UTC) - timedelta(days=retention_days)
        return await prune_processed_batch(pool, schema=schema, before=before, batch_size=batch_size) == batch_size

    await poll(f"{schema}.inbox_prune", step, poll_seconds=every_seconds)
