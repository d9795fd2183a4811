"""Issue 10, fault 1: a poison outbox row is parked, the relay goes on, and an operator sees and replays it.

Real RabbitMQ and PostgreSQL (the probe schema of test_messaging).
"""

import asyncio
import json
import time
from collections.abc import AsyncIterator

import aio_pika
import asyncpg
import pytest

from shared.contracts.meetings import MeetingCancelled
from shared.envelope import CloudEvent, new_event, read_batch
from shared.ops.outbox import list_parked, outbox_health, replay_parked
from shared.outbox import OutboxRelay, add_to_outbox
from tests.shared.conftest import SCHEMA
from tests.shared.test_messaging import bound_queue
from tests.support.ids import random_id
from tests.support.running import eventually


@pytest.fixture
async def relay(pool: asyncpg.Pool, amqp_url: str) -> AsyncIterator[OutboxRelay]:
    relay = OutboxRelay(pool=pool, schema=SCHEMA, amqp_url=amqp_url, poll_seconds=0.2, max_attempts=3)
    task = asyncio.create_task(relay.run())
    yield relay
    relay.stop()
    await asyncio.wait_for(task, timeout=15)


def cancelled(meeting_id: str) -> CloudEvent:
    return new_event(
        type="meeting.cancelled.v1",
        source="urn:test:relay",
        event_id=meeting_id,
        data=MeetingCancelled(meeting_id=meeting_id, reason="Mưa bão"),
    )


async def _found(queue: aio_pika.abc.AbstractQueue, meeting_id: str, seen: list[dict]) -> dict | None:
    while (message := await queue.get(fail=False, no_ack=True)) is not None:
        body = json.loads(message.body)
        for event in body if isinstance(body, list) else [body]:  # one event, or a batch of them
            seen.append({"body": event, "correlation_id": message.correlation_id})
    return next((item for item in seen if item["body"]["data"]["meeting_id"] == meeting_id), None)


async def test_a_poison_row_is_parked_and_the_next_event_goes_out_within_seconds(  # type: ignore[no-untyped-def]
    pool: asyncpg.Pool, channel: aio_pika.abc.AbstractChannel, relay
) -> None:
    queue = await bound_queue(channel, "meeting.cancelled.v1")
    poison_id, after_id = random_id("poison"), random_id("after")
    async with pool.acquire() as conn, conn.transaction():
        # a row no broker will take: its exchange does not exist (a permanent failure)
        await add_to_outbox(conn, [cancelled(poison_id)], schema=SCHEMA, exchange="chibo.missing-" + poison_id)
    async with pool.acquire() as conn, conn.transaction():
        await add_to_outbox(conn, [cancelled(after_id)], schema=SCHEMA)
    started = time.monotonic()
    seen: list[dict] = []
    # well under the relay's 30 s backoff, with room for a loaded machine
    await eventually(lambda: _found(queue, after_id, seen), timeout=25)
    assert time.monotonic() - started < 25
    parked = await eventually(
        lambda: pool.fetchrow("SELECT * FROM outbox WHERE event_id = $1 AND parked_at IS NOT NULL", poison_id),
        timeout=10,
    )
    assert "NOT_FOUND" in parked["parked_reason"] or "not found" in parked["parked_reason"].lower()
    async with pool.acquire() as conn:
        health = await outbox_health(conn)
        page = await list_parked(conn, limit=200)
    assert health["parked"] >= 1
    assert poison_id in [item["event_id"] for item in page["items"]]


async def test_rows_sharing_a_batch_with_a_poison_row_go_out_and_only_the_poison_is_parked(  # type: ignore[no-untyped-def]
    pool: asyncpg.Pool, channel: aio_pika.abc.AbstractChannel, relay
) -> None:
    """The poison row closes the channel under its batch-mates; their borrowed NOT_FOUND must not park them."""
    queue = await bound_queue(channel, "meeting.cancelled.v1")
    poison_id = random_id("poison")
    others = [random_id("mate") for _ in range(20)]
    async with pool.acquire() as conn, conn.transaction():
        await add_to_outbox(conn, [cancelled(poison_id)], schema=SCHEMA, exchange="chibo.missing-" + poison_id)
        await add_to_outbox(conn, [cancelled(other) for other in others], schema=SCHEMA)
    seen: list[dict] = []

    async def all_out() -> bool:
        await _found(queue, poison_id, seen)
        return set(others) <= {item["body"]["data"]["meeting_id"] for item in seen}

    await eventually(all_out, timeout=30)

    async def settled_rows() -> list[asyncpg.Record] | None:
        # the relay commits its bookkeeping after the broker confirmed: the messages may be seen a moment before
        rows = await pool.fetch(
            "SELECT event_id, parked_at IS NOT NULL AS parked FROM outbox WHERE event_id = ANY($1::text[])"
            " AND (published_at IS NOT NULL OR parked_at IS NOT NULL)",
            [poison_id, *others],
        )
        return rows if len(rows) == 1 + len(others) else None

    rows = await eventually(settled_rows, timeout=10)
    assert [row["event_id"] for row in rows if row["parked"]] == [poison_id]


async def test_an_overlong_correlation_id_in_a_row_never_reaches_the_amqp_property(  # type: ignore[no-untyped-def]
    pool: asyncpg.Pool, channel: aio_pika.abc.AbstractChannel, relay
) -> None:
    """Rows written before ids were bounded (or by a bug) still go out: the property is bounded, not the row."""
    queue = await bound_queue(channel, "meeting.cancelled.v1")
    meeting_id = random_id("long")
    async with pool.acquire() as conn, conn.transaction():
        await add_to_outbox(conn, [cancelled(meeting_id)], schema=SCHEMA)
        await conn.execute("UPDATE outbox SET correlation_id = $2 WHERE event_id = $1", meeting_id, "c" * 300)
        await conn.execute("SELECT pg_notify($1, '')", f"{SCHEMA}_outbox")
    seen: list[dict] = []
    found = await eventually(lambda: _found(queue, meeting_id, seen), timeout=60)
    assert found["correlation_id"] == meeting_id


async def test_a_parked_row_is_replayed_by_an_operator_once_the_cause_is_fixed(  # type: ignore[no-untyped-def]
    pool: asyncpg.Pool, channel: aio_pika.abc.AbstractChannel, relay
) -> None:
    meeting_id = random_id("replayed")
    exchange_name = "chibo.later-" + meeting_id
    async with pool.acquire() as conn, conn.transaction():
        await add_to_outbox(conn, [cancelled(meeting_id)], schema=SCHEMA, exchange=exchange_name)
    await eventually(
        lambda: pool.fetchval("SELECT parked_at IS NOT NULL FROM outbox WHERE event_id = $1", meeting_id), timeout=10
    )
    exchange = await channel.declare_exchange(exchange_name, aio_pika.ExchangeType.TOPIC, auto_delete=True)
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(exchange, routing_key="#")
    async with pool.acquire() as conn:
        row_id = await conn.fetchval("SELECT id FROM outbox WHERE event_id = $1", meeting_id)
        assert await replay_parked(conn, schema=SCHEMA, ids=[row_id, 424242424242]) == {
            "replayed": 1,
            "replayed_ids": [row_id],
            "missing": [424242424242],
        }
    seen: list[dict] = []
    await eventually(lambda: _found(queue, meeting_id, seen), timeout=60)
    # the relay commits published_at after the broker confirmed: the message may be seen a moment before
    await eventually(
        lambda: pool.fetchval("SELECT published_at IS NOT NULL FROM outbox WHERE event_id = $1", meeting_id), timeout=10
    )


async def test_same_type_runs_go_out_as_one_batch_message_each(  # type: ignore[no-untyped-def]
    pool: asyncpg.Pool, channel: aio_pika.abc.AbstractChannel, relay
) -> None:
    """A transaction's rows are grouped by type; each run travels as one application/cloudevents-batch+json."""
    queue = await bound_queue(channel, "meeting.cancelled.v1")
    await queue.bind("chibo.events", routing_key="meeting.withdrawn-for-test.v1")
    cancels = [cancelled(random_id("run")) for _ in range(4)]
    others = [
        cancelled(random_id("other")).model_copy(update={"type": "meeting.withdrawn-for-test.v1"}) for _ in range(3)
    ]
    mixed = [event for pair in zip(cancels, others, strict=False) for event in pair] + cancels[3:]
    async with pool.acquire() as conn, conn.transaction():
        await add_to_outbox(conn, mixed, schema=SCHEMA)

    async def messages() -> list[aio_pika.abc.AbstractIncomingMessage] | None:
        while (message := await queue.get(fail=False, no_ack=True)) is not None:
            got.append(message)
        return got if sum(len(json.loads(message.body)) for message in got) >= 7 else None

    got: list[aio_pika.abc.AbstractIncomingMessage] = []
    await eventually(messages, timeout=10)
    assert [message.content_type for message in got] == ["application/cloudevents-batch+json"] * 2
    assert [message.routing_key for message in got] == ["meeting.cancelled.v1", "meeting.withdrawn-for-test.v1"]
    assert [event["id"] for event in json.loads(got[0].body)] == [event.id for event in cancels]  # in order
    assert [event["id"] for event in json.loads(got[1].body)] == [event.id for event in others]
    assert all(message.correlation_id is None for message in got)  # never one event's id for a whole batch
    assert all(not any(key.startswith("ce-") for key in message.headers) for message in got)


async def test_a_row_that_fails_its_batch_message_is_found_alone_and_parked(  # type: ignore[no-untyped-def]
    pool: asyncpg.Pool, channel: aio_pika.abc.AbstractChannel, relay
) -> None:
    """The batch message fails for one row (a header AMQP cannot encode); its mates go out, it alone is parked."""
    queue = await bound_queue(channel, "meeting.cancelled.v1")
    ids = [random_id("split") for _ in range(5)]
    async with pool.acquire() as conn, conn.transaction():
        await add_to_outbox(conn, [cancelled(meeting_id) for meeting_id in ids], schema=SCHEMA)
        await conn.execute(
            "UPDATE outbox SET trace_context = '{\"tracestate\": 99999999999999999999999}'::jsonb WHERE event_id = $1",
            ids[0],
        )
    seen: list[dict] = []

    async def mates_out() -> bool:
        await _found(queue, ids[0], seen)
        return set(ids[1:]) <= {item["body"]["data"]["meeting_id"] for item in seen}

    await eventually(mates_out, timeout=30)
    parked = await eventually(
        lambda: pool.fetch(
            "SELECT event_id, attempts FROM outbox WHERE event_id = ANY($1::text[]) AND parked_at IS NOT NULL", ids
        ),
        timeout=10,
    )
    assert [row["event_id"] for row in parked] == [ids[0]]
    assert ids[0] not in {item["body"]["data"]["meeting_id"] for item in seen}
    mates = await pool.fetch("SELECT attempts, last_error FROM outbox WHERE event_id = ANY($1::text[])", ids[1:])
    assert all(row["last_error"] and row["attempts"] == 0 for row in mates)  # in the failed batch; not blamed


async def test_a_transaction_s_rows_are_stored_in_one_statement_grouped_by_type_in_order(pool: asyncpg.Pool) -> None:
    """add_to_outbox writes all rows at once: ids follow the events' order within each type, the types in the
    order they first appear, each row with its own payload, correlation id and trace context (none here)."""
    from shared.contracts.meetings import MinutesApproved

    ids = [random_id("row") for _ in range(6)]
    approved = [
        new_event(
            type="minutes.approved.v1",
            source="urn:test:relay",
            event_id=event_id,
            data=MinutesApproved(meeting_id=event_id, approved_at=cancelled(event_id).time),
            correlation_id=f"corr-{event_id}",
        )
        for event_id in ids[1::2]
    ]
    events = [item for pair in zip([cancelled(i) for i in ids[0::2]], approved, strict=True) for item in pair]
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(f"SET LOCAL search_path TO {SCHEMA}")
        await add_to_outbox(conn, events, schema=SCHEMA, exchange="chibo.nowhere")
    rows = await pool.fetch(
        f"SELECT event_id, type, exchange, routing_key, payload::text AS payload, correlation_id, trace_context"
        f" FROM {SCHEMA}.outbox WHERE event_id = ANY($1::text[]) ORDER BY id",
        ids,
    )
    assert [row["event_id"] for row in rows] == ids[0::2] + ids[1::2]
    assert all(row["type"] == row["routing_key"] and row["exchange"] == "chibo.nowhere" for row in rows)
    by_id = {event.id: event for event in events}
    assert all(json.loads(row["payload"]) == json.loads(by_id[row["event_id"]].to_json()) for row in rows)
    assert [row["correlation_id"] for row in rows] == [None] * 3 + [f"corr-{i}" for i in ids[1::2]]
    assert {row["trace_context"] for row in rows} == {None}
    await pool.execute(f"DELETE FROM {SCHEMA}.outbox WHERE event_id = ANY($1::text[])", ids)  # no relay may park them


async def test_a_relayed_batch_is_the_compact_text_written_so_consumers_read_it_the_fast_way(  # type: ignore[no-untyped-def]
    pool: asyncpg.Pool, channel: aio_pika.abc.AbstractChannel, relay
) -> None:
    """The outbox keeps each event's own compact JSON (json, not jsonb, which gave it back re-spaced): the batch
    message is those texts joined, and read_batch reads it clean (read_compact), not through the hooked slow path."""
    queue = await bound_queue(channel, "meeting.cancelled.v1")
    events = [cancelled(random_id("compact")) for _ in range(3)]
    async with pool.acquire() as conn, conn.transaction():
        await add_to_outbox(conn, events, schema=SCHEMA)

    async def batch() -> aio_pika.abc.AbstractIncomingMessage | None:
        while (message := await queue.get(fail=False, no_ack=True)) is not None:
            if events[0].id.encode() in message.body:
                return message
        return None

    message = await eventually(batch, timeout=10)
    assert message.body == b"[" + b",".join(event.to_json() for event in events) + b"]"
    assert read_batch(message.body).checked  # clean as a whole: no item walked again
