"""Read side of the gateway's own schema: accounts and the audit log."""

import json
from typing import Any

import asyncpg

from shared.keyset import Column, Keyset

ACCOUNTS_ORDER = Keyset(
    (Column("created_at", "timestamptz", "created_at", descending=True), Column("sub", "text", "sub"))
)
AUDIT_ORDER = Keyset((Column("id", "bigint", "id", descending=True),))
"""The orders of the accounts and the audit log, newest first (shared.keyset): a cursor page's rows follow its key."""


async def list_accounts(
    conn: asyncpg.Connection | asyncpg.Pool, *, limit: int, offset: int, after: list[str] | None = None
) -> dict[str, Any]:
    """A page of local accounts, newest first, those after the key `after` (ACCOUNTS_ORDER; `total` then counts
    those after it); `next_after` the key the following page starts after."""
    following, key = ACCOUNTS_ORDER.after(after, first=3)
    rows = await conn.fetch(
        "SELECT sub, role, unit_id, person_id, active, province_wide, sources, created_at, updated_at, changed_at,"
        f" count(*) OVER () AS total FROM account WHERE {following}"
        f" ORDER BY {ACCOUNTS_ORDER.order_by} LIMIT $1 OFFSET $2",
        limit,
        offset,
        *key,
    )
    total = rows[0]["total"] if rows else await conn.fetchval("SELECT count(*) FROM account")
    items = [{key: row[key] for key in row.keys() if key != "total"} for row in rows]
    following_key = ACCOUNTS_ORDER.next_after(rows, limit=limit)
    return {"items": items, "total": total, "limit": limit, "offset": offset, "next_after": following_key}


OPERATIONS_ENTRIES = (
    "($4::boolean IS NOT TRUE OR (role = 'operator' AND NOT coalesce(detail ? 'personal_data', false)))"
)
"""The rows an operator reads: operators' own actions (the API's and the command line's `cli:` rows), none of the
personal-data reads (who read whose data is the administrators' to see)."""


async def list_audit(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    sub: str | None,
    limit: int,
    offset: int,
    operations_only: bool = False,
    after: list[str] | None = None,
) -> dict[str, Any]:
    """A page of audit entries, newest first, optionally for one subject, those after the key `after` (AUDIT_ORDER);
    `operations_only`: only the operators' actions (OPERATIONS_ENTRIES), as an operator reads the log."""
    where = f"($1::text IS NULL OR sub = $1) AND {OPERATIONS_ENTRIES}"
    following, key = AUDIT_ORDER.after(after, first=5)
    rows = await conn.fetch(
        "SELECT id, at, sub, role, method, path, status, client_ip, detail::text AS detail,"
        f" count(*) OVER () AS total FROM audit_log WHERE {where} AND {following}"
        f" ORDER BY {AUDIT_ORDER.order_by} LIMIT $2 OFFSET $3",
        sub,
        limit,
        offset,
        operations_only,
        *key,
    )
    total = (
        rows[0]["total"]
        if rows
        else await conn.fetchval(
            f"SELECT count(*) FROM audit_log WHERE {where.replace('$4', '$2')}", sub, operations_only
        )
    )
    items = [
        {**{key: row[key] for key in row.keys() if key not in ("total", "detail")}, "detail": _json(row["detail"])}
        for row in rows
    ]
    following_key = AUDIT_ORDER.next_after(rows, limit=limit)
    return {"items": items, "total": total, "limit": limit, "offset": offset, "next_after": following_key}


def _json(text: str | None) -> Any:
    return json.loads(text) if text is not None else None
