"""A roll-up read that says `recalculating` counts the noted org-tree changes (queries.tree_changes_pending) once.

The defect: each flagged read called tree_refresh_state for its flag, then read its sums (subtree_sums) or half-year
totals, each of which ran tree_changes_pending again: with changes queued every run is five statements (the look,
the try-lock, the walk below the noted units, the count), so a month's roll-up did them twice, a half-year's four
times, and the RPC's period check (check_period_rated) once more before them. Now the read counts them once and
passes the count along.
"""

import contextlib
import functools
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any, cast

import asyncpg
import pytest

from services.evaluation import queries
from services.evaluation import rpc as methods
from services.evaluation.context import EvaluationContext
from shared.contracts import evaluation_rpc as rpc
from tests.evaluation.test_rollup_during_tree_refresh import CELLS, PERIOD, TODAY, pool  # noqa: F401 (a fixture)
from tests.support.private_db import StatementLog

HALF = "2026-H1"
COUNT = " ".join(queries.PENDING_TREE_CHANGES.split())
"""The statement tree_changes_pending ends with: one per run of it."""


Read = Callable[[asyncpg.Connection], Awaitable[dict[str, Any] | None]]

READS: dict[str, Read] = {
    "month roll-up": functools.partial(queries.committee_rollup, committee_id="commune-a", period=PERIOD, today=TODAY),
    "half-year roll-up": functools.partial(
        queries.committee_rollup, committee_id="commune-a", period=HALF, today=TODAY
    ),
    "units' month roll-ups": functools.partial(
        queries.unit_rollups, unit_ids=["commune-a", "commune-b"], period=PERIOD, today=TODAY
    ),
    "units' half-year roll-ups": functools.partial(
        queries.unit_rollups, unit_ids=["commune-a", "commune-b"], period=HALF, today=TODAY
    ),
    "ranking": functools.partial(
        queries.committee_ranking,
        committee_id="commune-a",
        period=PERIOD,
        order="desc",
        limit=10,
        offset=0,
        today=TODAY,
    ),
    "half-year ranking": functools.partial(
        queries.committee_ranking, committee_id="commune-a", period=HALF, order="desc", limit=10, offset=0, today=TODAY
    ),
    "report": functools.partial(
        queries.committee_report,
        committee_id="commune-a",
        period=PERIOD,
        after_score=None,
        after_cell=None,
        limit=10,
        today=TODAY,
    ),
    "half-year report": functools.partial(
        queries.committee_report,
        committee_id="commune-a",
        period=HALF,
        after_score=None,
        after_cell=None,
        limit=10,
        today=TODAY,
    ),
    "weakest": functools.partial(queries.weakest_cells, committee_id="commune-a", period=PERIOD, limit=5, today=TODAY),
    "cell half-year": functools.partial(queries.cell_half_year, cell_id=CELLS[0], period=HALF, today=TODAY),
}


@pytest.mark.parametrize("name", list(READS))
async def test_a_flagged_read_counts_the_noted_tree_changes_once(
    name: str,
    pool: asyncpg.Pool,  # noqa: F811 (the fixture)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Changes too large for a read to apply (INLINE_REFRESH_CELLS 2 against 3) wait: the read says so, and its
    statements count them once."""
    monkeypatch.setattr(queries, "INLINE_REFRESH_CELLS", 2)
    sent: list[str] = []
    async with pool.acquire() as conn:
        log = StatementLog(sent)
        conn.add_query_logger(log)
        try:
            reply = await READS[name](conn)
        finally:
            conn.remove_query_logger(log)
    assert reply is not None
    assert (reply["recalculating"], reply["pending_tree_changes"]) == (True, 3)
    assert sent.count(COUNT) == 1, [statement[:60] for statement in sent]


async def test_the_rollup_rpc_counts_them_once_with_its_period_check(
    pool: asyncpg.Pool,  # noqa: F811 (the fixture)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The RPC checks the period has data (check_period_rated reads the subtree's sums) before the roll-up: the count
    its check made is the roll-up's, not made again."""
    monkeypatch.setattr(queries, "INLINE_REFRESH_CELLS", 2)
    await pool.execute(
        "INSERT INTO cell_period (cell_id, period, rating, score, regular_held, thematic_held, present, counted,"
        " speakers_present, months_counted, months_with_regular, flags)"
        " VALUES ($1, $2, 'fair', 75, 1, 0, 10, 12, 4, 1, 1, '{}')",
        CELLS[0],
        PERIOD,
    )
    sent: list[str] = []
    async with pool.acquire() as conn:
        one = SimpleNamespace(acquire=lambda: contextlib.nullcontext(conn))
        app = cast(EvaluationContext, SimpleNamespace(pool=one, settings=SimpleNamespace(rollup_weakest=5)))
        log = StatementLog(sent)
        conn.add_query_logger(log)
        try:
            reply = await methods.committee_rollup(rpc.GetCommitteeRollup(committee_id="commune-a", period=PERIOD), app)
        finally:
            conn.remove_query_logger(log)
    assert (reply["cells"], reply["recalculating"], reply["pending_tree_changes"]) == (3, True, 3)
    assert sent.count(COUNT) == 1, [statement[:60] for statement in sent]
