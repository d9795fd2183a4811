"""A roll-up read never waits for a refresh of the org tree: it answers from the tree as last applied, saying the
figures are being recalculated, and gives the fresh figures once the refresh has committed (real database).

The defect: every roll-up read began with `refresh_subtrees`. While `subtree_refresh_loop` applied a large change
(a province's 35,000 re-dated cells, 13-17 s) the queued rows it had taken were still visible to the read (its delete
not committed), so the read called `refresh_subtree_cells()` too and waited on the tree lock the refresh held until it
committed: the gateway's 5 s RPC timed out (503). With no refresh running, the first read applied the whole queue
itself, as long.
"""

import asyncio
import functools
from collections.abc import AsyncIterator
from datetime import date

import asyncpg
import pytest

from services.evaluation import queries
from tests.evaluation.private_db import private_pool
from tests.support.running import eventually

TODAY = date(2026, 6, 15)
PERIOD = "2026-05"
CELLS = [f"cell-{n}" for n in range(3)]
UNITS = [
    ("prov", "Tỉnh", "province", None, True),
    ("commune-a", "Xã A", "commune", "prov", True),
    ("commune-b", "Xã B", "commune", "prov", True),
    *((cell, f"Chi bộ {cell}", "cell", "commune-a", True) for cell in CELLS),
]


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A private evaluation database with three cells under commune-a, their tree applied."""
    async with private_pool(database_url) as pool:
        async with pool.acquire() as conn:
            await conn.executemany(
                "INSERT INTO unit (id, name, kind, parent_id, active, fact_time, fact_id)"
                " VALUES ($1, $2, $3, $4, $5, now(), 'test')",
                UNITS,
            )
            await conn.execute("INSERT INTO cell_span SELECT id, '2026-01' FROM unit WHERE kind = 'cell'")
            await queries.refresh_subtrees(conn)
            # the cells move to commune-b: noted in subtree_change, not applied yet
            await conn.execute("UPDATE unit SET parent_id = 'commune-b' WHERE kind = 'cell'")
            assert await conn.fetchval("SELECT count(*) FROM subtree_change") == 3
        yield pool


async def _waiting_on_a_lock(observer: asyncpg.Connection, pid: int) -> bool:
    return bool(
        await observer.fetchval(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = $1 AND NOT granted)",
            pid,
        )
    )


async def test_a_roll_up_read_during_a_refresh_answers_at_once_from_the_tree_last_applied(pool: asyncpg.Pool) -> None:
    """A refresh has taken the queue and holds the tree lock (its transaction open, as the loop's is for the 13-17 s
    of a province): a read of commune-a answers without waiting on any lock, with its three cells of the tree as last
    applied and `recalculating`; once the refresh commits the read gives the fresh figures (no cell)."""
    async with pool.acquire() as refresher, pool.acquire() as reader, pool.acquire() as observer:
        refresh = refresher.transaction()
        await refresh.start()
        try:
            assert await refresher.fetchval("SELECT refresh_subtree_cells()") > 0
            read = asyncio.create_task(queries.committee_rollup(reader, "commune-a", PERIOD, today=TODAY))
            reader_pid = reader.get_server_pid()
            # done, or stuck behind a lock: whichever comes first tells
            await eventually(lambda: read.done() or _waiting_on_a_lock(observer, reader_pid), timeout=30.0)
            assert read.done(), "the roll-up read waited on a lock the running refresh holds"
            during = read.result()
            assert during["cells"] == 3
            assert during["recalculating"] is True
            assert during["pending_tree_changes"] == 3
        finally:
            await refresh.commit()
            if not read.done():
                await read
        after = await queries.committee_rollup(reader, "commune-a", PERIOD, today=TODAY)
        assert after["cells"] == 0
        assert after["recalculating"] is False
        assert after["pending_tree_changes"] == 0
        moved = await queries.committee_rollup(reader, "commune-b", PERIOD, today=TODAY)
        assert (moved["cells"], moved["recalculating"]) == (3, False)


async def test_a_read_leaves_a_large_queue_to_the_refresh_loop(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Changes reaching more cells than a read applies itself (INLINE_REFRESH_CELLS, here 2 against 3) are left queued
    for subtree_refresh_loop: the read answers from the tree as last applied, `recalculating`, and the queue is intact;
    after the refresh the figures are fresh."""
    monkeypatch.setattr(queries, "INLINE_REFRESH_CELLS", 2)
    async with pool.acquire() as conn:
        stale = await queries.committee_rollup(conn, "commune-a", PERIOD, today=TODAY)
        assert (stale["cells"], stale["recalculating"], stale["pending_tree_changes"]) == (3, True, 3)
        assert await conn.fetchval("SELECT count(*) FROM subtree_change") == 3
        figures = await queries.unit_rollups(conn, ["commune-b"], PERIOD, today=TODAY)
        assert figures["recalculating"] is True
        assert await queries.refresh_subtrees(conn) > 0
        fresh = await queries.committee_rollup(conn, "commune-a", PERIOD, today=TODAY)
        assert (fresh["cells"], fresh["recalculating"], fresh["pending_tree_changes"]) == (0, False, 0)


async def test_a_read_applies_a_small_change_itself_when_no_refresh_is_running(pool: asyncpg.Pool) -> None:
    """Three cells re-hung, no refresh running: the read applies them at once (a few cells, milliseconds) and gives
    the fresh figures, not recalculating."""
    async with pool.acquire() as conn:
        fresh = await queries.committee_rollup(conn, "commune-b", PERIOD, today=TODAY)
        assert (fresh["cells"], fresh["recalculating"], fresh["pending_tree_changes"]) == (3, False, 0)
        assert await conn.fetchval("SELECT count(*) FROM subtree_change") == 0


async def test_rankings_reports_and_half_years_say_they_are_recalculating_while_changes_wait(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ranking (the weakest cells too), the report's pages and weakest lines (its CSV and PDF) and the half-year
    reads answer from the tree as last applied as the roll-up does, and say so as it does (`recalculating`,
    `pending_tree_changes`) while a queue larger than a read applies itself waits; not once it is applied."""
    monkeypatch.setattr(queries, "INLINE_REFRESH_CELLS", 2)
    half, cell = "2026-H1", CELLS[0]

    async def replies(conn: asyncpg.Connection) -> dict[str, dict[str, object] | None]:
        report = functools.partial(queries.committee_report, after_score=None, after_cell=None, limit=10, today=TODAY)
        ranking = functools.partial(queries.committee_ranking, order="desc", limit=10, offset=0, today=TODAY)
        return {
            "ranking": await ranking(conn, "commune-a", PERIOD),
            "weak ranking": await ranking(conn, "commune-a", PERIOD, order="asc", weak_only=True),
            "half-year ranking": await ranking(conn, "commune-a", half),
            "report": await report(conn, "commune-a", PERIOD),
            "half-year report": await report(conn, "commune-a", half),
            "weakest": await queries.weakest_cells(conn, "commune-a", PERIOD, limit=5, today=TODAY),
            "cell half-year": await queries.cell_half_year(conn, cell, half, today=TODAY),
        }

    async with pool.acquire() as conn:
        during = await replies(conn)
        assert await conn.fetchval("SELECT count(*) FROM subtree_change") == 3
        for name, reply in during.items():
            assert reply is not None, name
            assert (reply.get("recalculating"), reply.get("pending_tree_changes")) == (True, 3), name
        # the tree as last applied: the three cells still under commune-a
        assert during["ranking"] is not None and during["ranking"]["total"] == 3
        assert await queries.refresh_subtrees(conn) > 0
        after = await replies(conn)
        for name, reply in after.items():
            assert reply is not None, name
            assert (reply.get("recalculating"), reply.get("pending_tree_changes")) == (False, 0), name
        assert after["ranking"] is not None and after["ranking"]["total"] == 0


async def _stored_month(conn: asyncpg.Connection, cell_id: str) -> None:
    await conn.execute(
        "INSERT INTO cell_period (cell_id, period, rating, score, regular_held, thematic_held, present, counted,"
        " speakers_present, months_counted, months_with_regular, flags)"
        " VALUES ($1, $2, 'fair', 75, 1, 0, 10, 12, 4, 1, 1, '{}')",
        cell_id,
        PERIOD,
    )


async def test_a_committee_whose_cells_the_running_refresh_brings_is_recalculating_not_without_data(
    pool: asyncpg.Pool,
) -> None:
    """h532 (seen once in a full run: test_late_unit_moves' moved-twice case): commune-b's cells are under it in the
    tree and have May stored, but the refresh that brings them to it holds the tree lock, so the read cannot apply
    them: from the tree as last applied commune-b has no cell, and the committee reads (roll-up, ranking, report:
    check_period_rated) answered not_found "no data for the cells of commune-b up to then", the batch of unit
    roll-ups left it out. Its data is there: they answer from the tree as last applied, `recalculating`, and the
    fresh figures once the refresh commits. A month before any cell's data stays not_found, refresh or not."""
    async with pool.acquire() as refresher, pool.acquire() as reader:
        for cell in CELLS:
            await _stored_month(reader, cell)
        refresh = refresher.transaction()
        await refresh.start()
        try:
            # the loop's refresh has taken the queue and holds the lock; commune-b's rows are not committed yet
            assert await refresher.fetchval("SELECT refresh_subtree_cells()") > 0
            pending = await queries.tree_changes_pending(reader)
            assert pending == 3
            await queries.check_period_rated(reader, "commune-b", PERIOD, today=TODAY, pending=pending)
            during = await queries.committee_rollup(reader, "commune-b", PERIOD, today=TODAY, pending=pending)
            assert (during["cells"], during["recalculating"], during["pending_tree_changes"]) == (0, True, 3)
            listed = await queries.unit_rollups(reader, ["commune-a", "commune-b"], PERIOD, today=TODAY)
            assert [item["committee_id"] for item in listed["items"]] == ["commune-a", "commune-b"]
            assert listed["recalculating"] is True
            with pytest.raises(queries.PeriodNotRated) as before_data:
                await queries.check_period_rated(reader, "commune-b", "2026-04", today=TODAY, pending=pending)
            assert before_data.value.begun is True
        finally:
            await refresh.commit()
        await queries.check_period_rated(reader, "commune-b", PERIOD, today=TODAY)
        after = await queries.committee_rollup(reader, "commune-b", PERIOD, today=TODAY)
        assert (after["cells"], after["by_rating"]["fair"], after["recalculating"]) == (3, 3, False)
