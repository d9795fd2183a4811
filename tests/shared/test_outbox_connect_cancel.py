"""The outbox relay cancelled while aio_pika.connect_robust connects (a shutdown's cancel, or a supervisor's).

aio_pika's RobustConnection.connect starts a reconnecting task of its own and then waits for it; a cancel of the
waiting relay left that task running: the half-made connection went on to connect and stayed open (reconnecting
for ever once its broker went away), unreferenced by the relay, which closes only the connection it holds.
Real RabbitMQ and PostgreSQL (the probe schema of test_messaging).
"""

import asyncio
import json
from typing import Any

import aio_pika
import asyncpg
import pytest

from shared.contracts.meetings import MeetingCancelled
from shared.envelope import new_event
from shared.outbox import OutboxRelay, add_to_outbox
from tests.shared.conftest import SCHEMA
from tests.shared.test_messaging import bound_queue
from tests.support.ids import random_id
from tests.support.running import eventually


def _reconnecting(connection: aio_pika.RobustConnection) -> bool:
    """Whether the connection's own reconnecting task still runs (it would connect, and reconnect, on its own)."""
    task: asyncio.Task[None] | None = getattr(connection, "_RobustConnection__reconnection_task", None)
    return task is not None and not task.done()


@pytest.mark.parametrize("moment", ["connect", "handshake"])
async def test_a_relay_cancelled_while_connecting_leaves_no_connection_open_and_starts_again_cleanly(
    pool: asyncpg.Pool, channel: aio_pika.abc.AbstractChannel, amqp_url: str, moment: str, monkeypatch: Any
) -> None:
    """`connect`: cancelled as RobustConnection.connect begins (its reconnecting task made, not yet run);
    `handshake`: cancelled while that task is opening the transport (the AMQP handshake under way)."""
    made: list[aio_pika.RobustConnection] = []
    at_moment = asyncio.Event()
    robust_connect = aio_pika.RobustConnection.connect
    transport_connect = aio_pika.Connection.connect

    async def connect(self: aio_pika.RobustConnection, timeout: Any = None) -> None:
        made.append(self)
        if moment == "connect":
            at_moment.set()
        await robust_connect(self, timeout)

    async def handshake(self: aio_pika.Connection, timeout: Any = None) -> None:
        if moment == "handshake":
            at_moment.set()
        await transport_connect(self, timeout)

    monkeypatch.setattr(aio_pika.RobustConnection, "connect", connect)
    monkeypatch.setattr(aio_pika.Connection, "connect", handshake)
    relay = OutboxRelay(pool=pool, schema=SCHEMA, amqp_url=amqp_url, poll_seconds=0.2)
    task = asyncio.create_task(relay.run())
    await asyncio.wait_for(at_moment.wait(), timeout=15)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(made) == 1
    [half] = made
    try:
        # the relay's cancel closed what it had begun: nothing left to connect on its own
        assert not _reconnecting(half), "the half-made connection still (re)connects on its own"
        assert half.is_closed and half.transport is None
    finally:
        await half.close()  # when the assertions fail: not left to reconnect into later tests
    # the same relay runs again (a supervisor's restart) and publishes
    monkeypatch.undo()
    queue = await bound_queue(channel, "meeting.cancelled.v1")
    meeting_id = random_id("after-cancel")
    event = new_event(
        type="meeting.cancelled.v1",
        source="urn:test:relay",
        event_id=meeting_id,
        data=MeetingCancelled(meeting_id=meeting_id, reason="Mưa bão"),
    )
    async with pool.acquire() as conn, conn.transaction():
        await add_to_outbox(conn, [event], schema=SCHEMA)
    again = asyncio.create_task(relay.run())
    seen: list[str] = []

    async def published() -> bool:
        while (message := await queue.get(fail=False, no_ack=True)) is not None:
            body = json.loads(message.body)
            seen.extend(item["data"]["meeting_id"] for item in (body if isinstance(body, list) else [body]))
        return meeting_id in seen

    try:
        await eventually(published, timeout=25)
    finally:
        relay.stop()
        await asyncio.wait_for(again, timeout=15)
