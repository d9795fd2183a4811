"""A queue's backlog as the broker counts it (shared.broker_api): the messages delivered to a consumer and not yet
acknowledged count with the ready ones. A passive declare gave only the ready ones, so a frozen consumer's queue read 0
while 5 batch messages sat unacknowledged on it (a new user's trial)."""

import uuid

import aio_pika

from shared.broker_api import management_url, queue_figures
from tests.support.running import eventually, free_port


async def test_delivered_unacknowledged_messages_count_with_the_ready_ones(amqp_url: str) -> None:
    api = management_url(amqp_url)
    name = f"backlog.{uuid.uuid4().hex[:8]}"
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        await channel.declare_queue(name, auto_delete=False)
        for n in range(3):
            await channel.default_exchange.publish(aio_pika.Message(str(n).encode()), routing_key=name)
        holder = await connection.channel()
        await holder.set_qos(prefetch_count=2)
        held: list[aio_pika.abc.AbstractIncomingMessage] = []

        async def hold(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            held.append(message)  # never acknowledged: a consumer that stopped mid-batch

        await (await holder.get_queue(name)).consume(hold)

        async def counted() -> bool:
            found = await queue_figures(amqp_url, api)
            row = (found or {}).get(name)
            return row is not None and (row.ready, row.unacknowledged, row.consumers) == (1, 2, 1)

        await eventually(counted, timeout=60, interval=0.5)  # the broker's statistics are sampled every 5 s
        await channel.queue_delete(name)
    finally:
        await connection.close()


async def test_no_management_api_is_none(amqp_url: str) -> None:
    assert await queue_figures(amqp_url, f"http://127.0.0.1:{free_port()}", timeout=1) is None
    assert await queue_figures(amqp_url, management_url(amqp_url, "off")) is None
