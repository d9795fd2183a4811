"""A browser signed in to the gateway's pages: a web account made by the CLI, then the sign-in form with its csrf."""

import argparse
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from services.gateway.config import GatewaySettings
from services.gateway.main import create_checked_web_account

PASSWORD = "mật-khẩu-thử-2026"
"""The password of every web account made here."""


@asynccontextmanager
async def signed_in_web(
    app: object,
    prefix: str,
    role: str,
    unit: str,
    database_url: str,
    amqp_url: str,
    peer: tuple[str, int] = ("203.0.113.9", 4713),
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the ASGI `app` from address `peer`, signed in as a new account `{prefix}-<8 hex>` of `role` at
    `unit` (303 on sign-in asserted); the client is closed on exit, the account stays."""
    sub = f"{prefix}-{uuid.uuid4().hex[:8]}"
    args = argparse.Namespace(
        sub=sub,
        role=role,
        unit=unit,
        person=None,
        password=PASSWORD,
        oidc_subject=None,
        oidc_email=None,
    )
    await create_checked_web_account(GatewaySettings(database_url=database_url, amqp_url=amqp_url), args)
    transport = httpx.ASGITransport(app=app, client=peer)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway", timeout=10) as client:
        form = (await client.get("/app/sign-in")).text
        csrf = form[form.index('name="csrf" value="') + len('name="csrf" value="') :].split('"', 1)[0]
        signed = await client.post("/app/sign-in", data={"username": sub, "password": PASSWORD, "csrf": csrf})
        assert signed.status_code == 303, signed.text
        yield client
