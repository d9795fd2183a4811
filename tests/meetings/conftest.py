"""Fixtures of the meetings tests: the migrated schema, a pool on it, and the service running in-process."""

from collections.abc import AsyncIterator

import asyncpg
import pytest

from deploy.seed_demo import publisher
from services.meetings import handlers
from services.meetings.bootstrap import SERVICE_DIR, create_app
from services.meetings.config import Settings
from services.meetings.unit_of_work import SCHEMA, MeetingsUnitOfWork
from shared.db import apply_migrations, create_pool, migration_files
from tests.meetings import events as ev
from tests.support.private_db import private_database
from tests.support.running import free_port, running_app


@pytest.fixture(scope="package")
async def meetings_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the migrated meetings schema of the test database."""
    await apply_migrations(database_url, schema=SCHEMA, files=migration_files(SERVICE_DIR))
    pool = await create_pool(database_url, schema=SCHEMA, min_size=1, max_size=5)
    # the committee every test's cell given no parent hangs under (tests.meetings.events.unit)
    await handlers.ingest_batch(
        [ev.unit(ev.TEST_ROOT, kind="committee")], lambda: MeetingsUnitOfWork(pool), route="test"
    )
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
def uow_factory(meetings_pool: asyncpg.Pool):  # type: ignore[no-untyped-def]
    """Builds units of work on the test pool."""
    return lambda: MeetingsUnitOfWork(meetings_pool)


@pytest.fixture(scope="package")
async def meetings_service(amqp_url: str, database_url: str, meetings_pool: asyncpg.Pool) -> AsyncIterator[str]:
    """The meetings service serving in this process against the package's vhost; yields its base URL."""
    settings = Settings(
        amqp_url=amqp_url,
        database_url=database_url,
        http_port=free_port(),
        relay_poll_seconds=0.2,
        hold_sweep_seconds=0.5,
        hold_timeout_seconds=86400,
        system_publishers=[publisher(amqp_url)],  # a Feed's publish(as_system=True), as the demo seed's
    )
    async with running_app(create_app(settings), port=settings.http_port) as base:
        yield base


@pytest.fixture
async def private_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a fresh database with the meetings schema migrated (no framework or unit another test left)."""
    async with private_database(
        database_url, service="meetings", schema=SCHEMA, service_dir=SERVICE_DIR, max_size=2
    ) as pool:
        yield pool
