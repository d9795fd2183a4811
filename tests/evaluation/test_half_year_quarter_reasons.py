"""A half-year has no rating of its own (DOMAIN.md rates months, quarters and years), so its line shows its quarters'
ratings; a quarter rated below its score's band says why on its own line (`rating_reason`), but the half-year's line
gave no reason at all: an officer read "Quý I/2026: Khá" beside a half-year with no word that the quarter was Khá at a
Tốt score. Every half-year read now gives `quarter_reasons` beside `quarter_ratings` (each quarter's own stored
reason, None without one or for a quarter not rated): the per-cell line, the ranking and weakest pages, the report,
the roll-up's weakest cells and the cell's own half-year, while a quarter runs and after the half-year closed."""

import json
from datetime import date
from typing import Any

import asyncpg

from services.evaluation import queries
from services.evaluation.bootstrap import SERVICE_DIR
from shared.contracts import evaluation_rpc as evaluation
from tests.evaluation.test_rollup_fast import _add_units, _upsert
from tests.shared.test_code_point_ties import icu_pool

HALF = "2026-H1"
RUNNING_Q2 = date(2026, 5, 10)
CLOSED = date(2026, 8, 1)
BY_MONTHS = {
    "code": "month_ratings",
    "band": "good",
    "missed": "good",
    "condition": "count_at_least",
    "floor": "good",
    "count": 1,
    "needed": 2,
}
NO_THEMATIC = {"code": "no_thematic_meeting", "band": "average"}


async def _tree(conn: asyncpg.Connection) -> None:
    """A committee with three cells: `k1` Khá at a Tốt score in Q1 (a reason) and Tốt in Q2 (none); `k2` Kém in Q1
    for want of a thematic meeting at an Average score and without a stored Q2 (Kém at 0 once it closed, no reason);
    `k3` Tốt in both, no reason."""
    await _add_units(conn, [("p", "Đảng ủy p", "committee", None, True)])
    cells = [("k1", "Chi bộ k1", "cell", "p", True), ("k2", "Chi bộ k2", "cell", "p", True)]
    await _add_units(conn, [*cells, ("k3", "Chi bộ k3", "cell", "p", True)])
    await _upsert(
        conn,
        [
            ("k1", "2026-Q1", "fair", 92.0, 3, 1, 15, 18, 6, 3, 3, 4),
            ("k1", "2026-Q2", "good", 95.0, 2, 1, 10, 12, 4, 2, 2, 3),
            ("k2", "2026-Q1", "poor", 60.0, 3, 0, 15, 18, 6, 3, 3, 3),
            ("k3", "2026-Q1", "good", 96.0, 3, 1, 15, 18, 6, 3, 3, 4),
            ("k3", "2026-Q2", "good", 97.0, 2, 1, 10, 12, 4, 2, 2, 3),
        ],
    )
    await conn.executemany(
        "UPDATE cell_period SET rating_reason = $3::jsonb WHERE cell_id = $1 AND period = $2",
        [("k1", "2026-Q1", json.dumps(BY_MONTHS)), ("k2", "2026-Q1", json.dumps(NO_THEMATIC))],
    )


def _reply_reasons(reasons: dict[str, Any] | None) -> dict[str, Any] | None:
    """`quarter_reasons` as a reply gives them (RatingReasonReply's defaults filled in)."""
    if reasons is None:
        return None
    return {
        quarter: None if reason is None else evaluation.RatingReasonReply.model_validate(reason).model_dump()
        for quarter, reason in reasons.items()
    }


async def test_every_half_year_read_gives_its_quarters_reasons(database_url: str) -> None:
    async with icu_pool(database_url, schema="evaluation", service_dir=SERVICE_DIR) as pool, pool.acquire() as conn:
        await _tree(conn)
        for today in (RUNNING_Q2, CLOSED):
            # while Q2 runs k2 has no Q2 yet (not rated); once closed it is Kém at 0 without a row, so no reason
            expected: dict[str, dict[str, Any]] = {
                "k1": {"2026-Q1": BY_MONTHS, "2026-Q2": None},
                "k2": {"2026-Q1": NO_THEMATIC, "2026-Q2": None},
                "k3": {"2026-Q1": None, "2026-Q2": None},
            }
            replied = {cell: _reply_reasons(reasons) for cell, reasons in expected.items()}
            lines = await queries.half_year_lines(conn, "p", HALF, today=today)
            assert {line["cell_id"]: line["quarter_reasons"] for line in lines} == expected, today

            ranking = await queries.committee_ranking(conn, "p", HALF, order="desc", limit=10, offset=0, today=today)
            replies = [evaluation.CellRankReply.model_validate(item) for item in ranking["items"]]
            got = {reply.cell_id: reply.model_dump()["quarter_reasons"] for reply in replies}
            assert got == replied, today

            weak = await queries.committee_ranking(
                conn, "p", HALF, order="asc", limit=10, offset=0, weak_only=True, today=today
            )
            # k2 is weak (Kém in Q1); k1 and k3 never below Khá
            assert [item["cell_id"] for item in weak["items"]] == ["k2"], weak
            assert weak["items"][0]["quarter_reasons"] == expected["k2"]

            rollup = await queries.committee_rollup(conn, "p", HALF, today=today)
            assert {item["cell_id"]: item["quarter_reasons"] for item in rollup["weakest"]} == {"k2": expected["k2"]}

            report = await queries.committee_report(
                conn, "p", HALF, after_score=None, after_cell=None, limit=10, today=today
            )
            rows = [evaluation.ReportRowReply.model_validate(item) for item in report["items"]]
            assert {row.cell_id: row.model_dump()["quarter_reasons"] for row in rows} == replied, today

            for cell_id, reasons in replied.items():
                found = await queries.cell_half_year(conn, cell_id, HALF, today=today)
                reply = evaluation.CellHalfYearReply.model_validate(found)
                assert reply.model_dump()["quarter_reasons"] == reasons, (cell_id, today)
                assert set(reply.quarter_reasons or {}) == set(reply.quarter_ratings or {})


async def test_a_quarter_not_counted_gives_no_reason(database_url: str) -> None:
    """A stored quarter the half-year does not rate (a cell set up after it: outside its span) gives no reason, as it
    gives no rating: the reason is said only beside a rating."""
    async with icu_pool(database_url, schema="evaluation", service_dir=SERVICE_DIR) as pool, pool.acquire() as conn:
        await _tree(conn)
        await conn.execute("INSERT INTO cell_span (cell_id, first_month, last_month) VALUES ('k1', '2026-04', NULL)")
        lines = await queries.half_year_lines(conn, "p", HALF, today=CLOSED)
        k1 = next(line for line in lines if line["cell_id"] == "k1")
        assert k1["quarter_ratings"] == {"2026-Q1": None, "2026-Q2": "good"}
        assert k1["quarter_reasons"] == {"2026-Q1": None, "2026-Q2": None}
