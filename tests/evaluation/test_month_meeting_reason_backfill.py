"""0042_month_reasons_for_meeting_ratings.sql: a month rated as its meeting, whose framework's gates lowered that
meeting below its score's band, says so (rating_reason `meeting_rating`, h358), and so does a quarter or year with
that one month counted; a month stored before h358 has no reason until it is rated again, so officers read "Khá" at
92 with "Lý do xếp loại" blank. The migration has the scoring worker rate it again, without republishing it, mailing
anyone or calling its month changed late, as 0041 does for years."""

import copy
import json
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime
from typing import Any

import asyncpg
import pytest

from services.evaluation.bootstrap import SERVICE_DIR, prepare
from services.evaluation.handlers import adopt_framework
from services.evaluation.handlers.coalesced import score_dirty
from services.evaluation.unit_of_work import EvaluationUnitOfWork
from shared.contracts.frameworks import FRAMEWORKS_DIR
from shared.periods import VIETNAM_TZ
from tests.evaluation.private_db import private_pool
from tests.evaluation.stream import at
from tests.evaluation.test_cell_existence import held
from tests.evaluation.test_coalesced import deliver, published
from tests.evaluation.test_late_changes import units
from tests.evaluation.test_rating_reason_backfill import reasons

MIGRATION = SERVICE_DIR / "migrations" / "0042_month_reasons_for_meeting_ratings.sql"
REASON = '{"band": "good", "code": "meeting_rating"}'


def gated_at_sixty() -> dict[str, Any]:
    """hd42-2025 version 2 whose Good band starts at 60: a meeting of tests.evaluation.test_cell_existence.held (66,7)
    scores in it, and its gate (a gated item short of full points) lowers it to Khá."""
    document = copy.deepcopy(json.loads((FRAMEWORKS_DIR / "hd42-2025.v1.json").read_text(encoding="utf-8")))
    document["version"] = "2"
    for band in document["bands"]:
        if band["rating"] == "good":
            band["min"] = 60
    return document


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[tuple[asyncpg.Pool, Callable[[], EvaluationUnitOfWork]]]:
    """A private database with the shipped frameworks and gated_at_sixty registered, on 20 December 2026 (November
    closed)."""
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=lambda: date(2026, 12, 20))
        async with factory() as uow:
            await adopt_framework(uow, document=gated_at_sixty(), committee_id=None)
            await uow.commit()
        yield pool, factory


async def test_a_month_lowered_by_its_meetings_gate_rated_before_its_reason_was_kept_gets_it_silently(
    world: tuple[asyncpg.Pool, Callable[[], EvaluationUnitOfWork]],
) -> None:
    pool, factory = world
    events = units("ward-m", "cell-m", time=at(11, 1, 8)) + held("cell-m", "mt-1", at(11, 5))
    events += units("ward-m", "cell-k", time=at(11, 1, 8))[1:] + held("cell-k", "mt-2", at(11, 6))
    for event in events:
        await deliver(factory, [event])
    assert await score_dirty(uow_factory=factory, limit=100) is False
    fresh = await reasons(pool, "cell-m")
    # the one month counted, Khá by its meeting's gate at a Good score: the month, its quarter and its year say so
    lowered = sorted(period for period, (_, _, reason) in fresh.items() if reason == REASON)
    assert lowered == ["2026", "2026-11", "2026-Q4"], fresh
    assert {fresh[period][0] for period in lowered} == {"fair"}
    kept = await reasons(pool, "cell-k")
    assert kept["2026-11"][2] == REASON, kept  # a cell rated since h358: its reasons stored, nothing to note

    # as a database rated before h358 holds them: no reason stored
    await pool.execute("UPDATE cell_period SET rating_reason = NULL WHERE cell_id = 'cell-m'")
    before = await published(pool)
    await pool.execute(MIGRATION.read_text(encoding="utf-8"))
    noted = await pool.fetch("SELECT cell_id, since, received_month FROM dirty_cell ORDER BY cell_id")
    assert [tuple(row) for row in noted] == [("cell-m", datetime(2026, 1, 1, tzinfo=VIETNAM_TZ), None)]
    assert await score_dirty(uow_factory=factory, limit=100) is False

    assert await reasons(pool, "cell-m") == fresh
    assert await reasons(pool, "cell-k") == kept
    assert await published(pool) == before  # only the unpublished reason moved: no event, so no alert and no mail
    assert await pool.fetchval("SELECT count(*) FROM period_late_change") == 0  # no fact came late

    # run again: every month has its reason, nothing is noted
    await pool.execute(MIGRATION.read_text(encoding="utf-8"))
    assert await pool.fetchval("SELECT count(*) FROM dirty_cell") == 0
