"""The relay's fetch headers: each message of a fetch names its fetch and the fetch's count of messages per type, so a
consumer (evaluation's scoring round) does not act between the one-type batches of one transaction (issue 12) and
tells what of it is still to come whichever order its messages arrive and are applied in (the last test: through the
real broker)."""

import asyncio

import aio_pika
import asyncpg

from services.evaluation.activity import FactActivity
from shared.contracts.meetings import MeetingCancelled
from shared.envelope import CloudEvent, new_event
from shared.outbox import (
    FETCH_HEADER,
    FETCH_TYPES_HEADER,
    FetchPart,
    OutboxRelay,
    add_to_outbox,
    fetch_headers,
    fetch_part,
)
from shared.topology import EVENTS_EXCHANGE
from tests.shared.conftest import SCHEMA
from tests.support.ids import random_id
from tests.support.running import eventually


def rows(exchange: str, kind: str, count: int = 1) -> list[dict[str, str]]:
    """A message's rows as the relay reads them (the fields fetch_headers uses)."""
    return [{"exchange": exchange, "type": kind}] * count


def test_each_message_names_its_fetch_and_the_fetchs_count_of_each_type_on_its_exchange() -> None:
    messages = [
        rows("chibo.events", "meeting.scheduled.v1", 12),
        rows("chibo.events", "attendance.recorded.v1", 12),
        rows("other", "x.v1"),
        rows("chibo.events", "minutes.submitted.v1", 12),
        rows("chibo.events", "attendance.recorded.v1", 3),
    ]
    headers = fetch_headers(messages, "ab12")
    counts = "attendance.recorded.v1=2,meeting.scheduled.v1=1,minutes.submitted.v1=1"
    assert headers[0] == {
        FETCH_HEADER: "ab12.0",
        FETCH_TYPES_HEADER: counts,
    }
    assert headers[2] == {}  # alone on its exchange: nothing to wait for
    assert headers[4] == {FETCH_HEADER: "ab12.4", FETCH_TYPES_HEADER: counts}
    assert fetch_headers([rows("chibo.events", "minutes.submitted.v1")], "cd") == [{}]


def test_a_consumer_counts_only_the_types_it_binds() -> None:
    facts = {"minutes.submitted.v1", "attendance.recorded.v1"}
    value = "attendance.recorded.v1=2,member.attendance.updated.v1=1,minutes.submitted.v1=1"
    headers = {FETCH_HEADER: "ab12.3", FETCH_TYPES_HEADER: value.encode()}
    assert fetch_part(headers, "minutes.submitted.v1", facts) == FetchPart(
        fetch="ab12",
        number=3,
        kind="minutes.submitted.v1",
        counts={"attendance.recorded.v1": 2, "minutes.submitted.v1": 1},
    )
    assert fetch_part(headers, "member.attendance.updated.v1", facts) is None
    assert fetch_part({}, "minutes.submitted.v1", facts) is None and fetch_part(None, "x", facts) is None
    assert fetch_part({FETCH_HEADER: "ab12.x", FETCH_TYPES_HEADER: value}, "minutes.submitted.v1", facts) is None
    # digits of another script are no number (test_ascii_digits' rule): "٣" (Arabic-Indic three) is refused
    assert fetch_part({FETCH_HEADER: "ab12.\u0663", FETCH_TYPES_HEADER: value}, "minutes.submitted.v1", facts) is None
    assert (
        fetch_part(
            {FETCH_HEADER: "ab12.3", FETCH_TYPES_HEADER: "minutes.submitted.v1=\u0661"}, "minutes.submitted.v1", facts
        )
        is None
    )


def _event(kind: str) -> CloudEvent:
    data = MeetingCancelled(meeting_id="m", reason="r")
    return new_event(type=kind, source="urn:test:fetch", event_id=random_id("fetch"), data=data)


async def test_a_fetch_sent_through_the_broker_is_awaited_until_each_of_its_messages_began_in_any_order(
    pool: asyncpg.Pool, channel: aio_pika.abc.AbstractChannel, amqp_url: str
) -> None:
    cancelled, rescheduled = "meeting.cancelled.v1", "meeting.rescheduled.v1"
    queue = await channel.declare_queue(exclusive=True)
    for kind in (cancelled, rescheduled):
        await queue.bind(EVENTS_EXCHANGE, routing_key=kind)
    # two transactions before the relay looks: one fetch of three messages (cancelled ×2, rescheduled ×2, cancelled)
    async with pool.acquire() as conn, conn.transaction():
        events = [_event(cancelled), _event(rescheduled), _event(cancelled), _event(rescheduled)]
        await add_to_outbox(conn, events, schema=SCHEMA)
    async with pool.acquire() as conn, conn.transaction():
        await add_to_outbox(conn, [_event(cancelled)], schema=SCHEMA)
    relay = OutboxRelay(pool=pool, schema=SCHEMA, amqp_url=amqp_url, poll_seconds=0.2)
    task = asyncio.create_task(relay.run())
    received: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def three() -> bool:
        while (message := await queue.get(fail=False, no_ack=True)) is not None:
            received.append(message)
        return len(received) >= 3

    try:
        await eventually(three, timeout=30)
    finally:
        relay.stop()
        await asyncio.wait_for(task, timeout=15)
    parts = [fetch_part(message.headers, message.type, {cancelled, rescheduled}) for message in received]
    assert all(part is not None for part in parts), [message.headers for message in received]
    known = [part for part in parts if part is not None]
    assert len({part.fetch for part in known}) == 1 and sorted(part.number for part in known) == [0, 1, 2]
    assert known[0].counts == {cancelled: 2, rescheduled: 1}
    # the consumer applies them side by side (prefetch), the first one ending last: once all three began, nothing
    # of the fetch is awaited, and a round starts at once instead of after the whole bound
    activity = FactActivity()
    with activity.delivery(batch=False, part=known[0], several=True):
        assert activity.expecting
        for part in reversed(known[1:]):
            with activity.delivery(batch=False, part=part, several=True):
                pass
        assert not activity.expecting
    assert await asyncio.wait_for(activity.wait_settled(settle=0.0, max_wait=0.0, bulk_wait=30.0), 10.0) < 5.0
