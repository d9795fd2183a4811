"""Transactional outbox: events are rows written with the state change; a relay publishes them.

The relay publishes persistent messages with publisher confirms and `mandatory`, so a message
is marked published only once the broker has taken responsibility for it. A crash between
commit and publish leaves the row pending and the next relay run sends it (at least once;
consumers deduplicate by (source, id)).
"""

import asyncio
import json
from collections.abc import Sequence
from datetime import timedelta

import aio_pika
import asyncpg
from aio_pika.abc import AbstractRobustConnection

from shared.envelope import CLOUDEVENT_CONTENT_TYPE, CloudEvent
from shared.logs import get_logger
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
    await conn.executemany(
        "INSERT INTO outbox (event_id, type, exchange, routing_key, payload, correlation_id)"
        " VALUES ($1, $2, $3, $4, $5::jsonb, $6)",
        [
            (event.id, event.type, exchange, event.type, event.to_json().decode(), event.correlationid)
            for event in events
        ],
    )
    await conn.execute("SELECT pg_notify($1, '')", notify_channel(schema))


class OutboxRelay:
    """Publishes a schema's pending outbox rows, retrying until the broker confirms them."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        schema: str,
        amqp_url: str,
        batch_size: int = 500,
        poll_seconds: float = 2.0,
        retention: timedelta = timedelta(days=7),
    ) -> None:
        self._pool = pool
        self._schema = schema
        self._amqp_url = amqp_url
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._retention = retention
        self._wakeup = asyncio.Event()
        self._connection: AbstractRobustConnection | None = None
        self._stopping = False
        self.published_total = 0

    async def run(self) -> None:
        """Relay until cancelled, reconnecting and backing off on errors."""
        backoff = 0.5
        listener = await self._pool.acquire()
        await listener.add_listener(notify_channel(self._schema), self._on_notify)
        try:
            while not self._stopping:
                try:
                    await self._ensure_connection()
                    sent = await self.publish_pending()
                    backoff = 0.5
                    if sent < self._batch_size:
                        await self._wait_for_work()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.error("outbox_relay_error", schema=self._schema, error=repr(exc))
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 30.0)
        finally:
            await listener.remove_listener(notify_channel(self._schema), self._on_notify)
            await self._pool.release(listener)
            if self._connection is not None:
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
            self._channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
            self._exchanges: dict[str, aio_pika.abc.AbstractExchange] = {}

    async def _exchange(self, name: str) -> aio_pika.abc.AbstractExchange:
        if name not in self._exchanges:
            self._exchanges[name] = await self._channel.get_exchange(name)
        return self._exchanges[name]

    async def publish_pending(self) -> int:
        """Publish one batch of pending rows in id order; return how many were confirmed."""
        await self._ensure_connection()
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT id, event_id, type, exchange, routing_key, payload::text AS payload, correlation_id"
                " FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                self._batch_size,
            )
            if not rows:
                return 0
            results = await asyncio.gather(*(self._publish(row) for row in rows), return_exceptions=True)
            done = [row["id"] for row, result in zip(rows, results, strict=True) if result is None]
            failed = [
                (row["id"], repr(result)) for row, result in zip(rows, results, strict=True) if result is not None
            ]
            if done:
                await conn.execute("UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])", done)
            if failed:
                await conn.executemany(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1", failed
                )
                log.warning("outbox_publish_failed", schema=self._schema, failed=len(failed), error=failed[0][1])
        self.published_total += len(done)
        if failed:
            raise RuntimeError(f"{len(failed)} outbox rows were not confirmed")
        return len(done)

    async def _publish(self, row: asyncpg.Record) -> None:
        exchange = await self._exchange(row["exchange"])
        body = row["payload"].encode()
        message = aio_pika.Message(
            body=body,
            content_type=CLOUDEVENT_CONTENT_TYPE,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=row["event_id"],
            correlation_id=row["correlation_id"] or row["event_id"],
            type=row["type"],
            headers={"ce-type": row["type"]},
        )
        await exchange.publish(message, routing_key=row["routing_key"], mandatory=True, timeout=30)

    async def _purge_old(self) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                "DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < now() - $1::interval",
                self._retention,
            )


def payload_of(row_payload: str) -> CloudEvent:
    """Rebuild the envelope stored in an outbox row (used by tests and operators' tools)."""
    return CloudEvent.model_validate(json.loads(row_payload))
