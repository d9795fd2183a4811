"""A process killed outright is down on the gateway's board at once, as `make status` sees it, not after the window.

The fresh-user trial: `kill -9` of a service showed it `ok` on the system health and the operations page for 12-20 s
(its last heartbeat still within the 15 s window) while `make status` already said down. A real process sends real
heartbeats over RabbitMQ and listens on its port; the board (shared.instances.InstanceBoard.check_local) finds it
dead as soon as its pid is gone and its port refuses, while a busy process (its event loop blocked: its port
accepting but never answering, its heartbeats late) stays reporting: load never makes a service flap. A process
stopped by a signal (SIGSTOP, state T) is no busy one: it is `frozen` until SIGCONT (a trial's `kill -STOP` showed the
service working while it answered nothing).
"""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import aio_pika
import pytest

from shared.instances import InstanceBoard
from tests.support.running import eventually, free_port

CHILD = """
import asyncio, signal, sys, time
import aio_pika
from shared.instances import InstanceIdentity, keep_reporting

async def main(url: str, port: int) -> None:
    signal.signal(signal.SIGUSR1, lambda *_: time.sleep(3))  # busy: the event loop blocked for 3 s
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", port)
    connection = await aio_pika.connect_robust(url)
    identity = InstanceIdentity("probe-h207", http_port=port)

    async def connect():
        return connection

    async def summary():
        return True, [], {"status": "ok"}

    async with server:
        await keep_reporting(connect, identity, summary, every_seconds=0.5)

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""
WINDOW = 30.0
"""The board's window: far longer than any wait below, so only check_local can find the process dead in time."""


@pytest.fixture
async def board(amqp_url: str) -> AsyncIterator[InstanceBoard]:
    """A board reading every heartbeat on the test vhost."""
    connection = await aio_pika.connect_robust(amqp_url)
    board = InstanceBoard(window_seconds=WINDOW)
    await board.listen(connection, owner="test-h207")
    yield board
    await board.close()
    await connection.close()


def heartbeating(amqp_url: str, port: int) -> "subprocess.Popen[bytes]":
    """A process of the probe service listening on `port` and sending a heartbeat every 0.5 s on `amqp_url`."""
    return subprocess.Popen([sys.executable, "-c", CHILD, amqp_url, str(port)])


async def verdict(board: InstanceBoard) -> str:
    """The probe service's status after the gateway's liveness check, as /v1/system/health reads it."""
    await board.check_local(timeout=1.0)
    return board.view("probe-h207")[0]


async def test_a_killed_process_is_down_at_once_and_a_stalled_one_stays_reporting(
    board: InstanceBoard, amqp_url: str
) -> None:
    port = free_port()
    child = heartbeating(amqp_url, port)
    try:
        await eventually(lambda: _is(verdict(board), "ok"), timeout=60)
        # busy: no heartbeat, its port accepting but never answering; still reporting, time after time
        child.send_signal(signal.SIGUSR1)
        for _ in range(10):
            assert await verdict(board) == "ok"
            await asyncio.sleep(0.2)
        # stopped by a signal: frozen, its service down, until it runs again
        child.send_signal(signal.SIGSTOP)
        await eventually(lambda: _is(verdict(board), "down"), timeout=30)
        assert [i["state"] for i in board.view("probe-h207")[1]] == ["frozen"]
        child.send_signal(signal.SIGCONT)
        await eventually(lambda: _is(verdict(board), "ok"), timeout=30)
        # killed: down as soon as the process is gone, long before the window would have said it
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        killed_at = time.monotonic()
        await eventually(lambda: _is(verdict(board), "down"), timeout=WINDOW / 2)
        assert time.monotonic() - killed_at < WINDOW / 2
        (instance,) = board.view("probe-h207")[1]
        assert (instance["pid"], instance["state"]) == (child.pid, "missing")
        assert any("its process is gone" in line for line in board.view("probe-h207")[2])
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGCONT)
            child.kill()
            child.wait()


async def _is(answer: "asyncio.Future[str] | object", wanted: str) -> bool:
    """Whether the awaited `answer` is `wanted`."""
    return bool(await answer == wanted)  # type: ignore[misc]
