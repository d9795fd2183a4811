"""Bearer tokens: local HS256 accounts and RS256 tokens of an external identity provider (JWKS)."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from services.gateway.auth import JwksKeys, Role, TokenError, TokenVerifier, issue_token
from services.gateway.main import create_app
from tests.gateway.conftest import gateway_settings
from tests.gateway.fakes import FakeServices
from tests.support.running import running_app

SECRET = "test-secret-with-enough-length-for-hs256"
ISSUER = "urn:chibo:gateway"
IDP = "https://idp.example.vn"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks_of(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {"keys": [{**public, "kid": kid, "use": "sig", "alg": "RS256"}]}


def external_token(key: rsa.RSAPrivateKey, kid: str, **claims: Any) -> str:
    body = {"iss": IDP, "aud": "chibo", "sub": "idp|42", "exp": datetime.now(UTC) + timedelta(hours=1), **claims}
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


def local_verifier(jwks: JwksKeys | None = None) -> TokenVerifier:
    return TokenVerifier(secret=SECRET, issuer=ISSUER, jwks=jwks, external_issuer=IDP, external_audience="chibo")


async def test_a_local_token_carries_role_unit_and_person() -> None:
    token = issue_token(
        secret=SECRET, issuer=ISSUER, sub="sec-1", role=Role.SECRETARY, unit_id="c1", person_id="m1", days=1
    )
    principal = await local_verifier().verify(token)
    assert (principal.sub, principal.role, principal.unit_id, principal.person_id, principal.local) == (
        "sec-1",
        Role.SECRETARY,
        "c1",
        "m1",
        True,
    )


@pytest.mark.parametrize(
    "token",
    [
        jwt.encode({"iss": ISSUER, "sub": "x", "role": "admin", "exp": 1}, SECRET, algorithm="HS256"),
        jwt.encode(
            {"iss": ISSUER, "sub": "x", "role": "admin", "exp": 9999999999},
            "another-secret-of-32-bytes-at-least",
            algorithm="HS256",
        ),
        jwt.encode({"iss": "urn:elsewhere", "sub": "x", "role": "admin", "exp": 9999999999}, SECRET, algorithm="HS256"),
        jwt.encode({"iss": ISSUER, "sub": "x", "role": "king", "exp": 9999999999}, SECRET, algorithm="HS256"),
        jwt.encode({"iss": ISSUER, "sub": "x", "role": "member", "exp": 9999999999}, SECRET, algorithm="HS256"),
        jwt.encode({"iss": ISSUER, "sub": "x", "role": "admin"}, SECRET, algorithm="HS256"),
        jwt.encode({"iss": ISSUER, "sub": "x", "role": "admin", "exp": 9999999999}, "", algorithm="none"),
        "garbage",
    ],
    ids=[
        "expired",
        "wrong-secret",
        "wrong-issuer",
        "unknown-role",
        "member-without-unit",
        "no-exp",
        "alg-none",
        "garbage",
    ],
)
async def test_bad_local_tokens_are_refused(token: str) -> None:
    with pytest.raises(TokenError):
        await local_verifier().verify(token)


async def test_an_external_token_is_checked_against_a_jwks_file(tmp_path: Path) -> None:
    key = rsa_key()
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks_of(key, "k1")))
    verifier = local_verifier(JwksKeys(url=None, file=str(path), cache_seconds=60))
    principal = await verifier.verify(external_token(key, "k1", role="committee_officer", unit_id="ward-1"))
    assert principal.role is Role.COMMITTEE_OFFICER and principal.unit_id == "ward-1" and not principal.local
    with pytest.raises(TokenError):
        await verifier.verify(external_token(rsa_key(), "k1", role="admin"))  # signed by someone else
    with pytest.raises(TokenError):
        await verifier.verify(external_token(key, "k1", role="admin", aud="another-app"))


async def test_an_external_token_is_checked_against_a_jwks_url_and_keys_are_cached() -> None:
    key = rsa_key()
    fetches = []

    async def jwks(request: Any) -> JSONResponse:
        fetches.append(1)
        return JSONResponse(jwks_of(key, "k2"))

    async def health(request: Any) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    idp = Starlette(routes=[Route("/jwks.json", jwks), Route("/health", health)])
    async with running_app(idp) as base:
        verifier = local_verifier(JwksKeys(url=f"{base}/jwks.json", file=None, cache_seconds=60))
        for _ in range(3):
            principal = await verifier.verify(external_token(key, "k2", role="operator"))
            assert principal.role is Role.OPERATOR
    assert len(fetches) == 1


async def test_the_gateway_accepts_identity_provider_tokens_without_a_local_account(
    amqp_url: str, database_url: str, fakes: FakeServices, tmp_path: Path
) -> None:
    key = rsa_key()
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks_of(key, "k3")))
    world = fakes.world
    app = create_app(
        gateway_settings(amqp_url, database_url, jwks_file=str(path), external_issuer=IDP, external_audience="chibo")
    )
    token = external_token(key, "k3", role="member", unit_id=world.cell_a1, person_id=world.member_a1)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client:
            own = await client.get(f"/v1/meetings/{world.meeting_a1}", headers={"Authorization": f"Bearer {token}"})
            other = await client.get(f"/v1/meetings/{world.meeting_b1}", headers={"Authorization": f"Bearer {token}"})
    assert own.status_code == 200
    assert other.status_code == 404
