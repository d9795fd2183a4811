"""A database outage a test can cause and end: its own throwaway database refuses connections (ALTER DATABASE …
ALLOW_CONNECTIONS false, its backends terminated), never the shared PostgreSQL server stopped."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import asyncpg
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from shared.topology import ConsumerQueue
from tests.support.running import eventually
from tests.support.serving import health


class DatabaseOutage:
    """Turns a database's connections off (`begin`) and on again (`end`) from the server's `postgres` database."""

    def __init__(self, admin: asyncpg.Connection, name: str) -> None:
        self._admin = admin
        self.name = name
        self.refusing = False

    async def begin(self) -> None:
        """Refuse new connections to the database and end every open one (its pool's included)."""
        await self._admin.execute(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false')
        self.refusing = True
        await self._admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            self.name,
        )

    async def waiting_on_locks(self) -> int:
        """How many of the database's backends wait for a lock now (a transaction caught mid-way, to cut it so)."""
        count = await self._admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'", self.name
        )
        return int(count)

    async def end(self) -> None:
        """Accept connections again."""
        await self._admin.execute(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true')
        self.refusing = False


@asynccontextmanager
async def database_outage(database_url: str) -> AsyncIterator[DatabaseOutage]:
    """A DatabaseOutage of the database `database_url` names (a throwaway one: tests.support.env.fresh_database),
    ended on exit if the block left it refusing."""
    name = urlsplit(database_url).path.lstrip("/")
    admin = await asyncpg.connect(urlunsplit(urlsplit(database_url)._replace(path="/postgres")))
    outage = DatabaseOutage(admin, name)
    try:
        yield outage
    finally:
        try:
            if outage.refusing:
                await outage.end()
        finally:
            await admin.close()


async def dead_letters(channel: AbstractChannel, queue: ConsumerQueue) -> int:
    """Messages waiting in the consumer queue's dead letters."""
    declared = await channel.get_queue(queue.dead_letter_queue, ensure=True)
    return declared.declaration_result.message_count or 0


async def held_or_dead_lettered(
    channel: AbstractChannel, queue: ConsumerQueue, health_url: str, seconds: float
) -> bool:
    """Whether the service's /health shows a delivery of `queue` held through the outage for `seconds` or more, or
    its dead letters are not empty (what a test waits on before it looks which)."""

    def held_long_enough() -> bool:
        held = health(health_url).get("held_for_dependency", {}).get(queue.name, {})
        return bool(held) and held["deliveries"] >= 1 and held["oldest_seconds"] >= seconds

    return await dead_letters(channel, queue) > 0 or await asyncio.to_thread(held_long_enough)


async def held_mid_delivery(
    outage: DatabaseOutage,
    *,
    database_url: str,
    inbox_table: str,
    send: Callable[[], Awaitable[object]],
    channel: AbstractChannel,
    queue: ConsumerQueue,
    health_url: str,
    seconds: float,
) -> None:
    """Catch the delivery `send()` causes mid-transaction (waiting on a lock of its inbox `inbox_table`), cut the
    database, and wait until the service holds it `seconds` or more; AssertionError if it was dead-lettered instead."""
    locker = await asyncpg.connect(database_url)
    await locker.execute(f"BEGIN; LOCK TABLE {inbox_table} IN EXCLUSIVE MODE")
    await send()
    await eventually(outage.waiting_on_locks, timeout=60, interval=0.1)
    await outage.begin()
    locker.terminate()
    await eventually(lambda: held_or_dead_lettered(channel, queue, health_url, seconds), timeout=90, interval=0.5)
    assert await dead_letters(channel, queue) == 0


async def put_back(channel: AbstractChannel, message: AbstractIncomingMessage, queue_name: str) -> None:
    """Publish a message taken from `queue_name` back to it as it was (body, headers, content type, message id, user
    id), then ack the one taken: a reject would count a delivery, which is what the hand-back tests look at."""
    await channel.default_exchange.publish(
        aio_pika.Message(
            message.body,
            headers=message.headers,
            content_type=message.content_type,
            message_id=message.message_id,
            user_id=message.user_id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        ),
        routing_key=queue_name,
    )
    await message.ack()
