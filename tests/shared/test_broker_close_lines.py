"""A broker that closes a connection or refuses a reconnect is logged with its reply code and text and which
connection (shared.broker_logs). The gateway's reconnect warning said only aio-pika's `... got <Connection.Close
object at 0x…>` during chibo's trial: the broker's reason (320 CONNECTION_FORCED, its reply text) was lost.

Against the real broker: a connection of a virtual host of its own is closed by the broker (rabbitmqctl
close_connection), then the virtual host is deleted, so each reconnect is refused by a Connection.Close."""

import asyncio
import shutil
import subprocess
import uuid
from collections.abc import Iterator, MutableMapping
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import aio_pika
import pytest
from structlog.testing import capture_logs

from shared.broker_logs import install_broker_close_lines


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


async def wait_for(
    lines: list[MutableMapping[str, Any]], event: str, timeout: float = 30.0
) -> MutableMapping[str, Any]:
    """The first captured line of `event`, waiting for it up to `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while True:
            found = [line for line in lines if line["event"] == event]
            if found:
                return found[0]
            await asyncio.sleep(0.05)


async def test_a_closed_connection_and_a_refused_reconnect_say_the_brokers_reason(
    own_vhost: tuple[str, str],
) -> None:
    vhost, url = own_vhost
    install_broker_close_lines()
    with capture_logs() as lines:
        connection = await aio_pika.connect_robust(url, reconnect_interval=0.2)
        try:
            pids = [line.split("\t") for line in rabbitmqctl("list_connections", "pid", "vhost").splitlines()]
            [pid] = [fields[0] for fields in pids if len(fields) == 2 and fields[1] == vhost]
            rabbitmqctl("close_connection", pid, "closed by the test")
            closed = await wait_for(lines, "broker_connection_closed")
            assert closed["reply_code"] == 320
            assert "CONNECTION_FORCED" in str(closed["reply_text"]) and "closed by the test" in str(
                closed["reply_text"]
            )
            assert vhost in str(closed["connection"]) and "guest:guest" not in str(closed["connection"])

            await asyncio.wait_for(connection.connected.wait(), timeout=30)
            rabbitmqctl("delete_vhost", vhost)
            refused = await wait_for(lines, "broker_reconnect_failed")
            assert refused["reply_code"] == 530, refused
            assert vhost in str(refused["reply_text"]) and vhost in str(refused["connection"])
        finally:
            await connection.close()
