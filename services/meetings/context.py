"""The meetings service's one context object: what its consumers, RPC methods and background jobs share."""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from services.meetings.config import Settings
from services.meetings.handlers.grouped import ingest_singles
from services.meetings.handlers.ingest import IngestResult
from services.meetings.unit_of_work import MeetingsUnitOfWork
from shared.envelope import peek_identity
from shared.group_commit import GroupCommit
from shared.reading import ReadError, loads
from shared.telemetry import traces_by_cause

INGEST_OTHER_SLOTS = 3
"""Batch and neither-mode deliveries of meetings.ingest judged at once (each its own transactions): with the one
group commit of single events, ingestion uses at most this many + 1 of the pool's connections at a time."""


@dataclass(frozen=True)
class MeetingsContext:
    """Settings, the pool, the unit-of-work factory and the ingest consumer's group commit of one meetings process."""

    settings: Settings
    pool: asyncpg.Pool
    uow_factory: Callable[[], MeetingsUnitOfWork]
    singles: GroupCommit[tuple[Any, dict[str, str] | None], IngestResult]
    """Collects the single-event deliveries of meetings.ingest, each (raw event, its delivery's trace context), and
    judges them together (handlers.ingest_singles); what each causes carries its delivery's trace."""
    other_slots: asyncio.Semaphore
    """Bounds the batch and neither-mode deliveries judged at once (INGEST_OTHER_SLOTS)."""


def meetings_context(settings: Settings, pool: asyncpg.Pool) -> MeetingsContext:
    """The context over a pool (units of work on that pool); call it on the running loop."""

    def uow_factory() -> MeetingsUnitOfWork:
        return MeetingsUnitOfWork(pool)

    async def flush(items: list[tuple[Any, dict[str, str] | None]]) -> list[IngestResult | Exception]:
        traces = {_event_id(raw): trace for raw, trace in items if trace}
        with traces_by_cause(traces):
            return await ingest_singles([raw for raw, _ in items], uow_factory, route="amqp")

    singles: GroupCommit[tuple[Any, dict[str, str] | None], IngestResult] = GroupCommit(
        flush, name="meetings.ingest", max_items=settings.ingest_group_max, window=settings.ingest_group_window_seconds
    )
    return MeetingsContext(
        settings=settings,
        pool=pool,
        uow_factory=uow_factory,
        singles=singles,
        other_slots=asyncio.Semaphore(INGEST_OTHER_SLOTS),
    )


def _event_id(raw: Any) -> str:
    """The id a raw single event names (what its outgoing facts carry as `causationid`), '' when unreadable."""
    if not isinstance(raw, dict):
        try:
            raw = loads(raw)
        except (ReadError, TypeError):
            return ""
    return peek_identity(raw)[1] if isinstance(raw, dict) else ""
