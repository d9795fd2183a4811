"""A broker that closes a connection or refuses a reconnect is logged with its reply code and text and which
connection (shared.broker_logs). The gateway's reconnect warning said only aio-pika's `... got <Connection.Close
object at 0x…>` during chibo's trial: the broker's reason (320 CONNECTION_FORCED, its reply text) was lost.

Against the real broker: a connection of a virtual host of its own is closed by the broker (rabbitmqctl
close_connection), then the virtual host is deleted, so each reconnect is refused by a Connection.Close."""

import asyncio
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import aio_pika
import pytest

from tests.support.logs import route_logs_to_stdlib, structured_logs
from tests.support.running import eventually


def rabbitmqctl(*args: str) -> str:
    """rabbitmqctl's output (quiet), failing the test when it fails."""
    return subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, text=True, timeout=60).stdout


@pytest.fixture
def own_vhost(amqp_url: str) -> Iterator[tuple[str, str]]:
    """(vhost, url) of a virtual host this test may delete."""
    if shutil.which("rabbitmqctl") is None:
        pytest.fail("these tests close connections with rabbitmqctl, which this machine lacks")
    name = f"chibo-close-{uuid.uuid4().hex[:8]}"
    user = urlsplit(amqp_url).username or "guest"
    rabbitmqctl("add_vhost", name)
    rabbitmqctl("set_permissions", "-p", name, user, ".*", ".*", ".*")
    try:
        yield name, urlunsplit(urlsplit(amqp_url)._replace(path="/" + quote(name, safe="")))
    finally:
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", name], capture_output=True, timeout=60)


async def wait_for(caplog: pytest.LogCaptureFixture, event: str, vhost: str, timeout: float = 30.0) -> dict[str, Any]:
    """The first captured line of `event` about a connection to `vhost`, waiting for it up to `timeout` seconds: an
    earlier test's robust connection to a virtual host since deleted may still be logging its own refused reconnects
    in this process (a full run's `broker_reconnect_failed` of `chibo-test-…`), and those are not this test's."""

    def found() -> list[dict[str, Any]]:
        return [
            line
            for line in structured_logs(caplog)
            if line.get("event") == event and f"/{vhost}" in str(line.get("connection", ""))
        ]

    lines: list[dict[str, Any]] = await eventually(found, timeout=timeout, interval=0.05)
    return lines[0]


async def test_a_closed_connection_and_a_refused_reconnect_say_the_brokers_reason(
    own_vhost: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    vhost, url = own_vhost
    route_logs_to_stdlib(caplog)  # as every service configures its logging (which installs the lines' filter)
    connection = await aio_pika.connect_robust(url, reconnect_interval=0.2)
    try:
        pids = [line.split("\t") for line in rabbitmqctl("list_connections", "pid", "vhost").splitlines()]
        [pid] = [fields[0] for fields in pids if len(fields) == 2 and fields[1] == vhost]
        rabbitmqctl("close_connection", pid, "closed by the test")
        closed = await wait_for(caplog, "broker_connection_closed", vhost)
        assert closed["reply_code"] == 320 and closed["level"] == "warning"
        assert "CONNECTION_FORCED" in closed["reply_text"] and "closed by the test" in closed["reply_text"]
        assert vhost in closed["connection"] and "guest:guest" not in closed["connection"]

        await asyncio.wait_for(connection.connected.wait(), timeout=30)
        rabbitmqctl("delete_vhost", vhost)
        refused = await wait_for(caplog, "broker_reconnect_failed", vhost)
        assert refused["reply_code"] == 530, refused
        assert vhost in refused["reply_text"] and vhost in refused["connection"]
        # aio-pika's own line, which named no reason, is not written beside it
        assert not any("Connection.Close object" in record.getMessage() for record in caplog.records)
    finally:
        await connection.close()
