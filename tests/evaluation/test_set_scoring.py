"""Set-based scoring against the real database: scoring K cells at once equals scoring them one by one."""

import json
import random
from datetime import date, datetime
from typing import Any

import asyncpg

from services.evaluation.bootstrap import prepare
from services.evaluation.domain.touched import TouchedCell
from services.evaluation.handlers import FACT_HANDLERS
from services.evaluation.handlers.pending import write_pending
from services.evaluation.handlers.scores import score_cells
from shared.contracts.registry import read_event
from shared.envelope import CloudEvent, parse_envelope
from shared.periods import VIETNAM_TZ
from tests.evaluation.private_db import private_pool
from tests.evaluation.stream import cell_history

CELLS = [f"cell-{n}" for n in range(4)]
EVERYTHING = datetime(1900, 1, 1, tzinfo=VIETNAM_TZ)


def _histories() -> list[dict[str, Any]]:
    """Four cells under one committee, each missing a different random part of its history (so they differ)."""
    rng = random.Random(20261130)
    events: list[dict[str, Any]] = []
    for index, cell_id in enumerate(CELLS):
        history = cell_history(committee_id="ward", cell_id=cell_id, prefix=f"h{index}")
        kept = [event for event in history if event["type"] == "org.unit.upserted.v1" or rng.random() > 0.2 * index]
        events.extend(kept)
    return events


async def _stored(pool: asyncpg.Pool) -> tuple[list[str], list[str]]:
    scores = await pool.fetch("SELECT (to_jsonb(s) - 'computed_at')::text AS row FROM meeting_score s")
    periods = await pool.fetch(
        "SELECT (to_jsonb(p) - 'computed_at' - 'held_since'"
        " || jsonb_build_object('held', p.held_since IS NOT NULL))::text AS row FROM cell_period p"
    )
    return sorted(row["row"] for row in scores), sorted(row["row"] for row in periods)


def _published(events: list[CloudEvent]) -> list[str]:
    return sorted(json.dumps([event.type, event.subject, event.data], sort_keys=True, default=str) for event in events)


async def test_scoring_cells_together_equals_scoring_them_one_by_one(database_url: str) -> None:
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=lambda: date(2026, 6, 20))
        async with factory() as uow:
            for raw in _histories():
                event = read_event(parse_envelope(json.dumps(raw)))
                await FACT_HANDLERS[event.type](event, uow)
            await write_pending(uow)
            list(uow.touched.take())  # the facts only: scoring is what is compared below
            await uow.commit()

        async with factory() as uow:
            together = await score_cells(uow, {cell_id: TouchedCell(since=EVERYTHING) for cell_id in CELLS})
            published_together = _published(uow.emitted)
            await uow.commit()
        stored_together = await _stored(pool)

        await pool.execute("DELETE FROM meeting_score; DELETE FROM cell_period")
        one_by_one: list[CloudEvent] = []
        meetings = 0
        for cell_id in CELLS:
            async with factory() as uow:
                meetings += (await score_cells(uow, {cell_id: TouchedCell(since=EVERYTHING)})).meetings
                one_by_one.extend(uow.emitted)
                await uow.commit()

        assert together.meetings == meetings > 4
        assert await _stored(pool) == stored_together
        assert _published(one_by_one) == published_together
        assert {json.loads(row)["cell_id"] for row in stored_together[0]} == set(CELLS)
