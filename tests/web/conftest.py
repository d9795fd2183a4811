"""The whole system started once for the web tests, seeded with the demo province, with people's sign-ins."""

import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import date

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from deploy.seed_demo import Seed, publish
from tests.support.env import fresh_database
from tests.support.running import eventually
from tests.support.system import ROOT, RunningSystem, issue_token, running_system

PASSWORD = "mật-khẩu-thử-2026"
PEOPLE = {
    "officer": ("committee_officer", "demo-tinh-uy", None),
    "commune-officer": ("committee_officer", "demo-xa-hoa-binh", None),
    "secretary": ("secretary", "demo-cb-thon-1", "demo-cb-thon-1-dv01"),
    "member": ("member", "demo-cb-thon-1", "demo-cb-thon-1-dv05"),
    # the commune committee member the demo assigns to follow its three cells (monitor.assigned.v1)
    "monitor": ("committee_officer", "demo-xa-hoa-binh", "demo-xa-hoa-binh-uv1"),
}
PERIOD = "2026-11"


@pytest.fixture(scope="package")
def system(amqp_url: str, database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    """The four services and the mail sink, once for the package."""
    with (
        fresh_database(database_url) as own_database,
        running_system(amqp_url=amqp_url, database_url=own_database, workdir=tmp_path_factory.mktemp("web")) as s,
    ):
        yield s


def web_account(system: RunningSystem, sub: str, role: str, unit: str, person: str | None) -> None:
    """A person's account with a password, through the gateway's own command."""
    args = [sys.executable, "-m", "services.gateway", "web-account", "--sub", sub, "--role", role, "--unit", unit]
    if person:
        args += ["--person", person]
    subprocess.run(
        [*args, "--password", PASSWORD], cwd=ROOT, env=system.env, capture_output=True, timeout=60, check=True
    )


@pytest.fixture(scope="package")
async def province(system: RunningSystem, amqp_url: str) -> dict[str, str]:
    """The demo province seeded over AMQP and scored; the API tokens of its officer and secretary."""
    await publish(amqp_url, Seed(date(2026, 11, 25)).build())
    for sub, (role, unit, person) in PEOPLE.items():
        web_account(system, sub, role, unit, person)
    tokens = {
        "officer": issue_token(system, role="committee_officer", unit="demo-tinh-uy", sub="api-officer"),
        "secretary": issue_token(
            system, role="secretary", unit="demo-cb-thon-1", person="demo-cb-thon-1-dv01", sub="api-secretary"
        ),
        "member": issue_token(
            system, role="member", unit="demo-cb-thon-1", person="demo-cb-thon-1-dv05", sub="api-member"
        ),
    }
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {tokens['officer']}"}
    ) as api:

        async def scored() -> bool:
            rollup = (await api.get(f"/v1/committees/demo-tinh-uy/rollup?period={PERIOD}")).json()
            rated = sum((rollup.get("by_rating") or {}).values())
            score = await api.get("/v1/meetings/demo-cb-thon-2-2026-11/score")
            return rollup.get("cells") == 6 and rated == 6 and score.status_code == 200

        await eventually(scored, timeout=300, interval=1)
    return tokens


@pytest.fixture(scope="package")
async def api(system: RunningSystem, province: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """The officer's API client, to compare pages with."""
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {province['officer']}"}
    ) as client:
        yield client


@asynccontextmanager
async def signed_in(system: RunningSystem, who: str) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client (cookies kept) signed in as one of PEOPLE."""
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as client:
        form = await client.get("/app/sign-in")
        response = await client.post(
            "/app/sign-in", data={"username": who, "password": PASSWORD, "csrf": csrf_of(form.text), "next": "/app/"}
        )
        assert response.status_code == 303, response.text
        yield client


def csrf_of(html: str) -> str:
    """The CSRF token of the first form of a page."""
    marker = 'name="csrf" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def figure(html: str, name: str) -> str:
    """The text of `<dd data-figure="name">` on a page."""
    marker = f'data-figure="{name}">'
    start = html.index(marker) + len(marker)
    return html[start : html.index("<", start)]


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="package")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless (deploy/bootstrap.sh installs it)."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            await browser.close()


async def sign_in(browser: Browser, system: RunningSystem, who: str, *, width: int = 1280) -> Page:
    """A new page signed in through the form."""
    context = await browser.new_context(viewport={"width": width, "height": 900}, locale="vi-VN")
    context.set_default_timeout(90_000)  # a loaded shared machine
    page = await context.new_page()
    await page.goto(system.gateway_url + "/app/")
    await page.get_by_label("Tên đăng nhập").fill(who)
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập").click()
    return page
