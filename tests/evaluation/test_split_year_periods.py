"""Issue 12 ("cut fan-out nobody needs"): a cell whose year is split, over two frameworks (hd12-2018 until
2025-10-27, hd42-2025 from 2025-10-28) or over two committees (moved mid-year to one with a framework version of its
own), has each touched period published once per batch, with its final value. Against the real database and the
scoring worker, the history fed as one batch message (a republication between two batch messages is the contract's
value at the time, not this)."""

import asyncio
import contextlib
import copy
import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.evaluation.background import scoring_worker
from services.evaluation.bootstrap import prepare, uow_factory_for
from services.evaluation.config import Settings
from services.evaluation.context import EvaluationContext
from services.evaluation.handlers import adopt_framework
from shared.contracts.frameworks import FRAMEWORKS_DIR
from tests.evaluation.private_db import private_pool
from tests.evaluation.stream import at, cell_history, fact
from tests.evaluation.test_coalesced import deliver
from tests.support.running import eventually

KEYS = {"id", "meeting_id", "task_id", "cell_id"}


def earlier(value: Any, days: int) -> Any:
    """`value` (a fact or a part of one) with every ISO date and moment in it `days` days earlier."""
    if isinstance(value, dict):
        return {key: item if key in KEYS else earlier(item, days) for key, item in value.items()}
    if isinstance(value, list):
        return [earlier(item, days) for item in value]
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-" and value[:4].isdigit():
        with contextlib.suppress(ValueError):
            if len(value) == 10:
                return (date.fromisoformat(value) - timedelta(days=days)).isoformat()
            return (datetime.fromisoformat(value) - timedelta(days=days)).isoformat()
    return value


def committee_version() -> dict[str, Any]:
    """hd42-2025 version 2 from 2026-05-01: a meeting needs 80 minutes by default (June's 70-minute one falls short)."""
    document = copy.deepcopy(json.loads((FRAMEWORKS_DIR / "hd42-2025.v1.json").read_text(encoding="utf-8")))
    document["version"] = "2"
    document["effective_from"] = "2026-05-01"
    duration = next(item for group in document["groups"] for item in group["items"] if item["code"] == "duration")
    duration["rule"]["required_minutes"]["default"] = 80
    return document


async def published_once_with_final_values(
    pool: asyncpg.Pool, history: list[dict[str, Any]], *, today: date
) -> dict[str, Any]:
    """Feed `history` as one batch, then let a scoring worker score it; assert each period of cell-a was published
    once and as stored; the published data by period."""
    wanted = asyncio.Event()
    factory = uow_factory_for(pool, today=lambda: today, scoring_wanted=wanted)
    settings = Settings(scoring_poll_seconds=0.2, period_hold_quiet_seconds=2.0)
    app = EvaluationContext(settings=settings, pool=pool, uow_factory=factory, scoring_wanted=wanted)
    with app.facts_activity.delivery(batch=False, several=True):  # one batch message: one transaction
        await deliver(factory, history)
    worker = asyncio.create_task(scoring_worker(app))
    try:
        await eventually(lambda: pool.fetchval("SELECT count(*) = 0 FROM dirty_cell"), timeout=60)
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
    rows = await pool.fetch(
        "SELECT payload->'data' AS data FROM outbox WHERE type = 'score.cell.updated.v1'"
        " AND payload->'data'->>'cell_id' = 'cell-a' ORDER BY id"
    )
    sent = [json.loads(row["data"]) for row in rows]
    assert set(Counter(data["period"] for data in sent).values()) == {1}, Counter(data["period"] for data in sent)
    stored = {row["period"]: row for row in await pool.fetch("SELECT * FROM cell_period WHERE cell_id = 'cell-a'")}
    assert {data["period"] for data in sent} == set(stored)
    for data in sent:
        row = stored[data["period"]]
        assert (data["rating"], data["score"]) == (row["rating"], row["score"]), data["period"]  # exact
    return {data["period"]: data for data in sent}


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A private database with the evaluation schema migrated."""
    async with private_pool(database_url) as pool:
        yield pool


async def test_a_year_over_two_frameworks_publishes_each_period_once(pool: asyncpg.Pool) -> None:
    today = date(2026, 2, 20)
    await prepare(pool, today=lambda: today)
    # the four meetings 180 days earlier: September and October 2025 under hd12-2018, November and December hd42-2025
    history = earlier(cell_history(committee_id="ward", cell_id="cell-a", prefix="h"), 180)
    sent = await published_once_with_final_values(pool, history, today=today)
    frameworks = {row["framework_id"] for row in await pool.fetch("SELECT framework_id FROM meeting_score")}
    assert frameworks == {"hd12-2018", "hd42-2025"}  # the year is split
    assert {"2025", "2025-Q3", "2025-Q4", "2025-09", "2025-12"} <= set(sent)


async def test_a_cell_moved_to_another_committee_mid_year_publishes_each_period_once(pool: asyncpg.Pool) -> None:
    today = date(2026, 8, 20)
    factory = await prepare(pool, today=lambda: today)
    async with factory() as uow:
        await adopt_framework(uow, document=committee_version(), committee_id="ward2")
        await uow.commit()
    history = cell_history(committee_id="ward", cell_id="cell-a", prefix="h")
    ward2 = {"id": "ward2", "name": "Đảng ủy xã", "kind": "committee", "parent_id": None}
    moved = {
        "id": "cell-a",
        "name": "Chi bộ khu phố 1",
        "kind": "cell",
        "parent_id": "ward2",
        "category": "residential",
    }
    history = [fact("org.unit.upserted.v1", ward2, time=at(1, 1, 7)), *history]
    history.append(fact("org.unit.upserted.v1", moved, time=at(5, 20)))
    sent = await published_once_with_final_values(pool, history, today=today)
    assert {"2026", "2026-Q2", "2026-06"} <= set(sent)
    version = await pool.fetchval("SELECT framework_version FROM meeting_score WHERE meeting_id = 'h-mt6'")
    assert version == "2"  # June's meeting is rated under its new committee's version
