"""What evaluation.consumers.on_fact counts of a delivery (a batch message, a bulk one) is what consume_event then
applies: a JSON array with CloudEvents attribute headers is one binary-mode event (shared.bindings.read_message),
not a batch; the same array without them, or the batch content type, is a batch. Real RabbitMQ deliveries, the
application itself stood in for (only the counting is looked at)."""

import json
import uuid
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any, cast

import aio_pika
import pytest
from faststream.rabbit.message import RabbitMessage
from faststream.rabbit.parser import AioPikaParser

from services.evaluation import consumers
from services.evaluation.activity import FactActivity
from services.evaluation.context import EvaluationContext
from shared.envelope import BATCH_CONTENT_TYPE
from tests.support.running import eventually

ARRAY = json.dumps([{"n": index, "text": "x" * 100} for index in range(1000)]).encode()
"""A JSON array past the bulk size (64 KiB)."""
BINARY_HEADERS: dict[str, Any] = {
    "cloudEvents:specversion": "1.0",
    "cloudEvents:id": "evt-array",
    "cloudEvents:source": "urn:chibo:meetings",
    "cloudEvents:type": "meeting.scheduled.v1",
}


@pytest.fixture
async def connection(amqp_url: str) -> AsyncIterator[aio_pika.abc.AbstractConnection]:
    """A connection to the test run's virtual host."""
    connection = await aio_pika.connect(amqp_url)
    yield connection
    await connection.close()


async def delivered(connection: aio_pika.abc.AbstractConnection, message: aio_pika.Message) -> RabbitMessage:
    """`message` through a fresh queue, delivered (not acked) and parsed as FastStream hands it to on_fact."""
    name = f"fact-counting-{uuid.uuid4().hex[:8]}"
    channel = await connection.channel()
    queue = await channel.declare_queue(name, auto_delete=True)
    await channel.default_exchange.publish(message, routing_key=name)
    received: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def keep(incoming: aio_pika.abc.AbstractIncomingMessage) -> None:
        received.append(incoming)

    await queue.consume(keep)
    await eventually(lambda: len(received) == 1)
    return cast(RabbitMessage, await AioPikaParser().parse_message(received[0]))  # type: ignore[arg-type]


async def counted(message: RabbitMessage, monkeypatch: pytest.MonkeyPatch) -> tuple[int, bool]:
    """(batch messages in flight, bulk) as on_fact counts the delivery while consume_event applies it."""
    activity = FactActivity()
    seen: list[tuple[int, bool]] = []

    async def consume(*args: Any, **kwargs: Any) -> None:
        seen.append((activity._batches_in_flight, activity.bulk))

    monkeypatch.setattr(consumers, "consume_event", consume)
    app = cast(EvaluationContext, SimpleNamespace(facts_activity=activity, uow_factory=None, publishers=None))
    await consumers.on_fact(message, app)
    await message.raw_message.channel.close()
    assert activity._batches_in_flight == 0
    return seen[0]


async def test_a_json_array_with_attribute_headers_counts_as_one_binary_mode_event(
    connection: aio_pika.abc.AbstractConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = aio_pika.Message(ARRAY, content_type="application/json", headers=BINARY_HEADERS)
    assert await counted(await delivered(connection, message), monkeypatch) == (0, False)


@pytest.mark.parametrize("content_type", ["application/json", BATCH_CONTENT_TYPE])
async def test_a_batch_counts_as_a_bulk_batch(
    connection: aio_pika.abc.AbstractConnection, monkeypatch: pytest.MonkeyPatch, content_type: str
) -> None:
    message = aio_pika.Message(ARRAY, content_type=content_type)
    assert await counted(await delivered(connection, message), monkeypatch) == (1, True)
