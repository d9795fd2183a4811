"""Every refused attempt of an event is kept (rejection_attempt), never overwritten by a later copy: a trial's HTTP
`POST /v1/events` refusal of an event was replaced by a later AMQP copy's, whose reason, route and moment hid the
first, and a replay could only judge the latest copy. The rejection lists each attempt (route, reason, code,
received_at), a replay judges the attempt it names (by default the latest received from a sender), and the migration
gives the rejections stored before their attempts. Through the real broker and database."""

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from services.meetings.bootstrap import SERVICE_DIR
from shared.contracts import meetings_rpc as meetings
from shared.db import apply_migrations, migration_files
from shared.rpc import RpcClient, RpcError
from tests.meetings import events as ev
from tests.meetings.feed import Feed, feed
from tests.support.ids import random_id
from tests.support.rpc import ask, rpc_client
from tests.support.running import eventually

MIGRATION = "0024_rejection_attempts.sql"


@pytest.fixture(scope="module")
async def world(meetings_service: str, amqp_url: str) -> AsyncIterator[tuple[Feed, RpcClient]]:
    """The bus and an RPC client to meetings."""
    async with rpc_client(amqp_url, timeout=30) as client, feed(amqp_url) as bus:
        yield bus, client


def two_copies() -> tuple[dict[str, Any], dict[str, Any]]:
    """Two bodies under one (source, id), each refused for its own field: a cancellation without its reason, then
    one without its meeting."""
    first = ev.raw_event("meeting.cancelled.v1", {"meeting_id": random_id("mtg")})
    second = ev.raw_event("meeting.cancelled.v1", {"reason": "Bão"}, id=first["id"])
    return first, second


async def refused_twice(bus: Feed, rpc: RpcClient, db: asyncpg.Connection) -> tuple[str, dict[str, Any]]:
    """The first copy refused over HTTP, the second over AMQP; the rejection's id and the first copy."""
    first, second = two_copies()
    [answer] = (await ask(rpc, meetings.Ingest(events=[first], route="http", account="feed")))["results"]
    assert (answer["outcome"], answer["field"]) == ("rejected", "data.reason")
    message_id = random_id("amqp")
    await bus.publish(second, message_id=message_id)

    async def second_kept() -> Any:
        return await db.fetchval(
            "SELECT rejection_id FROM meetings.rejection WHERE event_id = $1 AND message_id = $2",
            first["id"],
            message_id,
        )

    return str(await eventually(second_kept, timeout=60)), first


async def test_a_later_copy_refused_again_is_an_attempt_beside_the_first(
    world: tuple[Feed, RpcClient], db: asyncpg.Connection
) -> None:
    bus, rpc = world
    rejection_id, first = await refused_twice(bus, rpc, db)
    rejection = await ask(rpc, meetings.GetRejection(rejection_id=rejection_id))
    attempts = [(a["attempt"], a["route"], a["field"]) for a in rejection["attempts"]]
    assert attempts == [(1, "http", "data.reason"), (2, "amqp", "data.meeting_id")]
    assert rejection["attempts"][0]["received_at"] <= rejection["attempts"][1]["received_at"]
    assert rejection["attempts"][1]["message_id"] is not None and rejection["attempts"][0]["message_id"] is None
    # the rejection itself reads as its latest attempt received from a sender
    assert rejection["field"] == "data.meeting_id"
    listed = await ask(rpc, meetings.ListRejections(limit=200))
    [same] = [r for r in listed["items"] if r["rejection_id"] == rejection_id]
    assert [a["route"] for a in same["attempts"]] == ["http", "amqp"]


async def test_each_attempt_names_the_account_that_sent_it(
    world: tuple[Feed, RpcClient], db: asyncpg.Connection
) -> None:
    """Each attempt's reply carries its own `sender` (rejection_attempt.sender, migration 0034), as the operations page
    shows it per attempt: the listing and the rejection alike dropped it, so only the latest copy's was known."""
    bus, rpc = world
    rejection_id, _ = await refused_twice(bus, rpc, db)
    kept = await db.fetch(
        "SELECT sender FROM meetings.rejection_attempt WHERE rejection_id = $1 ORDER BY attempt", rejection_id
    )
    rejection = await ask(rpc, meetings.GetRejection(rejection_id=rejection_id))
    assert [a.get("sender", "absent") for a in rejection["attempts"]] == [row["sender"] for row in kept]
    assert rejection["attempts"][0]["sender"] == "feed"  # the HTTP copy's account
    listed = await ask(rpc, meetings.ListRejections(limit=200))
    [same] = [r for r in listed["items"] if r["rejection_id"] == rejection_id]
    assert [a.get("sender", "absent") for a in same["attempts"]] == [row["sender"] for row in kept]


async def test_a_replay_judges_the_attempt_it_names_or_the_latest(
    world: tuple[Feed, RpcClient], db: asyncpg.Connection
) -> None:
    bus, rpc = world
    rejection_id, _ = await refused_twice(bus, rpc, db)
    chosen = await ask(rpc, meetings.ReplayRejection(rejection_id=rejection_id, attempt=1))
    assert (chosen["outcome"], chosen["field"]) == ("rejected", "data.reason")
    latest = await ask(rpc, meetings.ReplayRejection(rejection_id=rejection_id))
    assert (latest["outcome"], latest["field"]) == ("rejected", "data.meeting_id")
    rejection = await ask(rpc, meetings.GetRejection(rejection_id=rejection_id))
    assert [(a["route"], a["field"]) for a in rejection["attempts"]] == [
        ("http", "data.reason"),
        ("amqp", "data.meeting_id"),
        ("replay", "data.reason"),
        ("replay", "data.meeting_id"),
    ]
    # replays refused again leave the rejection's own reason as its latest sender's attempt said it
    assert (rejection["status"], rejection["field"]) == ("open", "data.meeting_id")
    with pytest.raises(RpcError) as refused:
        await ask(rpc, meetings.ReplayRejection(rejection_id=rejection_id, attempt=99))
    assert (refused.value.code, refused.value.field) == ("not_found", "attempt")


async def test_the_migration_gives_each_rejection_stored_before_its_attempts(database_url: str) -> None:
    """A rejection stored before keeps its one attempt as its row reads, and its refused replay as a second."""
    schema = random_id("meetings_attempts").replace("-", "_")
    files = migration_files(SERVICE_DIR)
    assert MIGRATION in [path.name for path in files]
    await apply_migrations(database_url, schema=schema, files=[path for path in files if path.name < MIGRATION])
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f'SET search_path TO "{schema}"')
        await conn.execute(
            "INSERT INTO rejection (rejection_id, source, event_id, type, reason, field, raw, route, received_at,"
            " last_replay_reason, last_replay_field, last_replay_at) VALUES"
            " ('once', 'urn:a', 'e1', 't', 'bad', 'data.x', '{}', 'http', now() - interval '1 hour',"
            " NULL, NULL, NULL),"
            " ('replayed', 'urn:a', 'e2', 't', 'bad', 'data.x', '{}', 'amqp', now() - interval '1 hour',"
            " 'worse', 'data.y', now())"
        )
        upto = [path for path in files if path.name <= MIGRATION]
        assert await apply_migrations(database_url, schema=schema, files=upto) == [MIGRATION]
        rows = await conn.fetch("SELECT rejection_id, attempt, route, field FROM rejection_attempt ORDER BY 1, 2")
        assert [tuple(r) for r in rows] == [
            ("once", 1, "http", "data.x"),
            ("replayed", 1, "amqp", "data.x"),
            ("replayed", 2, "replay", "data.y"),
        ]
    finally:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()
