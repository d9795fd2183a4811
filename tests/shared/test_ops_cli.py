"""`python -m shared.ops`: the operators' command line against the real broker and database."""

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg

from shared.db import apply_migrations, migration_files
from shared.topology import CONSUMER_QUEUES, declare_topology
from tests.support.ids import random_id

ROOT = Path(__file__).parents[2]


def ops(amqp_url: str, database_url: str, *args: str) -> Any:
    result = subprocess.run(
        [sys.executable, "-m", "shared.ops", *args],
        cwd=ROOT,
        env={**os.environ, "CHIBO_AMQP_URL": amqp_url, "CHIBO_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


async def test_dead_letters_are_counted_listed_and_replayed_from_the_command_line(
    amqp_url: str, database_url: str
) -> None:
    await declare_topology(amqp_url, CONSUMER_QUEUES)
    event_id = random_id("dead")
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        await (await channel.declare_queue("evaluation.facts.dlq", passive=True)).purge()
        await channel.default_exchange.publish(
            aio_pika.Message(
                json.dumps({"id": event_id, "type": "meeting.scheduled.v1"}).encode(),
                headers={"x-first-death-queue": "evaluation.facts", "x-first-death-reason": "rejected"},
                message_id=event_id,
            ),
            routing_key="evaluation.facts.dlq",
        )
        counts = await asyncio.to_thread(ops, amqp_url, database_url, "dead-letters", "list")
        assert counts["evaluation.facts.dlq"] == 1
        listed = await asyncio.to_thread(
            ops, amqp_url, database_url, "dead-letters", "list", "--queue", "evaluation.facts.dlq"
        )
        assert [item["event_id"] for item in listed["items"]] == [event_id]
        assert listed["items"][0]["reason"] == "rejected"
        replayed = await asyncio.to_thread(
            ops, amqp_url, database_url, "dead-letters", "replay", "--queue", "evaluation.facts.dlq"
        )
        assert replayed == {"queue": "evaluation.facts.dlq", "replayed": 1, "kept": 0}
        facts = await channel.declare_queue("evaluation.facts", passive=True)
        ids = []
        while (message := await facts.get(fail=False)) is not None:  # others' events may wait there too
            ids.append(message.message_id)
            if message.message_id == event_id:
                await message.ack()
                break
        assert event_id in ids
    finally:
        await connection.close()


async def test_the_outbox_status_and_parked_rows_from_the_command_line(amqp_url: str, database_url: str) -> None:
    meetings_dir = ROOT / "services" / "meetings"
    await apply_migrations(database_url, schema="meetings", files=migration_files(meetings_dir))
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "meetings"})
    event_id = random_id("parked")
    try:
        await conn.execute(
            "INSERT INTO outbox (event_id, type, exchange, routing_key, payload, parked_at, parked_reason)"
            " VALUES ($1, 't', 'chibo.events', 't', '{}'::jsonb, now(), 'test')",
            event_id,
        )
        status = await asyncio.to_thread(ops, amqp_url, database_url, "outbox", "status", "--service", "meetings")
        assert status["parked"] >= 1
        listed = await asyncio.to_thread(ops, amqp_url, database_url, "outbox", "list", "--service", "meetings")
        row_id = next(item["id"] for item in listed["items"] if item["event_id"] == event_id)
        replayed = await asyncio.to_thread(
            ops, amqp_url, database_url, "outbox", "replay", "--service", "meetings", "--id", str(row_id)
        )
        assert replayed == {"replayed": 1}
        assert await conn.fetchval("SELECT parked_at FROM outbox WHERE id = $1", row_id) is None
    finally:
        await conn.execute("DELETE FROM outbox WHERE event_id = $1", event_id)
        await conn.close()
