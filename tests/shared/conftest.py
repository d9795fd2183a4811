"""Fixtures of the shared messaging tests: a database of the package's own, the probe service's schema, a channel on
the test vhost and a throwaway virtual host whose exchanges a test may delete."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import aio_pika
import asyncpg
import pytest
from faststream.rabbit import RabbitBroker

from shared.db import apply_migrations, create_pool, migration_files
from shared.runtime import keep_bindings
from shared.topology import UNROUTED_QUEUE, ConsumerQueue, declare_topology
from tests.support.env import fresh_database, isolated_vhost
from tests.support.ids import random_id
from tests.support.running import eventually

SCHEMA = "probe"
PROBE_DIR = Path(__file__).parent / "probe_service"


@pytest.fixture(scope="package")
def database_url(infra: tuple[str, str]) -> Iterator[str]:
    """A database of this package's own (as tests/e2e, tests/partners and tests/web have): its tests run evaluation
    and notifications, which sweep whole tables (dirty cells, held events, pending deliveries), and in the session's
    database they first worked through what the packages before (gateway, meetings, notifications, ops) left: in two
    full runs of three, a fact meetings' relay published was not scored within 60 s
    (test_event_publishers.py), never when tests/shared ran alone."""
    with fresh_database(infra[1]) as own:
        yield own


@pytest.fixture(scope="module")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the probe schema with the shared messaging tables and one state table."""
    await apply_migrations(database_url, schema=SCHEMA, files=migration_files(PROBE_DIR))
    pool = await create_pool(database_url, schema=SCHEMA)
    yield pool
    await pool.close()


@pytest.fixture(scope="module")
async def channel(amqp_url: str) -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    """A channel on the test vhost, with the shared exchanges declared."""
    await declare_topology(amqp_url)
    connection = await aio_pika.connect(amqp_url)
    yield await connection.channel()
    await connection.close()


@dataclass
class Throwaway:
    """A virtual host of one test's own (it deletes shared exchanges), with a connected broker and a channel on it."""

    url: str
    broker: RabbitBroker
    channel: aio_pika.abc.AbstractChannel

    async def lose_bindings(self, exchange: str) -> aio_pika.abc.AbstractExchange:
        """Delete the exchange and declare the topology again, as a publisher's restart does: the exchange is back,
        the bindings deleted with it are not; the exchange declared again."""
        await self.channel.exchange_delete(exchange)
        await declare_topology(self.url)
        return await self.channel.get_exchange(exchange)

    @contextlib.asynccontextmanager
    async def keeping_bindings(self, queues: Sequence[ConsumerQueue]) -> AsyncIterator["asyncio.Task[None]"]:
        """shared.runtime.keep_bindings of the queues on the broker, every 0.2 s, cancelled on leaving."""
        keeper = asyncio.create_task(keep_bindings(self.broker, queues, every_seconds=0.2))
        try:
            yield keeper
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper

    async def receives(self, exchange: aio_pika.abc.AbstractExchange, queue: str, *, routing_key: str) -> None:
        """Publish a fresh marker to the exchange with the key until the queue receives it (30 s at most)."""
        consumer = await self.channel.declare_queue(queue, passive=True)
        marker = random_id("rebound").encode()

        async def delivered() -> bool:
            await exchange.publish(aio_pika.Message(marker), routing_key=routing_key)
            message = await consumer.get(fail=False, no_ack=True)
            return message is not None and message.body == marker

        await eventually(delivered, timeout=30)


@pytest.fixture
async def throwaway(infra: tuple[str, str]) -> AsyncIterator[Throwaway]:
    """A throwaway virtual host with a connected broker and channel; chibo.unrouted purged after the test (the base
    vhost is used where no rabbitmqctl answers)."""
    with isolated_vhost(infra[0]) as url:
        broker = RabbitBroker(url)
        await broker.connect()
        connection = await aio_pika.connect(url)
        try:
            channel = await connection.channel()
            yield Throwaway(url, broker, channel)
            with contextlib.suppress(aio_pika.exceptions.ChannelClosed):
                await (await channel.declare_queue(UNROUTED_QUEUE, passive=True)).purge()
        finally:
            await connection.close()
            await broker.stop()
