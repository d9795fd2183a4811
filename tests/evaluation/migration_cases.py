"""The set-up evaluation's rescoring-migration tests share (0031, 0036, 0038): a fresh database with every migration,
seeded through today's code as a release before the migration scored (tests/shared/test_migration_seeding.py), then
the migration's statement run and what it noted scored."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import asyncpg

from services.evaluation.bootstrap import SERVICE_DIR
from services.evaluation.handlers.coalesced import score_dirty
from shared.db import migration_files
from tests.support.private_db import private_database


def statement(migration: str) -> str:
    """The SQL of evaluation's migration file `migration` (a name such as `0036_implausible_counts_rescored.sql`)."""
    return (SERVICE_DIR / "migrations" / migration).read_text(encoding="utf-8")


@asynccontextmanager
async def migrated(database_url: str, migration: str) -> AsyncIterator[asyncpg.Pool]:
    """A fresh database with every migration (`migration` among them) in schema `evaluation`: a pool on it
    (private_database)."""
    assert migration in [path.name for path in migration_files(SERVICE_DIR)]
    async with private_database(
        database_url, service="evaluation", schema="evaluation", service_dir=SERVICE_DIR, max_size=4
    ) as pool:
        yield pool


async def noted_by(pool: asyncpg.Pool, sql: str) -> list[tuple[str, list[str]]]:
    """Runs the migration's statement `sql` and returns what dirty_cell then notes: (cell_id, only_meetings) rows."""
    await pool.execute(sql)
    noted = await pool.fetch("SELECT cell_id, only_meetings FROM dirty_cell")
    return [(row["cell_id"], row["only_meetings"]) for row in noted]


async def score_all_noted(factory: Callable[[], AbstractAsyncContextManager[Any]]) -> None:
    """Scoring rounds until none is left noted, as the scoring worker runs them."""
    while await score_dirty(uow_factory=factory, limit=100):
        pass
