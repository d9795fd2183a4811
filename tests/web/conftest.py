"""The whole system started once for the web tests, seeded with the demo province, with people's sign-ins."""

import argparse
import json
import os
import shutil
import subprocess
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from deploy.demo_access import seed_known
from deploy.seed_demo import DemoYear, Seed, month_id, publish
from services.gateway.config import GatewaySettings
from services.gateway.main import create_checked_web_account, issue_local_token
from services.gateway.web import cli as web_cli
from shared.periods import VIETNAM_TZ
from shared.rpc import RpcError
from tests.support.env import fresh_database
from tests.support.quiet import wait_quiet
from tests.support.running import eventually, free_port
from tests.support.system import RunningSystem, running_system

PASSWORD = "mật-khẩu-thử-2026"
SLOW = 900
"""Seconds a web test may take, its share of the package's start-up included (seeding and scoring a province on a
loaded shared machine)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The web tests' bound: the package's system and province start inside whichever test comes first."""
    for item in items:
        if Path(str(item.path)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.timeout(SLOW))


PEOPLE = {
    "officer": ("committee_officer", "demo-tinh-uy", None),
    "commune-officer": ("committee_officer", "demo-xa-hoa-binh", None),
    "secretary": ("secretary", "demo-cb-thon-1", "demo-cb-thon-1-dv01"),
    "member": ("member", "demo-cb-thon-1", "demo-cb-thon-1-dv05"),
    # the commune committee member the demo assigns to follow its three cells (monitor.assigned.v1)
    "monitor": ("committee_officer", "demo-xa-hoa-binh", "demo-xa-hoa-binh-uv1"),
}
DEMO = DemoYear.at()
"""The demo province's calendar, taken once as the package starts and seeded as it says (province): the tests read
its months and meeting ids here, never a fixed year."""
PERIOD = DEMO.period
"""Last month: the demo's latest closed month, every cell rated."""
MONTHS = [month_id(month) for month in DEMO.months]
"""The demo's twelve months of history, `YYYY-MM`, oldest first (MONTHS[-1] is PERIOD)."""
RUNNING = DEMO.running
"""This month, `YYYY-MM`: each demo cell's meeting of it (`<cell>-<RUNNING>`) is still ahead, with no minutes."""
SIGN_IN_FREE_FAILURES = 3
"""Failed sign-ins of one username from one address the web tests' gateway lets go without a wait
(CHIBO_WEB_SIGN_IN_FREE_FAILURES); the next waits SIGN_IN_FIRST_DELAY seconds."""
SIGN_IN_FIRST_DELAY = 4
OIDC_DIR = Path(__file__).parent / "oidc"
OIDC_CLIENT = ("chibo-gateway", "secret-of-the-gateway-" + "x" * 24)
OIDC_NAME = "Cổng định danh tỉnh Demo"


@dataclass(frozen=True)
class OidcSetting:
    """Where the province's OpenID Connect provider of the web tests listens."""

    port: int

    @property
    def issuer(self) -> str:
        """Its issuer URL."""
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="package")
def oidc_setting() -> OidcSetting:
    """The provider's port, chosen before the gateway starts (the gateway is configured with its issuer)."""
    return OidcSetting(port=free_port())


@pytest.fixture(scope="package")
def system(
    amqp_url: str, database_url: str, tmp_path_factory: pytest.TempPathFactory, oidc_setting: OidcSetting
) -> Iterator[RunningSystem]:
    """The four services and the mail sink, once for the package; the gateway knows the province's provider."""
    oidc_env = {
        "CHIBO_OIDC_ISSUER": oidc_setting.issuer,
        "CHIBO_OIDC_CLIENT_ID": OIDC_CLIENT[0],
        "CHIBO_OIDC_CLIENT_SECRET": OIDC_CLIENT[1],
        "CHIBO_OIDC_PROVIDER_NAME": OIDC_NAME,
        # small enough for test_sign_in to exceed and wait out; no other test fails this often for one name
        "CHIBO_WEB_SIGN_IN_FREE_FAILURES": str(SIGN_IN_FREE_FAILURES),
        "CHIBO_WEB_SIGN_IN_FIRST_DELAY": str(SIGN_IN_FIRST_DELAY),
        # the pages show late records' alerts as soon as they are due: the grace a meeting first known already late
        # gets (30 min) is notifications' own test (tests/notifications/test_recorded_past_meeting.py)
        "CHIBO_LATE_RECORDS_GRACE_MINUTES": "0",
    }
    with (
        fresh_database(database_url) as own_database,
        running_system(
            amqp_url=amqp_url,
            database_url=own_database,
            workdir=tmp_path_factory.mktemp("web"),
            extra_env=oidc_env,
            linked_mails=True,  # the mails name the pages, as a deployment that knows its address (test_mail_links)
        ) as s,
    ):
        yield s


OIDC_ACCOUNTS = {
    # linked by subject (web-account --oidc-subject)
    "sub-bi-thu-thon-1": {"email": "bithu.thon1@demo.vn", "email_verified": True, "name": "Bí thư thôn 1"},
    # linked by e-mail address (web-account --oidc-email), verified by the provider
    "sub-can-bo-tinh-2": {"email": "Can.Bo.Tinh@demo.vn", "email_verified": True, "name": "Cán bộ tỉnh"},
    # the same address, not verified: refused
    "sub-gia-mao": {"email": "can.bo.tinh@demo.vn", "email_verified": False, "name": "Giả mạo"},
    # linked to a secretary account whose person is no longer the cell's secretary: refused saying why
    "sub-bi-thu-cu": {"email": "bithu.cu@demo.vn", "email_verified": True, "name": "Bí thư cũ"},
    # nobody in chibo: refused
    "sub-nguoi-la": {"email": "nguoi.la@demo.vn", "email_verified": True, "name": "Người lạ"},
}


@pytest.fixture(scope="package")
def oidc_provider(
    system: RunningSystem, oidc_setting: OidcSetting, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """panva/node-oidc-provider (installed by deploy/bootstrap.sh), the gateway's callback registered; its issuer."""
    log = tmp_path_factory.mktemp("oidc") / "provider.log"
    env = {
        "PATH": system.env.get("PATH", ""),
        "OIDC_PORT": str(oidc_setting.port),
        "OIDC_CLIENT_ID": OIDC_CLIENT[0],
        "OIDC_CLIENT_SECRET": OIDC_CLIENT[1],
        "OIDC_REDIRECT_URI": system.gateway_url + "/app/sign-in/oidc/callback",
        "OIDC_ACCOUNTS": json.dumps(OIDC_ACCOUNTS),
    }
    with log.open("wb") as handle:
        process = subprocess.Popen(
            ["node", str(OIDC_DIR / "provider.js")], cwd=OIDC_DIR, env=env, stdout=handle, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(oidc_setting.issuer + "/.well-known/openid-configuration", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"oidc-provider did not start:\n{log.read_text(errors='replace')}") from None
                time.sleep(0.2)
        yield oidc_setting.issuer
    finally:
        process.terminate()
        process.wait(timeout=10)


async def web_account(
    system: RunningSystem,
    sub: str,
    role: str,
    unit: str | None,
    person: str | None,
    *,
    oidc_subject: str | None = None,
    oidc_email: str | None = None,
    password: bool = True,
    password_text: str = PASSWORD,
    checked: bool = True,
) -> None:
    """A person's account (with a password, a link to the provider), through the gateway's own command's code
    (in-process: a command's start-up costs seconds on a loaded machine), checked as the command checks it (its unit
    known to meetings, a member's or secretary's person listed by the cell: main.create_checked_web_account); not
    `checked`, recorded as one made before those checks or before its person left (web_cli.create_web_account)."""
    settings = GatewaySettings(database_url=system.env["CHIBO_DATABASE_URL"], amqp_url=system.env["CHIBO_AMQP_URL"])
    args = argparse.Namespace(
        sub=sub,
        role=role,
        unit=unit,
        person=person,
        password=password_text if password else None,
        oidc_subject=oidc_subject,
        oidc_email=oidc_email,
    )
    if checked:
        await create_checked_web_account(settings, args)
    else:
        await web_cli.create_web_account(settings, args)


async def api_token(
    system: RunningSystem,
    *,
    role: str,
    unit: str | None,
    sub: str,
    person: str | None = None,
    sources: list[str] | None = None,
    province_wide: bool = False,
) -> str:
    """A bearer token from the code of the gateway's `issue-token` command, in-process (see web_account); `sources`:
    a scoped integration account's registered sources; `province_wide`: an integration account writing anywhere."""
    settings = GatewaySettings(
        database_url=system.env["CHIBO_DATABASE_URL"],
        amqp_url=system.env["CHIBO_AMQP_URL"],
        jwt_secret=system.env["CHIBO_JWT_SECRET"],
    )
    args = argparse.Namespace(
        role=role, unit=unit, person=person, sub=sub, days=None, province_wide=province_wide, sources=sources
    )
    issued = await issue_local_token(settings, args)
    return str(issued["token"])


def feed_event(event_type: str, data: dict[str, Any], *, source: str, at: datetime | None = None) -> dict[str, Any]:
    """A CloudEvent as an integration posts it to /v1/events: of `source`, its time `at` (now by default)."""
    return {
        "specversion": "1.0",
        "id": f"evt-{uuid.uuid4().hex[:16]}",
        "source": source,
        "type": event_type,
        "time": (at or datetime.now(VIETNAM_TZ)).isoformat(timespec="seconds"),
        "datacontenttype": "application/json",
        "data": data,
    }


def extraordinary_meeting(meeting_id: str, cell: str, starts: datetime, agenda: str) -> dict[str, Any]:
    """meeting.scheduled.v1's data: an extraordinary meeting of the cell at Nhà văn hóa thôn 1, one agenda item."""
    return {
        "meeting_id": meeting_id,
        "cell_id": cell,
        "kind": "extraordinary",
        "starts_at": starts.isoformat(),
        "location": "Nhà văn hóa thôn 1",
        "agenda": [agenda],
    }


async def feed(system: RunningSystem, events: list[dict[str, Any]], *, sub: str) -> None:
    """Post the events as one batch to /v1/events as the province-wide integration account `sub`; every one is
    accepted (AssertionError with the gateway's answer otherwise)."""
    token = await api_token(system, role="integration", unit=None, sub=sub, province_wide=True)
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as api:
        sent = await api.post(
            "/v1/events",
            content=httpx.Request("POST", "/", json=events).content,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/cloudevents-batch+json"},
        )
    assert sent.status_code == 200 and sent.json()["accepted"] == len(events), sent.text


HISTORY_FEED = "urn:test:web-history"
"""The source of the past meetings tests feed (history_meeting)."""


async def history_meeting(
    system: RunningSystem,
    secretary: str,
    cell: str,
    starts: datetime,
    *,
    agenda: str,
    meeting_id: str | None = None,
    topic: str | None = None,
) -> str:
    """An extraordinary meeting of the cell starting at `starts`, already past, fed by an integration the day before
    (a secretary schedules only meetings still ahead: meetings' check_schedule), once the secretary's token
    `secretary` reads it; its id."""
    meeting_id = meeting_id or f"{cell}-past-{uuid.uuid4().hex[:10]}"
    data = extraordinary_meeting(meeting_id, cell, starts, agenda) | ({"topic": topic} if topic else {})
    schedule = feed_event("meeting.scheduled.v1", data, source=HISTORY_FEED, at=starts - timedelta(days=1))
    await feed(system, [schedule], sub="api-feed-history")
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as api:

        async def known() -> bool:
            found = await api.get(f"/v1/meetings/{meeting_id}", headers={"Authorization": f"Bearer {secretary}"})
            return found.status_code == 200

        await eventually(known, timeout=120, interval=0.5)
    return meeting_id


async def free_start(
    client: httpx.AsyncClient, token: str, cell: str, candidates: list[datetime], *, after: datetime | None = None
) -> datetime:
    """The first of `candidates` (aware moments, in order of preference) later than `after` (when given: a meeting
    scheduled on the form starts later than now) and more than an hour from every meeting of `cell` listed by the API
    in their months: the shared demo system holds other tests' meetings, some at times set from the clock (twelve
    hours ahead), so a fixed hour of a fixed day can fall within the hour of one, and the form then rightly asks
    whether it is the same meeting. The months listed are those of each candidate and of the hour either side of it (a
    candidate late on a month's last day is within the hour of a meeting early on the next month's first, as the
    product's check sees it). AssertionError when none is free."""
    starts: list[datetime] = []
    near = [moment + timedelta(hours=shift) for moment in candidates for shift in (-1, 0, 1)]
    for month in sorted({f"{moment.astimezone(VIETNAM_TZ):%Y-%m}" for moment in near}):
        page = await client.get(
            f"/v1/cells/{cell}/meetings",
            params={"period": month, "limit": 200},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert page.status_code == 200, page.text
        starts += [datetime.fromisoformat(item["starts_at"].replace("Z", "+00:00")) for item in page.json()["items"]]
    free = [
        moment
        for moment in candidates
        if (after is None or moment > after) and all(abs(moment - start) > timedelta(hours=1) for start in starts)
    ]
    assert free, (candidates, starts, after)
    return free[0]


async def cell_members(system: RunningSystem, province: dict[str, str], cell: str) -> list[dict[str, Any]]:
    """The cell's current members (the API's items, roster order) as the province's secretary reads them."""
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as api:
        listed = await api.get(
            f"/v1/cells/{cell}/members?limit=200", headers={"Authorization": f"Bearer {province['secretary']}"}
        )
    assert listed.status_code == 200, listed.text
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


@pytest.fixture(scope="package")
async def province(system: RunningSystem, amqp_url: str) -> dict[str, str]:
    """The demo province seeded over AMQP and scored; the API tokens of its officer and secretary."""
    await publish(amqp_url, Seed(DEMO.now).build())
    # the tokens' units must be known to meetings first (issue-token refuses a unit the system does not have)
    settings = GatewaySettings(
        database_url=system.env["CHIBO_DATABASE_URL"], amqp_url=system.env["CHIBO_AMQP_URL"], rpc_timeout=30
    )
    await seed_known(
        settings,
        {("committee_officer", "demo-tinh-uy", None), ("committee_officer", "demo-cb-thon-1", None)}
        | set(PEOPLE.values()),  # web_account checks a member's or secretary's person as the command does
    )
    for sub, (role, unit, person) in PEOPLE.items():
        await web_account(system, sub, role, unit, person)
    tokens = {
        "officer": await api_token(system, role="committee_officer", unit="demo-tinh-uy", sub="api-officer"),
        "secretary": await api_token(
            system, role="secretary", unit="demo-cb-thon-1", person="demo-cb-thon-1-dv01", sub="api-secretary"
        ),
        "member": await api_token(
            system, role="member", unit="demo-cb-thon-1", person="demo-cb-thon-1-dv05", sub="api-member"
        ),
    }
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {tokens['officer']}"}
    ) as api:

        async def scored() -> bool:
            rollup = (await api.get(f"/v1/committees/demo-tinh-uy/rollup?period={PERIOD}")).json()
            rated = sum((rollup.get("by_rating") or {}).values())
            score = await api.get(f"/v1/meetings/demo-cb-thon-2-{PERIOD}/score")
            return rollup.get("cells") == 6 and rated == 6 and score.status_code == 200

        await eventually(scored, timeout=300, interval=1)
    # every cell rated can still be an interim state (a cell at Poor 0 before its meeting's score arrived): the
    # pages' tests compare figures read one after the other, so they start once nothing waits anywhere
    await wait_quiet(amqp_url, system.env["CHIBO_DATABASE_URL"], timeout=300)
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


@asynccontextmanager
async def signed_in_officer(system: RunningSystem, sub: str, committee: str) -> AsyncIterator[httpx.AsyncClient]:
    """A browser signed in with a web account of its own, `sub`, an officer of `committee`."""
    await web_account(system, sub, "committee_officer", committee, None)
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=60) as client:
        form = (await client.get("/app/sign-in")).text
        signed = await client.post("/app/sign-in", data={"username": sub, "password": PASSWORD, "csrf": csrf_of(form)})
        assert signed.status_code == 303, signed.text
        yield client


async def officer_api_headers(system: RunningSystem, *, committee: str, sub: str) -> dict[str, str]:
    """The API headers of an officer of `committee` (`api-{sub}`), once the committee is known to meetings: a token
    is issued only for a unit the system has, so it is asked again until one is (up to 120 s)."""
    issued: list[str] = []

    async def known() -> bool:
        try:
            issued.append(await api_token(system, role="committee_officer", unit=committee, sub=f"api-{sub}"))
        except RpcError:
            return False
        return True

    await eventually(known, timeout=120, interval=0.5)
    return {"Authorization": f"Bearer {issued[-1]}"}


async def scored_history(
    system: RunningSystem, events: list[dict[str, Any]], *, committee: str, cell: str, sub: str
) -> dict[str, str]:
    """Publish a committee's history (tests.evaluation.stream.cell_history: `cell` holds three regular meetings in
    2026-Q2) and wait until it is scored and settled: the committee known to meetings, `cell`'s Q2 rated over its
    three meetings, nothing left in flight (wait_quiet). The API headers of an officer of `committee`, `api-{sub}`."""
    amqp, database = system.env["CHIBO_AMQP_URL"], system.env["CHIBO_DATABASE_URL"]
    await publish(amqp, events)
    headers = await officer_api_headers(system, committee=committee, sub=sub)
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30, headers=headers) as api:

        async def scored() -> bool:
            found = await api.get(f"/v1/cells/{cell}/ratings?period=2026-Q2")
            rows = found.json().get("items") or [] if found.status_code == 200 else []
            return any(row["period"] == "2026-Q2" and row.get("regular_held") == 3 for row in rows)

        await eventually(scored, timeout=300, interval=1)
    await wait_quiet(amqp, database, timeout=300)  # every assessment applied: the month scores are final
    return headers


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


async def screenshot(page: Page, name: str) -> None:
    """Desktop and phone-width (390 px) captures of the page as docs/screenshots/<name>.png and <name>-phone.png,
    when CHIBO_SCREENSHOTS names the directory (how the README's pictures are made); nothing otherwise."""
    directory = os.environ.get("CHIBO_SCREENSHOTS")
    if not directory:
        return
    os.makedirs(directory, exist_ok=True)
    size = page.viewport_size or {"width": 1280, "height": 900}
    await page.screenshot(path=str(Path(directory) / f"{name}.png"), full_page=True)
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.screenshot(path=str(Path(directory) / f"{name}-phone.png"), full_page=True)
    await page.set_viewport_size(size)
