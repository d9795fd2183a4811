"""A test's view of the broker: publish to chibo.ingest, collect what arrives on chibo.events."""

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import aio_pika

from deploy.seed_demo import publisher
from shared.envelope import BATCH_CONTENT_TYPE, CLOUDEVENT_CONTENT_TYPE
from shared.topology import EVENTS_EXCHANGE, INGEST_EXCHANGE, declare_exchanges
from tests.meetings import events as ev
from tests.support.ids import random_id
from tests.support.running import eventually


class Feed:
    """Publishes raw bodies and keeps every event seen on chibo.events."""

    def __init__(self, channel: aio_pika.abc.AbstractChannel, *, login: str = "guest") -> None:
        self._channel = channel
        self._login = login
        self.seen: list[dict[str, Any]] = []

    async def publish(
        self,
        body: bytes | dict[str, Any] | list[Any],
        *,
        routing_key: str | None = None,
        as_system: bool = False,
        headers: dict[str, Any] | None = None,
        content_type: str | None = None,
        message_id: str | None = None,
    ) -> None:
        """Publish persistently to chibo.ingest (routing key = type, or `batch` for a list); `as_system`: stamped with
        the connection's login as `user_id`, as this system's own producers (CHIBO_SYSTEM_PUBLISHERS) publish;
        `message_id`: the AMQP message's own id (none by default)."""
        batch = isinstance(body, list)
        if isinstance(body, list):
            routing_key = routing_key or "batch"
        elif isinstance(body, dict):
            routing_key = routing_key or body["type"]
        if not isinstance(body, bytes):
            body = json.dumps(body, ensure_ascii=False).encode()
        exchange = await self._channel.get_exchange(INGEST_EXCHANGE)
        await exchange.publish(
            aio_pika.Message(
                body,
                content_type=content_type or (BATCH_CONTENT_TYPE if batch else CLOUDEVENT_CONTENT_TYPE),
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                user_id=self._login if as_system else None,
                headers=headers,
                message_id=message_id,
            ),
            routing_key=routing_key or "unknown",
        )

    def find(self, event_type: str, **match: Any) -> dict[str, Any] | None:
        """The first seen event of the type whose data (or `subject`) has the given values."""
        for event in self.seen:
            if event["type"] != event_type:
                continue
            fields = event["data"] | {"subject": event.get("subject"), "originid": event.get("originid")}
            if all(fields.get(key) == value for key, value in match.items()):
                return event
        return None


@asynccontextmanager
async def feed(amqp_url: str) -> AsyncIterator[Feed]:
    """A connection with a private queue bound to every routing key of chibo.events."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        await declare_exchanges(channel)
        queue = await channel.declare_queue(f"test.meetings.{uuid.uuid4().hex[:8]}", exclusive=True, auto_delete=True)
        await queue.bind(EVENTS_EXCHANGE, routing_key="#")
        result = Feed(channel, login=publisher(amqp_url))

        async def keep(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                body = json.loads(message.body)
                result.seen.extend(body if isinstance(body, list) else [body])  # one event, or a batch

        await queue.consume(keep)
        yield result
    finally:
        await connection.close()


async def scheduled_meeting(bus: Feed, *, starts_at: datetime) -> dict[str, str]:
    """Publish through `bus` a committee, a cell of it with a member, and the cell's meeting starting at `starts_at`;
    once meetings has published the schedule, their fresh ids by name (committee, cell, mem, mtg)."""
    ids = {name: random_id(name) for name in ("committee", "cell", "mem", "mtg")}
    for raw in (
        ev.unit(ids["committee"], kind="committee", name="Đảng ủy xã"),
        ev.unit(ids["cell"], parent_id=ids["committee"]),
        ev.member(ids["mem"], ids["cell"]),
        ev.scheduled(ids["mtg"], ids["cell"], starts_at=starts_at),
    ):
        await bus.publish(raw)
    await eventually(lambda: bus.find("meeting.scheduled.v1", meeting_id=ids["mtg"]), timeout=60)
    return ids
