"""Bearer tokens: HS256 for local accounts, RS256 against an identity provider's JWKS."""

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import jwt

LOCAL_ALGORITHM = "HS256"
EXTERNAL_ALGORITHM = "RS256"


class Role(StrEnum):
    """What a caller may do; the `role` claim."""

    MEMBER = "member"
    SECRETARY = "secretary"
    COMMITTEE_OFFICER = "committee_officer"
    INTEGRATION = "integration"
    OPERATOR = "operator"
    ADMIN = "admin"


ROLES_WITH_UNIT = frozenset({Role.MEMBER, Role.SECRETARY, Role.COMMITTEE_OFFICER})


DEFAULT_MAX_LIFETIME = timedelta(days=30)
CLOCK_SKEW = timedelta(seconds=60)
"""How far an `iat` may lie in the future (another host's clock) before the token is refused."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: subject, role and place in the tree (a local account's come from the stored account)."""

    sub: str
    role: Role
    unit_id: str | None
    person_id: str | None
    local: bool
    issued_at: datetime | None = None
    """When the credential (token or session) was issued; None when the token does not say."""
    province_wide: bool = False
    """An integration account allowed to write anywhere in the tree (otherwise only within `unit_id`)."""
    sources: tuple[str, ...] = ()
    """A scoped integration account's registered sources, the only ones its events may carry."""


class TokenError(Exception):
    """The token is missing, malformed, expired, or signed by nobody we trust."""


class JwksKeys:
    """The identity provider's public keys, from a URL (cached) or a file."""

    def __init__(self, *, url: str | None, file: str | None, cache_seconds: int) -> None:
        self._client = jwt.PyJWKClient(url, cache_keys=True, lifespan=cache_seconds) if url else None
        self._set = jwt.PyJWKSet.from_json(Path(file).read_text(encoding="utf-8")) if file else None

    async def key_for(self, token: str) -> Any:
        """The public key that signed `token` (by its `kid`)."""
        if self._client is not None:
            try:
                # PyJWKClient fetches over blocking urllib; keep it off the event loop
                signing = await asyncio.to_thread(self._client.get_signing_key_from_jwt, token)
            except jwt.PyJWKClientError as exc:
                raise TokenError(f"no usable signing key: {exc}") from exc
            return signing.key
        if self._set is not None:
            kid = jwt.get_unverified_header(token).get("kid")
            for key in self._set.keys:
                if kid is None or key.key_id == kid:
                    return key.key
            raise TokenError("no signing key with the token's kid")
        raise TokenError("tokens from an external identity provider are not accepted here")


class TokenVerifier:
    """Checks a bearer token and turns its claims into a Principal."""

    def __init__(
        self,
        *,
        secret: str,
        issuer: str,
        jwks: JwksKeys | None,
        external_issuer: str | None = None,
        external_audience: str | None = None,
        max_lifetime: timedelta = DEFAULT_MAX_LIFETIME,
    ) -> None:
        self._max_lifetime = max_lifetime
        self._secret = secret
        self._issuer = issuer
        self._jwks = jwks
        self._external_issuer = external_issuer
        self._external_audience = external_audience

    async def verify(self, token: str) -> Principal:
        """Verify signature, expiry and claims; raise TokenError when anything is off."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise TokenError("malformed token") from exc
        algorithm = header.get("alg")
        try:
            if algorithm == LOCAL_ALGORITHM:
                claims = jwt.decode(
                    token,
                    self._secret,
                    algorithms=[LOCAL_ALGORITHM],
                    issuer=self._issuer,
                    options={"require": ["exp", "iat", "sub", "role"]},
                )
                check_lifetime(claims, self._max_lifetime)
                return principal_from_claims(claims, local=True)
            if algorithm == EXTERNAL_ALGORITHM and self._jwks is not None:
                key = await self._jwks.key_for(token)
                claims = jwt.decode(
                    token,
                    key,
                    algorithms=[EXTERNAL_ALGORITHM],
                    issuer=self._external_issuer,
                    audience=self._external_audience,
                    options={"require": ["exp", "sub", "role"], "verify_aud": self._external_audience is not None},
                )
                check_lifetime(claims, self._max_lifetime)
                return principal_from_claims(claims, local=False)
        except jwt.InvalidTokenError as exc:
            raise TokenError(f"invalid token: {exc}") from exc
        raise TokenError(f"tokens signed with {algorithm!r} are not accepted")


def check_lifetime(claims: dict[str, Any], max_lifetime: timedelta) -> None:
    """Refuse a token living longer than `max_lifetime` (from its `iat`, or from now without one), or issued
    in the future; raise TokenError."""
    now = datetime.now(UTC).timestamp()
    expires = float(claims["exp"])
    issued = float(claims["iat"]) if claims.get("iat") is not None else now
    if issued > now + CLOCK_SKEW.total_seconds():
        raise TokenError("invalid token: issued in the future")
    if expires - issued > max_lifetime.total_seconds() + 1:
        raise TokenError(f"invalid token: lives longer than the maximum of {max_lifetime.days} days")


def principal_from_claims(claims: dict[str, Any], *, local: bool) -> Principal:
    """Validate the chibo claims (`sub`, `role`, `unit_id`, `person_id`)."""
    try:
        role = Role(claims["role"])
    except ValueError as exc:
        raise TokenError(f"unknown role {claims['role']!r}") from exc
    unit_id = claims.get("unit_id")
    if role in ROLES_WITH_UNIT and not unit_id:
        raise TokenError(f"a {role.value} token needs a unit_id")
    person_id = claims.get("person_id")
    issued = claims.get("iat")
    return Principal(
        sub=str(claims["sub"]),
        role=role,
        unit_id=str(unit_id) if unit_id else None,
        person_id=str(person_id) if person_id else None,
        local=local,
        issued_at=datetime.fromtimestamp(float(issued), UTC) if issued is not None else None,
    )


def issue_token(
    *,
    secret: str,
    issuer: str,
    sub: str,
    role: Role,
    unit_id: str | None,
    person_id: str | None,
    days: int,
    issued_at: datetime | None = None,
) -> str:
    """An HS256 token for a local account, valid for `days` from `issued_at` (default now, kept to the
    millisecond so it compares exactly with the account's `changed_at`)."""
    issued = issued_at or issue_instant()
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": sub,
        "role": role.value,
        "iat": issued.timestamp(),
        "exp": int((issued + timedelta(days=days)).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    if unit_id:
        claims["unit_id"] = unit_id
    if person_id:
        claims["person_id"] = person_id
    return jwt.encode(claims, secret, algorithm=LOCAL_ALGORITHM)


def issue_instant() -> datetime:
    """Now, truncated to the millisecond: the `iat` of a token and the `changed_at` of an account compare exactly."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def load_jwks(*, url: str | None, file: str | None, cache_seconds: int) -> JwksKeys | None:
    """The JWKS source configured, or None when only local tokens are accepted."""
    if not url and not file:
        return None
    return JwksKeys(url=url, file=file, cache_seconds=cache_seconds)
