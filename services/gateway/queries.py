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


OPERATIONS_ENTRIES = (
    "($4::boolean IS NOT TRUE OR (role = 'operator' AND NOT coalesce(detail ? 'personal_data', false)))"
)
"""The rows an operator reads: operators' own actions (the API's and the command line's `cli:` rows), none of the
personal-data reads (who read whose data is the administrators' to see)."""


async def list_audit(
    conn: asyncpg.Connection | asyncpg.Pool, *, sub: str | None, limit: int, offset: int, operations_only: bool = False
) -> dict[str, Any]:
    """A page of audit entries, newest first, optionally for one subject; `operations_only`: only the operators'
    actions (OPERATIONS_ENTRIES), as an operator reads the log."""
    where = f"($1::text IS NULL OR sub = $1) AND {OPERATIONS_ENTRIES}"
    rows = await conn.fetch(
        "SELECT id, at, sub, role, method, path, status, client_ip, detail::text AS detail,"
        f" count(*) OVER () AS total FROM audit_log WHERE {where}"
        " ORDER BY id DESC LIMIT $2 OFFSET $3",
        sub,
        limit,
        offset,
        operations_only,
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
    return {"items": items, "total": total, "limit": limit, "offset": offset}


def _json(text: str | None) -> Any:
    return json.loads(text) if text is not None else None
