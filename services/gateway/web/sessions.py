"""People's sign-in: argon2 password hashes, server-side sessions behind an HttpOnly cookie, CSRF tokens."""

import asyncio
import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.gateway.auth import Principal, Role
from services.gateway.repository import AccountRow

SESSION_COOKIE = "chibo_session"
SIGN_IN_COOKIE = "chibo_sign_in"
"""Holds the CSRF token of the sign-in form before any session exists (double submit)."""

_hasher = PasswordHasher()
# Verified against when the account has no password, so a wrong name costs as long as a wrong password. A hash of a
# random password nobody kept, written here rather than computed at import (0.6-2 s of the gateway's start on a busy
# machine): argon2's verification costs the same for any hash of the same parameters, and a match with it is refused
# anyway (`stored is not None`). Should this argon2-cffi's defaults ever differ from the hash's, one of today's
# parameters is made once, on the first refusal that needs it, so the refusals stay equal in cost.
_WRITTEN_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$1HnwNuay7UjlqmqgRqywzQ$JoCsbk5g7oOiv0DmuJCM/oZtt8epJgq53i8iuytYzP4"
)


@functools.cache
def _dummy_hash() -> str:
    """The argon2 hash to verify against when an account has none: the written one while its parameters are today's."""
    if not _hasher.check_needs_rehash(_WRITTEN_DUMMY_HASH):
        return _WRITTEN_DUMMY_HASH
    return _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class WebSession:
    """A signed-in browser: whose it is and the token every form must carry."""

    sub: str
    csrf: str
    expires_at: datetime
    display_name: str | None = None
    """The account's display name (`web-account --name`), None when it has none."""


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


class WebAccounts:
    """Passwords and sessions in the gateway schema (`web_password`, `web_session`)."""

    def __init__(self, pool: asyncpg.Pool, *, session_hours: float = 12.0) -> None:
        self._pool = pool
        self._lifetime = timedelta(hours=session_hours)

    async def set_password(self, sub: str, password: str) -> None:
        """Store the hash of the account's new password and end its sessions, together; the account must exist."""
        digest = await asyncio.to_thread(hash_password, password)
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "INSERT INTO web_password (sub, hash) VALUES ($1, $2)"
                " ON CONFLICT (sub) DO UPDATE SET hash = EXCLUDED.hash, updated_at = now()",
                sub,
                digest,
            )
            # whoever signed in with the old password (perhaps the reason for the change) is signed out at once
            await connection.execute("DELETE FROM web_session WHERE sub = $1", sub)

    async def has_password(self, sub: str) -> bool:
        """Whether the account has a password set (its web sign-in exists)."""
        return bool(await self._pool.fetchval("SELECT EXISTS (SELECT 1 FROM web_password WHERE sub = $1)", sub))

    async def check_password(self, sub: str, password: str) -> bool:
        """Whether the password is the account's (constant work whether or not the account has one)."""
        stored = await self._pool.fetchval("SELECT hash FROM web_password WHERE sub = $1", sub)

        def verify() -> bool:
            try:
                return bool(_hasher.verify(stored or _dummy_hash(), password)) and stored is not None
            except (VerificationError, InvalidHashError):
                return False

        return await asyncio.to_thread(verify)

    async def open_session(self, sub: str) -> tuple[str, WebSession]:
        """A new session for the account: the cookie value (kept only hashed) and the session."""
        session_id = secrets.token_urlsafe(32)
        session = WebSession(sub=sub, csrf=secrets.token_urlsafe(32), expires_at=datetime.now(UTC) + self._lifetime)
        await self._pool.execute(
            "INSERT INTO web_session (id_hash, sub, csrf, expires_at) VALUES ($1, $2, $3, $4)",
            _digest(session_id),
            session.sub,
            session.csrf,
            session.expires_at,
        )
        return session_id, session

    async def session(self, session_id: str) -> WebSession | None:
        """The live session behind a cookie value, or None when unknown, expired or older than the password."""
        # a session opened before the password last changed is dead even if the change's sweep missed it (its insert
        # began before the change and committed after the change's DELETE)
        row = await self._pool.fetchrow(
            "SELECT s.sub, s.csrf, s.expires_at, n.name FROM web_session s LEFT JOIN web_password p ON p.sub = s.sub"
            " LEFT JOIN web_display_name n ON n.sub = s.sub"
            " WHERE s.id_hash = $1 AND s.expires_at > now() AND (p.updated_at IS NULL OR s.created_at >= p.updated_at)",
            _digest(session_id),
        )
        if row is None:
            return None
        return WebSession(sub=row["sub"], csrf=row["csrf"], expires_at=row["expires_at"], display_name=row["name"])

    async def set_display_name(self, sub: str, name: str | None) -> None:
        """Give the account the name its page header shows (stripped); None or blank removes it (the sign-in name)."""
        if name is None or not name.strip():
            await self._pool.execute("DELETE FROM web_display_name WHERE sub = $1", sub)
            return
        await self._pool.execute(
            "INSERT INTO web_display_name (sub, name) VALUES ($1, $2)"
            " ON CONFLICT (sub) DO UPDATE SET name = EXCLUDED.name, updated_at = now()",
            sub,
            name.strip(),
        )

    async def close_session(self, session_id: str) -> None:
        """Sign out: the session is gone, the cookie worthless; expired sessions are swept on the way."""
        await self._pool.execute(
            "DELETE FROM web_session WHERE id_hash = $1 OR expires_at < now()", _digest(session_id)
        )


def principal_of(account: AccountRow) -> Principal:
    """The principal of a stored account, checked like a local token's claims."""
    return Principal(
        sub=account.sub, role=Role(account.role), unit_id=account.unit_id, person_id=account.person_id, local=True
    )


def same_token(sent: str | None, expected: str | None) -> bool:
    """Constant-time comparison of a submitted CSRF token with the expected one, as UTF-8 bytes: anything posted is
    compared, a token with non-ASCII characters too (compare_digest raises TypeError on such str: a 500 before)."""
    return bool(sent) and bool(expected) and secrets.compare_digest(as_bytes(str(sent)), as_bytes(str(expected)))


def as_bytes(text: str) -> bytes:
    """`text` as UTF-8 bytes for a constant-time comparison, a lone surrogate too (never UnicodeEncodeError)."""
    return text.encode("utf-8", "surrogatepass")
