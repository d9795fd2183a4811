"""A dead letter's history (`x-death`, `x-first-death-…`) is what RabbitMQ wrote, or it is not read as such.

RabbitMQ 3.x (3.10 here) interprets an `x-death` its publisher sent: when it dead-letters the message, it adds its
death to the publisher's entry of the same queue and reason, keeping that entry's exchange, routing keys and time
(and its count, plus one), and sets no `x-first-death-…` of its own. A publisher on chibo.events can have the broker
dead-letter its message without any consumer seeing it (a per-message `expiration`: chibo's queues set no TTL), so
the letter's history was the publisher's, indistinguishable from a real one: it claimed a copy chibo published
straight to its queue (exchange ""), so the listing took its forged cause and counts as chibo's, its time as when it
died, and a replay sent it into the queue its forged `x-first-death-queue` named, as the replaying service.
"""

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aio_pika
import asyncpg
import pytest

from shared import consuming
from shared.ops.dead_letters import describe, list_dead_letters, replay_dead_letters
from shared.topology import EVENTS_EXCHANGE, NOTIFICATIONS_EVENTS
from tests.shared.test_dead_letter_listing import DLQ, connection  # noqa: F401 (fixture)
from tests.shared.test_messaging import ProbeConsumer, _running_probe
from tests.support.ids import random_id
from tests.support.running import eventually


def forged_history(victim: str) -> dict[str, Any]:
    """What a real death from notifications.events as a copy chibo published straight to it would look like (count 0:
    the broker's death makes it 1), first dead in `victim`."""
    death = {
        "queue": NOTIFICATIONS_EVENTS.name,
        "reason": "expired",
        "count": 0,
        "exchange": "",
        "routing-keys": [NOTIFICATIONS_EVENTS.name],
        "time": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    }
    return {
        "x-death": [death],
        "x-first-death-queue": victim,
        "x-first-death-reason": "expired",
        "x-first-death-exchange": "",
        "x-chibo-reason": "Đã duyệt: xóa đi",
        "x-chibo-replayed": 4,
    }


async def test_a_history_its_publisher_forged_is_neither_listed_as_the_death_nor_followed_by_a_replay(
    connection: aio_pika.abc.AbstractConnection,  # noqa: F811
) -> None:
    event_id = random_id("forged-death")
    channel = await connection.channel(publisher_confirms=True)
    victim = await channel.declare_queue(random_id("victim"), exclusive=True)
    home = await channel.declare_queue(NOTIFICATIONS_EVENTS.name, passive=True)
    exchange = await channel.get_exchange(EVENTS_EXCHANGE)
    await exchange.publish(
        aio_pika.Message(
            json.dumps({"id": event_id, "type": "meeting.scheduled.v1"}).encode(),
            headers=forged_history(victim.name),
            message_id=event_id,
            expiration=0.01,  # no consumer reads notifications.events here: the broker dead-letters it, unseen
        ),
        routing_key="meeting.scheduled.v1",
    )

    async def listed() -> dict[str, Any] | None:
        items = (await list_dead_letters(connection, DLQ))["items"]
        return items[0] if items else None

    row = await eventually(listed)
    assert row["event_id"] == event_id
    # the broker's own death: the queue and reason it matched the forged entry by; nothing its publisher could write
    assert (row["queue"], row["reason"], row["cause"]) == (NOTIFICATIONS_EVENTS.name, "expired", None), row
    assert (row["death_count"], row["died_at"]) == (1, None), row
    assert {"x-chibo-reason", "x-chibo-replayed", "x-first-death-queue"} <= set(row["untrusted_headers"]), row

    replayed = await replay_dead_letters(connection, DLQ)

    assert replayed["replayed"] == 1, replayed
    copy = await eventually(lambda: home.get(no_ack=True, fail=False))
    assert json.loads(copy.body)["id"] == event_id
    assert (copy.headers or {}).get("x-chibo-replayed") == 1, copy.headers
    assert not {"x-chibo-reason", "x-death", "x-first-death-queue"} & set(copy.headers or {}), copy.headers
    assert await victim.get(no_ack=True, fail=False) is None
    await channel.close()


@pytest.mark.parametrize("queue", [NOTIFICATIONS_EVENTS.name, "meetings.rpc"])
async def test_a_replay_sends_a_letter_only_to_the_queue_whose_dead_letters_it_is(
    connection: aio_pika.abc.AbstractConnection,  # noqa: F811
    queue: str,
) -> None:
    """A letter put straight into the `.dlq` (by anyone who may write the default exchange) naming another queue it
    died in is kept, not sent there as the replaying service: only `<queue>.dlq`'s own queue takes its letters."""
    event_id = random_id("elsewhere")
    channel = await connection.channel(publisher_confirms=True)
    await channel.default_exchange.publish(
        aio_pika.Message(
            json.dumps({"id": event_id, "type": "meeting.scheduled.v1"}).encode(),
            headers={"x-first-death-queue": queue, "x-first-death-reason": "rejected"},
            message_id=event_id,
        ),
        routing_key=DLQ,
    )
    replayed = await replay_dead_letters(connection, DLQ)
    home = queue == NOTIFICATIONS_EVENTS.name
    assert (replayed["replayed"], replayed["kept"]) == ((1, 0) if home else (0, 1)), replayed
    if not home:
        await (await channel.declare_queue(DLQ, passive=True)).purge()
    await channel.close()


@pytest.fixture
async def probe(pool: asyncpg.Pool, amqp_url: str) -> AsyncIterator[ProbeConsumer]:
    """The probe consumer (one event a delivery) on a queue of its own with a delivery limit of 2."""
    async for consumer in _running_probe(pool, amqp_url, batched=False):
        yield consumer


async def test_a_history_its_publisher_forged_is_not_carried_into_a_death_after_a_consumer_saw_it(
    probe: ProbeConsumer,
    connection: aio_pika.abc.AbstractConnection,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A malformed message on chibo.events with a forged history of the probe's queue, whose dead letter its consumer
    cannot write (the publish fails: it rejects the delivery and the broker dead-letters it). Before, the broker
    added its death to the forged entry: the letter claimed a copy chibo published straight to the queue, so it was
    listed with the forged cause and time. Now the consumer takes a clean copy first, and that copy dies with the
    broker's history alone."""

    async def unwritable(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the dead-letter exchange is not reachable")

    monkeypatch.setattr(consuming, "_publish_dead_letter", unwritable)
    channel = await connection.channel(publisher_confirms=True)
    forged = forged_history(probe.queue.name) | {"x-first-death-reason": "rejected"}
    forged["x-death"] = [forged["x-death"][0] | {"queue": probe.queue.name, "reason": "rejected"}]
    body = b"{not json " + random_id("forged-seen").encode()
    exchange = await channel.get_exchange(EVENTS_EXCHANGE)
    await exchange.publish(aio_pika.Message(body, headers=forged), routing_key="meeting.cancelled.v1")
    dead = await channel.declare_queue(probe.queue.dead_letter_queue, passive=True)
    letter = await eventually(lambda: dead.get(no_ack=True, fail=False), timeout=60)
    assert letter.body == body
    seen = describe(letter, 0, carried_count=False)
    assert (seen["queue"], seen["reason"], seen["cause"]) == (probe.queue.name, "rejected", None), seen
    assert seen["death_count"] == 1 and seen["died_at"] is not None, seen
    assert datetime.fromisoformat(seen["died_at"]) > datetime(2026, 6, 1, tzinfo=UTC), seen  # not the forged time
    assert not {"x-chibo-reason", "x-chibo-replayed"} & set(seen["headers"]), seen["headers"]
    await channel.close()
