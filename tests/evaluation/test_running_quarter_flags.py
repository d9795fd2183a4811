"""A running quarter is not flagged `no_thematic_meeting` (DOMAIN.md "Periods": a quarter without a held thematic
meeting is Poor once it has ended; it may still hold one while it runs).

A trial read 2026-Q4 in December flagged `no_thematic_meeting` by the ratings API, while its reason was the month
ratings and the pages and PDF said a running quarter is not yet rated Kém for the missing thematic meeting. The flag
now follows the same rule as the rating: only an ended quarter carries it; migration 0048 drops it from the running
quarters stored before. The running month is injected (`through_month`, the service's `today`), never read."""

from collections.abc import AsyncIterator, Callable
from datetime import date, datetime

import asyncpg
import pytest

from services.evaluation.bootstrap import SERVICE_DIR, prepare
from services.evaluation.domain.periods import evaluate_period
from services.evaluation.handlers.coalesced import score_dirty
from services.evaluation.unit_of_work import EvaluationUnitOfWork
from shared.periods import VIETNAM_TZ
from tests.evaluation.builders import framework
from tests.evaluation.private_db import private_pool
from tests.evaluation.test_cell_existence import held
from tests.evaluation.test_coalesced import deliver
from tests.evaluation.test_late_changes import units
from tests.evaluation.test_periods import meeting

MIGRATION = SERVICE_DIR / "migrations" / "0048_running_quarters_not_flagged_for_thematic.sql"


def test_a_running_quarter_without_its_thematic_meeting_is_neither_poor_nor_flagged_until_it_ends() -> None:
    rules = framework().period_rules
    regular = [meeting(10, "good"), meeting(11, "good")]
    found = {
        through: evaluate_period(cell_id="c1", period="2026-Q4", meetings=regular, rules=rules, through_month=through)
        for through in ("2026-11", "2026-12", "2027-01")
    }
    said = {through: (r.rating, sorted(r.flags)) for through, r in found.items() if r is not None}
    assert said == {
        "2026-11": ("good", ["in_progress"]),
        "2026-12": ("good", ["in_progress"]),
        "2027-01": ("poor", ["months_without_regular_meeting", "no_thematic_meeting"]),
    }


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[tuple[asyncpg.Pool, Callable[[], EvaluationUnitOfWork]]]:
    """A private database with the shipped frameworks registered, on 15 December 2026 (2026-Q4 running)."""
    async with private_pool(database_url) as pool:
        yield pool, await prepare(pool, today=lambda: date(2026, 12, 15))


async def flags(pool: asyncpg.Pool, cell_id: str) -> dict[str, tuple[str, list[str], str | None]]:
    """The cell's stored quarters (what the ratings API reads): rating, its flags of being running and of the thematic
    meeting (sorted), reason code of each."""
    rows = await pool.fetch(
        "SELECT period, rating, flags, rating_reason->>'code' AS code FROM cell_period"
        " WHERE cell_id = $1 AND period LIKE '%-Q%'",
        cell_id,
    )
    kept = ("in_progress", "no_thematic_meeting")
    return {row["period"]: (row["rating"], sorted(set(row["flags"]) & set(kept)), row["code"]) for row in rows}


async def test_the_stored_running_quarter_is_not_flagged_and_rows_stored_before_lose_the_flag(
    world: tuple[asyncpg.Pool, Callable[[], EvaluationUnitOfWork]],
) -> None:
    pool, factory = world
    events = units("ward-r", "cell-r", time=datetime(2026, 7, 1, 8, tzinfo=VIETNAM_TZ))
    for month in (7, 8, 9, 10, 11):
        events += held("cell-r", f"mr-{month}", datetime(2026, month, 5, 19, tzinfo=VIETNAM_TZ))
    for event in events:
        await deliver(factory, [event])
    assert await score_dirty(uow_factory=factory, limit=100) is False
    fresh = await flags(pool, "cell-r")
    assert fresh["2026-Q3"][:2] == ("poor", ["no_thematic_meeting"]) and fresh["2026-Q3"][2] == "no_thematic_meeting"
    assert fresh["2026-Q4"][1] == ["in_progress"] and fresh["2026-Q4"][2] != "no_thematic_meeting"

    # as a database rated before this change holds it: the running quarter flagged
    await pool.execute(
        "UPDATE cell_period SET flags = flags || ARRAY['no_thematic_meeting'] WHERE cell_id = 'cell-r'"
        " AND period = '2026-Q4'"
    )
    await pool.execute(MIGRATION.read_text(encoding="utf-8"))
    assert await flags(pool, "cell-r") == fresh  # the ended Q3 keeps its flag
