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


def csrf_of(page: str) -> str:
    """The CSRF token of `page`'s first form; ValueError when it has none."""
    return page[page.index('name="csrf" value="') + len('name="csrf" value="') :].split('"', 1)[0]


async def sign_in(
    client: httpx.AsyncClient,
    settings: GatewaySettings,
    *,
    sub: str,
    role: str,
    unit: str | None,
    person: str | None = None,
    password: str = PASSWORD,
) -> None:
    """Make web account `sub` by the gateway's own account command (its checks and all) and sign `client` in as it
    through the sign-in form (303 asserted)."""
    args = argparse.Namespace(
        sub=sub, role=role, unit=unit, person=person, password=password, oidc_subject=None, oidc_email=None
    )
    await create_checked_web_account(settings, args)
    form = (await client.get("/app/sign-in")).text
    signed = await client.post("/app/sign-in", data={"username": sub, "password": password, "csrf": csrf_of(form)})
    assert signed.status_code == 303, signed.text


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
    settings = GatewaySettings(database_url=database_url, amqp_url=amqp_url)
    transport = httpx.ASGITransport(app=app, client=peer)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway", timeout=10) as client:
        await sign_in(client, settings, sub=f"{prefix}-{uuid.uuid4().hex[:8]}", role=role, unit=unit)
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
