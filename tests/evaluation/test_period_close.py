"""The month-close job against the real database with a controllable clock."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import asyncpg
import pytest

from services.evaluation.bootstrap import prepare
from services.evaluation.handlers import FACT_HANDLERS, score_touched
from services.evaluation.handlers.closing import close_periods
from services.evaluation.handlers.rescoring import run_rescore_job, start_rescore_job
from shared.contracts.registry import read_event
from shared.envelope import parse_envelope
from tests.evaluation.private_db import private_pool
from tests.evaluation.stream import at, cell_history, fact


class Clock:
    """Today's date in Vietnam, as the test sets it."""

    def __init__(self, today: date) -> None:
        self.now = today

    def __call__(self) -> date:
        return self.now


@pytest.fixture(scope="module")
async def world(database_url: str) -> AsyncIterator[dict[str, Any]]:
    """A private database holding one cell with four months of meetings and one cell with none."""
    clock = Clock(date(2026, 6, 20))
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=clock)
        events = cell_history(committee_id="ward", cell_id="cell-a", prefix="h")
        events.append(
            fact(
                "org.unit.upserted.v1",
                {"id": "cell-b", "name": "Chi bộ thôn 2", "kind": "cell", "parent_id": "ward"},
                time=at(1, 1, 9),
            )
        )
        for raw in events:
            event = read_event(parse_envelope(json.dumps(raw)))
            async with factory() as uow:
                await FACT_HANDLERS[event.type](event, uow)
                await score_touched(uow)
                await uow.commit()
        yield {"pool": pool, "factory": factory, "clock": clock}


async def periods(pool: asyncpg.Pool, cell_id: str) -> dict[str, asyncpg.Record]:
    """The stored periods of a cell."""
    rows = await pool.fetch("SELECT * FROM cell_period WHERE cell_id = $1", cell_id)
    return {row["period"]: row for row in rows}


async def events_since(pool: asyncpg.Pool, marker: int) -> list[tuple[str, str]]:
    """(cell, period) of every score.cell.updated.v1 put in the outbox after `marker`."""
    rows = await pool.fetch(
        "SELECT payload->'data'->>'cell_id' AS cell, payload->'data'->>'period' AS period FROM outbox"
        " WHERE id > $1 AND type = 'score.cell.updated.v1' ORDER BY id",
        marker,
    )
    return [(row["cell"], row["period"]) for row in rows]


async def marker(pool: asyncpg.Pool) -> int:
    """The latest outbox id."""
    return await pool.fetchval("SELECT coalesce(max(id), 0) FROM outbox")


async def test_months_close_once_catch_up_after_downtime_and_resume_after_a_restart(world: dict[str, Any]) -> None:
    pool, factory, clock = world["pool"], world["factory"], world["clock"]
    before = await periods(pool, "cell-a")
    assert "in_progress" in before["2026-06"]["flags"]
    assert "2026-07" not in before

    # June ends: June and Q2 are final, July starts as Poor without any event arriving.
    clock.now = date(2026, 7, 2)
    start = await marker(pool)
    done = await close_periods(uow_factory=factory)
    assert done["closed"] == 1 and done["cells"] == 2
    after = await periods(pool, "cell-a")
    assert "in_progress" not in after["2026-06"]["flags"]
    assert after["2026-06"]["rating"] == before["2026-06"]["rating"]
    assert "in_progress" not in after["2026-Q2"]["flags"]
    assert after["2026-07"]["rating"] == "poor"
    assert list(after["2026-07"]["flags"]) == ["no_regular_meeting", "in_progress"]
    # July runs without a meeting yet: it is not counted in Q3, which has no other month so far, so Q3 is not rated
    # yet (no row, nothing published) rather than Poor at 0; its close rates it (below)
    assert "2026-Q3" not in after
    published = await events_since(pool, start)
    assert ("cell-a", "2026-06") in published and ("cell-a", "2026-07") in published
    assert ("cell-b", "2026-07") in published
    assert len(published) == len(set(published))
    # Only changed rows are published: cell A's March is untouched by the close.
    assert ("cell-a", "2026-03") not in published
    close = await pool.fetchrow("SELECT * FROM period_close WHERE month = '2026-06'")
    assert close["first_month"] == "2026-06" and close["finished_at"] is not None and close["cells_done"] == 2

    # Once per month: running again in July does nothing.
    again = await marker(pool)
    assert await close_periods(uow_factory=factory) == {"batches": 0, "cells": 0, "changed": 0, "closed": 0}
    assert await events_since(pool, again) == []
    assert await pool.fetchval("SELECT count(*) FROM period_close") == 1

    # Down through July, August and September; the first instance stops after one cell (a crash).
    clock.now = date(2026, 10, 3)
    start = await marker(pool)
    first = await close_periods(uow_factory=factory, batch_size=1, max_batches=1)
    assert first == {"batches": 1, "cells": 1, "changed": first["changed"], "closed": 0}
    resumed = await pool.fetchrow("SELECT * FROM period_close WHERE month = '2026-09'")
    assert resumed["first_month"] == "2026-07" and resumed["cursor"] == "cell-a" and resumed["finished_at"] is None
    # Two instances restart together: the batches are shared, none is done twice.
    results = await asyncio.gather(
        close_periods(uow_factory=factory, batch_size=1), close_periods(uow_factory=factory, batch_size=1)
    )
    assert sum(result["cells"] for result in results) == 1
    assert sum(result["closed"] for result in results) == 1
    published = await events_since(pool, start)
    assert len(published) == len(set(published))
    assert {("cell-a", p) for p in ("2026-09", "2026-10", "2026-Q3", "2026")} <= set(published)
    assert ("cell-a", "2026-Q4") not in published  # October runs without a meeting yet: Q4 not rated yet
    assert {("cell-b", p) for p in ("2026-08", "2026-09", "2026-10")} <= set(published)
    after = await periods(pool, "cell-a")
    assert after["2026-08"]["rating"] == after["2026-09"]["rating"] == "poor"
    assert "in_progress" not in after["2026-Q3"]["flags"] and "no_thematic_meeting" in after["2026-Q3"]["flags"]
    assert "in_progress" in after["2026-10"]["flags"] and "in_progress" in after["2026"]["flags"]
    closes = await pool.fetch("SELECT month, cells_done, finished_at FROM period_close ORDER BY month")
    assert [(row["month"], row["cells_done"]) for row in closes] == [("2026-06", 2), ("2026-09", 2)]
    assert all(row["finished_at"] is not None for row in closes)

    # The year closes with December: 2026 is final and Poor (more than two months without a meeting).
    clock.now = date(2027, 1, 1)
    await close_periods(uow_factory=factory)
    after = await periods(pool, "cell-a")
    assert "in_progress" not in after["2026"]["flags"]
    assert after["2026"]["rating"] == "poor"
    assert after["2026"]["months_counted"] == 12
    assert after["2027-01"]["rating"] == "poor"
    assert await pool.fetchval("SELECT first_month FROM period_close WHERE month = '2026-12'") == "2026-10"


async def test_a_rescoring_job_abandoned_mid_way_is_resumed_at_its_cursor(world: dict[str, Any]) -> None:
    pool, factory = world["pool"], world["factory"]
    async with factory() as uow:
        await start_rescore_job(uow, job_id="job-1", unit_id="ward", period_from=None, period_to=None)
        await uow.commit()
    # A worker took it, finished cell-a and stopped: its heartbeat is old.
    await pool.execute(
        "UPDATE rescore_job SET status = 'running', cursor = 'cell-a', cells_done = 1, meetings_rescored = 5,"
        " meetings_changed = 2, periods_changed = 3, changed = 5,"
        " cells_total = 2, heartbeat_at = now() - interval '1 hour', attempts = 1 WHERE job_id = 'job-1'"
    )
    assert await run_rescore_job(uow_factory=factory, stale_after_seconds=600) == "job-1"
    job = await pool.fetchrow("SELECT * FROM rescore_job WHERE job_id = 'job-1'")
    assert (job["status"], job["cells_done"], job["cells_total"], job["meetings_rescored"]) == ("done", 2, 2, 5)
    # the earlier run's changes carry over, `changed` their sum
    assert job["meetings_changed"] >= 2 and job["periods_changed"] >= 3
    assert job["changed"] == job["meetings_changed"] + job["periods_changed"]
    assert job["cursor"] == "cell-b" and job["attempts"] == 2 and job["finished_at"] is not None
    assert await run_rescore_job(uow_factory=factory, stale_after_seconds=600) is None
