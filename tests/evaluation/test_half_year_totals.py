"""A half-year's roll-up read in one statement (queries.half_year_totals, issue 12: a province's 2026-H1 took 3.4 s
building a line per cell) gives exactly the figures of the line-by-line computation it replaced
(domain.periods.half_year_figures of queries.half_year_lines), on a generated tree: spans beginning and ending
within quarters, quarters without a stored row, rows counting fewer months than their quarter or none, scores whose
float sums are not exact, cell ids whose Python order is not a collation's, and every half-year read before it
began, while its quarters run and after it closed."""

import random
from datetime import date

import asyncpg

from services.evaluation import queries
from services.evaluation.domain.periods import half_year_figures, half_year_figures_of
from shared.periods import previous_period
from tests.evaluation.private_db import private_pool
from tests.evaluation.test_rollup_fast import _add_units, _set_spans, _upsert

QUARTERS = ("2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3")
HALVES = ("2025-H2", "2026-H1", "2026-H2")
TODAYS = (
    date(2025, 6, 1),
    date(2025, 8, 20),
    date(2026, 1, 15),
    date(2026, 5, 10),
    date(2026, 7, 1),
    date(2026, 11, 5),
)
"""Before any half-year, within each one's quarters, between them and after the last closed."""
COMMITTEES = [
    ("p", "committee", None, True),
    ("c1", "committee", "p", True),
    ("c2", "committee", "p", True),
    ("g1", "committee", "c1", True),
    ("g2", "committee", "c2", True),
    ("g3", "committee", "c2", False),  # inactive: its cells are nobody's
]
SPANS = ["2025-05", "2025-08", "2025-12", "2026-02", "2026-04", "2026-06", "2026-09"]
"""Months a cell's span begins or ends on: before, within and after the quarters (an end may also be open)."""


def _cells(rng: random.Random) -> list[tuple[str, str, str, str | None, bool]]:
    cells: list[tuple[str, str, str, str | None, bool]] = []
    for parent in ("g1", "g2", "g3", "c1"):
        for n in range(rng.randint(8, 14)):
            # upper and lower case, dots and dashes: Python's order (the sum's) is no natural collation's
            cell_id = f"{rng.choice(['k', 'K', 'k.', 'k-'])}{parent}{n}"
            cells.append((cell_id, f"Chi bộ {cell_id}", "cell", parent, rng.random() > 0.1))
    return cells


def _quarter_row(rng: random.Random, cell_id: str, quarter: str) -> tuple[object, ...]:
    months = rng.choice([3, 3, 3, 2, 1, 0])
    maximum = rng.choice([95, 85, 63, 7])
    score = rng.choice([0.0, 50.0, 100 * rng.randint(0, maximum) / maximum])
    counted = rng.randint(0, 40)
    present = rng.randint(0, counted)
    return (
        cell_id,
        quarter,
        rng.choice(["good", "fair", "average", "poor"]),
        score,
        rng.randint(0, months),
        rng.choice([0, 0, 1, 2]),
        present,
        counted,
        rng.randint(0, present),
        months,
        rng.randint(0, months),
        rng.choice([None, rng.randint(0, 4)]),
    )


async def _assert_same(conn: asyncpg.Connection, units: list[str]) -> None:
    for today in TODAYS:
        for half in HALVES:
            for unit in units:
                lines = await queries.half_year_lines(conn, unit, half, today=today)
                expected = half_year_figures(lines)
                totals = await queries.half_year_totals(conn, unit, half, today=today)
                assert half_year_figures_of(totals) == expected, (unit, half, today)
                rollup = await queries.half_year_rollup(conn, unit, half, today=today)
                assert {key: rollup[key] for key in expected} == expected, (unit, half, today)
                before = half_year_figures(
                    await queries.half_year_lines(conn, unit, previous_period(half), today=today)
                )
                if rollup["trend"]["previous_score"] is not None:
                    assert rollup["trend"]["previous_score"] == before["score"], (unit, half, today)


async def test_half_year_totals_give_the_figures_of_the_lines_they_replace(database_url: str) -> None:
    rng = random.Random(20260612)
    async with private_pool(database_url) as pool, pool.acquire() as conn:
        cells = _cells(rng)
        await _add_units(conn, [(unit, f"Đảng ủy {unit}", kind, parent, on) for unit, kind, parent, on in COMMITTEES])
        await _add_units(conn, cells)
        spans: list[tuple[str, str, str | None]] = []  # a cell without a stored span (20 %) exists in every month
        for cell in cells:
            first, last = sorted([rng.choice(SPANS), rng.choice([*SPANS, "~"])])
            spans.append((cell[0], first, None if last == "~" else last))
        await _set_spans(conn, [span for span in spans if rng.random() > 0.2])
        rows = [_quarter_row(rng, cell[0], quarter) for cell in cells for quarter in QUARTERS if rng.random() > 0.25]
        await _upsert(conn, rows)  # after the spans: a row outside its cell's span is stored, and not counted
        units = [unit for unit, *_ in COMMITTEES] + [cells[0][0], cells[-1][0]]
        await _assert_same(conn, units)
