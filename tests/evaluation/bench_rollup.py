"""Benchmark: a province-size committee roll-up (35,000 cells) in a throwaway schema.

Run with `uv run python -m tests.evaluation.bench_rollup [--scale S]`; prints median, p95 and worst of each
query and, as the raw baseline, one bare aggregate over the same month's rows (what any roll-up must read,
without the tree), with the ratio; then the province's and a commune's quarter and half-year roll-ups, rankings
and reports (time_half_year); leaves nothing behind.
"""

import argparse
import asyncio
import math
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from functools import partial
from typing import Any

import asyncpg

from services.evaluation.bootstrap import SERVICE_DIR
from services.evaluation.queries import (
    cell_half_year,
    committee_ranking,
    committee_report,
    committee_rollup,
    fold_rollup_deltas,
    refresh_subtrees,
)
from shared.db import apply_migrations, create_pool, ensure_database, migration_files
from shared.logs import configure_logging
from shared.periods import period_months
from tests.support.env import DEFAULT_DATABASE_URL

COMMUNES = 100
GRASSROOTS_PER_COMMUNE = 10
CELLS_PER_GRASSROOTS = 35
HALF_YEAR_QUARTERS = ("2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2")
"""2026-H1 and the half-year before it (its trend): a province with a year of history reads both."""
TODAY = date(2026, 11, 5)
"""The day the quarter and half-year are read on: both closed, as an officer's report after them reads them."""
RANKING_PAGE = 50
"""Cells per page of a ranking as the bench reads it (the gateway's ranking pages are of this order)."""
REPORT_PAGE = 5000
"""Cells per page of a report (services/gateway/web/exports.py REPORT_PAGE, what an export reads at a time)."""


def tree_size(scale: float) -> tuple[int, int]:
    """(communes, grassroots committees per commune) for 35,000 × `scale` cells, CELLS_PER_GRASSROOTS each: whole
    communes while there is at least one, else one commune of fewer grassroots committees (at least one), so that
    --scale 0.005 seeds 175 cells, not a whole commune's 350."""
    per_commune = GRASSROOTS_PER_COMMUNE * CELLS_PER_GRASSROOTS
    cells = COMMUNES * per_commune * scale
    if cells >= per_commune:
        return max(1, round(COMMUNES * scale)), GRASSROOTS_PER_COMMUNE
    return 1, max(1, round(cells / CELLS_PER_GRASSROOTS))


async def seed(conn: asyncpg.Connection, communes: int = COMMUNES, grassroots: int = GRASSROOTS_PER_COMMUNE) -> int:
    """A province, its communes, `grassroots` committees under each and CELLS_PER_GRASSROOTS cells under each of
    those, with two months of cell results; the number of cells."""
    stamp = "now(), 'bench'"
    await conn.execute(f"INSERT INTO unit VALUES ('prov', 'Tỉnh ủy', 'committee', NULL, true, {stamp})")
    await conn.execute(
        f"INSERT INTO unit SELECT 'c' || i, 'Đảng ủy xã ' || i, 'committee', 'prov', true, {stamp}"
        " FROM generate_series(1, $1) i",
        communes,
    )
    await conn.execute(
        f"INSERT INTO unit SELECT 'g' || c || '.' || g, 'Đảng bộ ' || g, 'committee', 'c' || c, true, {stamp}"
        " FROM generate_series(1, $1) c, generate_series(1, $2) g",
        communes,
        grassroots,
    )
    await conn.execute(
        f"INSERT INTO unit SELECT 'k' || c || '.' || g || '.' || k, 'Chi bộ ' || k, 'cell', 'g' || c || '.' || g,"
        f" true, {stamp}"
        " FROM generate_series(1, $1) c, generate_series(1, $2) g, generate_series(1, $3) k",
        communes,
        grassroots,
        CELLS_PER_GRASSROOTS,
    )
    await seed_periods(conn, ["2026-09", "2026-10"])
    return await conn.fetchval("SELECT count(*) FROM unit WHERE kind = 'cell'")


async def seed_periods(conn: asyncpg.Connection, periods: Sequence[str]) -> None:
    """Random results of 95 % of the cells for each period (a month, or a quarter of three months counted)."""
    for period in periods:
        months = len(period_months(period))
        await conn.execute(
            "INSERT INTO cell_period (cell_id, period, rating, score, regular_held, thematic_held, present, counted,"
            " speakers_present, months_counted, months_with_regular, flags)"
            " SELECT id, $1, CASE WHEN s >= 90 THEN 'good' WHEN s >= 70 THEN 'fair' WHEN s >= 50 THEN 'average'"
            "  ELSE 'poor' END, s, $2 * (s > 20)::int, (s > 60)::int, $2 * 15, $2 * 18, $2 * 7, $2,"
            "  $2 * (s > 20)::int, '{}'"
            " FROM (SELECT id, (random() * 100)::float8 AS s FROM unit WHERE kind = 'cell') cells"
            " WHERE random() < 0.95",
            period,
            months,
        )
    await conn.execute("ANALYZE unit; ANALYZE cell_period")


async def timed(label: str, runs: int, call: Callable[[], Awaitable[object]]) -> float:
    """Run `call` several times, print median, p95 and worst milliseconds; return the p95."""
    spent = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        spent.append((time.perf_counter() - started) * 1000)
    p95 = sorted(spent)[max(0, math.ceil(0.95 * len(spent)) - 1)]
    print(
        f"{label:<46} median {statistics.median(spent):8.1f} ms   p95 {p95:8.1f} ms   worst {max(spent):8.1f} ms"
        f"   ({runs} runs)"
    )
    return p95


async def seed_half_years(conn: asyncpg.Connection) -> None:
    """The quarters and months of HALF_YEAR_QUARTERS, every cell dated from their first month; the spans' tree
    changes applied and the roll-up deltas of the rows written folded, as evaluation's background loop does both
    after a quiet spell."""
    await seed_periods(conn, [*HALF_YEAR_QUARTERS, *(m for q in HALF_YEAR_QUARTERS for m in period_months(q))])
    first = period_months(HALF_YEAR_QUARTERS[0])[0]
    await conn.execute("UPDATE cell_span SET first_month = $1 WHERE first_month > $1", first)
    # each cell re-dated is a noted tree change: left pending, the next read applied them all (a bulk-loaded
    # province: 35,000 spans, 140,000 subtree pairs, 17-22 s under load), and the reports preset's next read is the
    # month's /v1 roll-up, which answered 503 after the RPC's 5 s on every call
    await refresh_subtrees(conn)
    while await fold_rollup_deltas(conn, pairs=100_000):
        pass


async def time_half_year(conn: asyncpg.Connection) -> None:
    """The province's half-year 2026-H1 beside its quarter 2026-Q2 (committee_rollup, what evaluation's RPC answers
    the gateway's `/v1/committees/{id}/rollup`): the quarters and months of 2026-H1 and of 2025-H2 (its trend) seeded
    first, after the month figures so that those read the same rows as before. A half-year reads every cell's two
    quarters of both half-years (half_year_totals), a quarter its roll-up sums; then their lists (time_lists)."""
    started = time.perf_counter()
    await seed_half_years(conn)
    print(f"seeded the quarters and months of 2025-H2 and 2026-H1 in {time.perf_counter() - started:.1f} s")
    half = await committee_rollup(conn, "prov", "2026-H1", today=TODAY)
    print(f"province 2026-H1: cells={half['cells']} score={half['score']} quarters={len(half['quarters'])}")
    await timed(
        "committee_rollup(province, quarter)", 10, lambda: committee_rollup(conn, "prov", "2026-Q2", today=TODAY)
    )
    await timed(
        "committee_rollup(province, half-year)", 5, lambda: committee_rollup(conn, "prov", "2026-H1", today=TODAY)
    )
    await timed("committee_rollup(commune, quarter)", 10, lambda: committee_rollup(conn, "c1", "2026-Q2", today=TODAY))
    await timed(
        "committee_rollup(commune, half-year)", 10, lambda: committee_rollup(conn, "c1", "2026-H1", today=TODAY)
    )
    await time_lists(conn)


async def whole_report(conn: asyncpg.Connection, unit_id: str, period: str) -> int:
    """Read a unit's committee_report page after page (REPORT_PAGE rows each) as an export does; return its rows."""
    after_score: float | None = None
    after_cell: str | None = None
    rows = 0
    while True:
        page = await committee_report(
            conn, unit_id, period, after_score=after_score, after_cell=after_cell, limit=REPORT_PAGE, today=TODAY
        )
        rows += len(page["items"])
        if page["next"] is None:
            return rows
        after_score, after_cell = page["next"]["after_score"], page["next"]["after_cell"]


async def time_lists(conn: asyncpg.Connection) -> None:
    """The half-year's ranking and report (the cell lists the gateway pages and exports) beside the quarter's, for
        the province and a commune: a ranking's first page (committee_ranking), a report's first page and the whole
        report read page after page (committee_report); then one cell's own half-year (cell_half_year, what
    GetCellHalfYear answers)."""
    for unit, name, runs in (("prov", "province", 5), ("c1", "commune", 10)):
        for period, kind in (("2026-Q2", "quarter"), ("2026-H1", "half-year")):

            async def ranking(unit: str = unit, period: str = period) -> object:
                return await committee_ranking(
                    conn, unit, period, order="desc", limit=RANKING_PAGE, offset=0, today=TODAY
                )

            async def report(unit: str = unit, period: str = period) -> object:
                return await committee_report(
                    conn, unit, period, after_score=None, after_cell=None, limit=REPORT_PAGE, today=TODAY
                )

            await timed(f"committee_ranking({name}, {kind})", runs, ranking)
            await timed(f"committee_report({name}, {kind}, page 1)", runs, report)
            await timed(f"whole report({name}, {kind})", max(3, runs // 2), partial(whole_report, conn, unit, period))
    await timed("cell_half_year(a cell)", 20, lambda: cell_half_year(conn, "k1.1.1", "2026-H1", today=TODAY))


async def main(scale: float = 1.0) -> dict[str, Any]:
    """Seed a throwaway schema, time the roll-up queries and the raw baseline, drop the schema; the figures (cells,
    the province's month roll-up p95 ms beside the bare aggregate's, and their ratio)."""
    configure_logging(service="evaluation", level="WARNING")  # as the services run in the other presets
    communes, grassroots = tree_size(scale)
    dsn = os.environ.get("CHIBO_TEST_DATABASE_URL", DEFAULT_DATABASE_URL)
    schema = f"evaluation_bench_{uuid.uuid4().hex[:8]}"
    await ensure_database(dsn)
    await apply_migrations(dsn, schema=schema, files=migration_files(SERVICE_DIR))
    pool = await create_pool(dsn, schema=schema, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            started = time.perf_counter()
            cells = await seed(conn, communes, grassroots)
            print(
                f"seeded {cells} cells under 1 province ({communes} communes, "
                f"{communes * grassroots} grassroots committees) in {time.perf_counter() - started:.1f} s"
            )
            # the seed writes units and periods straight into the tables: the first read applies the noted tree
            # changes (as the first read after a migration or a bulk tree load does), timed on its own
            started = time.perf_counter()
            await refresh_subtrees(conn)
            print(f"subtree_cell and roll-up sums built for the whole tree in {time.perf_counter() - started:.1f} s")
            rollup = await committee_rollup(conn, "prov", "2026-10")
            print(
                f"province 2026-10: cells={rollup['cells']} by_rating={rollup['by_rating']} "
                f"score={rollup['score']} trend={rollup['trend']['score_delta']}"
            )
            root = await timed(
                "committee_rollup(province, month)", 20, lambda: committee_rollup(conn, "prov", "2026-10")
            )
            raw = await timed(
                "baseline: bare aggregate of the month",
                20,
                lambda: conn.fetch(
                    "SELECT rating, count(*), avg(score), sum(present), sum(counted) FROM cell_period"
                    " WHERE period = $1 GROUP BY rating",
                    "2026-10",
                ),
            )
            print(f"rollup: chibo/baseline province p95 = {root / raw:.2f}")
            figures: dict[str, Any] = {
                "cells": cells,
                "province_month_p95_ms": round(root, 2),
                "baseline_p95_ms": round(raw, 2),
                "province_month_p95_ratio": round(root / raw, 2),
            }
            await timed("committee_rollup(commune, month)", 10, lambda: committee_rollup(conn, "c1", "2026-10"))
            await timed(
                "committee_ranking(province, page 1)",
                10,
                lambda: committee_ranking(conn, "prov", "2026-10", order="asc", limit=50, offset=0),
            )
            await time_half_year(conn)
            return figures
    finally:
        await pool.close()
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        finally:
            await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="size relative to 35,000 cells")
    asyncio.run(main(parser.parse_args().scale))
