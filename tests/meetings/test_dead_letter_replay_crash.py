"""A dead-letter replay killed between the broker's confirm of its copy and the letter's removal sends the letter
again at the next replay: the real meetings process judges both copies of the one event."""

import asyncio
import json
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import pytest

from shared.envelope import CLOUDEVENT_CONTENT_TYPE
from shared.ops.dead_letters import replay_dead_letters
from shared.topology import MEETINGS_INGEST
from tests.meetings import events as ev
from tests.meetings.serving import entered, meetings_process
from tests.support.env import fresh_database, isolated_vhost
from tests.support.ids import random_id
from tests.support.running import eventually

DLQ = MEETINGS_INGEST.dead_letter_queue


async def test_a_replay_killed_after_the_confirm_stores_one_rejection_and_tells_it_once(
    infra: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dead letter of meetings.ingest whose event meetings refuses: the replay is killed after the confirm (no
    removal, no mark), the next replay sends it again, and meetings judges both copies. One rejection is stored and
    one ingest.rejected.v1 written, and the dead-letter queue ends empty. The second copy is the same message (its
    message id and content) refused again, so it is the same refused attempt (rejection_attempt), as a copy the
    broker delivers again is; a new send of the event (another message) is an attempt of its own."""
    event = ev.unit(random_id("cell"), kind="bogus")
    log = tmp_path / "meetings.log"
    async with (
        entered(isolated_vhost(infra[0])) as amqp_url,
        entered(fresh_database(infra[1])) as database_url,
        meetings_process(amqp_url, database_url, log),
    ):
        db = await asyncpg.connect(database_url)
        connection = await aio_pika.connect(amqp_url)
        try:
            channel = await connection.channel(publisher_confirms=True)
            await channel.default_exchange.publish(
                aio_pika.Message(
                    json.dumps(event).encode(),
                    content_type=CLOUDEVENT_CONTENT_TYPE,
                    message_id=event["id"],
                    headers={"x-first-death-queue": MEETINGS_INGEST.name, "x-first-death-reason": "rejected"},
                ),
                routing_key=DLQ,
            )

            async def killed(message: Any, multiple: bool = False) -> None:
                raise asyncio.CancelledError  # the process stops here, as one killed after the confirm

            with monkeypatch.context() as patch:
                patch.setattr(aio_pika.IncomingMessage, "ack", killed)
                with pytest.raises(asyncio.CancelledError):
                    await replay_dead_letters(connection, DLQ, replay_id="form-1")

            async def waiting() -> int:
                return (await channel.declare_queue(DLQ, passive=True)).declaration_result.message_count or 0

            async def back() -> bool:
                return await waiting() == 1

            await eventually(back)
            assert (await replay_dead_letters(connection, DLQ, replay_id="form-1"))["replayed"] == 1

            def judged() -> list[str]:  # meetings' judgement of each copy of the event
                lines = log.read_text(errors="replace").splitlines()
                return [line for line in lines if event["id"] in line and '"event_rejected"' in line]

            await eventually(lambda: len(judged()) == 2, timeout=60)
            assert await db.fetchval("SELECT count(*) FROM meetings.rejection") == 1
            # the partner is told once: the second copy is the same rejection again, not a new one
            rejected = "SELECT count(*) FROM meetings.outbox WHERE type = 'ingest.rejected.v1'"
            assert await db.fetchval(rejected) == 1
            assert await waiting() == 0
            # the replay's second copy was the first one again: one refused attempt, not two
            attempts = "SELECT count(*) FROM meetings.rejection_attempt"
            assert await db.fetchval(attempts) == 1

            async def sent(message_id: str) -> None:  # a copy of the event in a message of this id, to its queue
                await channel.default_exchange.publish(
                    aio_pika.Message(
                        json.dumps(event).encode(), content_type=CLOUDEVENT_CONTENT_TYPE, message_id=message_id
                    ),
                    routing_key=MEETINGS_INGEST.name,
                )

            await sent(event["id"])  # as the broker delivers a message again (its consumer died before the ack)
            await eventually(lambda: len(judged()) == 3, timeout=60)
            assert await db.fetchval(attempts) == 1
            await sent(random_id("resent"))  # its sender sends the event again: a new attempt

            async def counted() -> bool:
                return await db.fetchval(attempts) == 2

            await eventually(counted, timeout=60)
            assert await db.fetchval(rejected) == 1
        finally:
            await connection.close()
            await db.close()
