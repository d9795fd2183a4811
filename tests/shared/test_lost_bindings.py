"""Bindings lost with a deleted exchange come back (shared.runtime.keep_bindings), in a throwaway virtual host.

A trial: `chibo.events` was deleted by mistake; meetings, restarted, declared it again and its parked event was
replayed, but evaluation.facts and notifications.events were no longer bound (deleting an exchange deletes its
bindings), so the event went to chibo.unrouted and every /health stayed "ok"."""

import asyncio

import aio_pika
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
from tests.shared.conftest import Throwaway
from tests.support.ids import random_id
from tests.support.running import eventually


async def test_a_consumer_is_bound_again_after_its_exchange_is_deleted_and_declared_again(throwaway: Throwaway) -> None:
    await declare_topology(throwaway.url, [EVALUATION_FACTS])
    async with throwaway.keeping_bindings([EVALUATION_FACTS]) as keeper:
        exchange = await throwaway.lose_bindings(EVENTS_EXCHANGE)
        routing_key = sorted(meetings_contract.TYPES)[0]
        await throwaway.receives(exchange, EVALUATION_FACTS.name, routing_key=routing_key)
        assert not keeper.done()


async def test_an_event_a_consumer_lost_to_chibo_unrouted_is_named_in_health_and_counted_in_metrics(
    throwaway: Throwaway,
) -> None:
    """Only events one of the service's queues binds are counted: chibo.unrouted also keeps types published for no
    consumer of ours (notification.delivered.v1, ...), which are no one's loss."""
    await declare_topology(throwaway.url, [EVALUATION_FACTS])
    watch = unrouted_watch("evaluation")
    exchange = await throwaway.lose_bindings(EVENTS_EXCHANGE)  # without evaluation.facts' bindings
    await exchange.publish(aio_pika.Message(b"{}"), routing_key=sorted(meetings_contract.TYPES)[0])
    await exchange.publish(aio_pika.Message(b"{}"), routing_key="notification.delivered.v1")
    await eventually(lambda: _messages(throwaway.channel, UNROUTED_QUEUE, 2))

    attention: list[str] = []
    _, report = await check_health(
        pool=None, broker=throwaway.broker, queues=[], attention=attention, unrouted_watches=[watch]
    )
    assert report.get("unrouted") == {watch: 1}, report
    assert attention == [f"1 events lost to chibo.unrouted ({watch})"]

    await read_queue_gauges(throwaway.channel, [watch])
    assert REGISTRY.get_sample_value("chibo_queue_messages", {"queue": watch}) == 1


async def _messages(channel: aio_pika.abc.AbstractChannel, name: str, count: int) -> bool:
    queue = await channel.declare_queue(name, passive=True)
    return queue.declaration_result.message_count == count


async def test_a_wildcard_binding_is_bound_again_after_its_exchange_is_deleted_and_declared_again(
    throwaway: Throwaway,
) -> None:
    """meetings.ingest binds chibo.ingest by `#`: the periodic check binds it again like any other key (its unrouted
    watch cannot hold `#`: shared.topology.watched_keys says why)."""
    await declare_topology(throwaway.url, [MEETINGS_INGEST])
    async with throwaway.keeping_bindings([MEETINGS_INGEST]) as keeper:
        exchange = await throwaway.lose_bindings(INGEST_EXCHANGE)
        await throwaway.receives(exchange, MEETINGS_INGEST.name, routing_key=random_id("any.key"))
        assert not keeper.done()


async def test_the_bindings_keeper_stops_when_cancelled_while_its_exchanges_are_deleted(throwaway: Throwaway) -> None:
    """CI (stop 46): the keeper, cancelled while its exchange was deleted, ran on for 300 s (aio-pika swallowed the
    cancel when the broker closed the keeper's channel at that moment: here about 1 cancel in 50 before the fix;
    these 250 rounds failed 3 runs in 3)."""
    queues = [MEETINGS_INGEST, EVALUATION_FACTS]
    await declare_topology(throwaway.url, queues)
    for round_ in range(250):
        keeper = asyncio.create_task(keep_bindings(throwaway.broker, queues, every_seconds=0.005))
        for exchange in (INGEST_EXCHANGE, EVENTS_EXCHANGE)[: 1 + round_ % 2]:
            await throwaway.channel.exchange_delete(exchange)
            await asyncio.sleep(0.005 * (round_ % 7))
            await declare_topology(throwaway.url)
        await asyncio.sleep(0.003 * (round_ % 11))
        keeper.cancel()
        done, _ = await asyncio.wait({keeper}, timeout=10)
        if not done:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
        assert done, f"round {round_}: the keeper ran on 10 s after its cancel"
