"""Bindings lost with a deleted exchange come back (shared.runtime.keep_bindings), in a throwaway virtual host.

A trial: `chibo.events` was deleted by mistake; meetings, restarted, declared it again and its parked event was
replayed, but evaluation.facts and notifications.events were no longer bound (deleting an exchange deletes its
bindings), so the event went to chibo.unrouted and every /health stayed "ok"."""

import asyncio
import contextlib
from collections.abc import Iterator

import aio_pika
import pytest
from faststream.rabbit import RabbitBroker
from prometheus_client import REGISTRY

from shared.contracts import meetings as meetings_contract
from shared.metrics import read_queue_gauges
from shared.runtime import check_health, keep_bindings
from shared.topology import (
    EVALUATION_FACTS,
    EVENTS_EXCHANGE,
    INGEST_EXCHANGE,
    MEETINGS_INGEST,
    UNROUTED_QUEUE,
    declare_topology,
    unrouted_watch,
)
from tests.support.env import isolated_vhost
from tests.support.ids import random_id
from tests.support.running import eventually


@pytest.fixture
def throwaway_url(infra: tuple[str, str]) -> Iterator[str]:
    """A virtual host of this test's own: it deletes the shared exchange."""
    with isolated_vhost(infra[0]) as url:
        yield url


async def test_a_consumer_is_bound_again_after_its_exchange_is_deleted_and_declared_again(throwaway_url: str) -> None:
    queues = [EVALUATION_FACTS]
    await declare_topology(throwaway_url, queues)
    broker = RabbitBroker(throwaway_url)
    await broker.connect()
    keeper = asyncio.create_task(keep_bindings(broker, queues, every_seconds=0.2))
    connection = await aio_pika.connect(throwaway_url)
    try:
        channel = await connection.channel()
        facts = await channel.declare_queue(EVALUATION_FACTS.name, passive=True)
        unrouted = await channel.declare_queue(UNROUTED_QUEUE, passive=True)
        await channel.exchange_delete(EVENTS_EXCHANGE)
        await declare_topology(throwaway_url)  # the publisher's restart: the exchange is back, its bindings are not
        exchange = await channel.get_exchange(EVENTS_EXCHANGE)
        marker = random_id("rebound").encode()
        routing_key = sorted(meetings_contract.TYPES)[0]

        async def delivered() -> bool:
            await exchange.publish(aio_pika.Message(marker), routing_key=routing_key)
            message = await facts.get(fail=False, no_ack=True)
            return message is not None and message.body == marker

        await eventually(delivered, timeout=30)
        assert not keeper.done()
        await unrouted.purge()
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        await connection.close()
        await broker.stop()


async def test_an_event_a_consumer_lost_to_chibo_unrouted_is_named_in_health_and_counted_in_metrics(
    throwaway_url: str,
) -> None:
    """Only events one of the service's queues binds are counted: chibo.unrouted also keeps types published for no
    consumer of ours (notification.delivered.v1, ...), which are no one's loss."""
    await declare_topology(throwaway_url, [EVALUATION_FACTS])
    watch = unrouted_watch("evaluation")
    connection = await aio_pika.connect(throwaway_url)
    broker = RabbitBroker(throwaway_url)
    await broker.connect()
    try:
        channel = await connection.channel()
        await channel.exchange_delete(EVENTS_EXCHANGE)
        await declare_topology(throwaway_url)  # declared again, without evaluation.facts' bindings
        exchange = await channel.get_exchange(EVENTS_EXCHANGE)
        await exchange.publish(aio_pika.Message(b"{}"), routing_key=sorted(meetings_contract.TYPES)[0])
        await exchange.publish(aio_pika.Message(b"{}"), routing_key="notification.delivered.v1")
        unrouted = await channel.declare_queue(UNROUTED_QUEUE, passive=True)
        await eventually(lambda: _messages(channel, UNROUTED_QUEUE, 2))

        attention: list[str] = []
        _, report = await check_health(
            pool=None, broker=broker, queues=[], attention=attention, unrouted_watches=[watch]
        )
        assert report.get("unrouted") == {watch: 1}, report
        assert attention == [f"1 events lost to chibo.unrouted ({watch})"]

        await read_queue_gauges(channel, [watch])
        assert REGISTRY.get_sample_value("chibo_queue_messages", {"queue": watch}) == 1
        await unrouted.purge()
    finally:
        await broker.stop()
        await connection.close()


async def _messages(channel: aio_pika.abc.AbstractChannel, name: str, count: int) -> bool:
    queue = await channel.declare_queue(name, passive=True)
    return queue.declaration_result.message_count == count


async def test_a_wildcard_binding_is_bound_again_after_its_exchange_is_deleted_and_declared_again(
    throwaway_url: str,
) -> None:
    """meetings.ingest binds chibo.ingest by `#`: the periodic check binds it again like any other key (its unrouted
    watch cannot hold `#`: shared.topology.watched_keys says why)."""
    queues = [MEETINGS_INGEST]
    await declare_topology(throwaway_url, queues)
    broker = RabbitBroker(throwaway_url)
    await broker.connect()
    keeper = asyncio.create_task(keep_bindings(broker, queues, every_seconds=0.2))
    connection = await aio_pika.connect(throwaway_url)
    try:
        channel = await connection.channel()
        ingest = await channel.declare_queue(MEETINGS_INGEST.name, passive=True)
        unrouted = await channel.declare_queue(UNROUTED_QUEUE, passive=True)
        await channel.exchange_delete(INGEST_EXCHANGE)
        await declare_topology(throwaway_url)  # a publisher's restart: the exchange is back, its bindings are not
        exchange = await channel.get_exchange(INGEST_EXCHANGE)
        marker = random_id("rebound").encode()

        async def delivered() -> bool:
            await exchange.publish(aio_pika.Message(marker), routing_key=random_id("any.key"))
            message = await ingest.get(fail=False, no_ack=True)
            return message is not None and message.body == marker

        await eventually(delivered, timeout=30)
        assert not keeper.done()
        await unrouted.purge()
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        await connection.close()
        await broker.stop()
