"""RabbitMQ or PostgreSQL unreachable for the gateway: every route answers 503 naming which (with Retry-After), the
web app a Vietnamese page saying so, never 500 `internal`.

The operator trial: with the gateway's broker link down, /v1/operations/overview, /v1/dead-letters, /v1/held-events,
/v1/rejections and POST /v1/events answered 500 (RuntimeError('Connection was not opened')) and /app/operations the
generic error page; with its database down /v1/system/health itself answered 500."""

import json
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from services.gateway.auth import Role
from services.gateway.bootstrap import GatewayState
from services.gateway.config import GatewaySettings
from services.gateway.main import create_app
from tests.gateway.conftest import gateway_settings, issue_token
from tests.gateway.fakes import FakeServices, World
from tests.gateway.test_ingest import SINGLE, unit_event
from tests.support.proxy import CuttableProxy, cuttable
from tests.support.running import eventually
from tests.support.web import sign_in

PASSWORD = "an operator's long passphrase 42"


async def token(state: GatewayState, role: Role) -> dict[str, str]:
    """The Authorization header of a new local account of `role` (province-wide)."""
    issued = await issue_token(state, role)
    return {"Authorization": f"Bearer {issued}"}


async def sign_in_operator(http: httpx.AsyncClient, settings: GatewaySettings) -> None:
    """Sign `http` in to the web app as a new operator."""
    await sign_in(http, settings, sub=f"ops-{uuid.uuid4().hex[:8]}", role="operator", unit=None, password=PASSWORD)


@pytest.fixture
async def gateway_behind(
    amqp_url: str, database_url: str, fakes: FakeServices
) -> AsyncIterator[tuple[FastAPI, CuttableProxy]]:
    """A gateway whose broker link runs through a proxy the test can cut (the fakes keep the real broker)."""
    async with cuttable(amqp_url) as proxy:
        app = create_app(gateway_settings(proxy.url(amqp_url), database_url))
        async with app.router.lifespan_context(app):
            yield app, proxy


async def test_with_the_broker_unreachable_every_route_is_503_naming_the_broker(
    gateway_behind: tuple[FastAPI, CuttableProxy], world: World, database_url: str, amqp_url: str
) -> None:
    app, proxy = gateway_behind
    state: GatewayState = app.state.gateway
    operator = await token(state, Role.OPERATOR)
    integration = await token(state, Role.INTEGRATION)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw", timeout=30) as http:
        await sign_in_operator(http, GatewaySettings(database_url=database_url, amqp_url=amqp_url))
        await proxy.cut()

        async def broker_gone() -> bool:
            return not await state.broker.ping(timeout=1)

        await eventually(broker_gone)
        for path in ("/v1/operations/overview", "/v1/dead-letters", "/v1/held-events", "/v1/rejections"):
            answer = await http.get(path, headers=operator)
            assert answer.status_code == 503, (path, answer.text)
            body = answer.json()
            assert body["code"] == "unavailable" and body["service"] == "broker", (path, body)
            assert "RabbitMQ" in body["message"], body
            assert answer.headers["retry-after"]
        event = unit_event(world, source="urn:test:member-db")
        posted = await http.post("/v1/events", content=json.dumps(event), headers={**integration, **SINGLE})
        assert posted.status_code == 503 and posted.json()["service"] == "broker", posted.text
        assert posted.headers["retry-after"]
        page = await http.get("/app/operations")
        assert page.status_code == 503 and page.headers["content-type"].startswith("text/html"), page.text
        assert "RabbitMQ" in page.text and "Hệ thống tạm thời không hoạt động" in page.text, page.text
        health = await http.get("/health")
        assert health.status_code == 503
        assert health.json()["broker"].startswith("down: connection refused"), health.json()


@pytest.fixture
async def throwaway_database(database_url: str) -> AsyncIterator[str]:
    """A database of its own for one gateway, dropped afterwards (its connections may be refused meanwhile)."""
    name = f"chibo_outage_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(urlunsplit(urlsplit(database_url)._replace(path="/postgres")))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def test_with_the_database_refusing_connections_the_api_is_503_naming_the_database(
    amqp_url: str, database_url: str, throwaway_database: str, fakes: FakeServices
) -> None:
    app = create_app(gateway_settings(amqp_url, throwaway_database))
    name = urlsplit(throwaway_database).path.lstrip("/")
    admin = await asyncpg.connect(urlunsplit(urlsplit(database_url)._replace(path="/postgres")))
    try:
        async with app.router.lifespan_context(app):
            state: GatewayState = app.state.gateway
            operator = await token(state, Role.OPERATOR)
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://gw", timeout=30) as http:
                await sign_in_operator(http, GatewaySettings(database_url=throwaway_database, amqp_url=amqp_url))
                await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
                try:
                    for path in ("/v1/system/health", "/v1/operations/overview"):
                        answer = await http.get(path, headers=operator)
                        assert answer.status_code == 503, (path, answer.text)
                        body = answer.json()
                        assert body["code"] == "unavailable" and body["service"] == "database", body
                        assert "PostgreSQL" in body["message"], body
                        assert answer.headers["retry-after"]
                    page = await http.get("/app/operations")
                    assert page.status_code == 503 and page.headers["content-type"].startswith("text/html"), page.text
                    assert "PostgreSQL" in page.text and "Hệ thống tạm thời không hoạt động" in page.text, page.text
                    health = await http.get("/health")
                    assert health.status_code == 503 and health.json()["database"].startswith("down"), health.text
                finally:
                    await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    finally:
        await admin.close()
