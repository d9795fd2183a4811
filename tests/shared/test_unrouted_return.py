"""`python -m shared.ops unrouted return`: the events a service lost to chibo.unrouted go back to chibo.events
(chibo's review: no chibo command did it, the runbook gave only a RabbitMQ shovel). Real broker, in a virtual host of
the test's own (it deletes the shared exchange), and the real database for the audit row."""

import asyncio
import json

import aio_pika

from shared.contracts import meetings as meetings_contract
from shared.topology import EVALUATION_FACTS, EVENTS_EXCHANGE, declare_topology, unrouted_watch
from tests.shared.conftest import Throwaway
from tests.shared.test_ops_cli import audit_rows_since, last_audit_row, operator_actions, run_ops
from tests.support.ids import random_id
from tests.support.running import eventually

WATCH = unrouted_watch("evaluation")


async def _depth(channel: aio_pika.abc.AbstractChannel, name: str) -> int:
    return int((await channel.declare_queue(name, passive=True)).declaration_result.message_count or 0)


async def test_the_events_a_service_lost_to_chibo_unrouted_are_sent_back_once_with_their_keys_and_headers(
    throwaway: Throwaway, database_url: str
) -> None:
    throwaway_url, channel = throwaway.url, throwaway.channel
    await declare_topology(throwaway_url, [EVALUATION_FACTS])
    before = await last_audit_row(database_url)
    exchange = await throwaway.lose_bindings(EVENTS_EXCHANGE)  # without evaluation.facts' bindings
    first, second = sorted(meetings_contract.TYPES)[:2]
    sent = [(random_id("lost"), key) for key in (first, second, first)]
    for event_id, key in sent:
        message = aio_pika.Message(
            json.dumps({"id": event_id}).encode(),
            headers={"x-chibo-test": event_id},
            content_type="application/cloudevents+json",
            message_id=event_id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await exchange.publish(message, routing_key=key)
    await eventually(lambda: _equals(channel, WATCH, 3))

    dry = await asyncio.to_thread(
        run_ops, throwaway_url, database_url, "unrouted", "return", "--service", "evaluation", "--dry-run"
    )
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout) == {
        "queue": WATCH,
        "moved": 0,
        "routing_keys": {first: 2, second: 1},
        "left": 3,
        "dry_run": True,
    }
    assert await _depth(channel, WATCH) == 3  # nothing moved, nothing lost
    assert await _depth(channel, EVALUATION_FACTS.name) == 0

    await declare_topology(throwaway_url, [EVALUATION_FACTS])  # the bindings are back (keep_bindings' work)
    moved = await asyncio.to_thread(
        run_ops, throwaway_url, database_url, "unrouted", "return", "--service", "evaluation"
    )
    assert moved.returncode == 0, moved.stderr
    assert json.loads(moved.stdout)["moved"] == 3 and json.loads(moved.stdout)["left"] == 0
    assert await _depth(channel, WATCH) == 0
    facts = await channel.declare_queue(EVALUATION_FACTS.name, passive=True)
    received = []
    while (got := await facts.get(fail=False, no_ack=True)) is not None:
        received.append((got.message_id, got.routing_key, (got.headers or {}).get("x-chibo-test")))
        assert got.content_type == "application/cloudevents+json"
        assert got.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert sorted(received) == sorted((event_id, key, event_id) for event_id, key in sent)

    path = f"/cli/unrouted/{WATCH}/return"
    [(method, status, detail)] = await audit_rows_since(database_url, before, path)
    assert (method, status, detail["action"], detail["moved"]) == ("CLI", 200, "unrouted_returned", 3)
    [logged] = operator_actions(moved.stderr)
    assert (logged["action"], logged["moved"]) == ("unrouted_returned", 3)


async def test_copies_that_find_no_binding_again_wait_for_the_next_run_instead_of_looping(
    throwaway: Throwaway, database_url: str
) -> None:
    """Sent back while the bindings are still gone, each copy lands in the watch again: a run moves each message
    once (those there when it started) and ends."""
    throwaway_url, channel = throwaway.url, throwaway.channel
    await declare_topology(throwaway_url, [EVALUATION_FACTS])
    await last_audit_row(database_url)
    exchange = await throwaway.lose_bindings(EVENTS_EXCHANGE)
    for _ in range(2):
        await exchange.publish(aio_pika.Message(b"{}"), routing_key=sorted(meetings_contract.TYPES)[0])
    await eventually(lambda: _equals(channel, WATCH, 2))
    result = await asyncio.to_thread(
        run_ops, throwaway_url, database_url, "unrouted", "return", "--service", "evaluation"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["moved"] == 2
    await eventually(lambda: _equals(channel, WATCH, 2))  # back in the watch, waiting
    unknown = await asyncio.to_thread(
        run_ops, throwaway_url, database_url, "unrouted", "return", "--service", "notifications"
    )
    assert unknown.returncode == 1 and "no queue notifications.unrouted" in unknown.stderr, unknown.stderr


async def _equals(channel: aio_pika.abc.AbstractChannel, name: str, count: int) -> bool:
    return await _depth(channel, name) == count
