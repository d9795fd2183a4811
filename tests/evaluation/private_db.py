"""A throwaway database for tests of global state (month closes are one row per month for everybody)."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from services.evaluation.bootstrap import SERVICE_DIR
from shared.db import apply_migrations, create_pool, ensure_database, migration_files


@asynccontextmanager
async def private_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a fresh database with the evaluation schema migrated; the database is dropped afterwards."""
    base, _, _ = database_url.partition("?")[0].rpartition("/")
    name = f"test_evaluation_{uuid.uuid4().hex[:12]}"
    url = f"{base}/{name}"
    await ensure_database(url)
    try:
        await apply_migrations(url, schema="evaluation", files=migration_files(SERVICE_DIR))
        pool = await create_pool(url, schema="evaluation", min_size=1, max_size=4)
        try:
            yield pool
        finally:
            await pool.close()
    finally:
        admin = await asyncpg.connect(database_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
