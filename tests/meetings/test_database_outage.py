"""A PostgreSQL outage longer than the old retry window (~7.5 s) dead-letters nothing: the real meetings process,
the real broker, a throwaway database that refuses connections (ALTER DATABASE … ALLOW_CONNECTIONS false, its
backends terminated) while events arrive; once it is back every event is applied and the dead letters are empty."""

import asyncio
import json
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import asyncpg

from shared.topology import INGEST_EXCHANGE, MEETINGS_INGEST
from tests.meetings import events as ev
from tests.meetings.serving import entered, meetings_process
from tests.support.db_outage import dead_letters, held_or_dead_lettered
from tests.support.env import fresh_database, isolated_vhost
from tests.support.ids import random_id
from tests.support.running import eventually
from tests.support.serving import health

OUTAGE_SECONDS = 12.0
"""Longer than the whole old retry budget (0.5+1+2+4 s over 5 deliveries)."""


async def test_events_consumed_while_the_database_refuses_connections_are_applied_once_it_is_back(
    infra: tuple[str, str], tmp_path: Path
) -> None:
    units = [random_id("cmt") for _ in range(8)]
    log = tmp_path / "meetings.log"
    async with (
        entered(isolated_vhost(infra[0])) as amqp_url,
        entered(fresh_database(infra[1])) as database_url,
        meetings_process(amqp_url, database_url, log) as serving,
    ):
        name = urlsplit(database_url).path.lstrip("/")
        admin = await asyncpg.connect(urlunsplit(urlsplit(database_url)._replace(path="/postgres")))
        connection = await aio_pika.connect(amqp_url)
        refusing = False
        try:
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            refusing = True
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                name,
            )
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(INGEST_EXCHANGE)
            for unit_id in units:
                body = json.dumps(ev.unit(unit_id, kind="committee")).encode()
                await exchange.publish(
                    aio_pika.Message(
                        body,
                        content_type="application/cloudevents+json",
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key="org.unit.upserted.v1",
                )

            # the outage shows on /health, and lasts past the old retry window without a dead letter
            await eventually(
                lambda: held_or_dead_lettered(channel, MEETINGS_INGEST, serving.health_url, OUTAGE_SECONDS),
                timeout=90,
                interval=0.5,
            )
            assert await dead_letters(channel, MEETINGS_INGEST) == 0
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            refusing = False

            db = await asyncpg.connect(database_url)
            try:

                async def all_applied() -> bool:
                    rows = await db.fetch("SELECT id FROM meetings.org_unit WHERE id = ANY($1::text[])", units)
                    return len(rows) == len(units)

                await eventually(all_applied, timeout=90, interval=0.3)
            finally:
                await db.close()
            await eventually(lambda: asyncio.to_thread(lambda: "held_for_dependency" not in health(serving.health_url)))
            assert await dead_letters(channel, MEETINGS_INGEST) == 0
            ingest = await channel.get_queue(MEETINGS_INGEST.name, ensure=True)
            assert ingest.declaration_result.message_count == 0
        finally:
            if refusing:
                await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            await connection.close()
            await admin.close()
    text = await asyncio.to_thread(log.read_text, errors="replace")
    assert "dependency_unavailable_holding" in text and "dependency_available_again" in text
