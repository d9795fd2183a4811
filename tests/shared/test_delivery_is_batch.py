"""One reading of a delivery's shape for every consumer (shared.consuming.delivery_is_batch), on both exchanges:
a JSON array with CloudEvents attribute headers (`ce-`, or the AMQP binding's `cloudEvents:`) is one binary-mode event
whose `data` is the array (CONTRACT.md "Routes in": the attributes as headers, the body is `data`); the same array
without them, or any body of the batch content type, is a batch (CONTRACT.md: batches on chibo.ingest and
chibo.events). Real RabbitMQ deliveries through chibo.ingest and chibo.events, as the consumers receive them."""

import json
import uuid
from typing import Any

import aio_pika
import pytest

from shared.consuming import Origin, delivery_is_batch
from shared.envelope import BATCH_CONTENT_TYPE, CLOUDEVENT_CONTENT_TYPE
from shared.topology import EVENTS_EXCHANGE, INGEST_EXCHANGE
from tests.support.running import eventually

ARRAY = json.dumps([{"id": "m-1", "full_name": "Nguyễn Văn A"}]).encode()
TYPE = "member.upserted.v1"
CE = {"ce-specversion": "1.0", "ce-id": "evt-a", "ce-source": "urn:test:a", "ce-type": TYPE}
AMQP = {f"cloudEvents:{name[3:]}": value for name, value in CE.items()}

CASES: list[tuple[str, str, dict[str, Any] | None, bytes, bool]] = [
    # (content type, routing key, headers, body, a batch)
    ("application/json", TYPE, CE, ARRAY, False),
    ("application/json", TYPE, AMQP, ARRAY, False),
    ("application/json", TYPE, None, ARRAY, True),
    ("application/json", TYPE, None, b"  " + ARRAY, True),
    (BATCH_CONTENT_TYPE, TYPE, None, ARRAY, True),
    ("application/json", TYPE, CE, b'{"id": "m-1"}', False),
    (CLOUDEVENT_CONTENT_TYPE, TYPE, None, b'{"specversion": "1.0"}', False),
]


async def delivered(
    channel: aio_pika.abc.AbstractChannel, exchange_name: str, cases: list[tuple[str, str, Any, bytes, bool]]
) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """Each case published to `exchange_name` and delivered, in order, to a fresh queue bound to it."""
    exchange = await channel.get_exchange(exchange_name)
    queue = await channel.declare_queue(f"is-batch-{uuid.uuid4().hex[:8]}", auto_delete=True)
    await queue.bind(exchange, routing_key="#")
    for content_type, key, headers, body, _ in cases:
        await exchange.publish(aio_pika.Message(body, content_type=content_type, headers=headers), routing_key=key)
    received: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def keep(incoming: aio_pika.abc.AbstractIncomingMessage) -> None:
        received.append(incoming)

    tag = await queue.consume(keep, no_ack=True)
    await eventually(lambda: len(received) == len(cases))
    await queue.cancel(tag)
    return received


@pytest.mark.parametrize("exchange", [INGEST_EXCHANGE, EVENTS_EXCHANGE])
async def test_a_json_array_is_a_batch_only_without_attribute_headers_on_both_exchanges(
    channel: aio_pika.abc.AbstractChannel, exchange: str
) -> None:
    got = [delivery_is_batch(raw) for raw in await delivered(channel, exchange, CASES)]
    assert got == [case[-1] for case in CASES]


async def test_a_copy_handed_back_is_read_under_its_original_routing_key(
    channel: aio_pika.abc.AbstractChannel,
) -> None:
    # a batch on chibo.ingest under `batch` whose copy waits in the consumer's queue (default exchange, the queue's
    # name as key): still a batch, as first published
    cases = [(CLOUDEVENT_CONTENT_TYPE, "batch", None, ARRAY, True)]
    [raw] = await delivered(channel, INGEST_EXCHANGE, cases)
    assert delivery_is_batch(raw, Origin(INGEST_EXCHANGE, "batch", None)) is True
    assert delivery_is_batch(raw, Origin("", "meetings.ingest", None)) is False
