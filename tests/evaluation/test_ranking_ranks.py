"""A ranking's ranks are evaluation's (queries.committee_ranking's `rank`): each cell with a score has its place
among the cells with one, counted over the whole subtree in the query. The ranking page numbered its rows from the
page's offset, as if the cells read as not met yet (a month still waiting for its meetings: Poor at 0 for now) came
after every scored one; a cell met and scored 0 sorts among them by id, so the page after them ranked it too low."""

from datetime import date

import pytest

from services.evaluation import queries
from tests.evaluation.private_db import private_pool
from tests.evaluation.test_rollup_fast import _add_units, _upsert

MONTH = "2026-03"
TODAY = date(2026, 3, 10)
"""Within the month: it still waits for its meetings."""


def _row(cell_id: str, score: float, regular: int) -> tuple[object, ...]:
    rating = "good" if score >= 90 else "fair" if score >= 70 else "poor"
    return (cell_id, MONTH, rating, score, regular, 0, 5, 6, 3, 1, regular, regular)


@pytest.mark.parametrize("large_subtree", [1, 2000], ids=["ordered-pages", "whole-subtree"])
async def test_ranks_count_only_the_cells_with_a_score(
    database_url: str, large_subtree: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "LARGE_SUBTREE", large_subtree)
    async with private_pool(database_url) as pool, pool.acquire() as conn:
        await _add_units(conn, [("p", "Đảng ủy p", "committee", None, True)])
        cells = ["a-top", "b-second", "c-not-met", "c0-no-row", "d-met-at-0"]
        await _add_units(conn, [(cell, f"Chi bộ {cell}", "cell", "p", True) for cell in cells])
        # c-not-met and c0-no-row have not held the month's regular meeting: Poor at 0 for now, no rank
        await _upsert(conn, [_row("a-top", 95.0, 1), _row("b-second", 80.0, 1), _row("c-not-met", 0.0, 0)])
        await _upsert(conn, [_row("d-met-at-0", 0.0, 1)])
        await conn.fetchval("SELECT refresh_subtree_cells()")

        whole = await queries.committee_ranking(conn, "p", MONTH, order="desc", limit=10, offset=0, today=TODAY)
        assert [(item["cell_id"], item["rank"]) for item in whole["items"]] == [
            ("a-top", 1),
            ("b-second", 2),
            ("c-not-met", None),
            ("c0-no-row", None),
            ("d-met-at-0", 3),
        ]
        last = await queries.committee_ranking(conn, "p", MONTH, order="desc", limit=1, offset=4, today=TODAY)
        assert [(item["cell_id"], item["rank"]) for item in last["items"]] == [("d-met-at-0", 3)]

        # once the month has closed every cell is rated (Poor without its meeting) and ranked
        closed = await queries.committee_ranking(
            conn, "p", MONTH, order="desc", limit=2, offset=3, today=date(2026, 4, 2)
        )
        assert [(item["cell_id"], item["rank"]) for item in closed["items"]] == [("c0-no-row", 4), ("d-met-at-0", 5)]
