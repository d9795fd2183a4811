"""Issue 12: the outbox, written once or twice per event, keeps only the indexes something reads.

Real PostgreSQL (the probe schema of test_messaging, with every shared migration). The relay reads due rows by id
(outbox_due), operators parked ones (outbox_parked) and single rows by id (the primary key); the event id's unique
index was maintained on every insert and never read (shared/migrations/0005_outbox_event_id_unindexed.sql).
"""

import asyncpg


async def test_the_outbox_keeps_only_the_indexes_its_readers_use(pool: asyncpg.Pool) -> None:
    names = await pool.fetch(
        "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'outbox'"
    )
    assert sorted(row["indexname"] for row in names) == ["outbox_due", "outbox_parked", "outbox_pkey"]
