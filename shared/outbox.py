"""Transactional outbox: events are rows written with the state change; a relay publishes them.

The relay publishes persistent messages with publisher confirms and `mandatory`, so a message
is marked published only once the broker has taken responsibility for it. A crash between
commit and publish leaves the row pending and the next relay run sends it (at least once;
consumers deduplicate by (source, id)).
"""

import asyncio
import contextlib
import json
import struct
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import aio_pika
import aiormq
import asyncpg
from aio_pika.abc import AbstractRobustConnection

from shared.envelope import CLOUDEVENT_CONTENT_TYPE, CloudEvent
from shared.logs import get_logger
from shared.metrics import OUTBOX_PUBLISH_FAILURES, OUTBOX_PUBLISHED, type_label
from shared.reading import EXTENSION_VALUE
from shared.telemetry import current_trace_context
from shared.topology import EVENTS_EXCHANGE

log = get_logger(__name__)


def notify_channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel that wakes a schema's relay."""
    return f"{schema}_outbox"


async def add_to_outbox(
    conn: asyncpg.Connection,
    events: Sequence[CloudEvent],
    *,
    schema: str,
    exchange: str = EVENTS_EXCHANGE,
) -> None:
    """Write events to the outbox inside the caller's transaction and wake the relay on commit."""
    if not events:
        return
    trace_context = current_trace_context()
    trace_json = json.dumps(trace_context) if trace_context else None
    await conn.executemany(
        "INSERT INTO outbox (event_id, type, exchange, routing_key, payload, correlation_id, trace_context)"
        " VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7::jsonb)",
        [
            (event.id, event.type, exchange, event.type, event.to_json().decode(), event.correlationid, trace_json)
            for event in events
        ],
    )
    await conn.execute("SELECT pg_notify($1, '')", notify_channel(schema))


class UnusableExchange(Exception):
    """The row's exchange does not exist or may not be used (the broker refused its passive declare)."""


PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,  # includes UnicodeEncodeError, raised while encoding a property
    TypeError,
    struct.error,
    UnusableExchange,
)
"""Publish failures that will happen again however often the row is tried: the row is parked at once."""


def short_property(value: Any) -> str | None:
    """A value fit for a short AMQP property (at most 255 bytes), else None: never copy an unbounded value."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return value if len(value.encode("utf-8")) <= 255 else None
    except UnicodeEncodeError:
        return None


def correlation_property(correlation_id: Any, event_id: Any) -> str | None:
    """The AMQP correlation_id: the row's correlation id when it follows the extension syntax, else its event id."""
    if isinstance(correlation_id, str) and EXTENSION_VALUE.match(correlation_id):
        return correlation_id
    return short_property(event_id)


class OutboxRelay:
    """Publishes a schema's pending outbox rows, retrying until the broker confirms them.

    A row that fails while others get through is deferred (`next_attempt_at`, doubling up to
    `max_delay`) and, after `max_attempts` or at once for a permanent reason, parked: it stays in the
    table for an operator (`shared.ops outbox`) and never again holds up a batch. A batch in which
    nothing got through is an outage (the broker, the connection): the relay backs off as a whole,
    then tries the rows one by one, so a row that breaks the channel shows itself. Any success resets
    the backoff.
    """

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        schema: str,
        amqp_url: str,
        batch_size: int = 500,
        poll_seconds: float = 2.0,
        retention: timedelta = timedelta(days=7),
        max_attempts: int = 8,
        max_delay: float = 300.0,
    ) -> None:
        self._pool = pool
        self._schema = schema
        self._amqp_url = amqp_url
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._retention = retention
        self._max_attempts = max_attempts
        self._max_delay = max_delay
        self._wakeup = asyncio.Event()
        self._connection: AbstractRobustConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._exchanges: dict[str, aio_pika.abc.AbstractExchange] = {}
        self._stopping = False
        self._isolate = False
        self.published_total = 0
        self.parked_total = 0

    async def run(self) -> None:
        """Relay until cancelled, reconnecting and backing off on errors."""
        backoff = 0.5
        listener = await self._pool.acquire()
        try:
            # inside the try: a shutdown cancelling this right after start-up still hands the connection back
            await listener.add_listener(notify_channel(self._schema), self._on_notify)
            while not self._stopping:
                try:
                    await self._ensure_connection()
                    sent = await self.publish_pending()
                    backoff = 0.5
                    if sent < self._batch_size and not self._isolate:
                        await self._wait_for_work()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.error("outbox_relay_error", schema=self._schema, error=repr(exc), backoff=backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 30.0)
        finally:
            with contextlib.suppress(Exception):
                await listener.remove_listener(notify_channel(self._schema), self._on_notify)
            with contextlib.suppress(Exception):
                await self._pool.release(listener)
            if self._connection is not None:
                with contextlib.suppress(Exception):
                    await self._connection.close()

    def stop(self) -> None:
        """Ask the loop to finish after the current batch."""
        self._stopping = True
        self._wakeup.set()

    def _on_notify(self, *_: object) -> None:
        self._wakeup.set()

    async def _wait_for_work(self) -> None:
        try:
            await asyncio.wait_for(self._wakeup.wait(), timeout=self._poll_seconds)
        except TimeoutError:
            await self._purge_old()
        self._wakeup.clear()

    async def _ensure_connection(self) -> None:
        if self._connection is None or self._connection.is_closed:
            self._connection = await aio_pika.connect_robust(self._amqp_url)
            self._channel = None
        if self._channel is None or self._channel.is_closed:
            self._channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
            self._exchanges = {}

    async def _resolve_exchanges(self, names: set[str]) -> dict[str, UnusableExchange]:
        """Passively declare each exchange not yet known, one at a time; those the broker refuses, with why.

        A refused declare closes the channel, so it is done here, before any publish shares that channel:
        only the rows naming that exchange fail, never the batch around them."""
        unusable: dict[str, UnusableExchange] = {}
        for name in sorted(names - set(self._exchanges)):
            assert self._channel is not None
            try:
                self._exchanges[name] = await self._channel.get_exchange(name)
            except (aiormq.exceptions.ChannelNotFoundEntity, aiormq.exceptions.ChannelAccessRefused) as exc:
                unusable[name] = UnusableExchange(f"exchange {name!r}: {exc!r}")
                self._channel = None
                await self._ensure_connection()
        return unusable

    async def _exchange(self, name: str) -> aio_pika.abc.AbstractExchange:
        if name not in self._exchanges:
            assert self._channel is not None
            self._exchanges[name] = await self._channel.get_exchange(name)
        return self._exchanges[name]

    async def publish_pending(self) -> int:
        """Publish one batch of due rows in id order; return how many were confirmed.

        Raises when nothing of a non-empty batch got through for a transient reason (an outage)."""
        await self._ensure_connection()
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT id, event_id, type, exchange, routing_key, payload::text AS payload, correlation_id, attempts,"
                " trace_context::text AS trace_context"
                " FROM outbox WHERE published_at IS NULL AND parked_at IS NULL"
                " AND (next_attempt_at IS NULL OR next_attempt_at <= now())"
                " ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                1 if self._isolate else self._batch_size,
            )
            if not rows:
                self._isolate = False
                return 0
            unusable = await self._resolve_exchanges({row["exchange"] for row in rows})
            usable = [row for row in rows if row["exchange"] not in unusable]
            if self._isolate:
                published = [await self._try_publish(row) for row in usable[:1]]
            else:
                published = list(await asyncio.gather(*(self._try_publish(row) for row in usable)))
            outcome = {row["id"]: error for row, error in zip(usable, published, strict=False)}
            rows = [row for row in rows if row["exchange"] in unusable or row["id"] in outcome]
            results: list[BaseException | None] = [
                unusable[row["exchange"]] if row["exchange"] in unusable else outcome[row["id"]] for row in rows
            ]
            done = [row["id"] for row, result in zip(rows, results, strict=True) if result is None]
            failed = [(row, result) for row, result in zip(rows, results, strict=True) if result is not None]
            if failed:
                OUTBOX_PUBLISH_FAILURES.labels(self._schema).inc(len(failed))
            if done:
                await conn.execute("UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])", done)
            outage = not done and all(not isinstance(error, PERMANENT_ERRORS) for _, error in failed)
            if outage and not self._isolate and len(rows) > 1:
                # nothing got through: the broker is away, or one row breaks the channel for all of them
                self._isolate = True
                await self._note_outage(conn, failed)
                raise RuntimeError(f"no outbox row of {len(rows)} was confirmed: {failed[0][1]!r}")
            if outage and await self._broker_away():
                await self._note_outage(conn, failed)
                raise RuntimeError(f"the broker is unreachable: {failed[0][1]!r}")
            if not self._isolate and len(failed) > 1 and _channel_broken(failed):
                # one row closed the channel under the others, which then fail with its error (a missing
                # exchange's NOT_FOUND): their errors say nothing about them, so none is parked for it;
                # the rows are tried one by one and only the guilty one is parked
                self._isolate = True
                self._channel = None
                await conn.executemany(  # not the rows' own fault: no attempt counted
                    "UPDATE outbox SET last_error = $2 WHERE id = $1",
                    [(row["id"], repr(error)[:2000]) for row, error in failed],
                )
                log.warning(
                    "outbox_channel_broken_isolating",
                    schema=self._schema,
                    failed=len(failed),
                    error=repr(failed[0][1])[:500],
                )
                return len(done)
            if failed:
                await self._defer_or_park(conn, failed)
        if done:
            self._isolate = False
        self.published_total += len(done)
        for row, result in zip(rows, results, strict=True):
            if result is None:
                OUTBOX_PUBLISHED.labels(self._schema, type_label(row["type"])).inc()
        return len(done)

    async def _broker_away(self) -> bool:
        """Whether the connection itself is gone (an outage), as opposed to one row closing the channel."""
        connection = self._connection
        if connection is None or connection.is_closed:
            return True
        try:
            await self._ensure_connection()
            return False
        except Exception:
            return True

    async def _note_outage(self, conn: asyncpg.Connection, failed: list[tuple[asyncpg.Record, BaseException]]) -> None:
        await conn.executemany(
            "UPDATE outbox SET last_error = $2 WHERE id = $1",  # an outage is not the row's fault: no attempt counted
            [(row["id"], repr(error)[:2000]) for row, error in failed],
        )

    async def _defer_or_park(
        self, conn: asyncpg.Connection, failed: list[tuple[asyncpg.Record, BaseException]]
    ) -> None:
        """Rows that failed while the broker works: park the hopeless ones, try the others later."""
        park, defer = [], []
        for row, error in failed:
            attempts = row["attempts"] + 1
            reason = repr(error)[:2000]
            if isinstance(error, PERMANENT_ERRORS) or attempts >= self._max_attempts:
                park.append((row["id"], reason))
            else:
                defer.append((row["id"], reason, min(2.0**attempts, self._max_delay)))
        if defer:
            await conn.executemany(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $2,"
                " next_attempt_at = now() + make_interval(secs => $3) WHERE id = $1",
                defer,
            )
        if park:
            await conn.executemany(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $2, parked_at = now(), parked_reason = $2"
                " WHERE id = $1",
                park,
            )
            self.parked_total += len(park)
        log.warning(
            "outbox_rows_failed",
            schema=self._schema,
            deferred=len(defer),
            parked=len(park),
            event_ids=[row["event_id"] for row, _ in failed[:5]],
            error=repr(failed[0][1])[:500],
        )
        if _channel_broken(failed):
            self._channel = None  # the broker closed it: a fresh one for the next batch

    async def _try_publish(self, row: asyncpg.Record) -> BaseException | None:
        try:
            await self._publish(row)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return exc
        return None

    async def _publish(self, row: asyncpg.Record) -> None:
        exchange = await self._exchange(row["exchange"])
        body = row["payload"].encode()
        headers: dict[str, Any] = {"ce-type": short_property(row["type"]) or ""}
        if row["trace_context"]:
            headers.update(json.loads(row["trace_context"]))  # traceparent/tracestate of the writing transaction
        message = aio_pika.Message(
            body=body,
            content_type=CLOUDEVENT_CONTENT_TYPE,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=short_property(row["event_id"]),
            correlation_id=correlation_property(row["correlation_id"], row["event_id"]),
            type=short_property(row["type"]),
            headers=headers,
        )
        await exchange.publish(message, routing_key=row["routing_key"], mandatory=True, timeout=30)

    async def _purge_old(self) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                "DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < now() - $1::interval",
                self._retention,
            )


def _channel_broken(failed: list[tuple[asyncpg.Record, BaseException]]) -> bool:
    return any(isinstance(error, aiormq.exceptions.AMQPChannelError) for _, error in failed)


def payload_of(row_payload: str) -> CloudEvent:
    """Rebuild the envelope stored in an outbox row (used by tests and operators' tools)."""
    return CloudEvent.model_validate(json.loads(row_payload))
