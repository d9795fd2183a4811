"""Read side of the gateway's own schema: accounts and the audit log."""

import json
from typing import Any

import asyncpg


async def list_accounts(conn: asyncpg.Connection | asyncpg.Pool, *, limit: int, offset: int) -> dict[str, Any]:
    """A page of local accounts, newest first."""
    rows = await conn.fetch(
        "SELECT sub, role, unit_id, person_id, active, province_wide, sources, created_at, updated_at, changed_at,"
        " count(*) OVER () AS total"
        " FROM account ORDER BY created_at DESC, sub LIMIT $1 OFFSET $2",
        limit,
        offset,
    )
    total = rows[0]["total"] if rows else await conn.fetchval("SELECT count(*) FROM account")
    items = [{key: row[key] for key in row.keys() if key != "total"} for row in rows]
    return {"items": items, "total": total, "limit": limit, "offset": offset}


async def list_audit(
    conn: asyncpg.Connection | asyncpg.Pool, *, sub: str | None, limit: int, offset: int
) -> dict[str, Any]:
    """A page of audit entries, newest first, optionally for one subject."""
    rows = await conn.fetch(
        "SELECT id, at, sub, role, method, path, status, client_ip, detail::text AS detail,"
        " count(*) OVER () AS total FROM audit_log WHERE ($1::text IS NULL OR sub = $1)"
        " ORDER BY id DESC LIMIT $2 OFFSET $3",
        sub,
        limit,
        offset,
    )
    total = (
        rows[0]["total"]
        if rows
        else await conn.fetchval("SELECT count(*) FROM audit_log WHERE ($1::text IS NULL OR sub = $1)", sub)
    )
    items = [
        {**{key: row[key] for key in row.keys() if key not in ("total", "detail")}, "detail": _json(row["detail"])}
        for row in rows
    ]
    return {"items": items, "total": total, "limit": limit, "offset": offset}


def _json(text: str | None) -> Any:
    return json.loads(text) if text is not None else None
