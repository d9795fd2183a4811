"""Held events waiting for a referent, and stored rejections."""

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

import asyncpg

from shared.topology import MEETINGS_INGEST

INGEST_LOCK_KEY = 0x6D656574696E67  # 'meeting' in ASCII: any constant unique to this service
INBOX = MEETINGS_INGEST.name
"""The inbox consumer name shared by every route, so a duplicate is one whichever way it came."""


class IngestRepository(Protocol):
    """Holds and rejections."""

    async def hold(
        self,
        *,
        source: str,
        event_id: str,
        event_type: str,
        raw: dict[str, Any],
        waiting_for: str,
        reason: str,
        field: str | None,
        route: str,
        scope: str | None = None,
    ) -> None: ...
    async def waiting_for(self, keys: Sequence[str]) -> Sequence[Mapping[str, Any]]: ...
    async def release(self, *, source: str, event_id: str) -> None: ...
    async def expired(self, *, older_than: datetime, limit: int) -> Sequence[Mapping[str, Any]]: ...
    async def reject(
        self,
        *,
        source: str,
        event_id: str,
        event_type: str,
        reason: str,
        field: str | None,
        raw: str,
        route: str,
        received_at: datetime,
        scope: str | None = None,
    ) -> str: ...
    async def get_rejection(self, rejection_id: str) -> Mapping[str, Any] | None: ...
    async def mark_replayed(self, rejection_id: str, *, at: datetime) -> None: ...
    async def forget_processed(self, *, consumer: str, source: str, event_id: str) -> None: ...
    async def lock(self) -> None: ...


class PgIngestRepository:
    """IngestRepository over the meetings schema."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._conn = connection
        self._locked = False
        self._any_held: bool | None = None
        """Whether any event is held; learnt once per transaction. Only holders of the ingest lock add held
        events, so under the lock it stays true to the table (a hold made here sets it)."""

    async def hold(
        self,
        *,
        source: str,
        event_id: str,
        event_type: str,
        raw: dict[str, Any],
        waiting_for: str,
        reason: str,
        field: str | None,
        route: str,
        scope: str | None = None,
    ) -> None:
        """Park the event until `waiting_for` arrives (keeping its first hold time and the scope it came with)."""
        self._any_held = True
        await self._conn.execute(
            "INSERT INTO held_event (source, event_id, type, raw, waiting_for, reason, field, route, scope)"
            " VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9) ON CONFLICT (source, event_id) DO UPDATE SET"
            " waiting_for = EXCLUDED.waiting_for, reason = EXCLUDED.reason, field = EXCLUDED.field",
            source,
            event_id,
            event_type,
            json.dumps(raw, ensure_ascii=False),
            waiting_for,
            reason,
            field,
            route,
            scope,
        )

    async def waiting_for(self, keys: Sequence[str]) -> list[asyncpg.Record]:
        """Held events waiting for any of the keys, oldest first (call it under the ingest lock)."""
        if self._any_held is None:
            self._any_held = bool(await self._conn.fetchval("SELECT EXISTS (SELECT 1 FROM held_event)"))
        if not self._any_held:  # the usual case in a bulk feed: no round trip per applied event
            return []
        return await self._conn.fetch(
            "SELECT source, event_id, type, raw::text AS raw, route, scope, held_at FROM held_event"
            " WHERE waiting_for = ANY($1::text[]) ORDER BY held_at, source, event_id",
            list(keys),
        )

    async def release(self, *, source: str, event_id: str) -> None:
        """Forget a held event (applied or rejected)."""
        await self._conn.execute("DELETE FROM held_event WHERE source = $1 AND event_id = $2", source, event_id)

    async def expired(self, *, older_than: datetime, limit: int) -> list[asyncpg.Record]:
        """Held events that waited since before `older_than`, locked for this transaction."""
        return await self._conn.fetch(
            "SELECT source, event_id, type, raw::text AS raw, waiting_for, reason, field, route, scope, held_at"
            " FROM held_event"
            " WHERE held_at < $1 ORDER BY held_at LIMIT $2 FOR UPDATE SKIP LOCKED",
            older_than,
            limit,
        )

    async def reject(
        self,
        *,
        source: str,
        event_id: str,
        event_type: str,
        reason: str,
        field: str | None,
        raw: str,
        route: str,
        received_at: datetime,
        scope: str | None = None,
    ) -> str:
        """Store a rejection (an open one for the same event is refreshed) with the write scope it came with; return
        its id."""
        if event_id:
            existing = await self._conn.fetchval(
                "UPDATE rejection SET reason = $3, field = $4, raw = $5, received_at = $6, type = $7, scope = $8"
                " WHERE source = $1 AND event_id = $2 AND status = 'open' RETURNING rejection_id",
                source,
                event_id,
                reason,
                field,
                raw,
                received_at,
                event_type,
                scope,
            )
            if existing is not None:
                return str(existing)
        rejection_id = str(uuid.uuid4())
        await self._conn.execute(
            "INSERT INTO rejection"
            " (rejection_id, source, event_id, type, reason, field, raw, route, received_at, scope)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            rejection_id,
            source,
            event_id,
            event_type,
            reason,
            field,
            raw,
            route,
            received_at,
            scope,
        )
        return rejection_id

    async def get_rejection(self, rejection_id: str) -> asyncpg.Record | None:
        """One stored rejection, locked for this transaction."""
        return await self._conn.fetchrow("SELECT * FROM rejection WHERE rejection_id = $1 FOR UPDATE", rejection_id)

    async def mark_replayed(self, rejection_id: str, *, at: datetime) -> None:
        """Close a rejection whose event was finally accepted."""
        await self._conn.execute(
            "UPDATE rejection SET status = 'replayed', replayed_at = $2 WHERE rejection_id = $1", rejection_id, at
        )

    async def forget_processed(self, *, consumer: str, source: str, event_id: str) -> None:
        """Drop the inbox record of a rejected event, so a corrected copy with the same id can be sent."""
        await self._conn.execute(
            "DELETE FROM processed_message WHERE consumer = $1 AND source = $2 AND event_id = $3",
            consumer,
            source,
            event_id,
        )

    async def lock(self) -> None:
        """Serialize ingestion for the rest of the transaction (one writer decides holds and versions)."""
        if self._locked:  # a transaction-level lock lasts until the end: the events of a chunk take it once
            return
        await self._conn.execute("SELECT pg_advisory_xact_lock($1)", INGEST_LOCK_KEY)
        self._locked = True
