"""Dead-letter queues an operator can work with, over plain AMQP (no management plugin needed).

List: every message (up to PEEK_MOST) is delivered to a consumer of the listing's own and never
acknowledged, then the channel is closed so every message returns to the queue untouched. A quorum queue does not
keep its order when messages return, so a listing orders them itself, by when they died (then message id, then
body): the same messages make the same pages, however often they are read. Replay: each message taken is published
again (same body, properties and headers, plus `x-chibo-replayed`) to the queue it died in, through the default
exchange with publisher confirms, and only then acknowledged: a crash in between duplicates (consumers
deduplicate), never loses.
Purge: the queue's `queue.purge`.
"""

import asyncio
import contextlib
import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractConnection, AbstractIncomingMessage, AbstractQueue

from shared.topology import CONSUMER_QUEUES

PREVIEW_CHARS = 500
PEEK_MOST = 5_000
"""The most messages a listing reads from a dead-letter queue (it reads them all to order them; more are counted in
its `total`, not listed)."""
PEEK_IDLE = 1.0
"""Seconds a listing waits for the next message before it takes the queue as read (others were taken meanwhile)."""
DEAD_LETTER_QUEUES = tuple(queue.dead_letter_queue for queue in CONSUMER_QUEUES)
"""Every dead-letter queue of the system (`<service>.<consumer>.dlq`)."""


class UnknownDeadLetterQueue(LookupError):
    """Not one of the system's dead-letter queues."""


def check_queue(name: str) -> str:
    """The name, when it is one of the system's dead-letter queues; UnknownDeadLetterQueue otherwise."""
    if name not in DEAD_LETTER_QUEUES:
        raise UnknownDeadLetterQueue(f"{name!r} is not a dead-letter queue (known: {', '.join(DEAD_LETTER_QUEUES)})")
    return name


async def dead_letter_counts(connection: AbstractConnection, names: Sequence[str]) -> dict[str, int | None]:
    """Messages waiting in each named queue; None for a queue not declared yet."""
    counts: dict[str, int | None] = {}
    for name in names:
        channel = await connection.channel()  # a passive declare of a missing queue closes its channel
        try:
            declared = await channel.declare_queue(name, passive=True)
            counts[name] = declared.declaration_result.message_count or 0
        except aio_pika.exceptions.ChannelClosed:
            counts[name] = None
        finally:
            if not channel.is_closed:
                await channel.close()
    return counts


def death_of(message: AbstractIncomingMessage) -> dict[str, Any]:
    """Where, why, how often and when (RFC 3339, or None) a dead letter died: the broker's x-death, else the
    headers and AMQP timestamp a consumer writes when it dead-letters one event of a batch itself."""
    headers: dict[str, Any] = dict(message.headers or {})
    deaths = headers.get("x-death")
    first: dict[str, Any] = deaths[0] if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict) else {}
    # a batch item the consumer dead-lettered itself has no x-death: its AMQP timestamp is when it died
    died_at = first.get("time") or message.timestamp
    return {
        "queue": str(headers.get("x-first-death-queue") or first.get("queue") or ""),
        "reason": str(headers.get("x-first-death-reason") or first.get("reason") or ""),
        "death_count": int(str(first.get("count") or 0)),
        "delivery_count": int(str(headers.get("x-delivery-count") or 0)),
        "died_at": died_at.isoformat() if isinstance(died_at, datetime) else None,
    }


def describe(message: AbstractIncomingMessage, position: int) -> dict[str, Any]:
    """One dead letter for an operator: where and why it died, how often, its ids and a body preview."""
    body = bytes(message.body)
    # characters, not bytes: a cut at PREVIEW_CHARS bytes split a Vietnamese letter into U+FFFD. 4 bytes a character
    # at most hold PREVIEW_CHARS whole ones; a letter split at the end of those bytes falls past the cut
    text = body[: PREVIEW_CHARS * 4].decode("utf-8", errors="replace")[:PREVIEW_CHARS]
    event_id = type_ = None
    with contextlib.suppress(ValueError, RecursionError):
        parsed = json.loads(body) if len(body) <= 1 << 20 else None
        if isinstance(parsed, dict):
            event_id, type_ = parsed.get("id"), parsed.get("type")
    headers = {
        key: value if isinstance(value, str | int | float | bool) else str(value)[:200]
        for key, value in (message.headers or {}).items()
        if key != "x-death"
    }
    return {
        "position": position,
        "message_id": message.message_id,
        "event_id": event_id if isinstance(event_id, str) else None,
        "type": type_ if isinstance(type_, str) else message.type,
        "routing_key": message.routing_key,
        **death_of(message),
        "headers": headers,
        "body_bytes": len(body),
        "body_preview": text,
    }


async def _peek(queue: AbstractQueue, count: int) -> list[AbstractIncomingMessage]:
    """Up to `count` messages of the queue, delivered (at most `count`, by the prefetch) and not acknowledged: they
    return to the queue when the channel closes."""
    arrived: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
    await queue.channel.set_qos(prefetch_count=count)
    await queue.consume(arrived.put, no_ack=False)
    messages: list[AbstractIncomingMessage] = []
    while len(messages) < count:
        try:
            messages.append(await asyncio.wait_for(arrived.get(), PEEK_IDLE))
        except TimeoutError:
            break
    return messages


def _order(message: AbstractIncomingMessage) -> tuple[str, str, str]:
    """Where a message comes in a listing: by when it died, then its message id, then its body."""
    return (
        death_of(message)["died_at"] or "",
        message.message_id or "",
        hashlib.sha256(bytes(message.body)).hexdigest(),
    )


async def list_dead_letters(
    connection: AbstractConnection, queue: str, *, limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    """Up to `limit` messages of a dead-letter queue from position `offset` of its listing (oldest death first), left
    in place. Past the end (or past PEEK_MOST) nothing is read."""
    check_queue(queue)
    channel = await connection.channel()
    items: list[dict[str, Any]] = []
    try:
        declared = await channel.declare_queue(queue, passive=True)
        total = declared.declaration_result.message_count or 0
        readable = min(total, PEEK_MOST)
        if offset < readable:
            listing = sorted(await _peek(declared, readable), key=_order)
            page = listing[offset : offset + limit]
            items = [describe(message, offset + index) for index, message in enumerate(page)]
    finally:
        await channel.close()  # every message taken goes back, unacknowledged
    return {"queue": queue, "total": total, "offset": offset, "items": items}


async def replay_dead_letters(
    connection: AbstractConnection,
    queue: str,
    *,
    limit: int | None = None,
    event_id: str | None = None,
    message_id: str | None = None,
) -> dict[str, Any]:
    """Publish dead letters back to the queue they died in (all, the first `limit`, or those of one event id or
    AMQP message id); messages not chosen stay. Returns how many were replayed and kept."""
    check_queue(queue)
    channel = await connection.channel(publisher_confirms=True)
    replayed = kept = 0
    try:
        declared = await channel.declare_queue(queue, passive=True)
        waiting = declared.declaration_result.message_count or 0
        for _ in range(waiting):  # bounded by what was there: replayed messages that die again are not seen twice
            if limit is not None and replayed >= limit:
                break
            message = await declared.get(no_ack=False, fail=False)
            if message is None:
                break
            origin = death_of(message)["queue"]
            chosen = (event_id is None or describe(message, 0)["event_id"] == event_id) and (
                message_id is None or message.message_id == message_id
            )
            if not origin or not chosen:
                kept += 1
                continue  # left unacknowledged: it returns to the queue when the channel closes
            headers = {key: value for key, value in (message.headers or {}).items() if not key.startswith("x-")}
            headers["x-chibo-replayed"] = int(str((message.headers or {}).get("x-chibo-replayed") or 0)) + 1
            await channel.default_exchange.publish(
                aio_pika.Message(
                    bytes(message.body),
                    headers=headers,
                    content_type=message.content_type,
                    content_encoding=message.content_encoding,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    message_id=message.message_id,
                    correlation_id=message.correlation_id,
                    type=message.type,
                    app_id=message.app_id,
                ),
                routing_key=origin,
                timeout=30,
            )
            await message.ack()
            replayed += 1
    finally:
        await channel.close()
    return {"queue": queue, "replayed": replayed, "kept": kept}


async def purge_dead_letters(connection: AbstractConnection, queue: str) -> dict[str, Any]:
    """Drop every message of a dead-letter queue; returns how many."""
    check_queue(queue)
    channel = await connection.channel()
    try:
        declared = await channel.declare_queue(queue, passive=True)
        result = await declared.purge()
    finally:
        await channel.close()
    return {"queue": queue, "purged": int(getattr(result, "message_count", 0) or 0)}
