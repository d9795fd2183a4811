"""Ingest deliveries held through a database outage when meetings stops are handed back without spending their
delivery limit: the real meetings process, a throwaway database refusing connections while a single event and a
batch (routing key `batch`, which alone says it is one) arrive, and the service stopped (SIGTERM) while it holds them.
Before, the broker took each back at the channel's close and counted one (`x-delivery-count` 1); now each waits in
the queue uncounted, its copy saying how it was first published, and after the restart every event is applied once."""

import asyncio
import json
from pathlib import Path
from urllib.parse import urlsplit

import aio_pika
import asyncpg

from shared.consuming import delivery_count
from shared.topology import INGEST_EXCHANGE, MEETINGS_INGEST
from tests.meetings import events as ev
from tests.meetings.serving import entered, meetings_process
from tests.support.db_outage import database_outage, dead_letters, put_back
from tests.support.env import fresh_database, isolated_vhost
from tests.support.ids import random_id
from tests.support.running import eventually
from tests.support.serving import health


async def test_ingest_deliveries_held_when_meetings_stops_go_back_uncounted_and_are_applied_once_after_restart(
    infra: tuple[str, str], tmp_path: Path
) -> None:
    single = random_id("cmt")
    batched = [random_id("cmt") for _ in range(3)]
    log = tmp_path / "meetings.log"
    async with (
        entered(isolated_vhost(infra[0])) as amqp_url,
        entered(fresh_database(infra[1])) as database_url,
        database_outage(database_url) as outage,
    ):
        connection = await aio_pika.connect(amqp_url)
        try:
            channel = await connection.channel(publisher_confirms=True)
            async with meetings_process(amqp_url, database_url, log) as serving:
                await outage.begin()
                exchange = await channel.get_exchange(INGEST_EXCHANGE)
                await exchange.publish(
                    aio_pika.Message(
                        json.dumps(ev.unit(single, kind="committee")).encode(),
                        content_type="application/cloudevents+json",
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key="org.unit.upserted.v1",
                )
                await exchange.publish(
                    aio_pika.Message(
                        json.dumps([ev.unit(unit_id, kind="committee") for unit_id in batched]).encode(),
                        content_type="application/cloudevents+json",  # only its routing key says it is a batch
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key="batch",
                )

                def both_held() -> bool:
                    held = health(serving.health_url).get("held_for_dependency", {}).get(MEETINGS_INGEST.name, {})
                    return bool(held) and held["deliveries"] == 2

                await eventually(lambda: asyncio.to_thread(both_held), timeout=90, interval=0.3)
                serving.process.terminate()  # a graceful stop while both are held
                await asyncio.wait_for(serving.process.wait(), 60)
            stopped = await asyncio.to_thread(log.read_text, errors="replace")
            assert "service_stopped" in stopped and stopped.count("delivery_handed_back") == 2, stopped[-3000:]

            # both wait in the queue, none of their deliveries spent, saying how they were first published
            queue = await channel.get_queue(MEETINGS_INGEST.name, ensure=True)
            waiting = [await eventually(lambda: queue.get(fail=False), timeout=30, interval=0.2) for _ in range(2)]
            assert await queue.get(fail=False) is None
            assert [delivery_count(message) for message in waiting] == [0, 0], [m.headers for m in waiting]
            assert sorted(str((m.headers or {})["x-chibo-origin-routing-key"]) for m in waiting) == [
                "batch",
                "org.unit.upserted.v1",
            ]
            assert {m.user_id for m in waiting} == {urlsplit(amqp_url).username}  # vouched for by the broker
            for message in waiting:  # back as they were (a reject would count a delivery)
                await put_back(channel, message, MEETINGS_INGEST.name)
            await outage.end()

            async with meetings_process(amqp_url, database_url, log):
                db = await asyncpg.connect(database_url)
                try:
                    units = [single, *batched]

                    async def all_applied() -> bool:
                        rows = await db.fetch("SELECT id FROM meetings.org_unit WHERE id = ANY($1::text[])", units)
                        return len(rows) == len(units)

                    await eventually(all_applied, timeout=90, interval=0.3)
                    refused = await db.fetchval("SELECT count(*) FROM meetings.rejection")
                    assert refused == 0  # the batch was read as one again, from its origin's routing key
                finally:
                    await db.close()
            assert await dead_letters(channel, MEETINGS_INGEST) == 0
        finally:
            await connection.close()
    text = await asyncio.to_thread(log.read_text, errors="replace")
    assert "ingest_delivery_failed" not in text  # no delivery counted as a failure
