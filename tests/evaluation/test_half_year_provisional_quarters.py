"""A half-year has no rating of its own, so every page shows its quarters' ratings instead; a quarter whose rating is
provisional (its row flagged `provisional`: a meeting's manual items not assessed yet) must read "(tạm tính)" there
as its own row does. The committee page, the report's CSV and the evidence page showed "Quý II/2026: Khá" of such a
quarter: evaluation's half-year reads gave the quarters' ratings without saying which was provisional. Each of them
now gives `quarter_provisional` beside `quarter_ratings`: the per-cell line, the one-statement page (ranking, report)
and the cell's own half-year, while a quarter runs and after the half-year closed."""

from datetime import date

import asyncpg

from services.evaluation import queries
from services.evaluation.bootstrap import SERVICE_DIR
from shared.contracts import evaluation_rpc as evaluation
from tests.evaluation.test_rollup_fast import _add_units, _upsert
from tests.shared.test_code_point_ties import icu_pool

HALF = "2026-H1"
RUNNING_Q2 = date(2026, 5, 10)
CLOSED = date(2026, 8, 1)


async def _tree(conn: asyncpg.Connection) -> None:
    """A committee with two cells: `k1` rated Tốt in Q1 (final) and Khá in Q2 (provisional); `k2` provisional in Q1
    and without a stored Q2 (Kém at 0 once it closed, nothing provisional about it)."""
    await _add_units(conn, [("p", "Đảng ủy p", "committee", None, True)])
    await _add_units(conn, [("k1", "Chi bộ k1", "cell", "p", True), ("k2", "Chi bộ k2", "cell", "p", True)])
    await _upsert(
        conn,
        [
            ("k1", "2026-Q1", "good", 92.0, 3, 1, 15, 18, 6, 3, 3, 4),
            ("k1", "2026-Q2", "fair", 75.0, 2, 1, 10, 12, 4, 2, 2, 3),
            ("k2", "2026-Q1", "average", 60.0, 3, 1, 15, 18, 6, 3, 3, 4),
        ],
    )
    await conn.executemany(
        "UPDATE cell_period SET flags = $3 WHERE cell_id = $1 AND period = $2",
        [("k1", "2026-Q2", ["in_progress", "provisional"]), ("k2", "2026-Q1", ["provisional"])],
    )


async def test_every_half_year_read_says_which_quarter_rating_is_provisional(database_url: str) -> None:
    async with icu_pool(database_url, schema="evaluation", service_dir=SERVICE_DIR) as pool, pool.acquire() as conn:
        await _tree(conn)
        expected = {
            "k1": {"2026-Q1": False, "2026-Q2": True},
            "k2": {"2026-Q1": True, "2026-Q2": False},
        }
        for today in (RUNNING_Q2, CLOSED):
            lines = await queries.half_year_lines(conn, "p", HALF, today=today)
            assert {line["cell_id"]: line["quarter_provisional"] for line in lines} == expected, today

            ranking = await queries.committee_ranking(conn, "p", HALF, order="desc", limit=10, offset=0, today=today)
            replies = [evaluation.CellRankReply.model_validate(item) for item in ranking["items"]]
            assert {reply.cell_id: reply.quarter_provisional for reply in replies} == expected, today

            report = await queries.committee_report(
                conn, "p", HALF, after_score=None, after_cell=None, limit=10, today=today
            )
            rows = [evaluation.ReportRowReply.model_validate(item) for item in report["items"]]
            assert {row.cell_id: row.quarter_provisional for row in rows} == expected, today

            for cell_id, marks in expected.items():
                found = await queries.cell_half_year(conn, cell_id, HALF, today=today)
                reply = evaluation.CellHalfYearReply.model_validate(found)
                assert reply.quarter_provisional == marks, (cell_id, today)
                assert set(reply.quarter_provisional or {}) == set(reply.quarter_ratings or {})
