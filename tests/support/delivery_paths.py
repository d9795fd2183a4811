"""Which path a service's deliveries took (FastStream's per-message path or shared.context.light_delivery), and what
became of them on the broker: a queue left with nothing unacknowledged, a dead letter found by its message id."""

import json
import logging
from typing import Any

import aio_pika
import pytest
from faststream.rabbit.subscriber.usecase import RabbitSubscriber

from shared import context, telemetry
from shared.config import broker_user_of
from shared.envelope import CLOUDEVENT_CONTENT_TYPE
from shared.ops.dead_letters import PEEK_MOST, list_dead_letters
from shared.topology import EVENTS_EXCHANGE


def count_framework_paths(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The queues whose deliveries go through FastStream's own per-message path from now on (the test's monkeypatch
    undoes it), and no recording tracer, whatever an earlier test of the process installed (tests/ops/test_traces
    sets the SDK's provider globally, once): the light path's choice and the instrumentation's own spans alike."""
    seen: list[str] = []
    original = RabbitSubscriber.process_message

    async def counted(self: Any, msg: Any) -> Any:
        seen.append(str(getattr(getattr(self, "queue", None), "name", "")))
        return await original(self, msg)

    monkeypatch.setattr(RabbitSubscriber, "process_message", counted)
    monkeypatch.setattr(context, "tracing_recorded", lambda: False)
    monkeypatch.setattr(telemetry, "tracing_recorded", lambda: False)
    return seen


def capture_service_logs(caplog: pytest.LogCaptureFixture) -> None:
    """Let caplog see the structlog lines of an app built before (build_service_app configured logging for its
    service, which stays the lines' `service`), at INFO."""
    logging.getLogger().addHandler(caplog.handler)
    caplog.set_level(logging.INFO)


async def messages_left(amqp_url: str, queue: str) -> int:
    """Messages a queue holds, ready or not: once its consumers are gone, what they had not acknowledged is back."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return declared.declaration_result.message_count or 0
    finally:
        await connection.close()


async def dead_letter(amqp_url: str, queue: str, message_id: str) -> dict[str, Any] | None:
    """The dead letter of `queue` (a .dlq) whose AMQP message id is `message_id`, as an operator lists it (left in
    place); None when there is none."""
    connection = await aio_pika.connect(amqp_url)
    try:
        listing = await list_dead_letters(connection, queue, limit=PEEK_MOST)
    finally:
        await connection.close()
    return next((item for item in listing["items"] if item["message_id"] == message_id), None)


def metric_total(text: str, name: str, **labels: str) -> float:
    """The sum of a Prometheus text exposition's samples of `name` whose labels include `labels`."""
    wanted = [f'{key}="{value}"' for key, value in labels.items()]
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(label in line for label in wanted):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def publish_event(amqp_url: str, event: dict[str, Any], *, message_id: str) -> None:
    """Publish one CloudEvent on chibo.events as a relay does (routing key = its type, persistent, confirmed), under
    the AMQP message id `message_id`."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE)
        message = aio_pika.Message(
            json.dumps(event, default=str).encode(),
            content_type=CLOUDEVENT_CONTENT_TYPE,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message_id,
            user_id=broker_user_of(amqp_url),
        )
        await exchange.publish(message, routing_key=event["type"])
    finally:
        await connection.close()
