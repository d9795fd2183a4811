"""A JSON array delivered on chibo.ingest is read as every consumer reads a delivery (shared.consuming
.delivery_is_batch): with CloudEvents attribute headers it is one binary-mode event whose `data` is the array
(CONTRACT.md "Routes in": the attributes in `ce-` headers, the body is `data`), without them a batch of events (as
evaluation and notifications read chibo.events). Real broker deliveries to the meetings service in this process."""

import json
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import asyncpg
import pytest

from shared.topology import INGEST_EXCHANGE
from tests.meetings import events as ev
from tests.support.ids import random_id
from tests.support.running import eventually


@pytest.fixture
async def channel(meetings_service: str, amqp_url: str) -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    """A confirming channel on the package's vhost, the meetings service consuming chibo.ingest."""
    connection = await aio_pika.connect(amqp_url)
    try:
        yield await connection.channel(publisher_confirms=True)
    finally:
        await connection.close()


async def publish(
    channel: aio_pika.abc.AbstractChannel, body: bytes, *, routing_key: str, headers: dict[str, Any] | None = None
) -> None:
    """`body` as plain `application/json` on chibo.ingest, persistent, with `headers`."""
    exchange = await channel.get_exchange(INGEST_EXCHANGE)
    message = aio_pika.Message(
        body, content_type="application/json", headers=headers, delivery_mode=aio_pika.DeliveryMode.PERSISTENT
    )
    await exchange.publish(message, routing_key=routing_key)


async def rejections(pool: asyncpg.Pool, event_ids: list[str]) -> dict[str, str] | None:
    """Each of `event_ids` rejected, by id: its field; None until all are."""
    rows = await pool.fetch("SELECT event_id, field FROM rejection WHERE event_id = ANY($1::text[])", event_ids)
    found = {row["event_id"]: row["field"] for row in rows}
    return found if len(found) == len(event_ids) else None


async def test_a_json_array_with_attribute_headers_is_one_binary_mode_event(
    channel: aio_pika.abc.AbstractChannel, meetings_pool: asyncpg.Pool
) -> None:
    event_id = random_id("bin")
    headers = {
        "ce-specversion": "1.0",
        "ce-id": event_id,
        "ce-source": "urn:test:arrays",
        "ce-type": "member.upserted.v1",
        "ce-time": "2026-11-25T10:00:00+07:00",
    }
    inner = ev.member(random_id("mem"), random_id("cell"))
    await publish(channel, json.dumps([inner]).encode(), routing_key="member.upserted.v1", headers=headers)
    # one event, the headers' own, whose data (an array) is no member: never the array's event taken in
    assert await eventually(lambda: rejections(meetings_pool, [event_id]), timeout=60) == {event_id: "data"}
    assert await meetings_pool.fetchval("SELECT count(*) FROM rejection WHERE event_id = $1", inner["id"]) == 0


async def test_a_json_array_without_attribute_headers_is_a_batch_of_events(
    channel: aio_pika.abc.AbstractChannel, meetings_pool: asyncpg.Pool
) -> None:
    cell = random_id("cell")
    members = [ev.member(random_id("mem"), cell) for _ in range(3)]
    await publish(channel, json.dumps([ev.unit(cell), *members]).encode(), routing_key="batch")

    async def stored() -> int | None:
        count = await meetings_pool.fetchval("SELECT count(*) FROM member WHERE cell_id = $1", cell)
        return count if count == 3 else None

    assert await eventually(stored, timeout=60) == 3
    # under a type's key, as evaluation and notifications read it: a batch, each of its events refused for the key
    # (CONTRACT.md: a batch on chibo.ingest goes under `batch`), not one message in neither mode
    strays = [ev.member(random_id("mem"), cell) for _ in range(2)]
    await publish(channel, json.dumps(strays).encode(), routing_key="member.upserted.v1")
    ids = [event["id"] for event in strays]
    assert await eventually(lambda: rejections(meetings_pool, ids), timeout=60) == dict.fromkeys(ids, "type")
