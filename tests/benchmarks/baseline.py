"""The raw baseline of every preset: the same message and transaction work with bare aio-pika and asyncpg.

Two processes, as chibo's pipeline has at least two stages:
- stage one consumes each message from its own queue on `baseline.in` and, in one transaction, inserts
  one row per event (ON CONFLICT DO NOTHING, the inbox's duty) and one outbox row per event, then
  acknowledges it; a relay in the same process publishes pending outbox rows to `baseline.out` with
  publisher confirms and marks them published (as batch messages of one type when the input came in
  batches, one message per row otherwise);
- stage two consumes `baseline.out` and, in one transaction per message, inserts a row per event.

The run ends when stage two has every event. Nothing here is chibo code: it is the floor the services'
figures are compared with (chibo ÷ baseline). Run a stage alone with
`python -m tests.benchmarks.baseline one|two --amqp-url URL --dsn DSN [--batch]`.
"""

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg

from shared.envelope import BATCH_CONTENT_TYPE, CLOUDEVENT_CONTENT_TYPE
from tests.benchmarks.harness import Outgoing, ProcessMeter, publish_messages, wait_until

ROOT = Path(__file__).parents[2]
IN_EXCHANGE = "baseline.in"
OUT_EXCHANGE = "baseline.out"
STAGE_ONE_QUEUE = "baseline.one"
STAGE_TWO_QUEUE = "baseline.two"
RELAY_BATCH = 1000
SCHEMA_SQL = """
CREATE SCHEMA IF NOT EXISTS baseline;
CREATE TABLE IF NOT EXISTS baseline.fact (
    source text NOT NULL, id text NOT NULL, type text NOT NULL, data jsonb NOT NULL, PRIMARY KEY (source, id));
CREATE TABLE IF NOT EXISTS baseline.outbox (
    id bigserial PRIMARY KEY, type text NOT NULL, payload jsonb NOT NULL, published_at timestamptz);
CREATE INDEX IF NOT EXISTS outbox_pending ON baseline.outbox (id) WHERE published_at IS NULL;
CREATE TABLE IF NOT EXISTS baseline.seen (
    source text NOT NULL, id text NOT NULL, seen_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (source, id));
"""


async def declare(amqp_url: str) -> None:
    """The two exchanges and the two durable quorum queues (as chibo's consumer queues are)."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        for exchange_name, queue_name in ((IN_EXCHANGE, STAGE_ONE_QUEUE), (OUT_EXCHANGE, STAGE_TWO_QUEUE)):
            exchange = await channel.declare_exchange(exchange_name, aio_pika.ExchangeType.TOPIC, durable=True)
            queue = await channel.declare_queue(queue_name, durable=True, arguments={"x-queue-type": "quorum"})
            await queue.bind(exchange, routing_key="#")
    finally:
        await connection.close()


def _events(body: bytes) -> list[dict[str, Any]]:
    parsed = json.loads(body)
    return parsed if isinstance(parsed, list) else [parsed]


async def stage_one(amqp_url: str, dsn: str, *, batch: bool) -> None:
    """Consume, one transaction per message (a row and an outbox row per event), relay the outbox."""
    connection = await aio_pika.connect(amqp_url)
    pool = await asyncpg.create_pool(dsn, min_size=2, max_size=2)
    assert pool is not None
    pending = asyncio.Event()
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=4 if batch else 100)
    queue = await channel.get_queue(STAGE_ONE_QUEUE)
    relay = asyncio.create_task(_relay(connection, pool, pending, batch=batch))
    try:
        async with queue.iterator() as messages:
            async for message in messages:
                events = _events(message.body)
                async with pool.acquire() as conn, conn.transaction():
                    await conn.executemany(
                        "INSERT INTO baseline.fact (source, id, type, data) VALUES ($1, $2, $3, $4::jsonb)"
                        " ON CONFLICT DO NOTHING",
                        [(e["source"], e["id"], e["type"], json.dumps(e["data"])) for e in events],
                    )
                    await conn.executemany(
                        "INSERT INTO baseline.outbox (type, payload) VALUES ($1, $2::jsonb)",
                        [(e["type"], json.dumps(e)) for e in events],
                    )
                await message.ack()
                pending.set()
    finally:
        relay.cancel()
        await pool.close()
        await connection.close()


async def _relay(connection: Any, pool: asyncpg.Pool, pending: asyncio.Event, *, batch: bool) -> None:
    channel = await connection.channel(publisher_confirms=True)
    exchange = await channel.get_exchange(OUT_EXCHANGE)
    while True:
        await pending.wait()
        pending.clear()
        while True:
            async with pool.acquire() as conn, conn.transaction():
                rows = await conn.fetch(
                    "SELECT id, type, payload::text AS payload FROM baseline.outbox WHERE published_at IS NULL"
                    " ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                    RELAY_BATCH,
                )
                if not rows:
                    break
                if batch:
                    by_type: dict[str, list[str]] = {}
                    for row in rows:
                        by_type.setdefault(row["type"], []).append(row["payload"])
                    bodies = [
                        (kind, ("[" + ",".join(items) + "]").encode(), BATCH_CONTENT_TYPE)
                        for kind, items in by_type.items()
                    ]
                else:
                    bodies = [(row["type"], row["payload"].encode(), CLOUDEVENT_CONTENT_TYPE) for row in rows]
                await asyncio.gather(
                    *(
                        exchange.publish(
                            aio_pika.Message(
                                body, content_type=content_type, delivery_mode=aio_pika.DeliveryMode.PERSISTENT
                            ),
                            routing_key=kind,
                        )
                        for kind, body, content_type in bodies
                    )
                )
                await conn.execute(
                    "UPDATE baseline.outbox SET published_at = now() WHERE id = ANY($1::bigint[])",
                    [r["id"] for r in rows],
                )


async def stage_two(amqp_url: str, dsn: str) -> None:
    """Consume the relayed events, one transaction per message, a row per event."""
    connection = await aio_pika.connect(amqp_url)
    conn = await asyncpg.connect(dsn)
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=100)
    queue = await channel.get_queue(STAGE_TWO_QUEUE)
    try:
        async with queue.iterator() as messages:
            async for message in messages:
                events = _events(message.body)
                async with conn.transaction():
                    await conn.executemany(
                        "INSERT INTO baseline.seen (source, id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                        [(e["source"], e["id"]) for e in events],
                    )
                await message.ack()
    finally:
        await conn.close()
        await connection.close()


def run_baseline(
    amqp_url: str, dsn: str, messages: Sequence[Outgoing], *, events: int, batch: bool, timeout: float
) -> dict[str, Any]:
    """Feed `messages` through the two bare stages; return events/s in (stage one) and end to end (stage two)."""
    stages = prepare_stages(amqp_url, dsn, batch=batch)
    try:
        return asyncio.run(_measure(amqp_url, dsn, messages, stages, events=events, timeout=timeout))
    finally:
        stop_stages(stages)


def prepare_stages(amqp_url: str, dsn: str, *, batch: bool) -> dict[str, "subprocess.Popen[bytes]"]:
    """Create the tables, exchanges and queues, and start the two stage processes."""
    asyncio.run(_prepare(amqp_url, dsn))
    args = ["--amqp-url", amqp_url, "--dsn", dsn, *(["--batch"] if batch else [])]
    return {
        name: subprocess.Popen([sys.executable, "-m", "tests.benchmarks.baseline", name, *args], cwd=ROOT)
        for name in ("one", "two")
    }


def stop_stages(stages: dict[str, "subprocess.Popen[bytes]"]) -> None:
    """Terminate the stage processes and wait for them."""
    for process in stages.values():
        process.terminate()
    for process in stages.values():
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


async def _prepare(amqp_url: str, dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(SCHEMA_SQL)
    finally:
        await conn.close()
    await declare(amqp_url)


async def _measure(
    amqp_url: str,
    dsn: str,
    messages: Sequence[Outgoing],
    stages: dict[str, "subprocess.Popen[bytes]"],
    *,
    events: int,
    timeout: float,
) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    meter = ProcessMeter({f"baseline-{name}": p.pid for name, p in stages.items()})
    try:
        await wait_consumers(amqp_url, timeout=120)
        meter.begin()
        started = time.monotonic()
        publish_s = await publish_messages(amqp_url, IN_EXCHANGE, messages)

        async def count(sql: str) -> int:
            return int(await conn.fetchval(sql))

        async def stage_one_done() -> bool:
            return await count("SELECT count(*) FROM baseline.fact") >= events

        async def stage_two_done() -> bool:
            if any(p.poll() is not None for p in stages.values()):
                raise RuntimeError("a baseline stage exited early")
            return await count("SELECT count(*) FROM baseline.seen") >= events

        done_in, _ = await wait_until(stage_one_done, timeout=timeout, interval=0.2)
        in_s = time.monotonic() - started
        done, _ = await wait_until(stage_two_done, timeout=timeout, interval=0.2)
        end_s = time.monotonic() - started
        meter.end()
        return {
            "events": events,
            "messages": len(messages),
            "publish_s": round(publish_s, 1),
            "in_s": round(in_s, 2),
            "events_per_s_in": round(events / in_s) if done_in else None,
            "end_to_end_s": round(end_s, 2),
            "events_per_s_end_to_end": round(events / end_s) if done else None,
            **meter.figures(events=events, seconds=end_s),
        }
    finally:
        await conn.close()


async def wait_consumers(amqp_url: str, *, timeout: float) -> None:
    """Until both stages consume their queues (so start-up is not timed)."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()

        async def consuming() -> bool:
            for name in (STAGE_ONE_QUEUE, STAGE_TWO_QUEUE):
                queue = await channel.declare_queue(name, passive=True)
                if not queue.declaration_result.consumer_count:
                    return False
            return True

        ready, _ = await wait_until(consuming, timeout=timeout, interval=0.3)
        if not ready:
            raise TimeoutError(f"the baseline stages did not start consuming within {timeout} s")
    finally:
        await connection.close()


def main() -> None:
    """Run one stage until terminated."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stage", choices=("one", "two"))
    parser.add_argument("--amqp-url", required=True)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--batch", action="store_true", help="the input comes in batches; relay in batches too")
    args = parser.parse_args()
    try:
        if args.stage == "one":
            asyncio.run(stage_one(args.amqp_url, args.dsn, batch=args.batch))
        else:
            asyncio.run(stage_two(args.amqp_url, args.dsn))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
