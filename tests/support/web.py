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


def section(page: str, marker: str, end: str) -> str:
    """The part of `page` after `marker` up to the next `end` (e.g. a list's `id="..."` to its `</ul>`); IndexError
    when `page` has no `marker`."""
    return page.split(marker, 1)[1].split(end, 1)[0]


def values_after(text: str, prefix: str) -> list[str]:
    """What follows each `prefix` in `text` up to the next double quote, in order (the links or options a section
    lists)."""
    return [part.split('"', 1)[0] for part in text.split(prefix)[1:]]


def pager_link(page: str, pager_id: str, rel: str) -> str | None:
    """The link `rel` (next, prev) of the pager `id=pager_id` of `page`, unescaped; None when it has none (or the
    page has no such pager)."""
    pager = section(page, f'id="{pager_id}"', "</nav>") if pager_id in page else ""
    marker = f'rel="{rel}"'
    if marker not in pager:
        return None
    return pager.split(marker, 1)[1].split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
