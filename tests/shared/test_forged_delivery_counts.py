"""How often a message was delivered decides when a consumer gives up on it (shared.consuming.delivery_count): on its
last allowed delivery a failing message is dead-lettered. The count must come from what its publisher cannot set.

Against the real broker: the probe consumer (delivery limit 2, as guest) and a second broker user that may write the
default exchange only (as the gateway's user may, deploy/broker_users.sh) publishing straight into the probe's queue
with chibo's own hand-back counter `x-chibo-deliveries` forged: the consumer took it as deliveries already spent and
dead-lettered a message on its first failure. The same with `x-delivery-count` published on chibo.events (by any
publisher there, a feed on chibo.ingest alike): RabbitMQ 3.10's quorum queue delivers a publisher's header to a
consumer as it was sent until it redelivers the message (a `basic.get` sees 0, a consumer the forged value)."""

import json
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import aio_pika
import asyncpg
import pytest

from shared.consuming import DELIVERIES_HEADER
from shared.contracts.meetings import MeetingCancelled
from shared.envelope import new_event
from shared.topology import EVENTS_EXCHANGE
from tests.shared.test_messaging import ProbeConsumer, _running_probe
from tests.support.ids import random_id
from tests.support.running import eventually

pytestmark = pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs the broker's rabbitmqctl")


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def writer_url(amqp_url: str) -> Iterator[str]:
    """The AMQP URL of a broker user of the test vhost that may publish to the default exchange and nothing else."""
    parts = urlsplit(amqp_url)
    vhost = unquote(parts.path[1:]) or "/"
    user, password = f"chibo-test-writer-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    _rabbitmqctl("add_user", user, password)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, user, "^$", r"^amq\.default$", "^$")
        host = f"{parts.hostname or '127.0.0.1'}:{parts.port or 5672}"
        yield urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}"))
    finally:
        subprocess.run(["rabbitmqctl", "-q", "delete_user", user], check=False, capture_output=True, timeout=60)


@pytest.fixture
async def probe(pool: asyncpg.Pool, amqp_url: str) -> AsyncIterator[ProbeConsumer]:
    """The probe consumer (one event a delivery) on a queue of its own with a delivery limit of 2."""
    async for consumer in _running_probe(pool, amqp_url, batched=False):
        yield consumer


def failing(meeting_id: str) -> bytes:
    """A cancellation whose handler fails every time (the probe's reason `fail`)."""
    event = new_event(
        type="meeting.cancelled.v1",
        source="urn:test:forged-count",
        data=MeetingCancelled(meeting_id=meeting_id, reason="fail"),
    )
    return event.to_json()


async def dead_letter_of(channel: aio_pika.abc.AbstractChannel, probe: ProbeConsumer, meeting_id: str) -> Any:
    """The dead letter the probe wrote of the cancellation of `meeting_id` (60 s at most)."""
    dead = await channel.declare_queue(probe.queue.dead_letter_queue, passive=True)

    async def found() -> Any:
        letter = await dead.get(fail=False, no_ack=True)
        return letter if letter is not None and json.loads(letter.body)["data"]["meeting_id"] == meeting_id else None

    return await eventually(found, timeout=60)


async def test_a_forged_hand_back_count_straight_to_the_queue_spends_no_delivery(
    probe: ProbeConsumer, channel: aio_pika.abc.AbstractChannel, writer_url: str
) -> None:
    """Before: `x-chibo-deliveries: 1` from any user who may write the default exchange counted as a failed delivery
    before this one, so the probe dead-lettered the message on its first failure (one try of two). Now the header
    counts only on a copy this consumer's own login published (RabbitMQ checks `user_id`): two tries, as the limit
    says, and the letter says 1 delivery before."""
    meeting_id = random_id("forged-count")
    connection = await aio_pika.connect(writer_url)
    try:
        writer = await connection.channel(publisher_confirms=True)
        message = aio_pika.Message(failing(meeting_id), headers={DELIVERIES_HEADER: 1})
        await writer.default_exchange.publish(message, routing_key=probe.queue.name)
    finally:
        await connection.close()
    letter = await dead_letter_of(channel, probe, meeting_id)
    assert probe.calls.count(meeting_id) == 2, probe.calls
    assert (letter.headers or {}).get("x-chibo-delivery-count") == 1, letter.headers


@pytest.mark.parametrize("header", [DELIVERIES_HEADER, "x-delivery-count"])
async def test_a_count_forged_on_chibo_events_spends_no_delivery(
    probe: ProbeConsumer, channel: aio_pika.abc.AbstractChannel, header: str
) -> None:
    """Published on chibo.events: chibo's counter is not read from a message published through an exchange (that
    case passed before), and `x-delivery-count: 1` reached the consumer as sent on the first delivery (`redelivered`
    false), which dead-lettered it on its first failure; now the header is read only of a redelivery, which the
    broker writes itself."""
    meeting_id = random_id("forged-count")
    exchange = await channel.get_exchange(EVENTS_EXCHANGE)
    await exchange.publish(
        aio_pika.Message(failing(meeting_id), headers={header: 1}), routing_key="meeting.cancelled.v1"
    )
    letter = await dead_letter_of(channel, probe, meeting_id)
    assert probe.calls.count(meeting_id) == 2, probe.calls
    assert (letter.headers or {}).get("x-chibo-delivery-count") == 1, letter.headers
