"""0041_year_reasons_for_thematic_quarters.sql: a year rated above Poor whose ended quarter is Poor for its missing
thematic meeting says so (rating_reason `quarters_without_thematic`, DOMAIN.md "Periods" rating a year from its
months only); a year stored before it has no reason until rated again, so the migration has the scoring worker rate it
again, without republishing it or calling its month changed late. The trial's case: a cell set up in December 2025
with one Good regular meeting (the demo) read Quý IV/2025 Kém and Năm 2025 Tốt, the year with no word why."""

from collections.abc import AsyncIterator, Callable
from datetime import date, datetime

import asyncpg
import pytest

from services.evaluation.bootstrap import SERVICE_DIR, prepare
from services.evaluation.handlers.coalesced import score_dirty
from services.evaluation.unit_of_work import EvaluationUnitOfWork
from shared.periods import VIETNAM_TZ
from tests.evaluation.private_db import private_pool
from tests.evaluation.test_cell_existence import held
from tests.evaluation.test_coalesced import deliver, published
from tests.evaluation.test_late_changes import units
from tests.evaluation.test_rating_reason_backfill import reasons

MIGRATION = SERVICE_DIR / "migrations" / "0041_year_reasons_for_thematic_quarters.sql"
REASON = '{"band": "average", "code": "quarters_without_thematic", "quarters": ["2025-Q4"]}'


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[tuple[asyncpg.Pool, Callable[[], EvaluationUnitOfWork]]]:
    """A private database with the shipped frameworks registered, on 20 June 2026 (2025 closed)."""
    async with private_pool(database_url) as pool:
        yield pool, await prepare(pool, today=lambda: date(2026, 6, 20))


async def test_a_year_not_lowered_by_its_quarter_without_a_thematic_meeting_says_so_and_old_rows_get_it(
    world: tuple[asyncpg.Pool, Callable[[], EvaluationUnitOfWork]],
) -> None:
    pool, factory = world
    set_up = datetime(2025, 12, 1, 8, tzinfo=VIETNAM_TZ)
    events = units("ward-t", "cell-t", time=set_up) + held(
        "cell-t", "mt-1", datetime(2025, 12, 5, 19, tzinfo=VIETNAM_TZ)
    )
    for event in events:
        await deliver(factory, [event])
    assert await score_dirty(uow_factory=factory, limit=100) is False
    fresh = await reasons(pool, "cell-t")
    assert fresh["2025-Q4"][0] == "poor" and '"no_thematic_meeting"' in (fresh["2025-Q4"][2] or "")
    # the same one month (its meeting Trung bình at 66,7 here), the year rated by its months only
    assert fresh["2025"][:2] == ("average", fresh["2025-Q4"][1])
    assert fresh["2025"][2] == REASON, fresh

    # as a database rated before this change holds it: the year without a reason
    await pool.execute("UPDATE cell_period SET rating_reason = NULL WHERE cell_id = 'cell-t' AND period = '2025'")
    before = await published(pool)
    await pool.execute(MIGRATION.read_text(encoding="utf-8"))
    noted = await pool.fetch("SELECT since, received_month FROM dirty_cell WHERE cell_id = 'cell-t'")
    assert [(row["since"], row["received_month"]) for row in noted] == [(datetime(2025, 1, 1, tzinfo=VIETNAM_TZ), None)]
    assert await score_dirty(uow_factory=factory, limit=100) is False

    assert await reasons(pool, "cell-t") == fresh
    assert await published(pool) == before  # only the unpublished reason moved: nothing announced again
    assert await pool.fetchval("SELECT count(*) FROM period_late_change") == 0  # no fact came late

    # run again: the year has its reason, nothing is noted
    await pool.execute(MIGRATION.read_text(encoding="utf-8"))
    assert await pool.fetchval("SELECT count(*) FROM dirty_cell WHERE cell_id = 'cell-t'") == 0
