"""The rollup preset's seed leaves nothing for the month's /v1 roll-up to apply (tests/benchmarks/reports.py).

The preset's province is bulk-loaded, so every cell has a span (cell_span); bench_rollup.seed_half_years dates them
all from 2025-07, which notes each cell as a tree change. Left pending, the first read after it, the province's
month roll-up through the gateway, applied 35,000 span changes (140,000 subtree pairs) itself: 17 to 22 s at load
9 to 13 against the RPC's 5 s, so all three of its calls answered 503 while the quarter and half-year after it,
finding the work done, answered in milliseconds. Structural, not timed: the machine the tests run on is loaded.
"""

from services.evaluation import queries
from tests.evaluation.bench_rollup import TODAY, seed, seed_half_years
from tests.evaluation.private_db import private_pool


async def test_seeding_the_half_years_leaves_no_tree_change_for_the_month_read(database_url: str) -> None:
    """After seed_half_years on a tree whose cells have spans, no tree change or unfolded delta is pending, so the
    month roll-up's read applies none; its figures count every cell from the half-years' first month."""
    async with private_pool(database_url) as pool, pool.acquire() as conn:
        cells = await seed(conn, communes=1)
        # a bulk-loaded province: each cell dated from the month it was loaded in, then from the month seeded
        # (reports.seed_periods), the changes applied as that seed applies them
        await conn.execute("INSERT INTO cell_span SELECT id, '2026-12' FROM unit WHERE kind = 'cell'")
        await queries.refresh_subtrees(conn)
        await conn.execute("UPDATE cell_span SET first_month = '2026-10' WHERE first_month > '2026-10'")
        await queries.refresh_subtrees(conn)
        await seed_half_years(conn)
        assert await conn.fetchval("SELECT count(*) FROM subtree_change") == 0
        assert await queries.fold_rollup_deltas(conn) == 0
        rollup = await queries.committee_rollup(conn, "prov", "2026-10", today=TODAY)
        assert rollup["cells"] == cells
        assert rollup["first_month"] == "2025-07"
