"""The pools' reset on release (shared/db.create_pool) on the real PostgreSQL: a connection comes back clean without
asyncpg's full reset round trip, and the code that takes session state has it cleaned up."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

import shared.statistics
from shared.db import create_pool, keeps_session_state
from shared.statistics import keep_statistics
from tests.support.running import eventually


@pytest.fixture
async def pool(database_url: str, db: asyncpg.Connection) -> AsyncIterator[asyncpg.Pool]:
    """A pool of one connection, so every acquire gets the connection the previous one released."""
    schema = f"reset_{uuid.uuid4().hex[:8]}"
    await db.execute(f"CREATE SCHEMA {schema}; CREATE TABLE {schema}.note (id int PRIMARY KEY)")
    created = await create_pool(database_url, schema=schema, min_size=1, max_size=1)
    try:
        yield created
    finally:
        await created.close()
        await db.execute(f"DROP SCHEMA {schema} CASCADE")


async def advisory_locks(db: asyncpg.Connection, pid: int) -> int:
    return await db.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = $1", pid)


async def test_a_connection_released_in_a_transaction_comes_back_rolled_back(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        pid = conn.get_server_pid()
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute("INSERT INTO note VALUES (1)")
        await conn.execute("SET LOCAL statement_timeout = 1234")
    async with pool.acquire() as conn:
        assert conn.get_server_pid() == pid  # the same connection, not a new one
        assert not conn.is_in_transaction()
        assert await conn.fetchval("SELECT count(*) FROM note") == 0
        assert await conn.fetchval("SHOW statement_timeout") != "1234ms"
        await conn.execute("INSERT INTO note VALUES (1)")  # usable: no aborted transaction left


async def test_a_connection_marked_for_session_state_is_fully_reset(pool: asyncpg.Pool, db: asyncpg.Connection) -> None:
    async with pool.acquire() as conn:
        pid = conn.get_server_pid()
        keeps_session_state(conn)
        await conn.execute("SELECT pg_advisory_lock(42); SET work_mem = '7MB'; LISTEN chibo_reset_test")
        assert await advisory_locks(db, pid) == 1
    assert await advisory_locks(db, pid) == 0
    async with pool.acquire() as conn:
        assert conn.get_server_pid() == pid
        assert await conn.fetchval("SHOW work_mem") != "7MB"
        assert await conn.fetchval("SELECT count(*) FROM pg_listening_channels()") == 0
        assert not conn.session_state  # the next plain release skips the full reset again


async def test_statistics_maintenance_releases_its_session_lock_when_cancelled_mid_round(
    pool: asyncpg.Pool, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    inside = asyncio.Event()
    pids: list[int] = []

    async def analyze_forever(conn: asyncpg.Connection, **_: object) -> None:
        pids.append(conn.get_server_pid())
        inside.set()
        await asyncio.Event().wait()

    monkeypatch.setattr(shared.statistics, "analyze_grown_tables", analyze_forever)
    task = asyncio.create_task(keep_statistics(pool, schema="reset_test", poll_seconds=60, fraction=0.1, min_rows=1))
    await asyncio.wait_for(inside.wait(), 10)
    assert await advisory_locks(db, pids[0]) == 1  # the round holds its session lock
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    async def released() -> bool:
        return await advisory_locks(db, pids[0]) == 0

    await eventually(released)
    async with pool.acquire() as conn:
        assert not conn.is_in_transaction()
        assert await conn.fetchval("SELECT 1") == 1
