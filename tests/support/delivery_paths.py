"""Which path a service's deliveries took (FastStream's per-message path or shared.context.light_delivery), and what
became of them on the broker: a queue left with nothing unacknowledged, a dead letter found by its message id."""

import json
import logging
from typing import Any

import aio_pika
import asyncpg
import httpx
import pytest
from faststream.rabbit.subscriber.usecase import RabbitSubscriber

from shared import context, telemetry
from shared.config import broker_user_of
from shared.envelope import CLOUDEVENT_CONTENT_TYPE
from shared.ops.dead_letters import PEEK_MOST, list_dead_letters
from shared.topology import EVENTS_EXCHANGE, ConsumerQueue
from tests.support.ids import random_id
from tests.support.logs import structured_logs
from tests.support.running import eventually, running_app


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


def event_lines(caplog: pytest.LogCaptureFixture, event_id: str) -> list[dict[str, Any]]:
    """The structured log lines caplog holds about one event (their `event_id`)."""
    return [line for line in structured_logs(caplog) if line.get("event_id") == event_id]


async def metrics_text(base: str) -> str:
    """A running service's /metrics page (Prometheus text), `base` its address."""
    async with httpx.AsyncClient() as client:
        return (await client.get(base + "/metrics")).text


async def applied_once_past_the_framework(
    app: Any,
    amqp_url: str,
    db: asyncpg.Connection,
    caplog: pytest.LogCaptureFixture,
    framework_paths: list[str],
    *,
    queue: ConsumerQueue,
    unit: dict[str, Any],
) -> None:
    """Serve `app` (the service `queue.service`, its schema of that name) and publish `unit`, an org.unit.upserted.v1
    of a cell with a `correlationid`, twice under two message ids: it is applied once (the copy a duplicate), both
    acked, each outcome logged with the service, event type and correlation id and counted in the metrics, and no
    delivery of `queue` went through FastStream's own path (framework_paths; caplog set by capture_service_logs)."""
    service, name, cell = queue.service, queue.name, unit["data"]["id"]
    async with running_app(app) as base:
        before = await metrics_text(base)
        await publish_event(amqp_url, unit, message_id=random_id("msg"))
        await publish_event(amqp_url, unit, message_id=random_id("msg"))  # the same event again: a redelivery

        def settled() -> bool:
            return {line["event"] for line in event_lines(caplog, unit["id"])} >= {"event_handled", "event_duplicate"}

        await eventually(settled, timeout=60)
        after = await metrics_text(base)
    assert await messages_left(amqp_url, name) == 0  # both acked: nothing came back when the service stopped
    applied = await db.fetchval(f"SELECT count(*) FROM {service}.unit WHERE id = $1 AND kind = 'cell'", cell)
    inbox = await db.fetchval(
        f"SELECT count(*) FROM {service}.processed_message WHERE consumer = $1 AND event_id = $2", name, unit["id"]
    )
    assert (applied, inbox) == (1, 1)
    outcomes = [line["event"] for line in event_lines(caplog, unit["id"]) if line["event"].startswith("event_")]
    assert sorted(outcomes) == ["event_duplicate", "event_handled"]
    for line in event_lines(caplog, unit["id"]):
        assert line["service"] == service
        assert (line["event_type"], line["correlation_id"]) == ("org.unit.upserted.v1", unit["correlationid"])
    for outcome in ("handled", "duplicate"):
        counted = metric_total(after, "chibo_events_consumed_total", queue=name, outcome=outcome)
        assert counted - metric_total(before, "chibo_events_consumed_total", queue=name, outcome=outcome) >= 1
    received = metric_total(after, "chibo_received_messages_total", handler=name)
    assert received - metric_total(before, "chibo_received_messages_total", handler=name) >= 2
    assert name not in framework_paths


async def dead_lettered_past_the_framework(
    app: Any,
    amqp_url: str,
    caplog: pytest.LogCaptureFixture,
    framework_paths: list[str],
    *,
    queue: ConsumerQueue,
    bad: dict[str, Any],
    correlation_id: str,
) -> None:
    """Serve `app` (the service `queue.service`) and publish `bad`, an org.unit.upserted.v1 it refuses: it is
    dead-lettered with its event id and type, acked once the letter is confirmed, logged (event_invalid with its
    `correlation_id`, event_dead_lettered naming the service, consumer and message id), and no delivery of `queue`
    went through FastStream's own path."""
    message_id = random_id("msg")
    async with running_app(app):
        await publish_event(amqp_url, bad, message_id=message_id)
        letter = await eventually(lambda: dead_letter(amqp_url, queue.dead_letter_queue, message_id))
        await eventually(lambda: any(line["event"] == "event_dead_lettered" for line in event_lines(caplog, bad["id"])))
    assert (letter["event_id"], letter["type"]) == (bad["id"], "org.unit.upserted.v1")
    assert await messages_left(amqp_url, queue.name) == 0  # acked once its dead letter was confirmed
    dead = next(line for line in event_lines(caplog, bad["id"]) if line["event"] == "event_dead_lettered")
    assert (dead["service"], dead["consumer"], dead["message_id"]) == (queue.service, queue.name, message_id)
    invalid = next(line for line in event_lines(caplog, bad["id"]) if line["event"] == "event_invalid")
    assert (invalid["event_type"], invalid["correlation_id"]) == ("org.unit.upserted.v1", correlation_id)
    assert queue.name not in framework_paths
