"""Throwaway databases for tests that read global state or count statements, and an asyncpg statement log."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg

from shared.db import apply_migrations, create_pool, ensure_database, migration_files

INTROSPECTION = ("typeinfo_tree", "current_setting('jit')", "set_config('jit'")
"""asyncpg's own look-ups of a type a connection meets first (once per connection, not per round or batch)."""


@asynccontextmanager
async def private_database(
    database_url: str, *, service: str, schema: str, service_dir: Path, max_size: int
) -> AsyncIterator[asyncpg.Pool]:
    """A pool (1 to `max_size` connections) on a fresh database `test_{service}_<12 hex>` with every one of
    `service_dir`'s migrations applied in `schema` (never stopped before one: today's code writes through the pool,
    reading columns later migrations add; tests/shared/test_migration_seeding.py); the pool is closed and the database
    dropped afterwards."""
    name = f"test_{service}_{uuid.uuid4().hex[:12]}"
    url = database_named(database_url, name)
    files = migration_files(service_dir)
    await ensure_database(url)
    try:
        await apply_migrations(url, schema=schema, files=files)
        pool = await create_pool(url, schema=schema, min_size=1, max_size=max_size)
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


def database_named(database_url: str, name: str) -> str:
    """The URL of database `name` on `database_url`'s server (its query left out)."""
    base, _, _ = database_url.partition("?")[0].rpartition("/")
    return f"{base}/{name}"


class StatementLog:
    """An asyncpg query logger appending each statement a connection sends to `sent`, white space collapsed,
    leaving out asyncpg's own type look-ups (INTROSPECTION)."""

    def __init__(self, sent: list[str]) -> None:
        self.sent = sent

    def __call__(self, record: Any) -> None:
        """Note one logged query record; an `executemany` once per row, as the server executes it (asyncpg logs it
        once, with the list of rows as its arguments; any other statement's arguments are a tuple)."""
        if not any(mark in record.query for mark in INTROSPECTION):
            query = " ".join(record.query.split())
            self.sent.extend([query] * (len(record.args) if isinstance(record.args, list) else 1))
