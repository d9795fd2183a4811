"""Pooled connections the server ended (pg_terminate_backend, as a restart or failover does) on the real PostgreSQL:
asyncpg hands such a connection out until it has read the end, and used at once it said `InternalClientError('cannot
switch to state 15; another operation (2) is in progress')` or InterfaceError, which no consumer held its delivery
for. Now a unit of work drops such a connection and begins again on another (safe: no statement ran yet), and one
ended mid-transaction raises ConnectionDoesNotExistError, a database outage the consumers hold their delivery for."""

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import asyncpg
import pytest

from shared.db import create_pool, transaction
from shared.outages import is_dependency_unavailable
from shared.unit_of_work import PgUnitOfWork

ROUNDS = 30
USES = 3
"""Uses side by side right after each termination: each takes its own idle connection of the pool."""
CLIENT_ERRORS = (asyncpg.exceptions.InterfaceError, asyncpg.exceptions.InternalClientError)


@pytest.fixture
async def schema(db: asyncpg.Connection) -> AsyncIterator[str]:
    """A schema of the test's own with one table, dropped afterwards."""
    name = f"ended_{uuid.uuid4().hex[:8]}"
    await db.execute(f"CREATE SCHEMA {name}; CREATE TABLE {name}.note (id int NOT NULL)")
    try:
        yield name
    finally:
        await db.execute(f"DROP SCHEMA {name} CASCADE")


@pytest.fixture
async def pool(database_url: str, schema: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool of up to USES + 1 connections on the schema, all opened before the test begins."""
    created = await create_pool(database_url, schema=schema, min_size=USES + 1, max_size=USES + 1)
    try:
        yield created
    finally:
        await created.close()


async def terminate_backends(db: asyncpg.Connection, schema: str) -> int:
    """End every backend of the schema's pool (create_pool names them chibo-<schema>); how many."""
    ended = await db.fetchval(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
        f"chibo-{schema}",
    )
    return int(ended)


def named(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc)[:80]}"


async def test_units_of_work_begun_right_after_their_connections_were_ended_all_commit(
    pool: asyncpg.Pool, db: asyncpg.Connection, schema: str
) -> None:
    async def note(value: int) -> None:
        async with PgUnitOfWork(pool, schema=schema) as uow:
            await uow.connection.execute("INSERT INTO note VALUES ($1)", value)
            await uow.commit()

    errors: Counter[str] = Counter()
    terminated = 0
    for round_ in range(ROUNDS):
        terminated += await terminate_backends(db, schema)
        results = await asyncio.gather(*(note(round_) for _ in range(USES)), return_exceptions=True)
        errors.update(named(result) for result in results if isinstance(result, BaseException))
    assert terminated >= ROUNDS  # every round ended connections the pool still held
    assert not errors, errors  # before: most rounds said InternalClientError or InterfaceError
    assert await db.fetchval(f"SELECT count(*) FROM {schema}.note") == ROUNDS * USES


async def test_plain_transactions_begun_right_after_their_connections_were_ended_all_commit(
    pool: asyncpg.Pool, db: asyncpg.Connection, schema: str
) -> None:
    async def note(value: int) -> None:
        async with transaction(pool) as conn:
            await conn.execute("INSERT INTO note VALUES ($1)", value)

    errors: Counter[str] = Counter()
    for round_ in range(ROUNDS):
        await terminate_backends(db, schema)
        results = await asyncio.gather(*(note(round_) for _ in range(USES)), return_exceptions=True)
        errors.update(named(result) for result in results if isinstance(result, BaseException))
    assert not errors, errors
    assert await db.fetchval(f"SELECT count(*) FROM {schema}.note") == ROUNDS * USES


async def test_a_connection_ended_mid_transaction_is_a_database_outage(
    pool: asyncpg.Pool, db: asyncpg.Connection, schema: str
) -> None:
    raised: Counter[str] = Counter()
    for round_ in range(ROUNDS):
        with pytest.raises(Exception) as caught:
            async with PgUnitOfWork(pool, schema=schema) as uow:
                await uow.connection.execute("INSERT INTO note VALUES ($1)", round_)
                await terminate_backends(db, schema)
                await uow.connection.execute("INSERT INTO note VALUES ($1)", round_)
                await uow.commit()
        raised[named(caught.value)] += 1
        # what a consumer holds its delivery for (shared.outages), never one of asyncpg's client errors
        assert is_dependency_unavailable(caught.value), raised
        assert not isinstance(caught.value, CLIENT_ERRORS), raised
    assert await db.fetchval(f"SELECT count(*) FROM {schema}.note") == 0  # nothing of a cut transaction stayed
    async with PgUnitOfWork(pool, schema=schema) as uow:  # and the pool serves again
        assert await uow.connection.fetchval("SELECT 1") == 1


async def test_a_bad_argument_on_a_live_connection_stays_the_statement_s_own_error(
    pool: asyncpg.Pool, schema: str
) -> None:
    with pytest.raises(asyncpg.exceptions.DataError) as caught:  # an InterfaceError, but the connection is fine
        async with PgUnitOfWork(pool, schema=schema) as uow:
            await uow.connection.execute("INSERT INTO note VALUES ($1)", "not a number")
    assert not is_dependency_unavailable(caught.value)
    async with PgUnitOfWork(pool, schema=schema) as uow:
        assert await uow.connection.fetchval("SELECT count(*) FROM note") == 0
