"""The gateway's own tables: local accounts, the signing secret and the audit log."""

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import asyncpg


@dataclass(frozen=True, slots=True)
class AccountRow:
    """One local account as stored."""

    sub: str
    role: str
    unit_id: str | None
    person_id: str | None
    active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One state-changing call: who, what, when, from where, and how it ended."""

    sub: str | None
    role: str | None
    method: str
    path: str
    status: int
    client_ip: str | None
    detail: dict[str, Any] | None


class AccountRepository(Protocol):
    """Stores local accounts."""

    async def save(self, *, sub: str, role: str, unit_id: str | None, person_id: str | None) -> AccountRow:
        """Create or update an account."""
        ...

    async def get(self, sub: str) -> AccountRow | None:
        """The account with this subject, if any."""
        ...

    async def set_active(self, sub: str, *, active: bool) -> AccountRow | None:
        """Enable or disable an account."""
        ...


class AuditLog(Protocol):
    """Appends audit entries."""

    async def record(self, entry: AuditEntry) -> None:
        """Append one entry."""
        ...


def _account(row: asyncpg.Record) -> AccountRow:
    return AccountRow(
        sub=row["sub"],
        role=row["role"],
        unit_id=row["unit_id"],
        person_id=row["person_id"],
        active=row["active"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class PgAccountRepository:
    """Local accounts in `gateway.account`."""

    def __init__(self, conn: asyncpg.Connection | asyncpg.Pool) -> None:
        self._conn = conn

    async def save(self, *, sub: str, role: str, unit_id: str | None, person_id: str | None) -> AccountRow:
        """Create the account or update its role and place; an update re-activates it."""
        row = await self._conn.fetchrow(
            """
            INSERT INTO account (sub, role, unit_id, person_id)
            VALUES ($1, $2, $3, $4)
            ON CONFLICT (sub) DO UPDATE
               SET role = EXCLUDED.role, unit_id = EXCLUDED.unit_id, person_id = EXCLUDED.person_id,
                   active = true, updated_at = now()
            RETURNING *
            """,
            sub,
            role,
            unit_id,
            person_id,
        )
        assert row is not None
        return _account(row)

    async def get(self, sub: str) -> AccountRow | None:
        """The account with this subject, if any."""
        row = await self._conn.fetchrow("SELECT * FROM account WHERE sub = $1", sub)
        return _account(row) if row else None

    async def set_active(self, sub: str, *, active: bool) -> AccountRow | None:
        """Enable or disable an account; None when it does not exist."""
        row = await self._conn.fetchrow(
            "UPDATE account SET active = $2, updated_at = now() WHERE sub = $1 RETURNING *", sub, active
        )
        return _account(row) if row else None


class PgAuditLog:
    """The append-only `gateway.audit_log`."""

    def __init__(self, conn: asyncpg.Connection | asyncpg.Pool) -> None:
        self._conn = conn

    async def record(self, entry: AuditEntry) -> None:
        """Append one entry."""
        await self._conn.execute(
            "INSERT INTO audit_log (sub, role, method, path, status, client_ip, detail)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)",
            entry.sub,
            entry.role,
            entry.method,
            entry.path,
            entry.status,
            entry.client_ip,
            json.dumps(entry.detail, ensure_ascii=False) if entry.detail is not None else None,
        )


async def signing_secret(conn: asyncpg.Connection | asyncpg.Pool) -> str:
    """The HS256 secret kept in the schema, created on first use by whichever process comes first."""
    await conn.execute(
        "INSERT INTO signing_secret (id, secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
        secrets.token_urlsafe(48),
    )
    secret = await conn.fetchval("SELECT secret FROM signing_secret WHERE id = 1")
    assert isinstance(secret, str)
    return secret
