"""Evaluation's background jobs apply noted org-tree changes within seconds, not at the next month-close poll.

A bulk-loaded province re-dated 35,000 cells (`cell_span`); the changes waited in `subtree_change` for the period-close
loop (every 300 s), so the first read, the gateway's month roll-up, applied them all itself: 13-17 s at load 13
against the RPC's 5 s timeout, a 503 (tests/evaluation/test_bench_rollup_seed.py, make bench BENCH_ARGS=rollup)."""

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from services.evaluation import queries
from services.evaluation.background import subtree_refresh_loop
from services.evaluation.bootstrap import build_spec, prepare
from services.evaluation.config import Settings
from services.evaluation.context import EvaluationContext
from tests.evaluation.private_db import private_pool
from tests.support.running import eventually

UNITS = [
    ("prov", "Tỉnh", "province", None, True),
    ("commune", "Xã", "commune", "prov", True),
    *((f"cell-{n}", f"Chi bộ {n}", "cell", "commune", True) for n in range(3)),
]


async def _seed(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO unit (id, name, kind, parent_id, active, fact_time, fact_id)"
            " VALUES ($1, $2, $3, $4, $5, now(), 'test')",
            UNITS,
        )
        await conn.execute("INSERT INTO cell_span SELECT id, '2026-12' FROM unit WHERE kind = 'cell'")
        await queries.refresh_subtrees(conn)


async def _pending(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM subtree_change"))


def _drained(conn: asyncpg.Connection) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await _pending(conn) == 0

    return check


async def test_the_service_s_background_jobs_apply_re_dated_cells_before_a_read_does(database_url: str) -> None:
    """Cells re-dated while the service runs are applied to `subtree_cell` by its background jobs within seconds
    (default settings): the queue is empty and the province's pairs carry the new month, no read having run."""
    async with private_pool(database_url) as pool:
        await _seed(pool)
        settings = Settings()
        app = EvaluationContext(settings=settings, pool=pool, uow_factory=await prepare(pool))
        jobs = [asyncio.create_task(job(app)) for job in build_spec(settings).background]
        try:
            await asyncio.sleep(0)
            async with pool.acquire() as conn:
                # the jobs' first rounds have run (they start at once); a bulk load re-dates the cells after them
                await asyncio.sleep(1.0)
                await conn.execute("UPDATE cell_span SET first_month = '2025-07'")
                assert await _pending(conn) == 3
                # well within the period-close loop's 300 s, which applied them before
                await eventually(_drained(conn), timeout=30.0)
                months = await conn.fetch(
                    "SELECT DISTINCT first_month FROM subtree_cell WHERE ancestor_id = 'prov' AND cell_id <> 'prov'"
                )
                assert [row["first_month"] for row in months] == ["2025-07"]
        finally:
            for job in jobs:
                job.cancel()
            await asyncio.gather(*jobs, return_exceptions=True)


async def _analyzed_since(conn: asyncpg.Connection, before: int) -> bool:
    return await _analyzed(conn) > before


async def _analyzed(conn: asyncpg.Connection) -> int:
    await conn.execute("SELECT pg_stat_clear_snapshot()")
    return int(
        await conn.fetchval(
            "SELECT analyze_count FROM pg_stat_user_tables WHERE schemaname = 'evaluation' AND relname = 'subtree_cell'"
        )
    )


async def test_a_load_applied_over_several_rounds_is_analyzed_once_they_add_up(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rounds each below ANALYZE_AFTER_MOVES (9 pairs re-dated per round against 15) analyze subtree_cell once
    their sum reaches it (the second round), as one refresh of as many pairs does."""
    async with private_pool(database_url) as pool:
        await _seed(pool)
        monkeypatch.setattr(queries, "ANALYZE_AFTER_MOVES", 15)
        app = EvaluationContext(
            settings=Settings(subtree_refresh_poll_seconds=0.05), pool=pool, uow_factory=await prepare(pool)
        )
        job = asyncio.create_task(subtree_refresh_loop(app))
        try:
            async with pool.acquire() as conn:
                before = await _analyzed(conn)
                for month, analyzed in (("2025-07", 0), ("2025-08", 1)):
                    await conn.execute("UPDATE cell_span SET first_month = $1", month)
                    await eventually(_drained(conn), timeout=30.0)
                    # the round's ANALYZE, if any, runs right after its refresh commits: the second round's as soon
                    # as it shows, the first round's absence after ten of the loop's polls
                    if analyzed:
                        await eventually(lambda: _analyzed_since(conn, before), timeout=30.0)
                    else:
                        await asyncio.sleep(0.5)
                    assert await _analyzed(conn) - before == analyzed
        finally:
            job.cancel()
            await asyncio.gather(job, return_exceptions=True)
