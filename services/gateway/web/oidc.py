"""Sign-in through the province's OpenID Connect provider, with Authlib (authorization code, PKCE S256, state,
nonce; the ID token's signature, issuer, audience, expiry and nonce checked against the provider's discovery
document and JWKS).

Which chibo account a provider identity is (the rule): an administrator links an existing account to the
provider's `sub` (`web-account --oidc-subject`) or to an e-mail address (`--oidc-email`). At sign-in the account
linked to the ID token's `sub` wins; otherwise the account linked to its `email` (from the ID token, or else from
the UserInfo endpoint for the same `sub`), only when the provider says `email_verified: true`. Nobody else gets in,
and no account is ever created at sign-in. The account must be active and a person's (member, secretary,
committee officer), as for a password.

Authlib keeps its flow data (state, nonce, PKCE verifier, redirect URI) in `request.session`; the gateway has no
session middleware, so that dict lives in `web_oidc_flow` for ten minutes, bound to the browser by a random
cookie (only its hash is stored), and is used once."""

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from services.gateway.config import GatewaySettings
from shared.web_address import mail_key

FLOW_COOKIE = "chibo_oidc"
FLOW_MINUTES = 10
CLIENT_NAME = "province"


@dataclass(frozen=True, slots=True)
class Identity:
    """What the provider's verified ID token says about the person."""

    subject: str
    email: str | None
    """The e-mail address, only when the provider marks it verified; lower case."""


def configured(settings: GatewaySettings) -> bool:
    """Whether a provider is configured (issuer, client id and secret all set)."""
    return bool(settings.oidc_issuer and settings.oidc_client_id and settings.oidc_client_secret)


_clients: dict[tuple[str, str], Any] = {}


def client(settings: GatewaySettings) -> Any:
    """The Authlib client of the configured provider (discovery read on first use); one per issuer and client id."""
    assert settings.oidc_issuer and settings.oidc_client_id
    key = (settings.oidc_issuer, settings.oidc_client_id)
    if key not in _clients:
        from authlib.integrations.starlette_client import OAuth  # noqa: PLC0415 (kept out of the CLI's start-up)

        oauth = OAuth()
        _clients[key] = oauth.register(
            name=CLIENT_NAME,
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret,
            server_metadata_url=settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
            client_kwargs={"scope": settings.oidc_scopes, "code_challenge_method": "S256", "timeout": 10.0},
        )
    return _clients[key]


def identity_of(claims: dict[str, Any]) -> Identity:
    """The identity in a verified ID token's claims: `sub`, and `email` when `email_verified` is true."""
    email = claims.get("email") if claims.get("email_verified") is True else None
    return Identity(subject=str(claims["sub"]), email=mail_key(str(email)) if email else None)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class OidcStore:
    """Account links and unfinished flows in the gateway schema (`web_oidc_link`, `web_oidc_flow`)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def link(self, sub: str, *, subject: str | None, email: str | None) -> None:
        """Link the account to a provider subject and/or e-mail address (replacing its earlier link)."""
        await self._pool.execute(
            "INSERT INTO web_oidc_link (sub, subject, email) VALUES ($1, $2, $3) ON CONFLICT (sub) DO UPDATE"
            " SET subject = EXCLUDED.subject, email = EXCLUDED.email, updated_at = now()",
            sub,
            subject,
            mail_key(email) if email else None,
        )

    async def account_for(self, identity: Identity) -> str | None:
        """The account linked to the subject, else to the verified e-mail address; None for nobody."""
        found = await self._pool.fetchval("SELECT sub FROM web_oidc_link WHERE subject = $1", identity.subject)
        if found is None and identity.email:
            found = await self._pool.fetchval("SELECT sub FROM web_oidc_link WHERE email = $1", identity.email)
        return str(found) if found is not None else None

    async def save_flow(self, session: dict[str, Any], *, next_url: str) -> str:
        """Keep Authlib's flow data (one `_state_province_<state>` entry); return the browser's cookie value."""
        [(key, value)] = [(key, value) for key, value in session.items() if key.startswith(f"_state_{CLIENT_NAME}_")]
        browser = secrets.token_urlsafe(32)
        await self._pool.execute(
            "INSERT INTO web_oidc_flow (state, browser_hash, data, next_url, expires_at) VALUES ($1, $2, $3, $4, $5)",
            key.removeprefix(f"_state_{CLIENT_NAME}_"),
            _digest(browser),
            json.dumps(value),
            next_url,
            datetime.now(UTC) + timedelta(minutes=FLOW_MINUTES),
        )
        return browser

    async def take_flow(self, state: str, *, browser: str) -> tuple[dict[str, Any], str] | None:
        """The session dict Authlib expects and the page to go on to, once, for the browser that started the
        flow; None when unknown, expired or started elsewhere. Expired flows are swept on the way."""
        row = await self._pool.fetchrow(
            "DELETE FROM web_oidc_flow WHERE state = $1 RETURNING browser_hash, data, next_url, expires_at", state
        )
        await self._pool.execute("DELETE FROM web_oidc_flow WHERE expires_at < now()")
        if row is None or row["expires_at"] < datetime.now(UTC):
            return None
        if not browser or not secrets.compare_digest(row["browser_hash"], _digest(browser)):
            return None
        return {f"_state_{CLIENT_NAME}_{state}": json.loads(row["data"])}, str(row["next_url"])
