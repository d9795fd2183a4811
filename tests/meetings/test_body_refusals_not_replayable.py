"""A rejection whose message can never pass as it was sent is not offered for a replay as sent: a body refused as a
whole (`body: ...`: empty, no JSON object, no event) or one that names no event (no `source`, no `id`) would be
refused again, for the same reason, by its own bytes whatever else changes. A trial's empty AMQP body was listed
`replayable_as_sent` true with "Xét lại" on the operations page; the replay answered `rejected "body: empty"` and
left it offered still. Now the reply, the page and the replay say one answer (`refused_again_as_sent`), before and
after a replay is asked, on both routes. Real PostgreSQL; the empty body over the real broker, meetings in-process."""

import json
import uuid
from typing import Any

import aio_pika
import pytest

from services.meetings import handlers
from services.meetings.queries import rejection
from shared.envelope import CLOUDEVENT_CONTENT_TYPE
from shared.reading import replayable_fields
from shared.topology import INGEST_EXCHANGE
from tests.meetings import events as ev
from tests.meetings.test_replay_as_sent_one_rule import as_the_gateway_reads, page_says, replay_says
from tests.support.running import eventually

BODIES: dict[str, bytes] = {
    "empty": b"",
    "blank": b" \n\t ",
    "no_identity": json.dumps({"specversion": "1.0", "type": "org.unit.upserted.v1", "data": {}}).encode(),
    "json_object_no_event": b'{"hello": "world"}',
}
"""Bodies whose replay as sent can only be refused again for their own reason."""


async def stored_by_message(db: Any, message_id: str) -> str | None:
    """The rejection a message (its AMQP `message_id`) left, once stored; None before."""
    rows = await db.fetch("SELECT rejection_id FROM meetings.rejection WHERE message_id = $1", message_id)
    assert len(rows) <= 1, rows
    return str(rows[0]["rejection_id"]) if rows else None


async def offered(meetings_pool: Any, rejection_id: str) -> tuple[bool, str | None, str | None]:
    """What the rejection's reply says (`replayable_as_sent`, `not_replayable_reason`) and the page's note for it."""
    async with meetings_pool.acquire() as conn:
        reply = await rejection(conn, rejection_id)
    assert reply is not None
    item = as_the_gateway_reads(reply)
    shown, _ = page_says(item)
    assert item["replayable_as_sent"] is reply["replayable_as_sent"]
    return reply["replayable_as_sent"], reply["not_replayable_reason"], shown


async def assert_never_offered(uow_factory: Any, meetings_pool: Any, db: Any, rejection_id: str) -> None:
    """Not offered before a replay, the replay as sent refused with that code and nothing stored, not offered after."""
    expected = (False, "refused_again_as_sent", "refused_again_as_sent")
    assert await offered(meetings_pool, rejection_id) == expected
    assert await replay_says(uow_factory, rejection_id, None) == "refused_again_as_sent"
    assert await replay_says(uow_factory, rejection_id, 1) == "refused_again_as_sent"
    row = await db.fetchrow(
        "SELECT status, last_replay_reason FROM meetings.rejection WHERE rejection_id = $1", rejection_id
    )
    assert (row["status"], row["last_replay_reason"]) == ("open", None)
    assert await offered(meetings_pool, rejection_id) == expected


@pytest.mark.parametrize("route", ["amqp", "http"])
@pytest.mark.parametrize("kind", list(BODIES))
async def test_a_body_that_can_never_pass_is_not_offered_for_replay(
    uow_factory: Any, meetings_pool: Any, db: Any, kind: str, route: str
) -> None:
    message_id = f"no-replay-{kind}-{uuid.uuid4().hex[:10]}"
    [result] = await handlers.ingest_delivery(
        BODIES[kind], uow_factory, batch=False, route=route, message_id=message_id
    )
    assert result.outcome == "rejected", result
    rejection_id = await stored_by_message(db, message_id)
    assert rejection_id is not None
    await assert_never_offered(uow_factory, meetings_pool, db, rejection_id)


async def test_an_empty_message_over_the_broker_is_not_offered_for_replay(
    amqp_url: str, meetings_service: str, uow_factory: Any, meetings_pool: Any, db: Any
) -> None:
    """The trial's case: an empty body published on chibo.ingest, taken by the running consumer."""
    message_id = f"no-replay-broker-{uuid.uuid4().hex[:10]}"
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(INGEST_EXCHANGE, ensure=False)
        await exchange.publish(
            aio_pika.Message(
                b"",
                content_type=CLOUDEVENT_CONTENT_TYPE,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=message_id,
            ),
            routing_key="org.unit.upserted.v1",
        )
    finally:
        await connection.close()
    rejection_id = await eventually(lambda: stored_by_message(db, message_id))
    reason = await db.fetchval("SELECT reason FROM meetings.rejection WHERE rejection_id = $1", rejection_id)
    assert reason == "body: empty"
    await assert_never_offered(uow_factory, meetings_pool, db, rejection_id)


def test_every_refusal_of_the_body_as_a_whole_is_refused_again_as_sent() -> None:
    """Each `body: ...` reason a whole body is refused with (kept whole) is not replayable as sent; an event's own
    data at fault still is, and a body cut at a limit says it was not kept."""
    for reason in ("body: empty", "body: not an event", "body: an event must be a JSON object"):
        assert replayable_fields("", reason)["not_replayable_reason"] == "refused_again_as_sent", reason
    assert replayable_fields("{}", "body: not valid JSON (x)")["not_replayable_reason"] == "body_reads_no_json"
    assert replayable_fields("{}", "data.status: Input should be 'official'")["replayable_as_sent"] is True
    assert replayable_fields("{}", "data.kind: bogus", names_event=False)["replayable_as_sent"] is False
    cut = json.dumps(ev.unit("x"))[:20] + "… (2000000 bytes in all)"
    assert replayable_fields(cut, "body: larger than 1048576 bytes")["not_replayable_reason"] == "body_not_kept"
