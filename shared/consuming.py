"""How a service consumes events from chibo.events: inbox, one handler per type, explicit settling.

Subscribers run with AckPolicy.MANUAL and settle every message here:
- handled (or a duplicate by (source, id), or a type this consumer ignores): ack;
- unreadable (bad envelope or data from our own producers, a bug): reject to the dead letters;
- a handler error: reject with requeue after a short backoff, which counts toward the quorum
  queue's delivery limit, so a message that keeps failing ends in `<queue>.dlq`.
"""

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

from aio_pika.abc import AbstractIncomingMessage
from faststream.rabbit import RabbitMessage

from shared.contracts.registry import read_event
from shared.envelope import Event, InvalidEvent, parse_envelope
from shared.logs import get_logger, message_context
from shared.metrics import EVENTS_CONSUMED, type_label
from shared.unit_of_work import PgUnitOfWork

log = get_logger(__name__)

UowT = TypeVar("UowT", bound=PgUnitOfWork, contravariant=True)


class EventHandler(Protocol[UowT]):
    """A use case that applies one event inside a unit of work (it does not commit)."""

    def __call__(self, event: Event[Any], uow: UowT) -> Awaitable[None]: ...


def delivery_count(raw: AbstractIncomingMessage) -> int:
    """How often the broker delivered this message before (`x-delivery-count` of quorum queues; 0 when absent)."""
    count = (raw.headers or {}).get("x-delivery-count")
    return int(count) if isinstance(count, int | str) else 0


def retry_delay(delivery_count: int) -> float:
    """Seconds to wait before handing a failed message back: 0.5, 1, 2, 4 … at most 10."""
    return min(0.5 * (2 ** max(delivery_count, 0)), 10.0)


async def consume_event(
    message: RabbitMessage,
    *,
    consumer: str,
    handlers: Mapping[str, EventHandler[Any]],
    uow_factory: Callable[[], PgUnitOfWork],
) -> str:
    """Apply one delivered event exactly once and settle the delivery; return the outcome (also counted)."""
    outcome = await _consume_event(message, consumer=consumer, handlers=handlers, uow_factory=uow_factory)
    EVENTS_CONSUMED.labels(consumer, type_label(message.raw_message.routing_key), outcome).inc()
    return outcome


async def _consume_event(
    message: RabbitMessage,
    *,
    consumer: str,
    handlers: Mapping[str, EventHandler[Any]],
    uow_factory: Callable[[], PgUnitOfWork],
) -> str:
    raw = message.raw_message
    try:
        envelope = parse_envelope(raw.body)
    except InvalidEvent as exc:
        log.error("event_unreadable", consumer=consumer, reason=exc.reason, field=exc.field)
        await message.reject(requeue=False)
        return "dead_lettered"
    with message_context(
        event_id=envelope.id,
        event_type=envelope.type,
        correlation_id=envelope.correlationid or envelope.id,
        source=envelope.source,
    ):
        handler = handlers.get(envelope.type)
        if handler is None:
            await message.ack()
            return "ignored"
        try:
            event = read_event(envelope)
        except InvalidEvent as exc:
            log.error("event_invalid", consumer=consumer, reason=exc.reason, field=exc.field)
            await message.reject(requeue=False)
            return "dead_lettered"
        try:
            async with uow_factory() as uow:
                if await uow.already_processed(consumer=consumer, source=envelope.source, event_id=envelope.id):
                    log.info("event_duplicate", consumer=consumer)
                    await message.ack()
                    return "duplicate"
                await handler(event, uow)
                await uow.commit()
        except Exception as exc:
            deliveries = delivery_count(raw)
            log.exception("event_handler_failed", consumer=consumer, deliveries=deliveries, error=repr(exc))
            await asyncio.sleep(retry_delay(deliveries))
            await message.reject(requeue=True)
            return "retried"
        await message.ack()
        log.debug("event_handled", consumer=consumer)
        return "handled"
