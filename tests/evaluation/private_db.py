"""A throwaway database for tests of global state (month closes are one row per month for everybody)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from services.evaluation.bootstrap import SERVICE_DIR
from tests.support.private_db import private_database


@asynccontextmanager
async def private_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a fresh database with the evaluation schema migrated; the database is dropped afterwards."""
    async with private_database(
        database_url, service="evaluation", schema="evaluation", service_dir=SERVICE_DIR, max_size=4
    ) as pool:
        yield pool
