"""The one writer of `gateway.audit_log` rows: the gateway's API (services.gateway.repository.PgAuditLog) and the
operator's command line (shared.ops), which does the same work over meetings' RPC and is audited the same way."""

import json
import math
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
    """Append one state-changing call to `audit_log` (on the connection's search path): who, what, how it ended; text
    PostgreSQL refuses (U+0000, an unpaired surrogate: a path's %00) written as U+FFFD, so the row is never lost."""
    await conn.execute(
        "INSERT INTO audit_log (sub, role, method, path, status, client_ip, detail)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)",
        _storable_or_none(sub),
        _storable_or_none(role),
        _storable_text(method),
        _storable_text(path),
        status,
        _storable_or_none(client_ip),
        audit_json(detail) if detail is not None else None,
    )


def audit_json(detail: dict[str, Any]) -> str:
    """`detail` as JSON PostgreSQL's jsonb always takes: a non-finite number written as its text ("NaN"), U+0000 and
    unpaired surrogates replaced by U+FFFD, any other value by its text. The detail records what a caller sent, and
    a value the jsonb refuses must not cost the row (the call it records has happened)."""
    return json.dumps(_storable(detail), ensure_ascii=False, allow_nan=False)


def _storable(value: Any) -> Any:
    if isinstance(value, str):
        return _storable_text(value)
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {_storable_text(str(key)): _storable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_storable(item) for item in value]
    return _storable_text(str(value))


def _storable_or_none(text: str | None) -> str | None:
    return None if text is None else _storable_text(text)


def _storable_text(text: str) -> str:
    text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join("\ufffd" if "\ud800" <= char <= "\udfff" else char for char in text)
    return text
