"""CONTRACT.md: (source, id) identifies an event, and the same pair delivered again changes nothing. A refused event
sent again is refused again, with the same answer, but its rejection is stored once and ingest.rejected.v1 about it
published once, whichever path refused it: AMQP single (structured and binary), AMQP batch, the gateway's POST
/v1/events (meetings' ingest_body: structured, binary, batch), a person's command (meetings' ingest RPC), another
event under a taken id, a replay refused again, a hold that ran out twice. Through the real broker and database."""

import base64
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from services.meetings import handlers
from services.meetings.bootstrap import SERVICE_DIR
from services.meetings.handlers.ingest import REUSED_ID
from shared.contracts import meetings_rpc as meetings
from shared.contracts.meetings_rpc import ANSWERED_ON_FORM
from shared.db import apply_migrations, migration_files
from shared.envelope import BATCH_CONTENT_TYPE, CLOUDEVENT_CONTENT_TYPE, GATEWAY_SOURCE
from shared.rpc import RpcClient
from tests.meetings import events as ev
from tests.meetings.feed import Feed, feed, scheduled_meeting
from tests.support.ids import random_id
from tests.support.rpc import ask, rpc_client
from tests.support.running import eventually

START = ev.BASE_TIME + timedelta(days=40)
MIGRATION = "0021_one_rejection_per_event.sql"


@pytest.fixture(scope="module")
async def world(meetings_service: str, amqp_url: str) -> AsyncIterator[tuple[Feed, RpcClient, dict[str, str]]]:
    """A committee, a cell with a member and a scheduled meeting; the bus and an RPC client to meetings."""
    async with rpc_client(amqp_url, timeout=30) as client, feed(amqp_url) as bus:
        yield bus, client, await scheduled_meeting(bus, starts_at=START)


def unreasoned(ids: dict[str, str], **extra: Any) -> dict[str, Any]:
    """A cancellation without its reason: refused naming data.reason, however often it is sent."""
    return ev.raw_event("meeting.cancelled.v1", {"meeting_id": ids["mtg"]}, **extra)


def binary(event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """The event in binary content mode: its data as the body, its other attributes as `ce-` headers."""
    headers = {f"ce-{key}": value for key, value in event.items() if key not in ("data", "datacontenttype")}
    return json.dumps(event["data"]).encode(), headers


async def what_was_kept(db: asyncpg.Connection, event: dict[str, Any]) -> dict[str, int]:
    """The rejections meetings stored of an event and the ingest.rejected.v1 about it it wrote to its outbox."""
    return {
        "stored": await db.fetchval(
            "SELECT count(*) FROM meetings.rejection WHERE source = $1 AND event_id = $2", event["source"], event["id"]
        ),
        "published": await db.fetchval(
            "SELECT count(*) FROM meetings.outbox WHERE type = 'ingest.rejected.v1'"
            " AND payload -> 'data' ->> 'source' = $1 AND payload -> 'data' ->> 'event_id' = $2",
            event["source"],
            event["id"],
        ),
    }


async def came_in(db: asyncpg.Connection, event: dict[str, Any], message_id: str) -> None:
    """Wait until the rejection of `event` was refreshed by the copy that came in AMQP message `message_id`."""

    async def refreshed() -> bool:
        kept = await db.fetchval(
            "SELECT message_id FROM meetings.rejection WHERE source = $1 AND event_id = $2",
            event["source"],
            event["id"],
        )
        return kept == message_id

    await eventually(refreshed, timeout=60)


@pytest.mark.parametrize("mode", ["structured", "binary", "batch"])
async def test_an_event_refused_over_amqp_twice_is_stored_and_published_once(
    world: tuple[Feed, RpcClient, dict[str, str]], db: asyncpg.Connection, mode: str
) -> None:
    bus, _, ids = world
    refused = unreasoned(ids)
    for copy in range(2):
        message_id = random_id(f"amqp-{copy}")
        if mode == "structured":
            await bus.publish(refused, message_id=message_id)
        elif mode == "binary":
            body, headers = binary(refused)
            await bus.publish(
                body,
                routing_key=refused["type"],
                headers=headers,
                content_type="application/json",
                message_id=message_id,
            )
        else:
            await bus.publish([refused], message_id=message_id)
        await came_in(db, refused, message_id)
    await eventually(lambda: bus.find("ingest.rejected.v1", event_id=refused["id"]), timeout=60)
    assert await what_was_kept(db, refused) == {"stored": 1, "published": 1}
    heard = [e for e in bus.seen if e["type"] == "ingest.rejected.v1" and e["data"]["event_id"] == refused["id"]]
    assert len(heard) == 1


@pytest.mark.parametrize("mode", ["structured", "binary", "batch"])
async def test_an_event_refused_over_http_twice_answers_the_same_and_is_stored_and_published_once(
    world: tuple[Feed, RpcClient, dict[str, str]], db: asyncpg.Connection, mode: str
) -> None:
    """The gateway's POST /v1/events hands the body to meetings' ingest_body: each sending is answered with the
    refusal, naming the field; only the first is stored and published."""
    _, rpc, ids = world
    refused = unreasoned(ids)
    headers: list[tuple[str, str]] | None = None
    if mode == "structured":
        body, content_type = json.dumps(refused).encode(), CLOUDEVENT_CONTENT_TYPE
    elif mode == "binary":
        body, named = binary(refused)
        headers, content_type = list(named.items()), "application/json"
    else:
        body, content_type = json.dumps([refused]).encode(), BATCH_CONTENT_TYPE
    request = meetings.IngestBody(
        body_base64=base64.b64encode(body).decode(), content_type=content_type, headers=headers, account="feed"
    )
    answers = [(await ask(rpc, request))["results"] for _ in range(2)]
    assert answers[0] == answers[1]
    [result] = answers[1]
    assert (result["outcome"], result["field"]) == ("rejected", "data.reason")
    assert await what_was_kept(db, refused) == {"stored": 1, "published": 1}


async def test_a_persons_command_refused_twice_is_told_twice_and_stored_and_published_once(
    world: tuple[Feed, RpcClient, dict[str, str]], db: asyncpg.Connection
) -> None:
    """A secretary's form or API command sent again under its id (the gateway derives it from the form's key) is
    refused again with the same answer; it is stored once, closed as answered on the form, and published once."""
    _, rpc, ids = world
    command = unreasoned(ids, source=GATEWAY_SOURCE)
    request = meetings.Ingest(events=[command], route="http", account="bi-thu", scope=ids["cell"])
    answers = [(await ask(rpc, request))["results"] for _ in range(2)]
    assert answers[0] == answers[1]
    assert (answers[1][0]["outcome"], answers[1][0]["field"]) == ("rejected", "data.reason")
    assert await what_was_kept(db, command) == {"stored": 1, "published": 1}
    stored = await db.fetchrow(
        "SELECT status, dismissal_reason, dismissed_by FROM meetings.rejection WHERE source = $1 AND event_id = $2",
        GATEWAY_SOURCE,
        command["id"],
    )
    assert dict(stored) == {"status": "dismissed", "dismissal_reason": ANSWERED_ON_FORM, "dismissed_by": "bi-thu"}


async def test_another_event_under_a_taken_id_sent_twice_is_stored_and_published_once(
    world: tuple[Feed, RpcClient, dict[str, str]], db: asyncpg.Connection
) -> None:
    _, rpc, ids = world
    taken = ev.member(random_id("mem"), ids["cell"])
    other = ev.member(random_id("mem"), ids["cell"], id=taken["id"])
    [accepted] = (await ask(rpc, meetings.Ingest(events=[taken])))["results"]
    assert accepted["outcome"] == "accepted"
    answers = [(await ask(rpc, meetings.Ingest(events=[other])))["results"] for _ in range(2)]
    assert answers[0] == answers[1] and answers[1][0]["reason"] == REUSED_ID
    assert await what_was_kept(db, other) == {"stored": 1, "published": 1}


async def test_a_replay_refused_again_publishes_nothing_more(
    world: tuple[Feed, RpcClient, dict[str, str]], db: asyncpg.Connection
) -> None:
    """An operator's replay of a rejection whose event is still refused keeps the one rejection open (its first reason,
    the replay's beside it) and tells its subscribers nothing new."""
    _, rpc, ids = world
    refused = unreasoned(ids)
    await ask(rpc, meetings.Ingest(events=[refused]))
    rejection_id = await db.fetchval("SELECT rejection_id FROM meetings.rejection WHERE event_id = $1", refused["id"])
    for _ in range(2):
        replayed = await ask(rpc, meetings.ReplayRejection(rejection_id=rejection_id))
        assert (replayed["outcome"], replayed["field"]) == ("rejected", "data.reason")
    assert await what_was_kept(db, refused) == {"stored": 1, "published": 1}
    row = await db.fetchrow(
        "SELECT status, last_replay_field FROM meetings.rejection WHERE event_id = $1", refused["id"]
    )
    assert dict(row) == {"status": "open", "last_replay_field": "data.reason"}


async def test_an_event_whose_hold_ran_out_twice_is_stored_and_published_once(
    world: tuple[Feed, RpcClient, dict[str, str]], db: asyncpg.Connection, uow_factory: Any
) -> None:
    """A held event whose wait ran out is rejected, and its inbox row forgotten so it may come in again: sent again,
    it waits again, and when that wait runs out too, it is still one rejection, published once."""
    _, rpc, _ = world
    waiting = ev.member(random_id("mem"), random_id("cell-unknown"))
    for _ in range(2):
        [held] = (await ask(rpc, meetings.Ingest(events=[waiting])))["results"]
        assert held["outcome"] == "held"
        async with uow_factory() as uow:
            await handlers.expire_holds(uow, timeout=timedelta(seconds=0))
            await uow.commit()
        assert await db.fetchval("SELECT status FROM meetings.rejection WHERE event_id = $1", waiting["id"]) == "open"
    assert await what_was_kept(db, waiting) == {"stored": 1, "published": 1}


async def test_an_event_dismissed_by_an_operator_and_refused_again_is_one_open_rejection(
    world: tuple[Feed, RpcClient, dict[str, str]], db: asyncpg.Connection
) -> None:
    """An operator dismissed a rejection; its source sends the event again and it is refused again: the same
    rejection is open again for the operators (its sender has it wrong still), not a second one, and nothing more is
    published."""
    _, rpc, ids = world
    refused = unreasoned(ids)
    await ask(rpc, meetings.Ingest(events=[refused]))
    rejection_id = await db.fetchval("SELECT rejection_id FROM meetings.rejection WHERE event_id = $1", refused["id"])
    await ask(rpc, meetings.DismissRejection(rejection_id=rejection_id, reason="Rác", dismissed_by="van-hanh"))
    [again] = (await ask(rpc, meetings.Ingest(events=[refused])))["results"]
    assert (again["outcome"], again["field"]) == ("rejected", "data.reason")
    assert await what_was_kept(db, refused) == {"stored": 1, "published": 1}
    row = await db.fetchrow(
        "SELECT rejection_id, status, dismissed_at FROM meetings.rejection WHERE event_id = $1", refused["id"]
    )
    assert dict(row) == {"rejection_id": rejection_id, "status": "open", "dismissed_at": None}


async def test_the_migration_keeps_one_rejection_of_an_event_stored_twice_before(database_url: str) -> None:
    """Rejections stored twice before the unique identity: the standing one stays (open, else a person's command
    answered on its form, else the latest); rejections of bodies naming no event all stay; a second one is refused."""
    schema = random_id("meetings_once").replace("-", "_")
    files = migration_files(SERVICE_DIR)
    assert MIGRATION in [path.name for path in files]
    await apply_migrations(database_url, schema=schema, files=[path for path in files if path.name < MIGRATION])
    conn = await asyncpg.connect(database_url)
    rows = [  # (rejection_id, source, event_id, status, dismissal_reason, hours ago)
        ("open-kept", "urn:a", "e1", "open", None, 3),
        ("e1-replayed", "urn:a", "e1", "replayed", None, 1),
        ("e1-dismissed", "urn:a", "e1", "dismissed", "rác", 0),
        ("form-old", GATEWAY_SOURCE, "web-1", "dismissed", ANSWERED_ON_FORM, 2),
        ("form-new", GATEWAY_SOURCE, "web-1", "dismissed", ANSWERED_ON_FORM, 1),
        ("operator", GATEWAY_SOURCE, "web-1", "dismissed", "rác", 0),
        ("late-old", "urn:a", "e2", "replayed", None, 2),
        ("late-new", "urn:a", "e2", "dismissed", "rác", 1),
        ("other-source", "urn:b", "e1", "replayed", None, 5),
        ("body-1", "", "", "open", None, 1),
        ("body-2", "", "", "open", None, 2),
    ]
    try:
        await conn.execute(f'SET search_path TO "{schema}"')
        await conn.executemany(
            "INSERT INTO rejection (rejection_id, source, event_id, type, reason, raw, route, received_at, status,"
            " dismissal_reason) VALUES ($1, $2, $3, 't', 'bad', '{}', 'test', now() - make_interval(hours => $6),"
            " $4, $5)",
            rows,
        )
        upto = [path for path in files if path.name <= MIGRATION]
        assert await apply_migrations(database_url, schema=schema, files=upto) == [MIGRATION]
        kept = {row["rejection_id"] for row in await conn.fetch("SELECT rejection_id FROM rejection")}
        assert kept == {"open-kept", "form-new", "late-new", "other-source", "body-1", "body-2"}
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(
                "INSERT INTO rejection (rejection_id, source, event_id, type, reason, raw, route, received_at)"
                " VALUES ('again', 'urn:a', 'e1', 't', 'bad', '{}', 'test', now())"
            )
    finally:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()
