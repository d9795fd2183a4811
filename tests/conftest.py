"""Session-wide fixtures: the real broker and database every integration test uses."""

from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from shared import backlog
from shared.db import ensure_database
from tests.support.connections import left_open_by, track_robust_connections
from tests.support.env import broker_and_database, fresh_database, isolated_vhost


def pytest_configure(config: pytest.Config) -> None:
    """Record every robust broker connection of the run, so a virtual host deleted while one still reconnects to it
    fails where it is deleted, naming the test that opened it (tests.support.env.isolated_vhost)."""
    track_robust_connections()


def package_of(nodeid: str) -> str:
    """The nodeid prefix of a test's top-level package (`tests/meetings/`), or its file's path outside one."""
    path = nodeid.split("::", 1)[0]
    parts = path.split("/")
    return "/".join(parts[:2]) + "/" if len(parts) > 2 else path


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Once a package's last test is torn down (its package's fixtures with it), no robust broker connection its
    tests opened may still (re)connect: one left open logs `broker_reconnect_failed` into later tests once its
    vhost is gone. A teardown error of that last test names the tests that opened them."""
    result = yield
    package = package_of(item.nodeid)
    if nextitem is None or package_of(nextitem.nodeid) != package:
        openers = left_open_by(package)
        if openers:
            raise AssertionError(
                f"{package}: robust broker connections still open after the package's fixtures were torn down (a"
                " broker or service never closed); opened by: " + "; ".join(openers)
            )
    return result


@pytest.fixture(scope="session")
def infra() -> Iterator[tuple[str, str]]:
    """(amqp_url, database_url) of the real services: the database is a fresh one for this test session.

    Two test sessions on one server (CI beside a developer's run, several checkouts) must not share tables: a
    service under test sweeps whole tables (its outbox relay, the scoring worker's dirty cells, held events),
    and would take the other session's rows and publish them into its own virtual host."""
    with broker_and_database() as (amqp_url, database_url), fresh_database(database_url) as own_database:
        yield amqp_url, own_database


@pytest.fixture(scope="package")
def amqp_url(infra: tuple[str, str]) -> Iterator[str]:
    """The RabbitMQ URL tests use: a fresh virtual host, removed afterwards. Package scope declared here, in the root
    package, makes it one for the whole test session under pytest 9 (not one per subpackage): a test that counts a
    queue's messages empties that queue first (tests/gateway/test_recovery.py, tests/web/test_operations_page.py)."""
    with isolated_vhost(infra[0]) as url:
        yield url


@pytest.fixture(scope="session")
async def database_url(infra: tuple[str, str]) -> str:
    """The PostgreSQL URL tests use (the database is created when missing)."""
    await ensure_database(infra[1])
    return infra[1]


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain connection to the test database."""
    conn = await asyncpg.connect(database_url)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
def fresh_backlog(monkeypatch: pytest.MonkeyPatch) -> None:
    """shared.backlog's figures of this test alone: a table of queues of its own, the process's back after it."""
    monkeypatch.setattr(backlog, "_QUEUES", {})
