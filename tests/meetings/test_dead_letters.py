"""A poison message on meetings.ingest: the real service process, the real broker, a database that refuses it.

The service runs as a process against its own vhost and a throwaway database. A CHECK constraint added
to that database's inbox table makes PostgreSQL refuse one event id, an infrastructure failure the
service cannot turn into a rejection: it must requeue the delivery until the quorum queue's delivery
limit sends it to `meetings.ingest.dlq`, while the events of the batch before the poison are kept.
"""

import asyncio
import json
from pathlib import Path

import aio_pika
import asyncpg

from shared.envelope import BATCH_CONTENT_TYPE
from shared.ops.dead_letters import describe
from shared.topology import INGEST_EXCHANGE, MEETINGS_INGEST
from tests.meetings import events as ev
from tests.meetings.serving import entered, meetings_process
from tests.support.env import fresh_database, isolated_vhost
from tests.support.ids import random_id
from tests.support.running import eventually


async def test_a_delivery_the_database_keeps_refusing_ends_in_the_dead_letter_queue(
    infra: tuple[str, str], tmp_path: Path
) -> None:
    committee, cell_before, cell_after = random_id("cmt"), random_id("cell"), random_id("cell")
    poison_id = random_id("poison")
    batch = [
        ev.unit(committee, kind="committee"),
        ev.unit(cell_before, parent_id=committee),
        ev.unit(random_id("cell"), parent_id=committee, id=poison_id),
        ev.unit(cell_after, parent_id=committee),
    ]
    body = json.dumps(batch, ensure_ascii=False).encode()
    log = tmp_path / "meetings.log"
    async with (
        entered(isolated_vhost(infra[0])) as amqp_url,
        entered(fresh_database(infra[1])) as database_url,
        meetings_process(amqp_url, database_url, log),
    ):
        db = await asyncpg.connect(database_url)
        connection = await aio_pika.connect(amqp_url)
        try:
            await db.execute(
                "ALTER TABLE meetings.processed_message ADD CONSTRAINT refuses_poison"
                f" CHECK (event_id <> '{poison_id}')"
            )
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(INGEST_EXCHANGE)
            await exchange.publish(
                aio_pika.Message(body, content_type=BATCH_CONTENT_TYPE, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key="batch",
            )
            dead_letters = await channel.get_queue(MEETINGS_INGEST.dead_letter_queue, ensure=True)

            async def dead_lettered() -> aio_pika.abc.AbstractIncomingMessage | None:
                return await dead_letters.get(no_ack=True, fail=False)

            message = await eventually(dead_lettered, timeout=90, interval=0.5)
            assert message.body == body
            assert (message.headers or {}).get("x-first-death-reason") == "delivery_limit"
            # the consumer dead-lettered it on its last allowed delivery, naming the error its log has
            seen = describe(message, 0, carried_count=False)
            assert seen["cause"] is not None and "refuses_poison" in seen["cause"], seen
            assert seen["delivery_count"] == MEETINGS_INGEST.delivery_limit - 1, seen
            units = {row["id"] for row in await db.fetch("SELECT id FROM meetings.org_unit")}
            # the events before the poison are applied once (later deliveries find them duplicate),
            # the poison and what follows it stay with the dead-lettered batch for an operator
            assert units == {committee, cell_before}
            assert await db.fetchval("SELECT count(*) FROM meetings.rejection") == 0
            ingest = await channel.get_queue(MEETINGS_INGEST.name, ensure=True)
            assert ingest.declaration_result.message_count == 0
        finally:
            await connection.close()
            await db.close()
    assert "ingest_delivery_failed" in await asyncio.to_thread(log.read_text, errors="replace")
