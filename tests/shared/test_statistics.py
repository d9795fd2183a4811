"""Statistics maintenance (shared/statistics.py) on the real PostgreSQL: the tables grown past the threshold are
analyzed, the others are not."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from shared.statistics import analyze_grown_tables, analyze_tables, keep_statistics
from tests.support.running import eventually


@pytest.fixture
async def schema(db: asyncpg.Connection) -> AsyncIterator[str]:
    """A schema of its own with a table about to grow, one barely touched, one analyzed at its size, and an outbox
    (a messaging table: never analyzed by the maintenance)."""
    name = f"stats_{uuid.uuid4().hex[:8]}"
    await db.execute(
        f"CREATE SCHEMA {name};"
        f" CREATE TABLE {name}.grown (id int PRIMARY KEY, cell text);"
        f" CREATE TABLE {name}.quiet (id int PRIMARY KEY);"
        f" CREATE TABLE {name}.outbox (id int PRIMARY KEY);"
        f" CREATE TABLE {name}.steady (id int PRIMARY KEY);"
        f" INSERT INTO {name}.steady SELECT g FROM generate_series(1, 20000) g"
    )
    await db.execute(f"ANALYZE {name}.steady")
    yield name
    await db.execute(f"DROP SCHEMA {name} CASCADE")


async def changed_rows(db: asyncpg.Connection, schema: str) -> dict[str, int]:
    """Rows changed since the last analyze per table, as the statistics system reports them now."""
    await db.execute("SELECT pg_stat_clear_snapshot()")
    rows = await db.fetch("SELECT relname, n_mod_since_analyze FROM pg_stat_user_tables WHERE schemaname = $1", schema)
    return {row["relname"]: row["n_mod_since_analyze"] for row in rows}


async def analyses(db: asyncpg.Connection, schema: str) -> dict[str, tuple[int, bool]]:
    """(analyze_count, last_analyze set) per table."""
    await db.execute("SELECT pg_stat_clear_snapshot()")
    rows = await db.fetch(
        "SELECT relname, analyze_count, last_analyze IS NOT NULL AS analyzed FROM pg_stat_user_tables"
        " WHERE schemaname = $1",
        schema,
    )
    return {row["relname"]: (row["analyze_count"], row["analyzed"]) for row in rows}


async def grow(database_url: str, statements: str) -> None:
    """Run writes on a connection of their own and have its counters reach the statistics system at once."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(statements)
        await conn.execute("SELECT pg_stat_force_next_flush()")
    finally:
        await conn.close()


async def test_analyzes_a_table_grown_past_the_threshold_and_not_the_others(
    db: asyncpg.Connection, database_url: str, schema: str
) -> None:
    await grow(
        database_url,
        f"INSERT INTO {schema}.grown SELECT g, 'c' || g % 50 FROM generate_series(1, 5000) g;"
        f" INSERT INTO {schema}.quiet SELECT g FROM generate_series(1, 500) g;"
        f" INSERT INTO {schema}.outbox SELECT g FROM generate_series(1, 5000) g;"
        f" INSERT INTO {schema}.steady SELECT g FROM generate_series(20001, 22000) g;",
    )
    await eventually(lambda: _reported(db, schema, {"grown": 5000, "quiet": 500, "steady": 2000, "outbox": 5000}))

    done = await analyze_grown_tables(db, schema=schema, fraction=0.2, min_rows=1000)

    # grown: 5,000 changed > 1,000 + 0.2 × 0 (never analyzed); quiet: 500 < 1,000; steady: 2,000 < 1,000 + 4,000;
    # outbox: grown as much, but its plans never depend on statistics (UNPLANNED_TABLES)
    assert [(table.table, table.changed_rows, table.live_rows) for table in done] == [("grown", 5000, 5000)]
    assert await analyses(db, schema) == {
        "grown": (1, True),
        "quiet": (0, False),
        "steady": (1, True),
        "outbox": (0, False),
    }
    planned = await db.fetchval(f"SELECT reltuples FROM pg_class WHERE oid = '{schema}.grown'::regclass")
    assert planned == 5000
    assert await analyze_grown_tables(db, schema=schema, fraction=0.2, min_rows=1000) == []


async def test_a_steady_table_is_analyzed_once_its_changes_pass_the_fraction(
    db: asyncpg.Connection, database_url: str, schema: str
) -> None:
    await grow(database_url, f"DELETE FROM {schema}.steady WHERE id <= 6000")
    await eventually(lambda: _reported(db, schema, {"steady": 6000}))

    done = await analyze_grown_tables(db, schema=schema, fraction=0.2, min_rows=1000)

    assert [(table.table, table.changed_rows, table.planned_rows) for table in done] == [("steady", 6000, 20000)]
    assert (await analyses(db, schema))["steady"] == (2, True)


async def test_analyze_tables_analyzes_the_named_tables(db: asyncpg.Connection, schema: str) -> None:
    await db.execute(f"INSERT INTO {schema}.quiet SELECT g FROM generate_series(1, 10) g")

    await analyze_tables(db, schema=schema, tables=["quiet", "grown"], reason="test")

    assert await analyses(db, schema) == {
        "grown": (1, True),
        "quiet": (1, True),
        "steady": (1, True),
        "outbox": (0, False),
    }


async def _reported(db: asyncpg.Connection, schema: str, wanted: dict[str, int]) -> bool:
    changed = await changed_rows(db, schema)
    return all(changed.get(table, 0) >= rows for table, rows in wanted.items())


async def test_keep_statistics_analyzes_a_table_as_it_grows_until_cancelled(
    db: asyncpg.Connection, database_url: str, schema: str
) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    task = asyncio.create_task(keep_statistics(pool, schema=schema, poll_seconds=0.05, fraction=0.5, min_rows=1000))
    try:
        await grow(database_url, f"INSERT INTO {schema}.grown SELECT g, 'c' FROM generate_series(1, 3000) g")
        await eventually(lambda: _analyzed(db, schema, "grown", times=1))
        await grow(database_url, f"INSERT INTO {schema}.grown SELECT g, 'c' FROM generate_series(3001, 7000) g")
        await eventually(lambda: _analyzed(db, schema, "grown", times=2))  # 4,000 > 1,000 + 0.5 × 3,000
        assert (await analyses(db, schema))["quiet"] == (0, False)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await pool.close()


async def _analyzed(db: asyncpg.Connection, schema: str, table: str, *, times: int) -> bool:
    return (await analyses(db, schema))[table][0] >= times
