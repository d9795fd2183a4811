"""Fixtures of the gateway tests: the fake services on the real broker, the app in its lifespan, tokens."""

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import aio_pika
import httpx
import pytest
from aio_pika.abc import AbstractChannel

from services.gateway.auth import Role
from services.gateway.bootstrap import GatewayState
from services.gateway.config import GatewaySettings
from services.gateway.handlers import create_account, require_member
from services.gateway.main import create_app
from shared.topology import CONSUMER_QUEUES, EVALUATION_FACTS, declare_topology
from tests.gateway.fakes import FakeServices, World
from tests.support.ids import random_id
from tests.support.web import signed_in_web

TokenFactory = Callable[..., Awaitable[dict[str, str]]]
OfficerWeb = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]
RPC_TIMEOUT = 5.0
"""Seconds the gateway under test waits for a service: long enough for a fake's reply on a loaded machine (1 s was
not), short enough for the tests that stop a service and wait for the 503."""
INGEST_TIMEOUT = 10.0


def gateway_settings(amqp_url: str, database_url: str, **overrides: Any) -> GatewaySettings:
    """Settings for a gateway under test: RPC timeouts of a few seconds, generous limits unless a test lowers them."""
    values: dict[str, Any] = {
        "amqp_url": amqp_url,
        "database_url": database_url,
        "jwt_secret": secrets.token_urlsafe(32),
        "rpc_timeout": RPC_TIMEOUT,
        "ingest_timeout": INGEST_TIMEOUT,
        "rate_limit_per_minute": 100_000,
        "rate_limit_burst": 10_000,
        "anonymous_limit": "100000/minute",
        "log_json": True,
        "service_health_urls": {},
        **overrides,
    }
    return GatewaySettings(**values)


@pytest.fixture(scope="package")
async def fakes(amqp_url: str) -> AsyncIterator[FakeServices]:
    """meetings, evaluation and notifications, answering from memory."""
    services = FakeServices(amqp_url)
    await services.start()
    try:
        yield services
    finally:
        await services.stop()


@pytest.fixture(scope="package")
def world(fakes: FakeServices) -> World:
    """The fake province."""
    return fakes.world


@pytest.fixture(scope="package")
async def app_and_state(
    amqp_url: str, database_url: str, fakes: FakeServices
) -> AsyncIterator[tuple[object, GatewayState]]:
    """The gateway app inside its lifespan."""
    app = create_app(gateway_settings(amqp_url, database_url))
    async with app.router.lifespan_context(app):
        yield app, app.state.gateway


@pytest.fixture(scope="package")
async def client(app_and_state: tuple[object, GatewayState]) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client driving the app in-process."""
    app, _ = app_and_state
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 4711))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway", timeout=10) as http:
        yield http


@pytest.fixture(scope="package")
def officer_web(app_and_state: tuple[object, GatewayState], amqp_url: str, database_url: str) -> OfficerWeb:
    """Opens a browser of its own on the app, signed in as a new committee officer:
    `officer_web(prefix, unit, peer=(address, port))` (tests.support.web.signed_in_web)."""
    app, _ = app_and_state

    def opened(prefix: str, unit: str, *, peer: tuple[str, int]) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        return signed_in_web(app, prefix, "committee_officer", unit, database_url, amqp_url, peer=peer)

    return opened


@pytest.fixture(scope="package")
def state(app_and_state: tuple[object, GatewayState]) -> GatewayState:
    """The gateway's state (pool, accounts, secret)."""
    return app_and_state[1]


async def issue_token(
    state: GatewayState,
    role: Role | str,
    unit: str | None = None,
    person: str | None = None,
    *,
    province_wide: bool | None = None,
    sources: tuple[str, ...] = (),
) -> str:
    """A token of a new local account of `role` for a day (province-wide by default for an integration account
    without a unit), checked as `POST /v1/accounts` checks it: a member's or secretary's person must be a member of
    the cell, a secretary's its secretary or deputy (handlers.require_member, asked of the fake meetings)."""
    role = Role(role)
    await require_member(state.rpc, role=role, unit_id=unit, person_id=person)
    if province_wide is None:
        province_wide = role is Role.INTEGRATION and unit is None
    _, token = await create_account(
        state.accounts,
        secret=state.secret,
        issuer=state.settings.jwt_issuer,
        sub=random_id(role.value),
        role=role,
        unit_id=unit,
        person_id=person,
        days=1,
        max_days=state.settings.token_max_days,
        province_wide=province_wide,
        sources=sources,
    )
    return token


@pytest.fixture(scope="package")
def token_for(state: GatewayState) -> TokenFactory:
    """Record a local account and return the Authorization header of its token."""

    async def make(
        role: Role | str,
        unit: str | None = None,
        person: str | None = None,
        *,
        province_wide: bool | None = None,
        sources: tuple[str, ...] = (),
    ) -> dict[str, str]:
        token = await issue_token(state, role, unit, person, province_wide=province_wide, sources=sources)
        return {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture(scope="package")
async def headers(token_for: TokenFactory, world: World) -> dict[str, dict[str, str]]:
    """One token per kind of caller, placed in the fake province."""
    return {
        "member": await token_for("member", world.cell_a1, world.member_a1),
        "secretary": await token_for("secretary", world.cell_a1, world.secretary_a1),
        "ward_officer": await token_for("committee_officer", world.ward_a, world.officer_a),
        "province_officer": await token_for("committee_officer", world.root, world.officer_root),
        "integration": await token_for("integration"),
        "operator": await token_for("operator"),
        "admin": await token_for("admin"),
    }


@pytest.fixture
async def channel(amqp_url: str) -> AsyncIterator[AbstractChannel]:
    """A channel of the test's own, on the package's vhost, with the topology declared and evaluation's queue and
    dead letters emptied (the counts and the message taken below are this test's own, not one an earlier test of
    the package left in the queue)."""
    await declare_topology(amqp_url, CONSUMER_QUEUES)
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        await (await channel.get_queue(EVALUATION_FACTS.name, ensure=False)).purge()
        await (await channel.get_queue(EVALUATION_FACTS.dead_letter_queue, ensure=False)).purge()
        yield channel
    finally:
        await connection.close()
