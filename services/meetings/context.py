"""The meetings service's one context object: what its consumers, RPC methods and background jobs share."""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from services.meetings.config import Settings
from services.meetings.handlers.grouped import ingest_singles, single_keys
from services.meetings.handlers.ingest import IngestResult, Reading
from services.meetings.unit_of_work import MeetingsUnitOfWork
from shared.consuming import EventConsumer
from shared.group_commit import GroupCommit
from shared.telemetry import traces_by_cause

INGEST_OTHER_SLOTS = 3
"""Batch and neither-mode deliveries of meetings.ingest judged at once (each its own transactions): with the group
commit's flushes of single events (Settings.ingest_group_concurrency), ingestion uses at most this many + those of
the pool's connections at a time."""
SingleItem = tuple[Reading, dict[str, str] | None]
"""A single-event delivery in the group commit: its event read in memory, and its delivery's trace context."""


@dataclass(frozen=True)
class MeetingsContext(EventConsumer):
    """Settings, the pool, the unit-of-work factory and the ingest consumer's group commit of one meetings process."""

    settings: Settings

    pool: asyncpg.Pool
    uow_factory: Callable[[], MeetingsUnitOfWork]
    singles: GroupCommit[SingleItem, IngestResult]
    """Collects the single-event deliveries of meetings.ingest, each (its reading, its delivery's trace context), and
    judges them together (handlers.ingest_singles), groups about other cells side by side; what each causes carries
    its delivery's trace."""
    other_slots: asyncio.Semaphore
    """Bounds the batch and neither-mode deliveries judged at once (INGEST_OTHER_SLOTS)."""


def meetings_context(settings: Settings, pool: asyncpg.Pool) -> MeetingsContext:
    """The context over a pool (units of work on that pool); call it on the running loop."""

    def uow_factory() -> MeetingsUnitOfWork:
        return MeetingsUnitOfWork(pool)

    async def flush(items: list[SingleItem]) -> list[IngestResult | Exception]:
        traces = {reading.event_id: trace for reading, trace in items if trace}
        with traces_by_cause(traces):
            return await ingest_singles([reading for reading, _ in items], uow_factory, route="amqp")

    singles: GroupCommit[SingleItem, IngestResult] = GroupCommit(
        flush,
        name="meetings.ingest",
        max_items=settings.ingest_group_max,
        window=settings.ingest_group_window_seconds,
        concurrency=settings.ingest_group_concurrency,
        keys=lambda item: single_keys(item[0]),
    )
    return MeetingsContext(
        settings=settings,
        pool=pool,
        uow_factory=uow_factory,
        singles=singles,
        other_slots=asyncio.Semaphore(INGEST_OTHER_SLOTS),
    )
