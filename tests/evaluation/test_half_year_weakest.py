"""A committee's half-year weakest cells are evaluation's (queries.half_year_weakest): those rated Average or Poor in
one of its quarters, read over every cell of the subtree in one statement. The gateway used to pick them out of the
ranking's 200 lowest scores, so a cell rated Poor for a quarter without a thematic meeting, its score high (DOMAIN.md
"Periods": such a quarter is Poor whatever its score), was missed in a committee of more than 200 cells."""

from datetime import date

from services.evaluation import queries
from tests.evaluation.private_db import private_pool
from tests.evaluation.test_rollup_fast import _add_units, _upsert

HALF = "2026-H1"
TODAY = date(2026, 8, 3)
"""After the half-year closed: both quarters counted."""


def _row(cell_id: str, quarter: str, rating: str, score: float, thematic: int) -> tuple[object, ...]:
    return (cell_id, quarter, rating, score, 3, thematic, 30, 40, 10, 3, 3, 3)


async def test_a_weak_cell_past_the_200_lowest_scores_is_listed(database_url: str) -> None:
    async with private_pool(database_url) as pool, pool.acquire() as conn:
        await _add_units(conn, [("p", "Đảng ủy p", "committee", None, True)])
        fair = [f"fair-{n:03d}" for n in range(230)]
        weak = ["weak-poor", "weak-average", "weak-both"]
        await _add_units(conn, [(cell, f"Chi bộ {cell}", "cell", "p", True) for cell in [*fair, *weak]])
        rows = [_row(cell, quarter, "fair", 71.0, 1) for cell in fair for quarter in ("2026-Q1", "2026-Q2")]
        rows += [
            # no thematic meeting in Q1: Poor at 88 (half-year 90, above all 230 Fair cells at 71)
            _row("weak-poor", "2026-Q1", "poor", 88.0, 0),
            _row("weak-poor", "2026-Q2", "good", 92.0, 1),
            _row("weak-average", "2026-Q1", "average", 69.0, 1),
            _row("weak-average", "2026-Q2", "good", 95.0, 1),
            _row("weak-both", "2026-Q1", "average", 80.0, 0),
            _row("weak-both", "2026-Q2", "poor", 85.0, 0),
        ]
        await _upsert(conn, rows)
        await conn.fetchval("SELECT refresh_subtree_cells()")  # more units than a read applies inline
        ranking = await queries.half_year_page(conn, "p", HALF, today=TODAY, descending=False, limit=200)
        assert ranking[0] == 233 and len(ranking[1]) == 200
        assert not set(weak) & {line["cell_id"] for line, _ in ranking[1]}  # none among the 200 lowest

        rollup = await queries.committee_rollup(conn, "p", HALF, today=TODAY)

        # most quarters Poor first (weak-both: one Poor, one Average; weak-poor: one Poor, at a lower score)
        assert [cell["cell_id"] for cell in rollup["weakest"]] == ["weak-both", "weak-poor", "weak-average"]
        first = rollup["weakest"][0]
        assert first["quarter_ratings"] == {"2026-Q1": "average", "2026-Q2": "poor"}
        assert first["score"] == 82.5 and first["name"] == "Chi bộ weak-both" and first["rating"] is None
        few = await queries.half_year_weakest(conn, "p", HALF, today=TODAY, limit=2)
        assert [cell["cell_id"] for cell in few] == ["weak-both", "weak-poor"]
