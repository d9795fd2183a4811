"""Read side: inbox pages, failed deliveries, a delivery and its log, preferences."""

import uuid
from typing import Any

import asyncpg

from services.notifications.domain.settings import VOID_WHEN_CANCELLED


def _page(items: list[dict[str, Any]], total: int, *, limit: int, offset: int) -> dict[str, Any]:
    return {"items": items, "total": total, "limit": limit, "offset": offset}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def inbox_item(row: asyncpg.Record) -> dict[str, Any]:
    """An inbox row as the RPC catalog names it."""
    return {
        "notification_id": str(row["id"]),
        "rule": row["rule"],
        "subject_id": row["subject_id"],
        "title": row["title"],
        "body": row["body"],
        "created_at": _iso(row["created_at"]),
        "read_at": _iso(row["read_at"]),
    }


async def inbox(
    conn: asyncpg.Connection, *, recipient_id: str, unread_only: bool, limit: int, offset: int
) -> dict[str, Any]:
    """A page of a person's or committee's inbox, newest first; a late-minutes alert of a meeting cancelled since is
    void (a cancelled meeting needs no minutes), so it is neither listed nor counted."""
    where = (
        "recipient_id = $1 AND rule <> 'daily_digest' AND NOT (rule = ANY($2::text[]) AND EXISTS"
        " (SELECT 1 FROM meeting m WHERE m.meeting_id = notification.subject_id AND m.cancelled_time IS NOT NULL))"
    ) + (" AND read_at IS NULL" if unread_only else "")
    void = list(VOID_WHEN_CANCELLED)
    total = await conn.fetchval(f"SELECT count(*) FROM notification WHERE {where}", recipient_id, void)
    rows = await conn.fetch(
        f"SELECT * FROM notification WHERE {where} ORDER BY created_at DESC, id LIMIT $3 OFFSET $4",
        recipient_id,
        void,
        limit,
        offset,
    )
    return _page([inbox_item(row) for row in rows], int(total), limit=limit, offset=offset)


async def inbox_entry(conn: asyncpg.Connection, *, notification_id: str) -> dict[str, Any] | None:
    """One inbox item."""
    row = await conn.fetchrow("SELECT * FROM notification WHERE id = $1", uuid.UUID(notification_id))
    return inbox_item(row) if row else None


def delivery_item(row: asyncpg.Record) -> dict[str, Any]:
    """A delivery with its notification's identity."""
    return {
        "delivery_id": row["id"],
        "notification_id": str(row["notification_id"]),
        "rule": row["rule"],
        "subject_id": row["subject_id"],
        "recipient_id": row["recipient_id"],
        "channel": row["channel"],
        "addresses": list(row["addresses"]),
        "status": row["status"],
        "attempts": row["attempts"],
        "last_error": row["last_error"],
        "next_attempt_at": _iso(row["next_attempt_at"]),
        "delivered_at": _iso(row["delivered_at"]),
        "created_at": _iso(row["created_at"]),
    }


_DELIVERY = (
    "SELECT d.*, n.rule, n.subject_id, n.recipient_id FROM delivery d JOIN notification n ON n.id = d.notification_id"
)


async def failed_deliveries(conn: asyncpg.Connection, *, limit: int, offset: int) -> dict[str, Any]:
    """A page of deliveries that gave up, newest first."""
    total = await conn.fetchval("SELECT count(*) FROM delivery WHERE status = 'failed'")
    rows = await conn.fetch(
        f"{_DELIVERY} WHERE d.status = 'failed' ORDER BY d.id DESC LIMIT $1 OFFSET $2", limit, offset
    )
    return _page([delivery_item(row) for row in rows], int(total), limit=limit, offset=offset)


async def delivery(conn: asyncpg.Connection, *, delivery_id: int) -> dict[str, Any] | None:
    """One delivery with its attempt log."""
    row = await conn.fetchrow(f"{_DELIVERY} WHERE d.id = $1", delivery_id)
    if row is None:
        return None
    log = await conn.fetch("SELECT * FROM delivery_log WHERE delivery_id = $1 ORDER BY id", delivery_id)
    return delivery_item(row) | {
        "log": [
            {"attempt": entry["attempt"], "outcome": entry["outcome"], "error": entry["error"], "at": _iso(entry["at"])}
            for entry in log
        ]
    }


async def notifications_for(conn: asyncpg.Connection, *, recipient_id: str) -> list[dict[str, Any]]:
    """Every notification of one recipient with its deliveries (operators' and tests' view)."""
    rows = await conn.fetch(
        "SELECT n.id, n.rule, n.subject_id, n.period, n.title, n.digest_pending,"
        " COALESCE(array_agg(d.channel || ':' || d.status) FILTER (WHERE d.id IS NOT NULL), '{}') AS deliveries"
        " FROM notification n LEFT JOIN delivery d ON d.notification_id = n.id WHERE n.recipient_id = $1"
        " GROUP BY n.id ORDER BY n.created_at",
        recipient_id,
    )
    return [
        {
            "notification_id": str(row["id"]),
            "rule": row["rule"],
            "subject_id": row["subject_id"],
            "period": row["period"],
            "title": row["title"],
            "digest_pending": row["digest_pending"],
            "deliveries": sorted(row["deliveries"]),
        }
        for row in rows
    ]
