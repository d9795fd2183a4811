"""The whole system as real processes, fed the way a partner's feeder would: the official SDKs over both routes."""

from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest

from tests.partners.wire import Tap, tap
from tests.support.env import fresh_database
from tests.support.ids import random_id
from tests.support.running import free_port
from tests.support.system import RunningSystem, issue_token, running_system

pytestmark = pytest.mark.e2e
FAILING_WEBHOOK = {
    "CHIBO_WEBHOOK_URL": f"http://127.0.0.1:{free_port()}/nobody-listens",
    "CHIBO_DELIVERY_MAX_ATTEMPTS": "1",
    # a loopback gateway is refused when the service starts unless the deployment allows it (webhook_guard)
    "CHIBO_WEBHOOK_ALLOWED_HOSTS": '["127.0.0.1"]',
}
"""Webhook deliveries fail at once, so notification.failed.v1 goes out too (every type out is read by the SDKs)."""


@pytest.fixture(scope="package")
def system(amqp_url: str, database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    """The four services and the mail sink, started once for the package on its own database."""
    with (
        fresh_database(database_url) as own_database,
        running_system(
            amqp_url=amqp_url,
            database_url=own_database,
            workdir=tmp_path_factory.mktemp("system"),
            extra_env=FAILING_WEBHOOK,
        ) as s,
    ):
        yield s


@pytest.fixture(scope="package")
def integration_token(system: RunningSystem) -> str:
    """A token of an integration account, issued with the gateway's own command."""
    # a partner feeding the whole province (root committee included) is explicitly province-wide
    return issue_token(system, role="integration", unit=None, sub=random_id("partner"), province_wide=True)


@pytest.fixture(scope="package")
def operator_token(system: RunningSystem) -> str:
    """A token of an operator."""
    return issue_token(system, role="operator", unit=None, sub=random_id("operator"))


@pytest.fixture
async def gateway(system: RunningSystem, integration_token: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the gateway holding the integration token."""
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=60, headers={"Authorization": f"Bearer {integration_token}"}
    ) as client:
        yield client


@pytest.fixture
async def events_out(system: RunningSystem) -> AsyncIterator[Tap]:
    """Every message published on chibo.events while the test runs, as it came off the wire."""
    async with tap(system.env["CHIBO_AMQP_URL"]) as seen:
        yield seen


@pytest.fixture
async def meetings_db(system: RunningSystem) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the system's database, on the meetings schema."""
    conn = await asyncpg.connect(system.env["CHIBO_DATABASE_URL"], server_settings={"search_path": "meetings"})
    try:
        yield conn
    finally:
        await conn.close()
