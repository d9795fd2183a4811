"""The one writer of `gateway.audit_log` rows: the gateway's API (services.gateway.repository.PgAuditLog) and the
operator's command line (shared.ops), which does the same work over meetings' RPC and is audited the same way."""

import json
from typing import Any

import asyncpg


async def append_audit(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    sub: str | None,
    role: str | None,
    method: str,
    path: str,
    status: int,
    client_ip: str | None,
    detail: dict[str, Any] | None,
) -> None:
    """Append one state-changing call to `audit_log` (on the connection's search path): who, what, how it ended."""
    await conn.execute(
        "INSERT INTO audit_log (sub, role, method, path, status, client_ip, detail)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)",
        sub,
        role,
        method,
        path,
        status,
        client_ip,
        json.dumps(detail, ensure_ascii=False) if detail is not None else None,
    )
