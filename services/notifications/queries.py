"""Read side: inbox pages, failed deliveries, a delivery and its log, preferences."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from services.notifications.domain import rules
from services.notifications.domain.settings import MINUTES_LATE, VOID_WHEN_CANCELLED
from shared.keyset import Column, Keyset


def _page(
    items: list[dict[str, Any]], total: int, *, limit: int, offset: int, next_after: list[str] | None = None
) -> dict[str, Any]:
    return {"items": items, "total": total, "limit": limit, "offset": offset, "next_after": next_after}


INBOX_ORDER = Keyset((Column("created_at", "timestamptz", "created_at", descending=True), Column("id", "uuid", "id")))
"""An inbox's order, newest first (shared.keyset): a cursor page's rows are those after its key."""


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
        "void_at": _iso(row["void_at"]),
        "void_reason": row["void_reason"],
    }


async def inbox(
    conn: asyncpg.Connection,
    *,
    recipient_id: str,
    unread_only: bool,
    limit: int,
    offset: int,
    after: list[str] | None = None,
) -> dict[str, Any]:
    """A page of a person's or committee's inbox, newest first, those after the key `after` (INBOX_ORDER); a
    late-minutes alert of a meeting cancelled since is void (a cancelled meeting needs no minutes), so it is neither
    listed nor counted."""
    where = (
        "recipient_id = $1 AND rule <> 'daily_digest' AND NOT (rule = ANY($2::text[]) AND EXISTS"
        " (SELECT 1 FROM meeting m WHERE m.meeting_id = notification.subject_id AND m.cancelled_time IS NOT NULL))"
    ) + (" AND read_at IS NULL" if unread_only else "")
    void = list(VOID_WHEN_CANCELLED)
    total = await conn.fetchval(f"SELECT count(*) FROM notification WHERE {where}", recipient_id, void)
    following, key = INBOX_ORDER.after(after, first=5)
    rows = await conn.fetch(
        f"SELECT * FROM notification WHERE {where} AND {following} ORDER BY {INBOX_ORDER.order_by} LIMIT $3 OFFSET $4",
        recipient_id,
        void,
        limit,
        offset,
        *key,
    )
    following_key = INBOX_ORDER.next_after(rows, limit=limit)
    return _page([inbox_item(row) for row in rows], int(total), limit=limit, offset=offset, next_after=following_key)


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


FAILED_ORDER = Keyset((Column("d.id", "bigint", "id", descending=True),))
"""The failed deliveries' order, newest first (shared.keyset)."""


async def failed_deliveries(
    conn: asyncpg.Connection, *, limit: int, offset: int, after: list[str] | None = None
) -> dict[str, Any]:
    """A page of deliveries that gave up, newest first, those after the key `after` (FAILED_ORDER)."""
    total = await conn.fetchval("SELECT count(*) FROM delivery WHERE status = 'failed'")
    following, key = FAILED_ORDER.after(after, first=3)
    rows = await conn.fetch(
        f"{_DELIVERY} WHERE d.status = 'failed' AND {following} ORDER BY {FAILED_ORDER.order_by} LIMIT $1 OFFSET $2",
        limit,
        offset,
        *key,
    )
    following_key = FAILED_ORDER.next_after(rows, limit=limit)
    return _page([delivery_item(row) for row in rows], int(total), limit=limit, offset=offset, next_after=following_key)


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


# Down the committee's subtree by the parent index, each unit carrying the days after which its meetings' records are
# late (the nearest override of minutes_late's days_after, by the settings' primary key); then each cell's meetings
# not cancelled that start in the period, through meeting_cell_start; each one's due time as the alert's rule reads
# it (rules.records_due_at: from the end its minutes give, else from its start); the final documents by their key.
# Overdue meetings first; then those whose records all arrived (the minutes and the last final document) after that
# due time, so the committee still sees which cells were late in the period.
_DUE_AT = rules.RECORDS_DUE_AT_SQL.format(starts_at="m.starts_at", ended_at="m.ended_at", days="d.days")
_LATE_MINUTES = f"""
WITH RECURSIVE down(id, kind, name, days, path) AS (
    SELECT u.id, u.kind, u.name, $2::float8, ARRAY[u.id] FROM unit u WHERE u.id = $1
    UNION ALL
    SELECT c.id, c.kind, c.name,
           COALESCE((SELECT (s.params ->> 'days_after')::float8 FROM rule_setting s
                     WHERE s.unit_id = c.id AND s.rule = '{MINUTES_LATE}' AND s.params ? 'days_after'), d.days),
           d.path || c.id
    FROM down d JOIN unit c ON c.parent_id = d.id
    WHERE d.kind <> 'cell' AND NOT c.id = ANY(d.path)
), late AS (
    SELECT m.meeting_id, d.id AS cell_id, d.name AS cell_name, m.kind, m.starts_at, m.ended_at,
           {_DUE_AT} AS due_at, m.minutes_submitted_at IS NOT NULL AS submitted, m.minutes_submitted_at,
           ARRAY(SELECT p.kind FROM meeting_document p WHERE p.meeting_id = m.meeting_id
                 AND p.kind = ANY($6::text[])) AS published,
           (SELECT max(p.published_at) FROM meeting_document p WHERE p.meeting_id = m.meeting_id
            AND p.kind = ANY($6::text[])) AS last_published_at
    FROM down d
    CROSS JOIN LATERAL (
        SELECT x.meeting_id, x.kind, x.minutes_submitted_at, x.ended_at,
               COALESCE(x.rescheduled_starts_at, x.scheduled_starts_at) AS starts_at
        FROM meeting x WHERE x.cell_id = d.id AND x.cancelled_time IS NULL
        AND COALESCE(x.rescheduled_starts_at, x.scheduled_starts_at) >= $3
        AND COALESCE(x.rescheduled_starts_at, x.scheduled_starts_at) < $4 OFFSET 0
    ) m
    WHERE d.kind = 'cell' AND {_DUE_AT} <= $5
), records AS (
    SELECT *, CASE WHEN submitted AND cardinality(published) = cardinality($6::text[])
                   THEN GREATEST(minutes_submitted_at, last_published_at) END AS arrived_at
    FROM late
)
SELECT *, count(*) OVER () AS total FROM records
WHERE arrived_at IS NULL OR arrived_at > due_at
ORDER BY arrived_at IS NOT NULL, due_at, meeting_id LIMIT $7 OFFSET $8
"""


async def period_checks_due(conn: asyncpg.Connection, *, cell_ids: Sequence[str], period: str) -> dict[str, Any]:
    """{due_at: ISO time or None, pending: int} of the period_rated_low checks of `cell_ids` for `period` not run yet
    (schedule rows kind 'cell.period', subject '<cell>|<period>', done_at NULL): the latest due time and how many."""
    row = await conn.fetchrow(
        "SELECT max(due_at) AS due_at, count(*) AS pending FROM schedule"
        " WHERE kind = 'cell.period' AND subject_id = ANY($1::text[]) AND done_at IS NULL",
        [f"{cell_id}|{period}" for cell_id in cell_ids],
    )
    return {"due_at": _iso(row["due_at"]) if row else None, "pending": int(row["pending"]) if row else 0}


async def late_minutes(
    conn: asyncpg.Connection,
    *,
    committee_id: str,
    days_after: float,
    start: datetime,
    end: datetime,
    now: datetime,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """A page of the meetings of a committee's subtree starting in [start, end) whose minutes are late at `now`
    (minutes_late's rule: minutes or a final document missing `days_after` days after the meeting, rules.records_due_at
    — from the end its minutes give, else its start —, the committee's own setting, a sub-unit's override applying
    below it), not cancelled, the longest overdue first; then those whose records arrived late, with when they all
    arrived (`arrived_at`), earliest due first; in one statement."""
    kinds = list(rules.FINAL_DOCUMENT_KINDS)
    rows = await conn.fetch(_LATE_MINUTES, committee_id, days_after, start, end, now, kinds, limit, offset)
    items = [
        {
            "meeting_id": row["meeting_id"],
            "cell_id": row["cell_id"],
            "cell_name": row["cell_name"],
            "kind": row["kind"],
            "starts_at": _iso(row["starts_at"]),
            "due_at": _iso(row["due_at"]),
            "missing": list(rules.records_lacking(submitted=row["submitted"], published=set(row["published"]))),
            "arrived_at": _iso(row["arrived_at"]),
        }
        for row in rows
    ]
    total = int(rows[0]["total"]) if rows else 0  # a page past the end counts none: the page shows the first
    return _page(items, total, limit=limit, offset=offset)
