"""Fixtures of the shared messaging tests: the probe service's schema and a channel on the test vhost."""

from collections.abc import AsyncIterator
from pathlib import Path

import aio_pika
import asyncpg
import pytest

from shared.db import apply_migrations, create_pool, migration_files
from shared.topology import declare_topology

SCHEMA = "probe"
PROBE_DIR = Path(__file__).parent / "probe_service"


@pytest.fixture(scope="module")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the probe schema with the shared messaging tables and one state table."""
    await apply_migrations(database_url, schema=SCHEMA, files=migration_files(PROBE_DIR))
    pool = await create_pool(database_url, schema=SCHEMA)
    yield pool
    await pool.close()


@pytest.fixture(scope="module")
async def channel(amqp_url: str) -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    """A channel on the test vhost, with the shared exchanges declared."""
    await declare_topology(amqp_url)
    connection = await aio_pika.connect(amqp_url)
    yield await connection.channel()
    await connection.close()
