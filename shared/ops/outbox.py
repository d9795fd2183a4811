"""A schema's outbox seen by an operator: lag and parked rows in health, the parked list, their replay."""

from datetime import datetime
from typing import Any

import asyncpg

from shared.keyset import Column, Keyset
from shared.ops import rfc3339
from shared.outbox import notify_channel


async def outbox_health(conn: asyncpg.Connection) -> dict[str, Any]:
    """Rows waiting to be published, how old the oldest is (seconds), and parked rows."""
    # each part in the words of a partial index's predicate (outbox_due, outbox_parked), so it reads only the
    # unpublished rows: `WHERE published_at IS NULL` alone matches neither index and read the whole outbox, published
    # rows kept for days included (issue 12: 53 ms a call at 42,000 rows, fillfactor 50)
    row = await conn.fetchrow(
        "SELECT count(*) AS pending, coalesce(extract(epoch FROM now() - min(created_at)), 0) AS lag,"
        " (SELECT count(*) FROM outbox WHERE parked_at IS NOT NULL AND published_at IS NULL) AS parked"
        " FROM outbox WHERE published_at IS NULL AND parked_at IS NULL"
    )
    return {"pending": row["pending"], "oldest_pending_seconds": round(float(row["lag"]), 1), "parked": row["parked"]}


def _parked_item(row: asyncpg.Record) -> dict[str, Any]:
    item = dict(row)
    for key, value in item.items():
        if isinstance(value, datetime):
            item[key] = rfc3339(value)
    return item


PARKED_ORDER = Keyset((Column("id", "bigint", "id"),))
"""The parked rows' order, oldest first (shared.keyset)."""


async def list_parked(
    conn: asyncpg.Connection, *, limit: int = 50, offset: int = 0, after: list[str] | None = None
) -> dict[str, Any]:
    """A page of parked rows, oldest first: id, event id, type, exchange, attempts, why, when; those after the key
    `after` (PARKED_ORDER), `next_after` the key the following page starts after."""
    following, key = PARKED_ORDER.after(after, first=3)
    rows = await conn.fetch(
        "SELECT id, event_id, type, exchange, routing_key, attempts, parked_reason, created_at, parked_at,"
        " left(payload::text, 500) AS payload_preview FROM outbox"
        f" WHERE parked_at IS NOT NULL AND published_at IS NULL AND {following}"
        f" ORDER BY {PARKED_ORDER.order_by} LIMIT $1 OFFSET $2",
        limit,
        offset,
        *key,
    )
    total = await conn.fetchval("SELECT count(*) FROM outbox WHERE parked_at IS NOT NULL AND published_at IS NULL")
    items = [_parked_item(row) for row in rows]
    following_key = PARKED_ORDER.next_after(rows, limit=limit)
    return {"items": items, "total": total, "limit": limit, "offset": offset, "next_after": following_key}


async def replay_parked(conn: asyncpg.Connection, *, schema: str, ids: list[int] | None = None) -> dict[str, Any]:
    """Put parked rows (the given ids, or all) back in line with fresh attempts and wake the relay: `replayed`, how
    many, `replayed_ids`, which, and `missing`, the ids given that name no parked row (none there, published or never
    parked), both ascending."""
    replayed = await conn.fetch(
        "UPDATE outbox SET parked_at = NULL, parked_reason = NULL, attempts = 0,"
        " next_attempt_at = NULL WHERE parked_at IS NOT NULL AND published_at IS NULL"
        " AND ($1::bigint[] IS NULL OR id = ANY($1::bigint[])) RETURNING id",
        ids,
    )
    await conn.execute("SELECT pg_notify($1, '')", notify_channel(schema))
    replayed_ids = sorted(row["id"] for row in replayed)
    missing = sorted(set(ids or ()) - set(replayed_ids))
    return {"replayed": len(replayed), "replayed_ids": replayed_ids, "missing": missing}


def parked_rows_missing(service: str, missing: list[int], replayed: int) -> str:
    """The not-found message of a parked-row replay (API 404, command line exit 1) naming the ids that name no parked
    row, and how many of the others went back in line."""
    shown = ", ".join(str(row_id) for row_id in missing[:20]) + (" …" if len(missing) > 20 else "")
    others = f"; the other {replayed} were replayed" if replayed else ""
    return f"no parked row {shown} in the {service} outbox{others}"


def unknown_parked_rows(service: str, missing: list[int]) -> list[dict[str, Any]]:
    """Per id of a replay that names no parked row, its outcome in the API's error shape (`id`, `code` not_found,
    `message`): what a replay that also put other rows back in line answers beside them (API 200, command line 0)."""
    return [
        {"id": row_id, "code": "not_found", "message": f"no parked row {row_id} in the {service} outbox"}
        for row_id in missing
    ]


async def drop_parked(conn: asyncpg.Connection, *, row_id: int) -> dict[str, Any] | None:
    """Delete one parked row for good (its event is never published); the row as it was, or None if no such parked
    row."""
    row = await conn.fetchrow(
        "DELETE FROM outbox WHERE id = $1 AND parked_at IS NOT NULL AND published_at IS NULL"
        " RETURNING id, event_id, type, exchange, routing_key, attempts, parked_reason, created_at, parked_at,"
        " left(payload::text, 500) AS payload_preview",
        row_id,
    )
    return _parked_item(row) if row is not None else None
