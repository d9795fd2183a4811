"""A PostgreSQL outage longer than the old retry window (~7.5 s) dead-letters no fact: the real evaluation process,
the real broker, a throwaway database that refuses connections (ALTER DATABASE … ALLOW_CONNECTIONS false, its
backends terminated) while a fact is delivered; the delivery is held, and once the database is back the meeting is
scored exactly once (one stored score, one score event) and the dead letters are empty."""

import asyncio
import json
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg

from shared.topology import EVALUATION_FACTS, EVENTS_EXCHANGE
from tests.evaluation.stream import at, publish, village_meeting
from tests.support.db_outage import database_outage, dead_letters, held_mid_delivery
from tests.support.env import fresh_database, isolated_vhost
from tests.support.ids import random_id
from tests.support.running import eventually
from tests.support.serving import entered, health, service_process

OUTAGE_SECONDS = 10.0
"""Longer than the whole old retry budget (0.5+1+2+4 s over 5 deliveries)."""


async def test_a_fact_delivered_while_the_database_refuses_connections_is_scored_once_it_is_back(
    infra: tuple[str, str], tmp_path: Path
) -> None:
    meeting_id, cell_id = random_id("mtg"), random_id("cell")
    # its start is past: the meeting is scored (provisionally) as soon as the fact is applied
    scheduled = village_meeting(meeting_id, cell_id, starts_at=at(11, 28), time=at(11, 25, 9))
    log = tmp_path / "evaluation.log"
    async with (
        entered(isolated_vhost(infra[0])) as amqp_url,
        entered(fresh_database(infra[1])) as database_url,
        service_process("evaluation", amqp_url, database_url, log, env={"CHIBO_RELAY_POLL_SECONDS": "0.2"}) as serving,
        database_outage(database_url) as outage,
    ):
        connection = await aio_pika.connect(amqp_url)
        try:
            channel = await connection.channel()
            scores = await channel.declare_queue(exclusive=True)
            await scores.bind(EVENTS_EXCHANGE, routing_key="score.meeting.updated.v1")
            seen: list[dict[str, Any]] = []

            async def collect(message: aio_pika.abc.AbstractIncomingMessage) -> None:
                async with message.process():
                    body = json.loads(message.body)
                    seen.extend(
                        e for e in (body if isinstance(body, list) else [body]) if e["data"]["meeting_id"] == meeting_id
                    )

            await scores.consume(collect)

            # the fact's transaction is caught mid-way, then the database goes away: the delivery is held through
            # the outage, past the old retry window, and not dead-lettered
            await held_mid_delivery(
                outage,
                database_url=database_url,
                inbox_table="evaluation.processed_message",
                send=lambda: publish(amqp_url, [scheduled]),
                channel=channel,
                queue=EVALUATION_FACTS,
                health_url=serving.health_url,
                seconds=OUTAGE_SECONDS,
            )
            assert not seen
            await outage.end()

            db = await asyncpg.connect(database_url)
            try:

                async def scored_and_published() -> bool:
                    stored = await db.fetchval(
                        "SELECT count(*) FROM evaluation.meeting_score WHERE meeting_id = $1", meeting_id
                    )
                    unpublished = await db.fetchval("SELECT count(*) FROM evaluation.outbox WHERE published_at IS NULL")
                    return stored == 1 and unpublished == 0 and len(seen) >= 1

                await eventually(scored_and_published, timeout=90, interval=0.3)
                applied = await db.fetchval(
                    "SELECT count(*) FROM evaluation.processed_message WHERE consumer = $1 AND event_id = $2",
                    EVALUATION_FACTS.name,
                    scheduled["id"],
                )
                assert applied == 1
                assert (
                    await db.fetchval("SELECT count(*) FROM evaluation.meeting_score WHERE meeting_id = $1", meeting_id)
                    == 1
                )
            finally:
                await db.close()
            await eventually(lambda: asyncio.to_thread(lambda: "held_for_dependency" not in health(serving.health_url)))
            assert len(seen) == 1 and seen[0]["data"]["cell_id"] == cell_id, seen
            assert await dead_letters(channel, EVALUATION_FACTS) == 0
            facts = await channel.get_queue(EVALUATION_FACTS.name, ensure=True)
            assert facts.declaration_result.message_count == 0
        finally:
            await connection.close()
    text = await asyncio.to_thread(log.read_text, errors="replace")
    assert "dependency_unavailable_holding" in text and "dependency_available_again" in text
    assert "event_handler_failed" not in text  # the cut transaction was held, not counted toward the delivery limit
