"""0023_backfill_rating_reasons.sql: a quarter rated below its score's band by the month-by-month rule before
migration 0019 has no stored reason until it is rated again; the migration has the scoring worker rate it again, so
it says the reason a freshly rated one says, without republishing it or calling its month changed late."""

from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Any

import asyncpg
import pytest

from services.evaluation.bootstrap import SERVICE_DIR, prepare
from services.evaluation.handlers.coalesced import score_dirty
from services.evaluation.unit_of_work import EvaluationUnitOfWork
from tests.evaluation.private_db import private_pool
from tests.evaluation.stream import at
from tests.evaluation.test_cell_existence import held
from tests.evaluation.test_coalesced import deliver, published
from tests.evaluation.test_late_changes import units
from tests.evaluation.test_rating_reason_reads import thematic, weak

MIGRATION = SERVICE_DIR / "migrations" / "0023_backfill_rating_reasons.sql"


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[tuple[asyncpg.Pool, Callable[[], EvaluationUnitOfWork]]]:
    """A private database with the shipped frameworks registered, on 20 June 2026 (Q1 closed)."""
    async with private_pool(database_url) as pool:
        yield pool, await prepare(pool, today=lambda: date(2026, 6, 20))


async def reasons(pool: asyncpg.Pool, cell_id: str) -> dict[str, Any]:
    """The cell's stored periods: rating, score and reason (as text) of each."""
    rows = await pool.fetch(
        "SELECT period, rating, score, rating_reason::text AS reason FROM cell_period WHERE cell_id = $1", cell_id
    )
    return {row["period"]: (row["rating"], row["score"], row["reason"]) for row in rows}


async def test_a_period_rated_before_0019_gets_the_reason_a_freshly_rated_one_gets(
    world: tuple[asyncpg.Pool, Callable[[], EvaluationUnitOfWork]],
) -> None:
    pool, factory = world
    # January and February met well (February's a combined meeting), March's meeting was Poor: Q1 lowered by it
    events = units("ward-b", "cell-b", time=at(1, 1, 8)) + held("cell-b", "mt-1", at(1, 5))
    events += thematic(held("cell-b", "mt-2", at(2, 5))) + weak(held("cell-b", "mt-3", at(3, 5)))
    for event in events:
        await deliver(factory, [event])
    assert await score_dirty(uow_factory=factory, limit=100) is False
    fresh = await reasons(pool, "cell-b")
    lowered = {period for period, (_, _, reason) in fresh.items() if reason and '"month_ratings"' in reason}
    assert "2026-Q1" in lowered, fresh
    # as a database rated before 0019 holds them: the months' reason not stored
    await pool.execute(
        "UPDATE cell_period SET rating_reason = NULL WHERE cell_id = 'cell-b' AND period = ANY($1::text[])",
        sorted(lowered),
    )
    before = await published(pool)

    await pool.execute(MIGRATION.read_text(encoding="utf-8"))
    noted = await pool.fetch("SELECT since, received_month FROM dirty_cell WHERE cell_id = 'cell-b'")
    assert [(row["since"], row["received_month"]) for row in noted] == [(at(1, 1, 0), None)]
    assert await score_dirty(uow_factory=factory, limit=100) is False

    assert await reasons(pool, "cell-b") == fresh
    assert await published(pool) == before  # only the unpublished reason moved: nothing announced again
    assert await pool.fetchval("SELECT count(*) FROM period_late_change") == 0  # no fact came late

    # run again (or over rows rated since 0019 at their band): nothing changes
    await pool.execute(MIGRATION.read_text(encoding="utf-8"))
    assert await score_dirty(uow_factory=factory, limit=100) is False
    assert await reasons(pool, "cell-b") == fresh
    assert await published(pool) == before
