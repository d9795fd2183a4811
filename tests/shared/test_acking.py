"""Deliveries that finish together are acked with one frame, and never an ack past an unsettled delivery (real
RabbitMQ: what is left in the queue once the channel closes is what was not acked)."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import aio_pika
import pytest
from faststream.rabbit.message import RabbitMessage
from faststream.rabbit.parser import AioPikaParser

from shared.acking import ChannelAcks
from tests.support.running import eventually


@pytest.fixture
async def connection(amqp_url: str) -> AsyncIterator[aio_pika.abc.AbstractConnection]:
    connection = await aio_pika.connect(amqp_url)
    yield connection
    await connection.close()


async def deliveries(connection: aio_pika.abc.AbstractConnection, count: int) -> tuple[str, list[RabbitMessage]]:
    """A fresh queue holding `count` messages, all delivered (not acked) on a new channel, in order."""
    name = f"acking-{uuid.uuid4().hex[:8]}"
    setup = await connection.channel()
    queue = await setup.declare_queue(name, auto_delete=False)
    for index in range(count):
        await setup.default_exchange.publish(aio_pika.Message(str(index).encode()), routing_key=name)
    await setup.close()
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=count)
    queue = await channel.get_queue(name)
    received: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def keep(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        received.append(message)

    await queue.consume(keep)
    await eventually(lambda: len(received) == count)
    parser = AioPikaParser()
    return name, [await parser.parse_message(message) for message in received]  # type: ignore[misc,arg-type]


async def left_after_close(
    connection: aio_pika.abc.AbstractConnection, messages: list[RabbitMessage], name: str
) -> int:
    """Close the deliveries' channel (unacked ones go back) and count what the queue holds."""
    channel = messages[0].raw_message.channel
    assert not channel.is_closed  # no ack of an unknown tag closed it
    await channel.close()
    probe = await connection.channel()
    queue = await probe.declare_queue(name, passive=True)
    count = queue.declaration_result.message_count
    await queue.delete(if_unused=False, if_empty=False)
    await probe.close()
    return int(count or 0)


async def test_deliveries_that_end_together_are_acked_with_one_frame(connection) -> None:  # type: ignore[no-untyped-def]
    name, messages = await deliveries(connection, 12)
    acks = ChannelAcks.for_message(messages[0])
    for message in messages:
        acks.begin(message)
    await asyncio.gather(*(acks.ack(message) for message in messages[:10]))
    assert acks.frames == 1
    assert await left_after_close(connection, messages, name) == 2  # the two never settled


async def test_no_ack_reaches_past_a_delivery_still_running_or_rejected(connection) -> None:  # type: ignore[no-untyped-def]
    name, messages = await deliveries(connection, 8)
    acks = ChannelAcks.for_message(messages[0])
    for message in messages:
        acks.begin(message)
    await acks.ack(messages[0])
    # 1 still runs: 2 and 3 wait for it a moment, then go alone
    await asyncio.gather(acks.ack(messages[2]), acks.ack(messages[3]))
    # 1 is rejected (dropped): from there on, consecutive acks run together again
    await acks.reject(messages[1], requeue=False)
    frames = acks.frames
    await asyncio.gather(acks.ack(messages[4]), acks.ack(messages[5]))
    assert acks.frames == frames + 1
    # 6 still runs when the channel closes; 7 is acked alone after it: only 6 goes back to the queue
    await acks.ack(messages[7])
    assert await left_after_close(connection, messages, name) == 1


async def test_a_rejected_delivery_with_requeue_comes_back(connection) -> None:  # type: ignore[no-untyped-def]
    name, messages = await deliveries(connection, 3)
    acks = ChannelAcks.for_message(messages[0])
    for message in messages:
        acks.begin(message)
    await acks.reject(messages[1], requeue=True)
    await asyncio.gather(acks.ack(messages[0]), acks.ack(messages[2]))
    assert acks.frames == 1  # 0 and 2 around the rejected 1
    assert await left_after_close(connection, messages, name) == 1


async def test_a_cancelled_ack_waiter_is_still_acked_with_its_run(connection) -> None:  # type: ignore[no-untyped-def]
    name, messages = await deliveries(connection, 3)
    acks = ChannelAcks.for_message(messages[0])
    for message in messages:
        acks.begin(message)
    cancelled = asyncio.create_task(acks.ack(messages[1]))
    await asyncio.sleep(0)  # its waiter is queued for the run
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    await asyncio.gather(acks.ack(messages[0]), acks.ack(messages[2]))
    await eventually(lambda: acks.frames >= 1)
    assert await left_after_close(connection, messages, name) == 0  # 1 went with 0 and 2 though its waiter left
