"""Raw events ingested by meetings' handlers as its consumer ingests them, without the broker: for tests that compare
what the service keeps."""

from typing import Any

import asyncpg

from services.meetings import handlers as meetings_handlers
from services.meetings.unit_of_work import MeetingsUnitOfWork


async def ingest(pool: asyncpg.Pool, raws: list[dict[str, Any]], *, batch: bool = False) -> None:
    """Each event in its own unit of work, or all as one batch (as a batch message is ingested); every one
    accepted."""
    if batch:
        results = await meetings_handlers.ingest_batch(raws, lambda: MeetingsUnitOfWork(pool), route="test")
        assert [result.outcome for result in results] == ["accepted"] * len(raws), [raw["id"] for raw in raws]
        return
    for raw in raws:
        async with MeetingsUnitOfWork(pool) as uow:
            outcome = (await meetings_handlers.ingest_event(raw, uow, route="test")).outcome
            await uow.commit()
        assert outcome == "accepted", (raw["id"], outcome)
