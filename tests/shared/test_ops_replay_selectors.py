"""`python -m shared.ops dead-letters replay` picks one dead letter as the API's replay does: `--key` (one row of the
listing) or `--message-id` (every copy of an AMQP message id), beside `--event-id` and `--limit`; two selectors that
would both choose are refused as the API refuses them (its 422, naming them), exit 4, audited, nothing replayed.
Against the real broker and database."""

import asyncio
import json
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel

from shared.topology import CONSUMER_QUEUES, declare_topology
from tests.shared.test_ops_cli import audit_rows_since, last_audit_row
from tests.support.ids import random_id
from tests.support.ops import ops, run_ops

QUEUE = "evaluation.facts.dlq"
PATH = f"/cli/dead-letters/{QUEUE}/replay"


async def letter(channel: AbstractChannel, event_id: str, message_id: str, **headers: Any) -> None:
    """A meeting.scheduled.v1 `event_id` that came in AMQP message `message_id`, rejected by evaluation.facts
    (`headers` beside the death's)."""
    await channel.default_exchange.publish(
        aio_pika.Message(
            json.dumps({"id": event_id, "type": "meeting.scheduled.v1"}).encode(),
            headers={"x-first-death-queue": "evaluation.facts", "x-first-death-reason": "rejected", **headers},
            message_id=message_id,
        ),
        routing_key=QUEUE,
    )


async def taken_back(channel: AbstractChannel, event_ids: set[str]) -> set[str]:
    """The events of `event_ids` waiting in evaluation.facts (sent back there), taken off it."""
    facts = await channel.declare_queue("evaluation.facts", passive=True)
    found: set[str] = set()
    others = []
    while (message := await facts.get(fail=False)) is not None:  # others' messages may wait there too (batches)
        try:
            body = json.loads(message.body)
        except ValueError:  # another test's letter that is not JSON at all
            body = None
        event_id = body.get("id") if isinstance(body, dict) else None
        if event_id in event_ids:
            found.add(event_id)
            await message.ack()
        else:
            others.append(message)  # held until the queue is read through, then given back: never taken twice
    for message in others:
        await message.nack(requeue=True)
    return found


async def test_one_dead_letter_is_replayed_by_its_listing_key_or_its_message_id(
    amqp_url: str, database_url: str
) -> None:
    await declare_topology(amqp_url, CONSUMER_QUEUES)
    before = await last_audit_row(database_url)
    first, second, third = (random_id("dead") for _ in range(3))
    batch = random_id("t34-web")
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        await (await channel.declare_queue(QUEUE, passive=True)).purge()
        await letter(
            channel, first, random_id("own"), **{"x-chibo-batch-message-id": batch, "x-chibo-batch-position": 0}
        )
        await letter(channel, second, f"{batch}-2")
        await letter(channel, third, f"{batch}-3")
        listed = await asyncio.to_thread(ops, amqp_url, database_url, "dead-letters", "list", "--queue", QUEUE)
        [row] = [item for item in listed["items"] if item["event_id"] == first]
        key = row["key"]
        # the listing names the batch message an event of a batch came in (shared.consuming.BATCH_HEADERS)
        assert (row["batch_message_id"], row["batch_correlation_id"], row["batch_position"]) == (batch, None, 0)

        by_key = await asyncio.to_thread(
            run_ops, amqp_url, database_url, "dead-letters", "replay", "--queue", QUEUE, "--key", key
        )
        assert by_key.returncode == 0, by_key.stderr
        assert json.loads(by_key.stdout)["replayed"] == 1
        by_message = await asyncio.to_thread(
            run_ops, amqp_url, database_url, "dead-letters", "replay", "--queue", QUEUE, "--message-id", f"{batch}-2"
        )
        assert by_message.returncode == 0, by_message.stderr
        assert json.loads(by_message.stdout)["replayed"] == 1
        assert await taken_back(channel, {first, second, third}) == {first, second}

        nope = random_id("nope")
        unknown = await asyncio.to_thread(
            run_ops, amqp_url, database_url, "dead-letters", "replay", "--queue", QUEUE, "--message-id", nope
        )
        assert unknown.returncode == 1, unknown.stderr
        assert f"not found: no dead letter in {QUEUE} has the message id {nope}" in unknown.stderr

        rows = await audit_rows_since(database_url, before, PATH)
        assert [
            (status, detail.get("key"), detail.get("message_id"), detail["replayed"]) for _, status, detail in rows
        ] == [
            (200, key, None, 1),
            (200, None, f"{batch}-2", 1),
            (404, None, nope, 0),
        ]
        await (await channel.declare_queue(QUEUE, passive=True)).purge()
    finally:
        await connection.close()


async def test_two_selectors_that_would_both_choose_are_refused_naming_them_and_nothing_is_replayed(
    amqp_url: str, database_url: str
) -> None:
    await declare_topology(amqp_url, CONSUMER_QUEUES)
    before = await last_audit_row(database_url)
    event_id = random_id("dead")
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        await (await channel.declare_queue(QUEUE, passive=True)).purge()
        await letter(channel, event_id, event_id)
        key = "0" * 32
        asked = {
            ("--key", key, "--event-id", event_id): "key and event_id",
            ("--key", key, "--message-id", event_id): "key and message_id",
            ("--event-id", event_id, "--message-id", event_id): "event_id and message_id",
            ("--key", key, "--limit", "1"): "key and limit",
        }
        for words, named in asked.items():
            refused = await asyncio.to_thread(
                run_ops, amqp_url, database_url, "dead-letters", "replay", "--queue", QUEUE, *words
            )
            assert refused.returncode == 4, refused.stderr
            assert f"refused: {named} each choose dead letters: give only one of them" in refused.stderr
        rows = await audit_rows_since(database_url, before, PATH)
        assert [(method, status, detail["refused"].split(" each")[0]) for method, status, detail in rows] == [
            ("CLI", 422, named) for named in asked.values()
        ]
        assert (await channel.declare_queue(QUEUE, passive=True)).declaration_result.message_count == 1
        await (await channel.declare_queue(QUEUE, passive=True)).purge()
    finally:
        await connection.close()
