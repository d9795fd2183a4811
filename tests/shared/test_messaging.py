"""Outbox, inbox and dead letters against the real RabbitMQ and PostgreSQL."""

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aio_pika
import asyncpg
import prometheus_client
import pytest
from faststream import Context
from faststream.middlewares import AckPolicy
from faststream.rabbit import RabbitBroker, RabbitMessage, RabbitRouter

from shared.consuming import consume_event, pending_batches
from shared.contracts.meetings import MeetingCancelled
from shared.envelope import BATCH_CONTENT_TYPE, Event, new_event
from shared.ops import dead_letters
from shared.ops.dead_letters import death_of, describe
from shared.outbox import OutboxRelay
from shared.topology import EVENTS_EXCHANGE, UNROUTED_QUEUE, ConsumerQueue, declare_topology
from shared.unit_of_work import PgUnitOfWork
from tests.shared.conftest import SCHEMA
from tests.support.ids import random_id
from tests.support.running import eventually, settled


async def bound_queue(channel: aio_pika.abc.AbstractChannel, routing_key: str) -> aio_pika.abc.AbstractQueue:
    """An exclusive queue that sees what is published on chibo.events with the key."""
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(EVENTS_EXCHANGE, routing_key=routing_key)
    return queue


async def drain(queue: aio_pika.abc.AbstractQueue, *, seconds: float = 3.0) -> list[dict]:
    """Every message that arrives on the queue within the time, parsed."""
    found: list[dict] = []
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        message = await queue.get(fail=False, no_ack=True)
        if message is None:
            await asyncio.sleep(0.05)
            continue
        found.append(json.loads(message.body))
    return found


KILLED_WRITER = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from shared.contracts.meetings import MeetingCancelled
    from shared.db import create_pool
    from shared.envelope import new_event
    from shared.unit_of_work import PgUnitOfWork

    async def main(dsn, meeting_id, commit):
        pool = await create_pool(dsn, schema="probe")
        uow = PgUnitOfWork(pool, schema="probe")
        async with uow:
            await uow.connection.execute("INSERT INTO probe_state (id, value) VALUES ($1, 1)", meeting_id)
            uow.emit(new_event(type="meeting.cancelled.v1", source="urn:test:killed", event_id=meeting_id,
                               data=MeetingCancelled(meeting_id=meeting_id, reason="Mưa bão")))
            if commit == "commit":
                await uow.commit()
            # the process dies here: after the commit (or before it), and before any relay publishes
            os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(main(*sys.argv[1:]))
    """
)


def run_killed_writer(database_url: str, meeting_id: str, mode: str) -> int:
    """Run the writer in its own process, which SIGKILLs itself; return its exit code."""
    result = subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, database_url, meeting_id, mode],
        cwd=Path(__file__).parents[2],
        capture_output=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    return result.returncode


async def test_process_killed_after_commit_loses_no_event(
    pool: asyncpg.Pool, channel: aio_pika.abc.AbstractChannel, database_url: str, amqp_url: str
) -> None:
    meeting_id = random_id("killed")
    queue = await bound_queue(channel, "meeting.cancelled.v1")

    assert run_killed_writer(database_url, meeting_id, "commit") == -signal.SIGKILL

    assert await pool.fetchval("SELECT value FROM probe_state WHERE id = $1", meeting_id) == 1
    assert await pool.fetchval("SELECT published_at FROM outbox WHERE event_id = $1", meeting_id) is None
    relay = OutboxRelay(pool=pool, schema=SCHEMA, amqp_url=amqp_url)
    task = asyncio.create_task(relay.run())
    try:
        received = await eventually(lambda: _matching(queue, meeting_id), timeout=60)
    finally:
        relay.stop()
        await asyncio.wait_for(task, timeout=10)
    assert received["data"] == {"meeting_id": meeting_id, "reason": "Mưa bão"}
    assert await pool.fetchval("SELECT published_at IS NOT NULL FROM outbox WHERE event_id = $1", meeting_id)


async def test_process_killed_before_commit_leaves_neither_state_nor_event(
    pool: asyncpg.Pool, database_url: str
) -> None:
    meeting_id = random_id("uncommitted")

    assert run_killed_writer(database_url, meeting_id, "no-commit") == -signal.SIGKILL

    assert await pool.fetchval("SELECT count(*) FROM probe_state WHERE id = $1", meeting_id) == 0
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE event_id = $1", meeting_id) == 0


async def _matching(queue: aio_pika.abc.AbstractQueue, event_id: str) -> dict | None:
    for message in await drain(queue, seconds=0.3):
        if message["id"] == event_id:
            return message
    return None


async def test_unrouted_event_is_kept_for_operators(channel: aio_pika.abc.AbstractChannel) -> None:
    exchange = await channel.get_exchange(EVENTS_EXCHANGE)
    marker = random_id("unrouted").encode()
    unrouted = await channel.declare_queue(UNROUTED_QUEUE, passive=True)
    await unrouted.purge()

    await exchange.publish(aio_pika.Message(marker), routing_key="nobody.listens.v1", mandatory=True)

    message = await eventually(lambda: unrouted.get(fail=False, no_ack=True), timeout=60)
    assert message.body == marker


class ProbeConsumer:
    """A consumer of meeting.cancelled.v1 whose handler counts applications and can be told to fail."""

    def __init__(
        self, pool: asyncpg.Pool, queue: ConsumerQueue, *, batched: bool = False, concurrency: int = 1
    ) -> None:
        self.pool = pool
        self.queue = queue
        self.router = RabbitRouter()
        self.calls: list[str] = []
        self.gate = asyncio.Event()
        """A cancellation whose reason is `gate` holds its transaction open until this is set."""
        self.gate.set()
        self.called_before_gate: list[str] = []
        self.runs: list[list[str]] = []
        self.transactions = 0
        batch_handlers = {"meeting.cancelled.v1": self.apply_run} if batched else None

        @self.router.subscriber(queue.rabbit_queue(), queue.rabbit_exchange(), ack_policy=AckPolicy.MANUAL)
        async def on_probe(
            message: RabbitMessage,
            uow_factory: Callable[[], PgUnitOfWork] = Context("probe_uow"),  # noqa: B008
        ) -> None:
            await consume_event(
                message,
                consumer=queue.name,
                handlers={"meeting.cancelled.v1": self.apply},
                uow_factory=uow_factory,
                finish=self.finish,
                delivery_limit=queue.delivery_limit,
                batch_handlers=batch_handlers,
                keys=(lambda event: {event.data.meeting_id}) if concurrency > 1 else None,
                concurrency=concurrency,
            )

    async def apply_run(self, events: Sequence[Event[Any]], uow: PgUnitOfWork) -> None:
        """A run of cancellations at once (noted), each counted as `apply` does."""
        self.runs.append([event.data.meeting_id for event in events])
        for event in events:
            await self.apply(event, uow)

    async def apply(self, event: Event[Any], uow: PgUnitOfWork) -> None:
        """Count the cancellation in probe_state; fail when the reason says so."""
        self.calls.append(event.data.meeting_id)
        if not self.gate.is_set():
            self.called_before_gate.append(event.data.meeting_id)
        await uow.connection.execute(
            "INSERT INTO probe_state (id, value) VALUES ($1, 1)"
            " ON CONFLICT (id) DO UPDATE SET value = probe_state.value + 1",
            event.data.meeting_id,
        )
        if event.data.reason == "fail":
            raise RuntimeError("the handler keeps failing")
        if event.data.reason == "gate":
            await self.gate.wait()
        if event.data.reason == "slow":
            await asyncio.sleep(1.0)  # holds its transaction while other deliveries arrive

    async def finish(self, uow: PgUnitOfWork) -> None:
        """Count the transactions that applied something (once per delivery when all goes well)."""
        self.transactions += 1


@pytest.fixture(params=[False, True], ids=["one_by_one", "batch_handler"])
async def probe(pool: asyncpg.Pool, amqp_url: str, request: pytest.FixtureRequest) -> AsyncIterator[ProbeConsumer]:
    """The probe consumer running on its own queue with a delivery limit of 2 (with a batch handler or not)."""
    async for consumer in _running_probe(pool, amqp_url, batched=request.param):
        yield consumer


@pytest.fixture
async def keyed_probe(pool: asyncpg.Pool, amqp_url: str) -> AsyncIterator[ProbeConsumer]:
    """The probe consumer keying each event by its meeting, two batch transactions at once."""
    async for consumer in _running_probe(pool, amqp_url, batched=True, concurrency=2):
        yield consumer


async def _running_probe(
    pool: asyncpg.Pool, amqp_url: str, *, batched: bool, concurrency: int = 1
) -> AsyncIterator[ProbeConsumer]:
    queue = ConsumerQueue("probe", random_id("consumer"), EVENTS_EXCHANGE, ["meeting.cancelled.v1"], delivery_limit=2)
    await declare_topology(amqp_url, [queue])
    consumer = ProbeConsumer(pool, queue, batched=batched, concurrency=concurrency)
    broker = RabbitBroker(amqp_url)
    broker.include_router(consumer.router)
    broker.context.set_global("probe_uow", lambda: PgUnitOfWork(pool, schema=SCHEMA))
    await broker.start()
    yield consumer
    await broker.stop()


async def test_duplicate_delivery_changes_nothing(
    probe: ProbeConsumer, pool: asyncpg.Pool, channel: aio_pika.abc.AbstractChannel
) -> None:
    meeting_id = random_id("dup")
    event = new_event(
        type="meeting.cancelled.v1",
        source="urn:test:dup",
        data=MeetingCancelled(meeting_id=meeting_id, reason="Trùng lịch"),
    )
    exchange = await channel.get_exchange(EVENTS_EXCHANGE)

    for _ in range(3):
        await exchange.publish(aio_pika.Message(event.to_json()), routing_key=event.type)

    await eventually(lambda: pool.fetchval("SELECT value FROM probe_state WHERE id = $1", meeting_id))

    def settled(outcome: str) -> float:
        labels = {"queue": probe.queue.name, "type": event.type, "outcome": outcome}
        return prometheus_client.REGISTRY.get_sample_value("chibo_events_consumed_total", labels) or 0.0

    # every copy was settled (however slow the machine), the two re-deliveries as duplicates
    await eventually(lambda: settled("handled") + settled("duplicate") == 3, timeout=30)
    assert settled("duplicate") == 2
    assert await pool.fetchval("SELECT value FROM probe_state WHERE id = $1", meeting_id) == 1
    assert probe.calls.count(meeting_id) == 1


async def test_failing_message_ends_in_dead_letters_after_the_delivery_limit(
    probe: ProbeConsumer, pool: asyncpg.Pool, channel: aio_pika.abc.AbstractChannel
) -> None:
    meeting_id = random_id("poison")
    event = new_event(
        type="meeting.cancelled.v1",
        source="urn:test:poison",
        data=MeetingCancelled(meeting_id=meeting_id, reason="fail"),
    )
    exchange = await channel.get_exchange(EVENTS_EXCHANGE)

    await exchange.publish(aio_pika.Message(event.to_json()), routing_key=event.type)

    dead = await channel.declare_queue(probe.queue.dead_letter_queue, passive=True)
    message = await eventually(lambda: dead.get(fail=False, no_ack=True), timeout=30)
    assert json.loads(message.body)["id"] == event.id
    assert 2 <= probe.calls.count(meeting_id) <= 3
    assert await pool.fetchval("SELECT count(*) FROM probe_state WHERE id = $1", meeting_id) == 0
    # the consumer dead-lettered it on its last allowed delivery, saying why and how often it had been delivered
    seen = describe(message, 0, carried_count=False)
    assert (seen["queue"], seen["reason"]) == (probe.queue.name, "delivery_limit"), seen
    assert seen["cause"] is not None and "the handler keeps failing" in seen["cause"], seen
    assert seen["delivery_count"] == probe.queue.delivery_limit - 1 and seen["death_count"] == 1, seen


async def test_malformed_message_is_dead_lettered_at_once(
    probe: ProbeConsumer, channel: aio_pika.abc.AbstractChannel
) -> None:
    exchange = await channel.get_exchange(EVENTS_EXCHANGE)
    body = b"{this is not json" + random_id("x").encode()

    await exchange.publish(aio_pika.Message(body), routing_key="meeting.cancelled.v1")

    dead = await channel.declare_queue(probe.queue.dead_letter_queue, passive=True)
    message = await eventually(lambda: dead.get(fail=False, no_ack=True), timeout=60)
    assert message.body == body
    assert probe.calls == []
    seen = describe(message, 0, carried_count=False)
    assert seen["reason"] == "rejected" and seen["cause"] and "not valid JSON" in seen["cause"], seen


async def test_an_invalid_event_is_dead_lettered_with_its_cause_for_the_operator(
    probe: ProbeConsumer, channel: aio_pika.abc.AbstractChannel
) -> None:
    """The tester's case: a dead letter showed only `reason: rejected`, its cause (`data.… Field required`) was only
    in the service's log. The consumer writes the cause on the dead letter itself (`x-chibo-reason`), and keeps the
    message's own headers and ids, so the listing shows why and a replay sends back the same message."""
    exchange = await channel.get_exchange(EVENTS_EXCHANGE)
    event = cancellation(random_id("invalid")) | {"data": {"meeting_id": random_id("invalid")}}  # no data.reason
    body = json.dumps(event).encode()
    await exchange.publish(
        aio_pika.Message(body, message_id=event["id"], headers={"ce-note": "thử"}), routing_key="meeting.cancelled.v1"
    )

    dead = await channel.declare_queue(probe.queue.dead_letter_queue, passive=True)
    message = await eventually(lambda: dead.get(fail=False, no_ack=True), timeout=60)
    assert message.body == body and message.message_id == event["id"]
    assert (message.headers or {}).get("ce-note") == "thử"
    seen = describe(message, 0, carried_count=False)
    assert (seen["queue"], seen["reason"], seen["event_id"]) == (probe.queue.name, "rejected", event["id"]), seen
    assert seen["cause"] is not None and seen["cause"].startswith("data.reason: Field required"), seen
    assert (seen["death_count"], seen["delivery_count"]) == (1, 0) and seen["died_at"], seen
    assert probe.calls == []


def cancellation(meeting_id: str, reason: str = "Trùng lịch") -> dict[str, Any]:
    """A meeting.cancelled.v1 event as JSON."""
    event = new_event(
        type="meeting.cancelled.v1",
        source="urn:test:batch",
        data=MeetingCancelled(meeting_id=meeting_id, reason=reason),
    )
    return json.loads(event.to_json())


async def publish_batch(channel: aio_pika.abc.AbstractChannel, events: list[Any]) -> None:
    """One batch message on chibo.events, routing key = the events' type (CONTRACT.md "Route out")."""
    exchange = await channel.get_exchange(EVENTS_EXCHANGE)
    body = json.dumps(events, ensure_ascii=False).encode()
    await exchange.publish(aio_pika.Message(body, content_type=BATCH_CONTENT_TYPE), routing_key="meeting.cancelled.v1")


async def applied(pool: asyncpg.Pool, ids: list[str]) -> dict[str, int]:
    """probe_state's count per id, for the ids applied so far."""
    rows = await pool.fetch("SELECT id, value FROM probe_state WHERE id = ANY($1::text[])", ids)
    return {row["id"]: row["value"] for row in rows}


async def test_a_batch_applies_each_event_once_in_one_transaction_and_isolates_a_bad_one(
    probe: ProbeConsumer, pool: asyncpg.Pool, channel: aio_pika.abc.AbstractChannel
) -> None:
    good = [cancellation(random_id("batch")) for _ in range(3)]
    bad = cancellation(random_id("bad")) | {"data": {"meeting_id": random_id("bad")}}  # data.reason missing
    ids = [event["data"]["meeting_id"] for event in good]

    await publish_batch(channel, [good[0], good[1], bad, good[0], good[2]])  # good[0] twice: once applied

    assert await eventually(lambda: _all_applied(pool, ids), timeout=15) == {meeting_id: 1 for meeting_id in ids}
    dead = await channel.declare_queue(probe.queue.dead_letter_queue, passive=True)
    message = await eventually(lambda: dead.get(fail=False, no_ack=True), timeout=10)
    assert json.loads(message.body) == bad  # alone, as it was in the batch
    assert (describe(message, 0)["cause"] or "").startswith("data.reason: Field required")
    assert message.headers["x-first-death-queue"] == probe.queue.name
    assert "data.reason" in str(message.headers["x-chibo-reason"])
    assert probe.transactions == 1
    assert sorted(probe.calls) == sorted(ids)
    # the batch delivery was settled (its five events counted), so no later copy can add a dead letter
    await eventually(lambda: settled(probe.queue.name) >= 5)
    assert await dead.get(fail=False, no_ack=True) is None


async def _all_applied(pool: asyncpg.Pool, ids: list[str]) -> dict[str, int] | None:
    found = await applied(pool, ids)
    return found if len(found) == len(ids) else None


async def test_a_failing_event_of_a_batch_holds_back_nothing_and_ends_alone_in_the_dead_letters(
    probe: ProbeConsumer, pool: asyncpg.Pool, channel: aio_pika.abc.AbstractChannel
) -> None:
    good = [cancellation(random_id("ok")) for _ in range(2)]
    failing = cancellation(random_id("failing"), reason="fail")
    ids = [event["data"]["meeting_id"] for event in good]

    await publish_batch(channel, [good[0], failing, good[1]])

    assert await eventually(lambda: _all_applied(pool, ids), timeout=15) == {meeting_id: 1 for meeting_id in ids}
    dead = await channel.declare_queue(probe.queue.dead_letter_queue, passive=True)
    message = await eventually(lambda: dead.get(fail=False, no_ack=True), timeout=30)
    assert json.loads(message.body)["id"] == failing["id"]
    assert "keeps failing" in str(message.headers["x-chibo-reason"])
    # no x-death (the consumer dead-lettered it itself): its timestamp says when it died, which orders the listing
    assert message.timestamp is not None and death_of(message)["died_at"] is not None
    assert await applied(pool, [failing["data"]["meeting_id"]]) == {}
    assert await applied(pool, ids) == {meeting_id: 1 for meeting_id in ids}  # the retries skipped them (inbox)


async def test_copies_within_and_across_batches_are_skipped_by_the_set_based_inbox(
    probe: ProbeConsumer, pool: asyncpg.Pool, channel: aio_pika.abc.AbstractChannel
) -> None:
    a, b, c, d = (cancellation(random_id("copy")) for _ in range(4))
    ids = [event["data"]["meeting_id"] for event in (a, b, c, d)]

    await publish_batch(channel, [a, b, a, c, b])
    assert await eventually(lambda: _all_applied(pool, ids[:3]), timeout=15) == dict.fromkeys(ids[:3], 1)
    await publish_batch(channel, [c, d, a])

    assert await eventually(lambda: _all_applied(pool, ids), timeout=15) == dict.fromkeys(ids, 1)
    await eventually(lambda: settled(probe.queue.name) >= 8)
    assert probe.calls == ids  # each once, in the order first seen
    if probe.runs:  # the batch handler took each batch's new events as one run
        assert probe.runs == [ids[:3], ids[3:]]
    assert probe.transactions == 2


async def test_batch_deliveries_arriving_during_a_transaction_share_the_next_one(
    probe: ProbeConsumer, pool: asyncpg.Pool, channel: aio_pika.abc.AbstractChannel
) -> None:
    """Group commit of batch deliveries: those that wait while one transaction runs are applied together in the
    next one, each event once, each delivery settled on its own."""
    first = [cancellation(random_id("slow"), reason="slow")]
    later = [[cancellation(random_id("grouped")) for _ in range(3)] for _ in range(3)]
    later[1].append(later[0][0])  # a copy in another delivery of the same group: a duplicate
    ids = [event["data"]["meeting_id"] for batch in [first, *later] for event in batch[:3]]

    await publish_batch(channel, first)
    await eventually(lambda: probe.calls, timeout=15)  # the first transaction runs (and sleeps)
    for batch in later:
        await publish_batch(channel, batch)

    assert await eventually(lambda: _all_applied(pool, ids), timeout=15) == dict.fromkeys(ids, 1)
    await eventually(lambda: settled(probe.queue.name) >= 1 + 3 + 4 + 3)
    assert sorted(probe.calls) == sorted(ids)
    assert probe.transactions == 2  # the first delivery's, then one for the three that waited


async def test_a_failing_event_in_a_group_of_deliveries_holds_back_only_its_own(
    probe: ProbeConsumer, pool: asyncpg.Pool, channel: aio_pika.abc.AbstractChannel
) -> None:
    first = [cancellation(random_id("slow"), reason="slow")]
    failing = cancellation(random_id("failing"), reason="fail")
    later = [[cancellation(random_id("ok"))], [cancellation(random_id("ok")), failing], [cancellation(random_id("ok"))]]
    ids = [first[0]["data"]["meeting_id"]] + [batch[0]["data"]["meeting_id"] for batch in later]

    await publish_batch(channel, first)
    await eventually(lambda: probe.calls, timeout=15)
    for batch in later:
        await publish_batch(channel, batch)

    assert await eventually(lambda: _all_applied(pool, ids), timeout=15) == dict.fromkeys(ids, 1)
    dead = await channel.declare_queue(probe.queue.dead_letter_queue, passive=True)
    message = await eventually(lambda: dead.get(fail=False, no_ack=True), timeout=30)
    assert json.loads(message.body)["id"] == failing["id"]
    assert await applied(pool, [failing["data"]["meeting_id"]]) == {}
    assert await applied(pool, ids) == dict.fromkeys(ids, 1)


async def test_batch_deliveries_about_other_keys_run_side_by_side_and_those_sharing_one_wait_in_order(
    keyed_probe: ProbeConsumer, pool: asyncpg.Pool, channel: aio_pika.abc.AbstractChannel
) -> None:
    """A consumer naming its events' keys: a delivery about other meetings commits while the first one's
    transaction is still open; one about the first one's meeting waits for it to commit, then comes after it."""
    probe = keyed_probe
    probe.gate.clear()
    held, other = random_id("held"), random_id("other")
    first = [cancellation(held, reason="gate")]
    disjoint = [cancellation(other), cancellation(random_id("other"))]
    same = [cancellation(held, reason="again"), cancellation(random_id("after"))]  # another event about `held`

    await publish_batch(channel, first)
    await eventually(lambda: held in probe.calls, timeout=15)  # its transaction is open, waiting on the gate
    await publish_batch(channel, disjoint)
    other_ids = [event["data"]["meeting_id"] for event in disjoint]
    # committed beside the open transaction, which has not committed yet
    assert await eventually(lambda: _all_applied(pool, other_ids), timeout=15) == dict.fromkeys(other_ids, 1)
    assert await applied(pool, [held]) == {}
    await publish_batch(channel, same)
    await eventually(lambda: pending_batches(probe.queue.name) == 1, timeout=15, interval=0.01)
    assert await applied(pool, [held]) == {}

    probe.gate.set()
    after = same[1]["data"]["meeting_id"]
    assert await eventually(lambda: _all_applied(pool, [held, after]), timeout=15) == {held: 2, after: 1}
    await eventually(lambda: settled(probe.queue.name) >= 5)
    # the delivery sharing `held` was applied only after the first committed, the disjoint one before
    assert probe.called_before_gate == [held, *other_ids]
    assert probe.calls == [held, *other_ids, held, after]


async def test_an_event_under_another_types_routing_key_is_dead_lettered_naming_type(
    probe: ProbeConsumer, pool: asyncpg.Pool, channel: aio_pika.abc.AbstractChannel
) -> None:
    """CONTRACT.md "Route out": on chibo.events the routing key is the event's type, a batch's (all of one type)
    that type. A trial's event published under another type's key was applied silently by that key's listeners (on
    chibo.ingest, D5); here a cancellation arrives, alone and in a batch, under meeting.rescheduled.v1, which the
    probe's queue also binds: each is dead-lettered with a cause naming `type` and the key given, and none applied."""
    misrouted = "meeting.rescheduled.v1"
    queue = await channel.declare_queue(probe.queue.name, passive=True)
    await queue.bind(EVENTS_EXCHANGE, routing_key=misrouted)
    single, item = cancellation(random_id("misrouted")), cancellation(random_id("misrouted"))
    exchange = await channel.get_exchange(EVENTS_EXCHANGE)
    await exchange.publish(
        aio_pika.Message(json.dumps(single).encode(), message_id=single["id"]), routing_key=misrouted
    )
    await exchange.publish(
        aio_pika.Message(json.dumps([item]).encode(), content_type=BATCH_CONTENT_TYPE), routing_key=misrouted
    )
    dead = await channel.declare_queue(probe.queue.dead_letter_queue, passive=True)
    causes: dict[str, str] = {}
    while len(causes) < 2:
        message = await eventually(lambda: dead.get(fail=False, no_ack=True), timeout=30)
        causes[json.loads(message.body)["id"]] = describe(message, 0)["cause"] or ""
    assert set(causes) == {single["id"], item["id"]}
    for cause in causes.values():
        assert cause.startswith(f"type: meeting.cancelled.v1 arrived under routing key '{misrouted}'"), cause
    assert await applied(pool, [single["data"]["meeting_id"], item["data"]["meeting_id"]]) == {}
    assert probe.calls == []


def binary_form(event: dict[str, Any], prefix: str) -> aio_pika.Message:
    """The event in CloudEvents binary content mode: its attributes as headers under `prefix`, its data the body."""
    headers = {f"{prefix}{name}": value for name, value in event.items() if name not in ("data", "datacontenttype")}
    return aio_pika.Message(json.dumps(event["data"]).encode(), content_type="application/json", headers=headers)


async def test_an_event_in_binary_content_mode_is_applied_in_each_bindings_prefixes(
    probe: ProbeConsumer, pool: asyncpg.Pool, channel: aio_pika.abc.AbstractChannel
) -> None:
    """CONTRACT.md "Route out": every subscriber accepts both content modes. A trial's member.upserted.v1 published
    on chibo.events in binary mode (attributes as `ce-` headers, body = data) was dead-lettered by every consumer as
    "specversion/source/type/time/data: Field required" beside the very `ce-type` it said was missing. Each consumer
    reads a delivery with the ingest routes' one reader (shared.bindings.read_message): the RabbitMQ binding's `ce-`
    and the AMQP binding's `cloudEvents:` / `cloudEvents_` are applied as the structured form is."""
    events = {prefix: cancellation(random_id("binary")) for prefix in ("ce-", "cloudEvents:", "cloudEvents_")}
    exchange = await channel.get_exchange(EVENTS_EXCHANGE)
    for prefix, event in events.items():
        await exchange.publish(binary_form(event, prefix), routing_key=event["type"])
    ids = [event["data"]["meeting_id"] for event in events.values()]
    assert await eventually(lambda: _all_applied(pool, ids), timeout=30) == dict.fromkeys(ids, 1)
    await eventually(lambda: settled(probe.queue.name) >= 3)
    dead = await channel.declare_queue(probe.queue.dead_letter_queue, passive=True)
    assert await dead.get(fail=False, no_ack=True) is None


async def test_a_broken_binary_event_is_dead_lettered_with_its_true_cause(
    probe: ProbeConsumer, channel: aio_pika.abc.AbstractChannel
) -> None:
    """A binary-mode event missing one attribute is dead-lettered naming that one alone, not the attributes its
    headers give (the false "specversion/source/type/time/data" cause of the trial), with its event id listed."""
    event = cancellation(random_id("binary"))
    message = binary_form({name: value for name, value in event.items() if name != "source"}, "ce-")
    exchange = await channel.get_exchange(EVENTS_EXCHANGE)
    await exchange.publish(message, routing_key=event["type"])
    dead = await channel.declare_queue(probe.queue.dead_letter_queue, passive=True)
    seen = describe(await eventually(lambda: dead.get(fail=False, no_ack=True), timeout=30), 0)
    assert seen["cause"] is not None and seen["cause"].startswith("source: Field required"), seen
    assert "specversion" not in seen["cause"] and "type" not in seen["cause"], seen
    assert seen["event_id"] == event["id"], seen
    assert probe.calls == []


async def test_an_oversized_event_alone_or_in_a_batch_is_dead_lettered_naming_body_and_its_id(
    probe: ProbeConsumer, channel: aio_pika.abc.AbstractChannel
) -> None:
    """docs/integrations.md: an event over 1 MiB is refused naming `body`, with its size, alone or in a batch. A
    trial's 1.1 MB event in a batch was dead-lettered as `data.meeting_id` (the first field to break) and listed with
    event_id None though it had an id; alone, in binary mode, it was the false missing-attributes cause."""
    big = "m" * 1_150_000
    in_batch, alone, binary = (cancellation(random_id("big")) for _ in range(3))
    in_batch["data"]["meeting_id"] = alone["data"]["reason"] = binary["data"]["reason"] = big
    small = cancellation(random_id("small"))
    exchange = await channel.get_exchange(EVENTS_EXCHANGE)
    await publish_batch(channel, [small, in_batch])
    await exchange.publish(aio_pika.Message(json.dumps(alone).encode()), routing_key=alone["type"])
    await exchange.publish(binary_form(binary, "ce-"), routing_key=binary["type"])
    dead = await channel.declare_queue(probe.queue.dead_letter_queue, passive=True)
    seen: dict[str, dict[str, Any]] = {}
    while len(seen) < 3:
        listed = describe(await eventually(lambda: dead.get(fail=False, no_ack=True), timeout=60), 0)
        seen[listed["event_id"]] = listed
    assert set(seen) == {in_batch["id"], alone["id"], binary["id"]}, list(seen)
    for listed in seen.values():
        assert re.fullmatch(r"body: larger than 1048576 bytes \([0-9]+ bytes\)", listed["cause"] or ""), listed
    assert probe.calls == [small["data"]["meeting_id"]]


async def test_a_replayed_dead_letter_that_dies_again_counts_every_death(
    probe: ProbeConsumer, channel: aio_pika.abc.AbstractChannel
) -> None:
    """A trial's dead letter replayed by an operator (replay_dead_letters: `x-chibo-replayed` counts the replays)
    died again and was listed with death_count 1: each death counts, alone and out of a batch."""
    alone = cancellation(random_id("again")) | {"data": {"meeting_id": random_id("again")}}  # no data.reason
    item = cancellation(random_id("again")) | {"data": {"meeting_id": random_id("again")}}
    # as a replay sends them back: straight to the queue (a publisher's x-chibo- headers on chibo.events are not kept)
    replayed_once: dict[str, Any] = {"x-chibo-replayed": 1}
    await channel.default_exchange.publish(
        aio_pika.Message(json.dumps(alone).encode(), headers=replayed_once), routing_key=probe.queue.name
    )
    body = json.dumps([item]).encode()
    batch = aio_pika.Message(body, content_type=BATCH_CONTENT_TYPE, headers={"x-chibo-replayed": 2})
    await channel.default_exchange.publish(batch, routing_key=probe.queue.name)
    dead = await channel.declare_queue(probe.queue.dead_letter_queue, passive=True)
    counts: dict[str, int] = {}
    while len(counts) < 2:
        listed = describe(await eventually(lambda: dead.get(fail=False, no_ack=True), timeout=30), 0)
        counts[listed["event_id"]] = listed["death_count"]
    assert counts == {alone["id"]: 2, item["id"]: 3}


def test_the_broker_dead_lettering_a_replayed_message_counts_the_replays_too() -> None:
    """x-death counts the deaths since the last replay (the replay drops it); x-chibo-replayed the replays before."""
    # a replayed copy is published straight to its queue: it dies from the default exchange
    headers = {
        "x-death": [{"queue": "q", "reason": "delivery_limit", "count": 1, "exchange": ""}],
        "x-chibo-replayed": 2,
    }
    message = SimpleNamespace(headers=headers, timestamp=None)
    assert death_of(message)["death_count"] == 3  # type: ignore[arg-type]
    assert death_of(SimpleNamespace(headers={"x-death": headers["x-death"]}, timestamp=None))["death_count"] == 1  # type: ignore[arg-type]


async def test_a_structured_event_beside_extension_headers_or_another_content_type_is_still_applied(
    probe: ProbeConsumer, pool: asyncpg.Pool, channel: aio_pika.abc.AbstractChannel
) -> None:
    """Reading binary mode takes nothing from the structured form: an envelope body beside extension headers with no
    `specversion` (`ce-note`, a `ce_note` no binding writes) or under a content type of neither mode is applied."""
    events = [cancellation(random_id("beside")) for _ in range(3)]
    exchange = await channel.get_exchange(EVENTS_EXCHANGE)
    forms: list[dict[str, Any]] = [
        {"headers": {"ce-note": "thử"}},
        {"headers": {"ce_note": "thử"}},
        {"content_type": "text/plain"},
    ]
    for event, form in zip(events, forms, strict=True):
        await exchange.publish(aio_pika.Message(json.dumps(event).encode(), **form), routing_key=event["type"])
    ids = [event["data"]["meeting_id"] for event in events]
    assert await eventually(lambda: _all_applied(pool, ids), timeout=30) == dict.fromkeys(ids, 1)


async def test_each_dead_letter_of_a_batch_names_the_batch_message_it_came_in_even_after_a_replay(
    probe: ProbeConsumer, channel: aio_pika.abc.AbstractChannel
) -> None:
    """A trial published `[1,2]` as message `t34-web-1`: two dead letters, each with a new message id and only its
    place in the batch, which the operator could not link back to what was sent. Each names the batch message's id
    and correlation id (headers, and the listing's fields), and keeps them when it is sent back and dies again."""
    batch_id, correlation = random_id("t34-web"), random_id("corr")
    exchange = await channel.get_exchange(EVENTS_EXCHANGE)
    await exchange.publish(
        aio_pika.Message(b"[1,2]", content_type=BATCH_CONTENT_TYPE, message_id=batch_id, correlation_id=correlation),
        routing_key="meeting.cancelled.v1",
    )
    dead = await channel.declare_queue(probe.queue.dead_letter_queue, passive=True)
    letters = [await eventually(lambda: dead.get(fail=False, no_ack=True), timeout=30) for _ in range(2)]
    seen = sorted((describe(letter, 0) for letter in letters), key=lambda row: row["batch_position"])
    assert [(row["batch_message_id"], row["batch_correlation_id"], row["batch_position"]) for row in seen] == [
        (batch_id, correlation, 0),
        (batch_id, correlation, 1),
    ], seen
    assert all(row["message_id"] != batch_id for row in seen)  # each its own message

    # sent back as a replay sends it (the broker's and the consumer's x- headers dropped but the batch's), it dies
    # again, alone this time: its new dead letter still names the batch
    first = letters[0]
    kept = {name: value for name, value in (first.headers or {}).items() if name.startswith("x-chibo-batch-")}
    await channel.default_exchange.publish(
        aio_pika.Message(bytes(first.body), headers={**kept, "x-chibo-replayed": 1}, message_id=first.message_id),
        routing_key=probe.queue.name,
    )
    again = describe(await eventually(lambda: dead.get(fail=False, no_ack=True), timeout=30), 0)
    assert (again["batch_message_id"], again["batch_correlation_id"]) == (batch_id, correlation), again
    assert again["batch_position"] == describe(first, 0)["batch_position"], again


async def test_a_dead_letter_replay_killed_after_the_confirm_is_applied_once_and_leaves_no_letter(
    probe: ProbeConsumer,
    pool: asyncpg.Pool,
    channel: aio_pika.abc.AbstractChannel,
    amqp_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A replay killed between the broker's confirm of the copy and the removal of the letter leaves the letter, and
    the next replay sends it again: end to end, the consumer applies the event once (the second copy is a duplicate
    by (source, id)) and the dead-letter queue ends empty."""
    monkeypatch.setattr(dead_letters, "DEAD_LETTER_QUEUES", (probe.queue.dead_letter_queue,))
    event = cancellation(random_id("replay-killed"))
    meeting_id = event["data"]["meeting_id"]
    dlq = probe.queue.dead_letter_queue
    await channel.default_exchange.publish(
        aio_pika.Message(
            json.dumps(event).encode(),
            headers={"x-first-death-queue": probe.queue.name, "x-first-death-reason": "rejected"},
            message_id=event["id"],
        ),
        routing_key=dlq,
    )
    connection = await aio_pika.connect(amqp_url)

    async def killed(message: aio_pika.IncomingMessage, multiple: bool = False) -> None:
        raise asyncio.CancelledError  # the process stops here, as one killed after the confirm: no ack, no mark

    with monkeypatch.context() as patch:
        patch.setattr(aio_pika.IncomingMessage, "ack", killed)
        with pytest.raises(asyncio.CancelledError):
            await dead_letters.replay_dead_letters(connection, dlq, replay_id="form-1")

    async def waiting() -> int:
        return (await channel.declare_queue(dlq, passive=True)).declaration_result.message_count or 0

    async def back() -> bool:  # the letter taken comes back as its channel closes, a moment on
        return await waiting() == 1

    await eventually(back)
    again = await dead_letters.replay_dead_letters(connection, dlq, replay_id="form-1")
    assert again["replayed"] == 1, again

    def consumed(outcome: str) -> float:  # every type label (the probe's types count as `other`)
        return sum(
            sample.value
            for metric in prometheus_client.REGISTRY.collect()
            if metric.name == "chibo_events_consumed"
            for sample in metric.samples
            if sample.name == "chibo_events_consumed_total"
            and sample.labels.get("queue") == probe.queue.name
            and sample.labels.get("outcome") == outcome
        )

    await eventually(lambda: consumed("handled") + consumed("duplicate") == 2, timeout=30)
    assert (consumed("handled"), consumed("duplicate")) == (1, 1)
    assert await pool.fetchval("SELECT value FROM probe_state WHERE id = $1", meeting_id) == 1
    assert probe.calls.count(meeting_id) == 1
    assert await waiting() == 0
    await connection.close()


async def test_a_consumer_writing_a_dead_letter_keeps_no_batch_or_replay_header_a_publisher_forged(
    probe: ProbeConsumer, channel: aio_pika.abc.AbstractChannel
) -> None:
    """A consumer dead-lettering a delivery itself kept its batch and replay headers (and counted the handed-back
    deliveries it said), meant for copies chibo publishes straight to the queue (a replay, a hand-back): one published
    on chibo.events with them forged was listed as dead in someone else's batch, replayed five times, delivered seven.
    Only a copy published straight to the queue (which only chibo's services may) keeps them."""
    forged: dict[str, Any] = {
        "x-chibo-batch-message-id": "forged-batch",
        "x-chibo-batch-position": 3,
        "x-chibo-replayed": 5,
        "x-chibo-replay-ids": "form-forged",
        "x-chibo-deliveries": 7,
    }
    exchange = await channel.get_exchange(EVENTS_EXCHANGE)
    body = b"{this is not json" + random_id("forged").encode()
    await exchange.publish(aio_pika.Message(body, headers=forged), routing_key="meeting.cancelled.v1")
    dead = await channel.declare_queue(probe.queue.dead_letter_queue, passive=True)
    letter = await eventually(lambda: dead.get(fail=False, no_ack=True), timeout=60)
    assert letter.body == body
    seen = describe(letter, 0, carried_count=False)
    assert (seen["batch_message_id"], seen["batch_position"]) == (None, None), seen
    assert (seen["death_count"], seen["delivery_count"]) == (1, 0), seen
    assert not set(forged) & set(seen["headers"]), seen["headers"]
