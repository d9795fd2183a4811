"""The gateway's own tables: local accounts, the signing secret and the audit log."""

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import asyncpg

from shared.audit import append_audit


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
    changed_at: datetime
    """The last change of role, unit, person, scope or active: credentials issued before it are refused."""
    province_wide: bool = False
    """An integration account that may write anywhere in the tree."""
    sources: tuple[str, ...] = ()
    """A scoped integration account's registered sources: the only ones its events may carry, and ones no other
    sender may use."""


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

    async def save(
        self,
        *,
        sub: str,
        role: str,
        unit_id: str | None,
        person_id: str | None,
        province_wide: bool = False,
        at: datetime | None = None,
        sources: Sequence[str] = (),
    ) -> AccountRow:
        """Create or update an account; a change of role, place, scope, sources or active moves `changed_at` to
        `at`."""
        ...

    async def get(self, sub: str) -> AccountRow | None:
        """The account with this subject, if any."""
        ...

    async def named(self, name: str) -> AccountRow | None:
        """The account a person signs in to by typing `name`: its subject, or the only one differing in case."""
        ...

    async def set_active(self, sub: str, *, active: bool, at: datetime | None = None) -> AccountRow | None:
        """Enable or disable an account (a change moves `changed_at`)."""
        ...

    async def source_holders(self, sources: Sequence[str]) -> dict[str, str]:
        """Of `sources`, those registered to an active account: {source: that account's sub}."""
        ...

    async def registered_sources(self) -> dict[tuple[str, str], list[str]]:
        """Every active scoped integration account's sources, by its unit and sub: {(unit, sub): sources}."""
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
        changed_at=row["changed_at"],
        province_wide=row["province_wide"],
        sources=tuple(row["sources"] or ()),
    )


class PgAccountRepository:
    """Local accounts in `gateway.account`."""

    def __init__(self, conn: asyncpg.Connection | asyncpg.Pool) -> None:
        self._conn = conn

    async def save(
        self,
        *,
        sub: str,
        role: str,
        unit_id: str | None,
        person_id: str | None,
        province_wide: bool = False,
        at: datetime | None = None,
        sources: Sequence[str] = (),
    ) -> AccountRow:
        """Create the account or update its role and place; an update re-activates it. A change of role, unit,
        person, scope, sources or active moves `changed_at` to `at` (default now), revoking credentials issued
        before."""
        row = await self._conn.fetchrow(
            """
            INSERT INTO account (sub, role, unit_id, person_id, province_wide, changed_at, sources)
            VALUES ($1, $2, $3, $4, $5, coalesce($6, now()), $7)
            ON CONFLICT (sub) DO UPDATE
               SET role = EXCLUDED.role, unit_id = EXCLUDED.unit_id, person_id = EXCLUDED.person_id,
                   province_wide = EXCLUDED.province_wide, sources = EXCLUDED.sources, active = true,
                   updated_at = now(),
                   changed_at = CASE
                       WHEN (account.role, account.unit_id, account.person_id, account.province_wide, account.sources,
                             account.active)
                            IS DISTINCT FROM (EXCLUDED.role, EXCLUDED.unit_id, EXCLUDED.person_id,
                                              EXCLUDED.province_wide, EXCLUDED.sources, true)
                       THEN EXCLUDED.changed_at ELSE account.changed_at END
            RETURNING *
            """,
            sub,
            role,
            unit_id,
            person_id,
            province_wide,
            at,
            sorted(set(sources)),
        )
        assert row is not None
        return _account(row)

    async def get(self, sub: str) -> AccountRow | None:
        """The account with this subject, if any."""
        row = await self._conn.fetchrow("SELECT * FROM account WHERE sub = $1", sub)
        return _account(row) if row else None

    async def named(self, name: str) -> AccountRow | None:
        """The account a person signs in to by typing `name`: the one whose subject it is, else the only one whose
        subject differs from it in letter case alone (subjects are identifiers of either case, and no two differing
        only in case are told apart by a person typing them); None otherwise."""
        rows = await self._conn.fetch(
            "SELECT * FROM account WHERE lower(sub) = lower($1) ORDER BY sub = $1 DESC, sub LIMIT 2", name
        )
        if rows and (rows[0]["sub"] == name or len(rows) == 1):
            return _account(rows[0])
        return None

    async def source_holders(self, sources: Sequence[str]) -> dict[str, str]:
        """Of `sources`, those registered to an active account: {source: that account's sub}."""
        rows = await self._conn.fetch(
            "SELECT s AS source, sub FROM account, unnest(sources) AS s WHERE active AND s = ANY($1::text[])",
            list(sources),
        )
        return {row["source"]: row["sub"] for row in rows}

    async def registered_sources(self) -> dict[tuple[str, str], list[str]]:
        """Every active scoped integration account's sources, by its unit and sub: {(unit, sub): sources}."""
        rows = await self._conn.fetch(
            "SELECT unit_id, sub, array_agg(DISTINCT s ORDER BY s) AS sources FROM account, unnest(sources) AS s"
            " WHERE active AND role = 'integration' AND unit_id IS NOT NULL"
            " GROUP BY unit_id, sub ORDER BY unit_id, sub"
        )
        return {(row["unit_id"], row["sub"]): list(row["sources"]) for row in rows}

    async def set_active(self, sub: str, *, active: bool, at: datetime | None = None) -> AccountRow | None:
        """Enable or disable an account (a change moves `changed_at`); None when it does not exist."""
        row = await self._conn.fetchrow(
            "UPDATE account SET active = $2, updated_at = now(),"
            " changed_at = CASE WHEN active IS DISTINCT FROM $2 THEN coalesce($3, now()) ELSE changed_at END"
            " WHERE sub = $1 RETURNING *",
            sub,
            active,
            at,
        )
        return _account(row) if row else None


class PgAuditLog:
    """The append-only `gateway.audit_log`."""

    def __init__(self, conn: asyncpg.Connection | asyncpg.Pool) -> None:
        self._conn = conn

    async def record(self, entry: AuditEntry) -> None:
        """Append one entry."""
        await append_audit(
            self._conn,
            sub=entry.sub,
            role=entry.role,
            method=entry.method,
            path=entry.path,
            status=entry.status,
            client_ip=entry.client_ip,
            detail=entry.detail,
        )


class SigningKeyMismatch(Exception):
    """CHIBO_JWT_SECRET differs from the key the gateway signs and verifies with (`gateway.signing_secret`)."""


async def signing_secret(
    conn: asyncpg.Connection | asyncpg.Pool, configured: str | None = None, *, pin: bool = False
) -> str:
    """The HS256 key: one source, the row in `gateway.signing_secret`, whichever process asks (issue 11, fault 9).

    Created on first use (random, or `configured`). The gateway pins a configured key into the row (`pin`), so a
    token command run without the same environment still signs with it; a command given a *different* configured
    key raises SigningKeyMismatch instead of minting tokens the gateway would refuse. Keys compare as UTF-8 bytes."""
    await conn.execute(
        "INSERT INTO signing_secret (id, secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
        configured or secrets.token_urlsafe(48),
    )
    if configured and pin:
        await conn.execute("UPDATE signing_secret SET secret = $1, created_at = now() WHERE id = 1", configured)
    secret = await conn.fetchval("SELECT secret FROM signing_secret WHERE id = 1")
    assert isinstance(secret, str)
    if configured and not secrets.compare_digest(secret.encode(), configured.encode()):  # str needs ASCII
        raise SigningKeyMismatch(
            "CHIBO_JWT_SECRET differs from the key the gateway uses (gateway.signing_secret): unset it, or restart"
            " the gateway with the same value"
        )
    return secret


async def first_sent_at(pool: asyncpg.Pool, *, event_id: str, at: datetime, keep: timedelta) -> datetime:
    """The moment the web form whose command is `event_id` was first sent: `at` on its first sending, the stored
    moment when the same form comes again within `keep` (a double click, a browser's resend, even one racing the
    first). A moment older than `keep` counts as absent (this sending takes its place) whether or not the prune
    (bootstrap.keep_pruning_sent) has deleted it yet; no sending deletes another form's moment."""
    expired = at - keep
    async with pool.acquire() as conn:
        stored: datetime | None = await conn.fetchval(
            "INSERT INTO web_form_moment AS m (event_id, sent_at) VALUES ($1, $2) ON CONFLICT (event_id)"
            " DO UPDATE SET sent_at = EXCLUDED.sent_at WHERE m.sent_at < $3 RETURNING sent_at",
            event_id,
            at,
            expired,
        )
        if stored is not None:
            return stored
        # a statement of its own: it sees the row of a first sending that committed while this one waited on it
        stored = await conn.fetchval(
            "SELECT sent_at FROM web_form_moment WHERE event_id = $1 AND sent_at >= $2", event_id, expired
        )
    if stored is None:  # pruned meanwhile: nothing is kept for the form
        return await first_sent_at(pool, event_id=event_id, at=at, keep=keep)
    return stored


@dataclass(frozen=True, slots=True)
class KeyUse:
    """The first request sent with an Idempotency-Key, as kept by (account, key)."""

    fingerprint: str
    event_id: str
    sent_at: datetime
    first: bool
    """Whether this request is that first one (it stored the row)."""


async def use_idempotency_key(
    pool: asyncpg.Pool, *, sub: str, key: str, fingerprint: str, event_id: str, at: datetime, keep: timedelta
) -> KeyUse:
    """The first request the account `sub` sent with `key`: this one (stored with `fingerprint`, `event_id` and
    `at`, `first` True) unless one sent within `keep` before `at` is kept, even one racing this. A row older than
    `keep` counts as unused (this request takes its place) whether or not the prune (bootstrap.keep_pruning_sent)
    has deleted it yet; no request deletes another key's row."""
    expired = at - keep
    async with pool.acquire() as conn:
        stored = await conn.fetchrow(
            "INSERT INTO idempotency_key AS k (sub, key, fingerprint, event_id, sent_at) VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (sub, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, event_id = EXCLUDED.event_id,"
            " sent_at = EXCLUDED.sent_at WHERE k.sent_at < $6 RETURNING fingerprint, event_id, sent_at",
            sub,
            key,
            fingerprint,
            event_id,
            at,
            expired,
        )
        if stored is not None:
            return KeyUse(stored["fingerprint"], stored["event_id"], stored["sent_at"], first=True)
        # a statement of its own: it sees the row of a first request that committed while this one waited on it
        stored = await conn.fetchrow(
            "SELECT fingerprint, event_id, sent_at FROM idempotency_key WHERE sub = $1 AND key = $2 AND sent_at >= $3",
            sub,
            key,
            expired,
        )
    if stored is None:  # released by a refusal (or expired) meanwhile: nothing is kept under the key
        return await use_idempotency_key(
            pool, sub=sub, key=key, fingerprint=fingerprint, event_id=event_id, at=at, keep=keep
        )
    return KeyUse(stored["fingerprint"], stored["event_id"], stored["sent_at"], first=False)


async def release_idempotency_key(pool: asyncpg.Pool, *, sub: str, key: str, fingerprint: str) -> None:
    """Forget the account's `key` kept for the request `fingerprint` (meetings refused it: nothing is recorded
    under it), so the key may carry a corrected request."""
    await pool.execute(
        "DELETE FROM idempotency_key WHERE sub = $1 AND key = $2 AND fingerprint = $3", sub, key, fingerprint
    )


Months = tuple[str | None, str | None]
"""A unit's (first_month, last_month) as `YYYY-MM`, None where not known (a committee's last month always)."""


async def keep_told_months(pool: asyncpg.Pool, unit_id: str, months: Months) -> None:
    """Keep `months` as what evaluation last told of the unit (gateway.web_told_months, replacing what was kept; a
    write only when it changed), so the unit's pages offer them while evaluation does not answer, after a restart
    too."""
    await pool.execute(
        "INSERT INTO web_told_months AS t (unit_id, first_month, last_month) VALUES ($1, $2, $3)"
        " ON CONFLICT (unit_id) DO UPDATE SET first_month = EXCLUDED.first_month,"
        " last_month = EXCLUDED.last_month, told_at = now()"
        " WHERE (t.first_month, t.last_month) IS DISTINCT FROM (EXCLUDED.first_month, EXCLUDED.last_month)",
        unit_id,
        *months,
    )


async def told_months(pool: asyncpg.Pool, unit_id: str) -> Months:
    """The unit's (first_month, last_month) as evaluation last told this gateway (keep_told_months); (None, None)
    when it never told any."""
    told = await told_span(pool, unit_id)
    return (None, None) if told is None else told


async def told_span(pool: asyncpg.Pool, unit_id: str) -> Months | None:
    """The unit's (first_month, last_month) as evaluation last told this gateway (keep_told_months, both None while
    it knew none); None when it never told this gateway of the unit (no row: its months are not known at all)."""
    row = await pool.fetchrow("SELECT first_month, last_month FROM web_told_months WHERE unit_id = $1", unit_id)
    return None if row is None else (row["first_month"], row["last_month"])
