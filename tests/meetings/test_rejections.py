"""Rejection reasons end to end through the real broker and database (every reason on fakes: test_rules.py).

Events are published to chibo.ingest; the stored rejection is read from the database and the
ingest.rejected.v1 from a queue bound to chibo.events.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from services.gateway.schemas.operations import rejection_page
from services.meetings import handlers
from shared.contracts import meetings_rpc as meetings
from shared.envelope import GATEWAY_SOURCE
from tests.meetings import events as ev
from tests.meetings.feed import Feed, feed
from tests.meetings.rejection_cases import WORLD_IDS, cases, world_events
from tests.shared.test_ops_cli import ops
from tests.support.ids import random_id
from tests.support.rpc import ask, rpc_client
from tests.support.running import eventually

START = ev.BASE_TIME + timedelta(days=10)


@pytest.fixture(scope="module")
async def world(meetings_service: str, amqp_url: str) -> AsyncIterator[tuple[Feed, dict[str, str]]]:
    """A committee, two cells with a member each, a scheduled meeting and a cancelled one."""
    ids = {name: random_id(name) for name in WORLD_IDS}
    async with feed(amqp_url) as bus:
        for raw in world_events(ids, start=START):
            await bus.publish(raw)
        await eventually(lambda: bus.find("meeting.cancelled.v1", meeting_id=ids["cancelled"]), timeout=60)
        yield bus, ids


async def expect_rejection(
    bus: Feed, db: asyncpg.Connection, *, event_id: str, field: str, status: str = "open"
) -> dict[str, Any]:
    """Wait for the stored rejection and its ingest.rejected.v1; both name `field`. `status`: "dismissed" for a
    person's command, answered on the form (not left open for the operators)."""
    published = await eventually(lambda: bus.find("ingest.rejected.v1", event_id=event_id), timeout=60)
    row = await db.fetchrow("SELECT * FROM meetings.rejection WHERE event_id = $1", event_id)
    assert row is not None and row["field"] == field and row["status"] == status
    assert published["data"]["field"] == field and published["data"]["reason"] == row["reason"]
    assert published["source"] == "urn:chibo:meetings"
    return dict(row)


END_TO_END_CASES = ["unknown type", "missing field", "attendance of a member of another cell", "cell without a parent"]
"""A sample through the broker and database; every case runs on fakes in test_rules.py."""


@pytest.mark.parametrize("case", END_TO_END_CASES)
async def test_rejects_with_a_reason_naming_the_field(world, db: asyncpg.Connection, case: str) -> None:  # type: ignore[no-untyped-def]
    bus, ids = world
    raw, field = cases(ids, start=START)[case]
    await bus.publish(raw)
    row = await expect_rejection(bus, db, event_id=raw["id"], field=field)
    assert json.loads(row["raw"])["id"] == raw["id"]


async def test_cancelling_a_held_meeting_is_refused_to_a_secretary_and_stored_from_an_integration(  # type: ignore[no-untyped-def]
    world, db: asyncpg.Connection
) -> None:
    """The secretary's form (the gateway's source) is told the meeting was held (its minutes are in: DOMAIN.md); an
    integration's cancellation of the same meeting is a fact like any other, stored and re-published (its order with
    the roster and minutes must not matter)."""
    bus, ids = world
    mtg = random_id("mtg")
    await bus.publish(ev.scheduled(mtg, ids["cell"], starts_at=START))
    await bus.publish(ev.attendance(mtg, {ids["mem"]: "present"}))
    await bus.publish(ev.minutes(mtg, chair_id=ids["mem"], started_at=START))
    await eventually(lambda: bus.find("minutes.submitted.v1", meeting_id=mtg), timeout=60)
    by_hand = ev.raw_event("meeting.cancelled.v1", {"meeting_id": mtg, "reason": "Trùng lịch"}, source=GATEWAY_SOURCE)
    await bus.publish(by_hand, as_system=True)  # as the gateway's own, which no feed may send as
    await expect_rejection(bus, db, event_id=by_hand["id"], field="data.meeting_id", status="dismissed")
    fed = ev.raw_event("meeting.cancelled.v1", {"meeting_id": mtg, "reason": "Trùng lịch"})
    await bus.publish(fed)
    await eventually(lambda: bus.find("meeting.cancelled.v1", originid=fed["id"]), timeout=60)
    assert await db.fetchval("SELECT cancel_reason FROM meetings.meeting WHERE meeting_id = $1", mtg) == "Trùng lịch"
    assert not await db.fetchval("SELECT count(*) FROM meetings.rejection WHERE event_id = $1", fed["id"])


async def test_malformed_bodies_end_as_stored_rejections_and_the_queue_goes_on(world, db: asyncpg.Connection) -> None:  # type: ignore[no-untyped-def]
    bus, ids = world
    marker = random_id("garbage")
    await bus.publish(f'{{"not json": "{marker}"'.encode(), routing_key="meeting.scheduled.v1")
    await bus.publish(f"[1, 2, {{}} {marker}".encode(), routing_key="batch")

    async def both_stored() -> list[asyncpg.Record] | None:
        rows = await db.fetch("SELECT * FROM meetings.rejection WHERE raw LIKE $1", f"%{marker}%")
        return rows if len(rows) == 2 else None

    rows = await eventually(both_stored, timeout=60)
    assert {r["field"] for r in rows} == {"body"}
    for stored in rows:
        await eventually(lambda s=stored: bus.find("ingest.rejected.v1", subject=s["rejection_id"]), timeout=60)
    after = ev.scheduled(random_id("mtg"), ids["cell"], starts_at=START)
    await bus.publish(after)
    await eventually(lambda: bus.find("meeting.scheduled.v1", originid=after["id"]), timeout=60)


async def test_a_batch_judges_each_event_alone(world, db: asyncpg.Connection) -> None:  # type: ignore[no-untyped-def]
    bus, ids = world
    good = [ev.scheduled(random_id("mtg"), ids["cell"], starts_at=START) for _ in range(3)]
    bad = ev.raw_event("meeting.cancelled.v1", {"meeting_id": good[0]["data"]["meeting_id"]})
    await bus.publish([good[0], bad, good[1], "not an event", good[2]])
    await expect_rejection(bus, db, event_id=bad["id"], field="data.reason")
    for raw in good:
        await eventually(lambda r=raw: bus.find("meeting.scheduled.v1", originid=r["id"]), timeout=60)


@pytest.mark.parametrize("mode", ["structured", "binary"])
async def test_a_feed_under_the_gateways_source_is_refused_and_its_system_publisher_is_not(
    world: tuple[Feed, dict[str, str]], db: asyncpg.Connection, mode: str
) -> None:
    """Through the running consumer: a feed (no `user_id`, or not one of CHIBO_SYSTEM_PUBLISHERS) under
    URN:CHIBO:gateway is refused naming `source`, stored and published; the same event from a system publisher (the
    broker-checked `user_id` of the demo seed's login) is judged as the gateway's own."""
    bus, ids = world
    mtg = random_id("mtg")
    await bus.publish(ev.scheduled(mtg, ids["cell"], starts_at=START + timedelta(days=30)))
    await eventually(lambda: bus.find("meeting.scheduled.v1", meeting_id=mtg), timeout=60)
    for source in ("URN:CHIBO:gateway", GATEWAY_SOURCE):
        forged = ev.raw_event("meeting.cancelled.v1", {"meeting_id": mtg, "reason": "Giả mạo"}, source=source)
        if mode == "structured":
            await bus.publish(forged)
        else:
            headers = {f"ce-{k}": v for k, v in forged.items() if k not in ("data", "datacontenttype")}
            await bus.publish(
                json.dumps(forged["data"]).encode(),
                routing_key=forged["type"],
                headers=headers,
                content_type="application/json",
            )
        row = await expect_rejection(bus, db, event_id=forged["id"], field="source")
        refusal = row["refusal"]
        assert row["source"] == source
        assert (json.loads(refusal) if isinstance(refusal, str) else refusal)["code"] == "source_reserved"
    assert await db.fetchval("SELECT cancel_reason FROM meetings.meeting WHERE meeting_id = $1", mtg) is None
    own = ev.raw_event("meeting.cancelled.v1", {"meeting_id": mtg, "reason": "Trùng lịch"}, source=GATEWAY_SOURCE)
    await bus.publish(own, as_system=True)
    await eventually(lambda: bus.find("meeting.cancelled.v1", originid=own["id"]), timeout=60)


@pytest.mark.parametrize("mode", ["structured", "binary", "batch"])
async def test_an_event_under_a_routing_key_that_is_not_its_type_is_refused_naming_type(
    world: tuple[Feed, dict[str, str]], db: asyncpg.Connection, mode: str
) -> None:
    """The trial's member.upserted.v1 published to chibo.ingest under meeting.cancelled.v1 was applied silently.
    CONTRACT.md "Routes in": the routing key is the event's `type` (`batch` for a batch), so it is refused naming
    `type` and the key given, stored and published as every rejection; the same event under its own key applies."""
    bus, ids = world
    member = ev.member(random_id("mem"), ids["cell"])
    if mode == "structured":
        await bus.publish(member, routing_key="meeting.cancelled.v1")
    elif mode == "binary":
        headers = {f"ce-{k}": v for k, v in member.items() if k not in ("data", "datacontenttype")}
        await bus.publish(
            json.dumps(member["data"]).encode(),
            routing_key="meeting.cancelled.v1",
            headers=headers,
            content_type="application/json",
        )
    else:  # a batch is published under `batch`, never under one of its types
        await bus.publish([member], routing_key="member.upserted.v1")
    row = await expect_rejection(bus, db, event_id=member["id"], field="type")
    expected = "'batch'" if mode == "batch" else "'member.upserted.v1'"
    given = "member.upserted.v1" if mode == "batch" else "meeting.cancelled.v1"
    assert f"routing key '{given}'" in row["reason"] and expected in row["reason"], row["reason"]
    assert not await db.fetchval("SELECT count(*) FROM meetings.member WHERE id = $1", member["data"]["id"])
    again = ev.member(member["data"]["id"], ids["cell"])
    await bus.publish(again)
    await eventually(lambda: bus.find("member.upserted.v1", originid=again["id"]), timeout=60)


async def test_a_rejection_keeps_the_amqp_message_id_its_event_came_in(  # type: ignore[no-untyped-def]
    world, db: asyncpg.Connection, amqp_url: str, database_url: str, uow_factory: Any
) -> None:
    """An operator finds the message a rejected event came in among the dead letters and logs by its AMQP
    `message_id`, which for a batch is the batch message's, not the event's `event_id`: meetings keeps it with the
    rejection, and GET /v1/rejections (over meetings' RPC) and `shared.ops rejections list` show it."""
    bus, ids = world
    good = ev.scheduled(random_id("mtg"), ids["cell"], starts_at=START)
    in_batch = ev.raw_event("meeting.cancelled.v1", {"meeting_id": good["data"]["meeting_id"]})  # no reason
    alone = ev.raw_event("meeting.cancelled.v1", {"meeting_id": good["data"]["meeting_id"]})
    batch_id, single_id, body_id = random_id("amqp-batch"), random_id("amqp-single"), random_id("amqp-body")
    marker = random_id("garbage")
    await bus.publish([good, in_batch], message_id=batch_id)
    await bus.publish(alone, message_id=single_id)
    await bus.publish(f"[1, {marker}".encode(), routing_key="batch", message_id=body_id)
    over_http = ev.raw_event("meeting.cancelled.v1", {"meeting_id": good["data"]["meeting_id"]})
    [result] = await handlers.ingest_batch([over_http], uow_factory, route="http")  # no AMQP message at all
    assert result.outcome == "rejected"

    stored = {
        event["id"]: await expect_rejection(bus, db, event_id=event["id"], field="data.reason")
        for event in (in_batch, alone, over_http)
    }
    assert stored[in_batch["id"]]["message_id"] == batch_id
    assert stored[alone["id"]]["message_id"] == single_id
    assert stored[over_http["id"]]["message_id"] is None
    body = await eventually(
        lambda: db.fetchrow("SELECT * FROM meetings.rejection WHERE raw LIKE $1", f"%{marker}%"), timeout=60
    )
    assert (body["event_id"], body["message_id"]) == ("", body_id)

    async with rpc_client(amqp_url, timeout=10) as client:
        page = await ask(client, meetings.ListRejections(limit=1000, offset=0, status="open"))
    listed = {item["rejection_id"]: item for item in rejection_page(page)["items"]}
    shown = listed[stored[in_batch["id"]]["rejection_id"]]
    assert (shown["event_id"], shown["message_id"]) == (in_batch["id"], batch_id)
    assert "reason_code" in shown and listed[body["rejection_id"]]["message_id"] == body_id
    cli = await asyncio.to_thread(ops, amqp_url, database_url, "rejections", "list", "--limit", "1000")
    by_cli = {item["rejection_id"]: item for item in cli["items"]}
    assert by_cli[stored[alone["id"]]["rejection_id"]]["message_id"] == single_id
    assert by_cli[stored[over_http["id"]]["rejection_id"]]["message_id"] is None
