"""Where the tests find RabbitMQ and PostgreSQL.

The URLs come from the environment and default to the local services. Where a Docker engine
answers and CHIBO_TEST_CONTAINERS=1, testcontainers starts throwaway ones instead.
"""

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote, urlsplit, urlunsplit

from tests.support.connections import left_open

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"


def docker_available() -> bool:
    """True when a Docker engine (not just the client) answers."""
    if shutil.which("docker") is None:
        return False
    result = subprocess.run(["docker", "info"], capture_output=True, timeout=10, check=False)
    return result.returncode == 0


@contextmanager
def broker_and_database() -> Iterator[tuple[str, str]]:
    """Yield (amqp_url, database_url) for the test session."""
    if os.environ.get("CHIBO_TEST_CONTAINERS") == "1" and docker_available():
        from testcontainers.postgres import PostgresContainer
        from testcontainers.rabbitmq import RabbitMqContainer

        with RabbitMqContainer("rabbitmq:3.13-management") as rabbit, PostgresContainer("postgres:16") as pg:
            amqp = f"amqp://guest:guest@{rabbit.get_container_host_ip()}:{rabbit.get_exposed_port(5672)}/"
            dsn = pg.get_connection_url().replace("postgresql+psycopg2://", "postgresql://")
            yield amqp, dsn
        return
    yield (
        os.environ.get("CHIBO_TEST_AMQP_URL", DEFAULT_AMQP_URL),
        os.environ.get("CHIBO_TEST_DATABASE_URL", DEFAULT_DATABASE_URL),
    )


@contextmanager
def isolated_vhost(base_url: str) -> Iterator[str]:
    """A fresh RabbitMQ virtual host, removed afterwards (for a test session, a benchmark run, a system a test starts).

    Its users then see only their own queues and messages: no backlog left by another run's publishes, no RPC
    cross-talk with another test run on the same broker. Without a local rabbitmqctl (a remote or containerised
    broker) the base URL is used as it is. Under pytest (tests/conftest.py tracks robust connections) an
    AssertionError names the tests whose robust connection to it still reconnects once it is deleted.
    """
    if shutil.which("rabbitmqctl") is None or os.environ.get("CHIBO_TEST_SHARED_VHOST") == "1":
        yield base_url
        return
    name = f"chibo-test-{uuid.uuid4().hex[:10]}"
    user = base_url.split("://", 1)[1].split(":", 1)[0] or "guest"
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", name], check=True, capture_output=True, timeout=60)
    subprocess.run(
        ["rabbitmqctl", "-q", "set_permissions", "-p", name, user, ".*", ".*", ".*"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    try:
        yield urlunsplit(urlsplit(base_url)._replace(path="/" + quote(name, safe="")))
    finally:
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", name], check=False, capture_output=True, timeout=60)
    # reached only when the block ended without an error (which is the one to report otherwise)
    openers = left_open(name)
    if openers:
        raise AssertionError(
            f"virtual host {name} deleted while this process still reconnects to it (a broker or service not closed"
            f" before its vhost goes; it would log broker_reconnect_failed into later tests); opened by: "
            + "; ".join(openers)
        )


@contextmanager
def fresh_database(base_url: str) -> Iterator[str]:
    """A new, empty database on the same server for one test package, dropped afterwards.

    Services that sweep whole tables (durable schedules, pending deliveries, held events) must
    not pick up what another package left in the shared test database.
    """
    import asyncio

    import asyncpg

    name = f"chibo_test_{uuid.uuid4().hex[:10]}"
    parts = urlsplit(base_url)
    admin_url = urlunsplit(parts._replace(path="/postgres"))

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield urlunsplit(parts._replace(path="/" + name))
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
