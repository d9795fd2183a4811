"""The broker as a partner sees it: publish to chibo.ingest with any headers, read chibo.events off the wire."""

import json
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aio_pika

from shared.envelope import BATCH_CONTENT_TYPE
from shared.topology import EVENTS_EXCHANGE, INGEST_EXCHANGE, declare_exchanges


@dataclass(frozen=True)
class WireMessage:
    """One message as the broker delivered it."""

    routing_key: str
    content_type: str | None
    headers: dict[str, Any]
    body: bytes

    def events(self) -> list[dict[str, Any]]:
        """The structured events it carries (one, or a batch's items) as plain JSON."""
        value = json.loads(self.body)
        return value if (self.content_type or "").startswith(BATCH_CONTENT_TYPE) else [value]


@dataclass
class Tap:
    """What arrived on chibo.events."""

    messages: list[WireMessage] = field(default_factory=list)

    def events(self) -> list[dict[str, Any]]:
        """Every event seen, batches unpacked."""
        return [event for message in self.messages for event in message.events()]

    def originating(self, source: str, event_id: str) -> list[dict[str, Any]]:
        """The validated events meetings re-published for the original (source, id)."""
        return [e for e in self.events() if e.get("originsource") == source and e.get("originid") == event_id]

    def rejection_of(self, event_id: str) -> dict[str, Any] | None:
        """The ingest.rejected.v1 about an event id, if seen."""
        return next(
            (e for e in self.events() if e["type"] == "ingest.rejected.v1" and e["data"]["event_id"] == event_id), None
        )


@asynccontextmanager
async def tap(amqp_url: str) -> AsyncIterator[Tap]:
    """An exclusive queue bound to every routing key of chibo.events for the block's duration."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        await declare_exchanges(channel)
        queue = await channel.declare_queue(f"test.partners.{uuid.uuid4().hex[:8]}", exclusive=True, auto_delete=True)
        await queue.bind(EVENTS_EXCHANGE, routing_key="#")
        seen = Tap()

        async def keep(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                seen.messages.append(
                    WireMessage(
                        routing_key=message.routing_key or "",
                        content_type=message.content_type,
                        headers=dict(message.headers or {}),
                        body=bytes(message.body),
                    )
                )

        await queue.consume(keep)
        yield seen
    finally:
        await connection.close()


async def publish(
    amqp_url: str,
    body: bytes,
    *,
    routing_key: str,
    content_type: str | None,
    headers: Mapping[str, Any] | None = None,
) -> None:
    """Publish one persistent message to chibo.ingest with publisher confirms, as a feeder should."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(INGEST_EXCHANGE)
        await exchange.publish(
            aio_pika.Message(
                body,
                content_type=content_type,
                headers=dict(headers or {}),
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=routing_key,
            mandatory=True,
        )
    finally:
        await connection.close()
