"""A second `make up` leaves the demo web accounts' passwords alone: deploy/demo_access.py creates each account with
the demo password once, and a password changed since (`python -m services.gateway web-account`) stays. `make up`
runs it with the services up: the demo feed's token reserves its sources in meetings (SyncSources), answered here
by the gateway tests' fake meetings service."""

import argparse
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from deploy.demo_access import TOKENS, WEB_ACCOUNTS, demo_access
from services.gateway.bootstrap import SERVICE
from services.gateway.config import GatewaySettings
from services.gateway.web.cli import create_web_account
from services.gateway.web.sessions import WebAccounts
from shared.db import create_pool
from tests.gateway.fakes import FakeServices
from tests.support.env import fresh_database

DEMO = "chibo-demo-2026"
OWN = "Mat-khau-rieng-2026!"


@pytest.fixture
def database_of_its_own(infra: tuple[str, str]) -> Iterator[str]:
    """An empty database of this test's own (the demo accounts' names are fixed)."""
    with fresh_database(infra[1]) as database_url:
        yield database_url


@pytest.fixture
async def meetings_answering(fake_meetings: FakeServices, amqp_url: str) -> AsyncIterator[str]:
    """The test vhost's URL, with fake services answering RPC there (meetings' SyncSources among them)."""
    yield amqp_url


@pytest.fixture
async def fake_meetings(amqp_url: str) -> AsyncIterator[FakeServices]:
    """Fake services answering RPC on the test vhost, the demo's units and people seeded."""
    services = FakeServices(amqp_url)
    units = {unit for _, _, unit, _, _ in TOKENS if unit} | {unit for _, _, unit, _ in WEB_ACCOUNTS if unit}
    for unit in sorted(units):
        services.world.add_unit(unit, f"Đơn vị {unit}", "committee", None)  # seeded: issue-token checks --unit
    people = [(role, cell, who) for _, role, cell, who, _ in TOKENS]
    for role, cell, who in [*people, *((role, cell, who) for _, role, cell, who in WEB_ACCOUNTS)]:
        if role in ("member", "secretary") and cell and who:
            # seeded: a member's person is their cell's, a secretary's its secretary (as deploy/seed_demo.py's dv01)
            services.world.add_member(cell, who, role)
    await services.start()
    try:
        yield services
    finally:
        await services.stop()


async def test_a_changed_demo_password_survives_make_up_run_again(
    meetings_answering: str, database_of_its_own: str
) -> None:
    database_url = database_of_its_own
    settings = GatewaySettings(database_url=database_url, amqp_url=meetings_answering)
    first = await demo_access(settings, DEMO)
    operator = next(account for account in WEB_ACCOUNTS if account[1] == "operator")
    changed = argparse.Namespace(
        sub=operator[0],
        role=operator[1],
        unit=operator[2],
        person=operator[3],
        password=OWN,
        oidc_subject=None,
        oidc_email=None,
    )
    await create_web_account(settings, changed)  # the operator sets a password of their own
    again = await demo_access(settings, DEMO)  # `make up` once more
    assert set(again) == set(first) and all(again.values())  # the tokens are issued as before
    pool: asyncpg.Pool = await create_pool(database_url, schema=SERVICE, min_size=1, max_size=2)
    try:
        accounts = WebAccounts(pool)
        assert await accounts.check_password(operator[0], OWN)
        assert not await accounts.check_password(operator[0], DEMO)
        others = [account[0] for account in WEB_ACCOUNTS if account is not operator]
        assert all([await accounts.check_password(sub, DEMO) for sub in others])
    finally:
        await pool.close()


async def test_make_up_run_again_leaves_a_demo_account_whose_person_left_or_stepped_down(
    fake_meetings: FakeServices, amqp_url: str, database_of_its_own: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = GatewaySettings(database_url=database_of_its_own, amqp_url=amqp_url)
    first = await demo_access(settings, DEMO)  # a fresh database: every account made
    assert set(first) == {variable for variable, *_ in TOKENS}
    fake_meetings.world.remove_member("demo-cb-thon-1", "demo-cb-thon-1-dv05")  # member.removed.v1, transferred
    fake_meetings.world.add_member("demo-cb-thon-1", "demo-cb-thon-1-dv01", "member")  # no longer the secretary
    capsys.readouterr()
    again = await demo_access(settings, DEMO)  # `make up` once more: no refusal, no wait for the seed
    said = capsys.readouterr().err
    assert "dang-vien-thon-1" in said and "demo-cb-thon-1-dv05" in said and "no longer works" in said
    assert "bi-thu-thon-1" in said and "demo-secretary" in said
    assert set(again) == set(first) - {"SECRETARY_TOKEN"} and all(again.values())
    pool: asyncpg.Pool = await create_pool(database_of_its_own, schema=SERVICE, min_size=1, max_size=2)
    try:
        assert await WebAccounts(pool).check_password("dang-vien-thon-1", DEMO)  # left as it is
    finally:
        await pool.close()
