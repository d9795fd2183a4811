"""Issue 12: the outbox's health reads only the unpublished rows, not every published row kept for days.

Real PostgreSQL, a schema of this test's own with the shared messaging tables. Services compute their outbox health
for /health and every metrics scrape; with `WHERE published_at IS NULL` alone no partial index applied and each call
read the whole table (53 ms a call at 42,000 rows in the province-year preset at scale 0.03).
"""

from collections.abc import AsyncIterator

import asyncpg
import pytest

from shared.db import apply_migrations, create_pool, migration_files
from shared.ops.outbox import outbox_health
from tests.shared.conftest import PROBE_DIR
from tests.support.ids import random_id

PUBLISHED = 3000


@pytest.fixture
async def own_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    schema = random_id("health").replace("-", "_").lower()
    await apply_migrations(database_url, schema=schema, files=migration_files(PROBE_DIR))
    pool = await create_pool(database_url, schema=schema)
    try:
        yield pool
    finally:
        await pool.execute(f"DROP SCHEMA {schema} CASCADE")
        await pool.close()


async def test_outbox_health_counts_without_reading_the_published_rows(own_pool: asyncpg.Pool) -> None:
    async with own_pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO outbox (event_id, type, exchange, routing_key, payload, published_at, created_at)"
            " SELECT 'p' || g, 't', 'x', 't', '{}', now(), now() FROM generate_series(1, $1) AS g",
            PUBLISHED,
        )
        await conn.execute(
            "INSERT INTO outbox (event_id, type, exchange, routing_key, payload, created_at, parked_at)"
            " VALUES ('due1', 't', 'x', 't', '{}', now() - interval '90 seconds', NULL),"
            " ('due2', 't', 'x', 't', '{}', now() - interval '5 seconds', NULL),"
            " ('parked1', 't', 'x', 't', '{}', now(), now())"
        )
        await conn.execute("VACUUM ANALYZE outbox")
        async with conn.transaction():
            health = await outbox_health(conn)
            # this transaction's own scans so far (pg_stat_xact_*: no waiting for the statistics to be flushed)
            seq_scans = await conn.fetchval("SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'outbox'")
    assert health["pending"] == 2
    assert health["parked"] == 1
    assert 89 <= health["oldest_pending_seconds"] < 120
    assert seq_scans == 0
