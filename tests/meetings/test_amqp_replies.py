"""A message on chibo.ingest that names a RabbitMQ direct reply-to (`reply_to` = `amq.rabbitmq.reply-to`, which the
broker turns into `amq.rabbitmq.reply-to.…`) is answered there, after its transaction committed, with the body
POST /v1/events answers for the same event or batch (shared.contracts.ingest_answer), correlated by its message_id
or correlation_id (docs/integrations.md "Outcomes over AMQP"). Before, an AMQP feeder got only the broker's publisher
confirm and could not tell that an event was refused. Any other reply_to is ignored and logged: the event is still
judged, and nothing is published to the queue it names. Real broker, meetings in-process."""

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import asyncpg
import pytest

from shared.contracts.ingest_answer import ingest_read
from shared.envelope import BATCH_CONTENT_TYPE, CLOUDEVENT_CONTENT_TYPE
from shared.topology import INGEST_EXCHANGE
from tests.meetings import events as ev
from tests.support.ids import random_id
from tests.support.logs import route_logs_to_stdlib, structured_logs
from tests.support.running import eventually

DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"
REPLY_WAIT = 60.0
"""Seconds a test waits for a reply: generous for a loaded machine, met at once when the reply comes."""


class Requester:
    """A publisher on chibo.ingest that consumes its direct reply-to pseudo-queue on the channel it publishes on (as
    RabbitMQ requires) and collects the replies by correlation id."""

    def __init__(self, channel: aio_pika.abc.AbstractChannel) -> None:
        self.channel = channel
        self.replies: dict[str, asyncio.Future[aio_pika.abc.AbstractIncomingMessage]] = {}

    async def start(self) -> None:
        """Consume amq.rabbitmq.reply-to (no acks: the broker requires it), before anything is published."""
        queue = await self.channel.get_queue(DIRECT_REPLY_TO, ensure=False)
        await queue.consume(self._on_reply, no_ack=True)

    async def _on_reply(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        waiting = self.replies.get(message.correlation_id or "")
        if waiting is not None and not waiting.done():
            waiting.set_result(message)

    async def publish(
        self, body: Any, *, reply_to: str | None = DIRECT_REPLY_TO, correlation_id: str | None = None
    ) -> str:
        """Publish one event (a list: a batch) with a fresh message_id; the id its reply is correlated by."""
        batch = isinstance(body, list)
        message_id = f"msg-{uuid.uuid4().hex}"
        key = correlation_id or message_id
        self.replies[key] = asyncio.get_running_loop().create_future()
        exchange = await self.channel.get_exchange(INGEST_EXCHANGE, ensure=False)
        await exchange.publish(
            aio_pika.Message(
                json.dumps(body).encode(),
                content_type=BATCH_CONTENT_TYPE if batch else CLOUDEVENT_CONTENT_TYPE,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=message_id,
                correlation_id=correlation_id,
                reply_to=reply_to,
            ),
            routing_key="batch" if batch else body["type"],
        )
        return key

    async def reply(self, key: str) -> dict[str, Any]:
        """The JSON body of the reply correlated by `key`, waited for at most REPLY_WAIT seconds."""
        message = await asyncio.wait_for(self.replies[key], timeout=REPLY_WAIT)
        assert message.content_type == "application/json"
        answer: dict[str, Any] = json.loads(message.body)
        return answer


@pytest.fixture
async def requester(amqp_url: str, meetings_service: str) -> AsyncIterator[Requester]:
    """A requester on its own connection, with meetings consuming chibo.ingest."""
    connection = await aio_pika.connect(amqp_url)
    try:
        each = Requester(await connection.channel(publisher_confirms=True))
        await each.start()
        yield each
    finally:
        await connection.close()


@pytest.fixture
def lines(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    route_logs_to_stdlib(caplog)
    caplog.set_level(logging.INFO)
    return caplog


def outcome(event: dict[str, Any], index: int, name: str, **more: Any) -> dict[str, Any]:
    """One result as POST /v1/events answers it (IngestOutcomeRead: every declared field, null when absent)."""
    return {
        "index": index,
        "id": event["id"],
        "source": event["source"],
        "type": event["type"],
        "outcome": name,
        "reason": None,
        "field": None,
        "waiting_for": None,
        "reason_code": None,
        "ignored_fields": None,
        "warnings": None,
        **more,
    }


def counts(**given: int) -> dict[str, Any]:
    """The answer's counts, zero unless given, and `dry_run` false."""
    return {"accepted": 0, "duplicate": 0, "held": 0, "rejected": 0, "dry_run": False, **given}


async def test_an_accepted_event_is_answered_accepted_on_its_direct_reply_to(requester: Requester) -> None:
    event = ev.unit(random_id("cell"))
    key = await requester.publish(event)
    assert await requester.reply(key) == {"results": [outcome(event, 0, "accepted")], **counts(accepted=1)}


async def test_a_refused_event_is_answered_rejected_naming_the_field_as_http_answers_it(
    requester: Requester, meetings_pool: asyncpg.Pool
) -> None:
    event = ev.unit(random_id("cell"), kind="bogus")
    key = await requester.publish(event, correlation_id=f"corr-{uuid.uuid4().hex}")  # its correlation_id wins
    answer = await requester.reply(key)
    [result] = answer["results"]
    assert result["outcome"] == "rejected" and result["field"] == "data.kind", result
    assert answer == ingest_read([result]).model_dump(mode="json") and answer["rejected"] == 1
    stored = await meetings_pool.fetchrow(
        "SELECT reason, field FROM rejection WHERE source = $1 AND event_id = $2", event["source"], event["id"]
    )
    assert stored is not None and (stored["reason"], stored["field"]) == (result["reason"], result["field"])


async def test_the_same_event_sent_again_is_answered_duplicate(requester: Requester) -> None:
    event = ev.unit(random_id("cell"))
    assert (await requester.reply(await requester.publish(event)))["accepted"] == 1
    again = await requester.reply(await requester.publish(event))
    assert again == {"results": [outcome(event, 0, "duplicate")], **counts(duplicate=1)}


async def test_a_batch_is_answered_with_each_events_outcome_in_order(requester: Requester) -> None:
    cell = random_id("cell")
    accepted, refused = ev.unit(cell), ev.unit(random_id("cell"), kind="bogus")
    held = ev.member(random_id("member"), random_id("cell"))  # of a cell not yet known
    answer = await requester.reply(await requester.publish([accepted, refused, held]))
    assert [result["outcome"] for result in answer["results"]] == ["accepted", "rejected", "held"], answer
    assert [result["index"] for result in answer["results"]] == [0, 1, 2]
    assert answer["results"][1]["field"] == "data.kind"
    assert answer["results"][2]["waiting_for"] == f"unit:{held['data']['cell_id']}"
    assert {key: answer[key] for key in counts()} == counts(accepted=1, rejected=1, held=1)


async def test_a_reply_to_that_is_no_direct_reply_to_gets_nothing_and_the_event_is_still_judged(
    requester: Requester, meetings_pool: asyncpg.Pool, lines: pytest.LogCaptureFixture
) -> None:
    own = await requester.channel.declare_queue(f"chibo-test-replies-{uuid.uuid4().hex[:8]}", exclusive=True)
    event = ev.unit(random_id("cell"), kind="bogus")
    await requester.publish(event, reply_to=own.name)
    ignored = await eventually(
        lambda: [
            line
            for line in structured_logs(lines)
            if line["event"] == "ingest_reply_to_ignored" and line.get("event_id") == event["id"]
        ]
    )
    assert ignored[-1]["reply_to"] == own.name
    stored = await eventually(
        lambda: meetings_pool.fetchrow(
            "SELECT field FROM rejection WHERE source = $1 AND event_id = $2", event["source"], event["id"]
        )
    )
    assert stored["field"] == "data.kind"
    # the delivery's reply was decided against before it was judged (the line above): nothing can come later
    declared = await requester.channel.declare_queue(own.name, passive=True)
    assert declared.declaration_result.message_count == 0


async def stale_reply_to(amqp_url: str) -> str:
    """A direct reply-to name as the broker makes it for a requester, whose channel is closed since: its publisher is
    gone."""

    async def ignore(_: aio_pika.abc.AbstractIncomingMessage) -> None:
        return None

    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        await (await channel.get_queue(DIRECT_REPLY_TO, ensure=False)).consume(ignore, no_ack=True)
        own = await channel.declare_queue("", exclusive=True)
        await channel.default_exchange.publish(aio_pika.Message(b"", reply_to=DIRECT_REPLY_TO), routing_key=own.name)
        got = await eventually(lambda: own.get(fail=False, no_ack=True))
        assert got.reply_to and got.reply_to.startswith(f"{DIRECT_REPLY_TO}."), got.reply_to
        return str(got.reply_to)


async def test_a_reply_its_publisher_is_gone_for_is_dropped_and_the_event_stays_judged_once(
    requester: Requester, amqp_url: str, lines: pytest.LogCaptureFixture
) -> None:
    event = ev.unit(random_id("cell"))
    await requester.publish(event, reply_to=await stale_reply_to(amqp_url))
    replied = await eventually(
        lambda: [
            line
            for line in structured_logs(lines)
            if line["event"] in ("ingest_replied", "ingest_reply_published", "ingest_reply_failed")
            and line.get("event_id") == event["id"]
        ]
    )
    # the broker took it, and dropped it: nobody waits. The line says only what is known, published (it said
    # `ingest_replied`, as if the requester had its answer)
    assert [line["event"] for line in replied] == ["ingest_reply_published"], replied
    again = await requester.reply(await requester.publish(event))
    assert again == {"results": [outcome(event, 0, "duplicate")], **counts(duplicate=1)}
    handled = [line for line in structured_logs(lines) if line.get("event_id") == event["id"]]
    assert not [line for line in handled if line["event"] == "ingest_delivery_failed"], handled
    assert len([line for line in handled if line["event"] == "event_accepted"]) == 1, handled
