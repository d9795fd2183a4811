"""A copy's `event_duplicate` line says its event is in, and a refusal's `event_rejected` line names who sent it
(docs/operations.md, "Following an event"). An `event_accepted` line is written once the transaction committed: a
process killed (kill -9) between commit and line left none, and the redelivered copy logged only `event_duplicate`
naming nothing more than the event, so an operator searching the logs never saw it was taken in. The duplicate line
now carries `received_at`, when the inbox row of the event was recorded (RFC 3339, read by the duplicate check's own
statement), on every route: a single AMQP event (the group commit), an AMQP batch, HTTP (the gateway's RPC) and a
bulk history load (tests/meetings/test_bulk_event_trace.py). It could not say by which route that first copy came:
the inbox row now keeps it (meetings migration 0037, written by the inbox insert itself) and the line names it as
`first_route` (`amqp`, `amqp-batch`, `http`, `http-batch`, `bulk`; null for a row from before the migration).
`event_rejected` (and `event_accepted`) lines named no
sender, the account a rejection stores as `sender`. Trial: meetings killed (kill -9) while AMQP batches were held left
162 events with two `event_held` lines, one before the kill and one after the restart, the database keeping only the
second: the line was written before its transaction committed, and named no route, sender or message. Each outcome
line (`event_held`, `event_rejected`, `event_duplicate`) is now noted in memory and written once its transaction
committed, naming `route`, `sender` and `message_id` as `event_accepted` does. Real PostgreSQL; the lines as the
service writes them."""

import json
import logging
from datetime import datetime
from typing import Any

import asyncpg
import pytest

from services.meetings.handlers import ingest_batch, ingest_delivery
from services.meetings.handlers.grouped import ingest_singles, single_event
from services.meetings.repository.ingest import INBOX
from services.meetings.unit_of_work import MeetingsUnitOfWork
from shared.envelope import CLOUDEVENT_CONTENT_TYPE
from tests.meetings import events as ev
from tests.meetings.test_batch_statements import CountingUnitOfWork
from tests.support.ids import random_id
from tests.support.logs import route_logs_to_stdlib, structured_logs

BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"


@pytest.fixture
def lines(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    route_logs_to_stdlib(caplog)
    caplog.set_level(logging.INFO)
    return caplog


def lines_of(caplog: pytest.LogCaptureFixture, name: str, event_id: str) -> list[dict[str, Any]]:
    """The captured `name` lines naming `event_id`."""
    return [line for line in structured_logs(caplog) if line["event"] == name and line.get("event_id") == event_id]


async def inbox_time(pool: asyncpg.Pool, event: dict[str, Any]) -> datetime:
    """When the inbox row of `event` was recorded."""
    moment = await pool.fetchval(
        "SELECT processed_at FROM processed_message WHERE consumer = $1 AND source = $2 AND event_id = $3",
        INBOX,
        event["source"],
        event["id"],
    )
    assert isinstance(moment, datetime), event["id"]
    return moment


def says_taken_in_at(line: dict[str, Any], moment: datetime) -> None:
    """The duplicate line names when its event was taken in: RFC 3339 in UTC, the inbox row's time."""
    stamp = line.get("received_at")
    assert isinstance(stamp, str) and stamp.endswith("Z"), line
    assert datetime.fromisoformat(stamp) == moment, (line, moment)


def says_first_came_by(line: dict[str, Any], route: str | None) -> None:
    """The duplicate line names the route its event's first copy came by (None: a row from before migration 0037)."""
    assert "first_route" in line and line["first_route"] == route, (line, route)


async def test_a_single_amqp_copy_of_an_accepted_event_says_when_it_was_taken_in(  # type: ignore[no-untyped-def]
    meetings_pool, uow_factory, lines: pytest.LogCaptureFixture
) -> None:
    event = ev.unit(random_id("cell"))
    body = json.dumps(event).encode()

    async def deliver() -> str:
        reading = single_event({}, CLOUDEVENT_CONTENT_TYPE, body, message_id=random_id("msg"))
        assert reading is not None
        [result] = await ingest_singles([reading], uow_factory)
        assert not isinstance(result, Exception), result
        return result.outcome

    assert await deliver() == "accepted"
    lines.clear()  # as if killed before the event_accepted line: the redelivery's lines alone
    assert await deliver() == "duplicate"

    assert lines_of(lines, "event_accepted", event["id"]) == []
    [line] = lines_of(lines, "event_duplicate", event["id"])
    says_taken_in_at(line, await inbox_time(meetings_pool, event))
    says_first_came_by(line, "amqp")


async def test_a_redelivered_amqp_batch_says_when_each_event_was_taken_in(  # type: ignore[no-untyped-def]
    meetings_pool, uow_factory, lines: pytest.LogCaptureFixture
) -> None:
    events = [ev.unit(random_id("cell")), ev.unit(random_id("cell"))]
    body = json.dumps(events).encode()

    async def deliver() -> list[str]:
        results = await ingest_delivery(
            body, uow_factory, batch=True, route="amqp", content_type=BATCH_CONTENT_TYPE, message_id=random_id("m")
        )
        return [result.outcome for result in results]

    assert await deliver() == ["accepted", "accepted"]
    lines.clear()
    assert await deliver() == ["duplicate", "duplicate"]

    for event in events:
        [line] = lines_of(lines, "event_duplicate", event["id"])
        says_taken_in_at(line, await inbox_time(meetings_pool, event))
        says_first_came_by(line, "amqp-batch")


async def test_an_http_copy_says_when_it_was_taken_in_and_its_lines_name_the_sender(  # type: ignore[no-untyped-def]
    meetings_pool, uow_factory, lines: pytest.LogCaptureFixture
) -> None:
    account = random_id("acct")
    event = ev.unit(random_id("cell"))
    [first] = await ingest_batch([event], uow_factory, route="http", account=account)
    assert first.outcome == "accepted"
    [accepted] = lines_of(lines, "event_accepted", event["id"])
    assert accepted["sender"] == account and accepted["route"] == "http", accepted
    lines.clear()

    [again] = await ingest_batch([event], uow_factory, route="http", account=account)

    assert again.outcome == "duplicate"
    [line] = lines_of(lines, "event_duplicate", event["id"])
    says_taken_in_at(line, await inbox_time(meetings_pool, event))
    says_first_came_by(line, "http")


async def deliver_by(route: str, event: dict[str, Any], uow_factory: Any) -> str:
    """Send `event` by `route` (`amqp`: one AMQP message through the group commit, `amqp-batch`: in an AMQP batch,
    `http`: the gateway's POST /v1/events with one event, `http-batch`: with a batch); its outcome."""
    if route == "amqp":
        reading = single_event({}, CLOUDEVENT_CONTENT_TYPE, json.dumps(event).encode(), message_id=random_id("msg"))
        assert reading is not None
        [single] = await ingest_singles([reading], uow_factory)
        assert not isinstance(single, Exception), single
        return single.outcome
    batch = route.endswith("-batch")
    results = await ingest_delivery(
        json.dumps([event] if batch else event).encode(),
        uow_factory,
        batch=batch,
        route=route.removesuffix("-batch"),
        content_type=BATCH_CONTENT_TYPE if batch else CLOUDEVENT_CONTENT_TYPE,
        message_id=random_id("m") if route.startswith("amqp") else None,
    )
    [result] = results
    return result.outcome


@pytest.mark.parametrize("first", ["amqp", "amqp-batch", "http", "http-batch"])
@pytest.mark.parametrize("again", ["amqp", "amqp-batch", "http"])
async def test_a_copy_names_the_route_its_first_copy_came_by(  # type: ignore[no-untyped-def]
    meetings_pool, uow_factory, lines: pytest.LogCaptureFixture, first: str, again: str
) -> None:
    event = ev.unit(random_id("cell"))
    assert await deliver_by(first, event, uow_factory) == "accepted"
    lines.clear()  # as if killed before the event_accepted line: the copy's line alone says where the first came from

    assert await deliver_by(again, event, uow_factory) == "duplicate"

    [line] = lines_of(lines, "event_duplicate", event["id"])
    says_taken_in_at(line, await inbox_time(meetings_pool, event))
    says_first_came_by(line, first)
    stored = await meetings_pool.fetchval(
        "SELECT route FROM processed_message WHERE consumer = $1 AND source = $2 AND event_id = $3",
        INBOX,
        event["source"],
        event["id"],
    )
    assert stored == first  # kept with the row by the inbox insert, not rewritten by the copy


async def test_a_copy_of_an_event_taken_in_before_the_inbox_kept_routes_names_none(  # type: ignore[no-untyped-def]
    meetings_pool, uow_factory, lines: pytest.LogCaptureFixture
) -> None:
    event = ev.unit(random_id("cell"))
    assert await deliver_by("amqp", event, uow_factory) == "accepted"
    await meetings_pool.execute(  # as a row recorded before meetings migration 0037 is
        "UPDATE processed_message SET route = NULL WHERE consumer = $1 AND source = $2 AND event_id = $3",
        INBOX,
        event["source"],
        event["id"],
    )
    lines.clear()

    assert await deliver_by("http", event, uow_factory) == "duplicate"

    [line] = lines_of(lines, "event_duplicate", event["id"])
    says_taken_in_at(line, await inbox_time(meetings_pool, event))
    says_first_came_by(line, None)


async def test_a_rejection_line_names_the_account_that_sent_it(  # type: ignore[no-untyped-def]
    meetings_pool, uow_factory, lines: pytest.LogCaptureFixture
) -> None:
    account = random_id("acct")
    event = ev.unit(random_id("cell"))
    del event["data"]["name"]

    [result] = await ingest_batch([event], uow_factory, route="http", account=account)

    assert result.outcome == "rejected"
    [line] = lines_of(lines, "event_rejected", event["id"])
    stored = await meetings_pool.fetchval(
        "SELECT sender FROM rejection WHERE source = $1 AND event_id = $2", event["source"], event["id"]
    )
    assert stored == account
    assert line["sender"] == account and line["route"] == "http", line


async def test_a_rejection_of_an_unnamed_sender_says_so(  # type: ignore[no-untyped-def]
    meetings_pool, uow_factory, lines: pytest.LogCaptureFixture
) -> None:
    event = ev.unit(random_id("cell"))
    del event["data"]["name"]
    body = json.dumps(event).encode()

    [result] = await ingest_delivery(body, uow_factory, batch=False, route="amqp", message_id=random_id("m"))

    assert result.outcome == "rejected"
    [line] = lines_of(lines, "event_rejected", event["id"])
    assert "sender" in line and line["sender"] is None, line  # the rejection stores none: an AMQP feed's


async def test_a_released_event_is_accepted_naming_the_account_that_sent_it(  # type: ignore[no-untyped-def]
    meetings_pool, uow_factory, lines: pytest.LogCaptureFixture
) -> None:
    account = random_id("acct")
    cell_id = random_id("cell")
    member = ev.member(random_id("mem"), cell_id)
    [held] = await ingest_batch([member], uow_factory, route="http", account=account)
    assert held.outcome == "held", held

    [cell] = await ingest_batch([ev.unit(cell_id)], uow_factory, route="amqp")  # what it waited for, from a feed

    assert cell.outcome == "accepted"
    [line] = lines_of(lines, "event_accepted", member["id"])
    assert line["route"] == "release" and line["sender"] == account, line


@pytest.mark.parametrize("batch", [False, True])
async def test_keeping_the_route_costs_no_statement(meetings_pool, batch: bool) -> None:  # type: ignore[no-untyped-def]
    """The route rides on the inbox insert and the duplicate check's read: no statement of a first delivery or its
    redelivery names the inbox's route but those two (a held event keeps its own), and neither delivery sends an
    inbox statement more than the events ask (the counts around them vary with what earlier tests left: not pinned)."""
    events = [ev.unit(random_id("cell")) for _ in range(2 if batch else 1)]
    sent: list[list[str]] = []

    async def deliver() -> list[str]:
        sent.append([])
        results = await ingest_delivery(
            json.dumps(events if batch else events[0]).encode(),
            lambda: CountingUnitOfWork(meetings_pool, sent[-1]),
            batch=batch,
            route="amqp",
            content_type=BATCH_CONTENT_TYPE if batch else CLOUDEVENT_CONTENT_TYPE,
            message_id=random_id("m"),
        )
        return [result.outcome for result in results]

    assert await deliver() == ["accepted"] * len(events)
    assert await deliver() == ["duplicate"] * len(events)

    inserts = [sum("INTO processed_message" in query for query in statements) for statements in sent]
    checks = [sum(query.startswith("SELECT p.source") for query in statements) for statements in sent]
    # the first delivery inserts its inbox rows in one statement; the redelivery tries the delivery's insert, followed
    # by the duplicate check's read, and its events are judged from that read (h508: before, each event tried its own
    # insert and read again, len(events) + 1 of each)
    assert inserts[0] == 1 and checks[0] == 0, sent
    assert inserts[1] == checks[1] == 1, sent
    naming_route = [
        query
        for statements in sent
        for query in statements
        if "processed_message" in query
        and "route" in query
        and "INTO processed_message" not in query
        and not query.startswith("SELECT p.source")
    ]
    assert naming_route == [], naming_route
    assert all("route" in query for statements in sent for query in statements if "INTO processed_message" in query)


class KilledBeforeCommit(MeetingsUnitOfWork):
    """A unit of work whose connection the server ends (pg_terminate_backend, as a process killed would leave it)
    just before its commit: everything it judged rolls back."""

    async def commit(self) -> None:
        """End this transaction's backend from another connection, then commit (which fails)."""
        await self._pool.execute("SELECT pg_terminate_backend($1)", self.connection.get_server_pid())
        await super().commit()


def held_member(cell_id: str) -> dict[str, Any]:
    """A member of a cell not yet known: held until the cell arrives."""
    return ev.member(random_id("mem"), cell_id)


def refused_unit(cell_id: str) -> dict[str, Any]:
    """A cell without its name: rejected."""
    event = ev.unit(cell_id)
    del event["data"]["name"]
    return event


@pytest.mark.parametrize(
    ("build", "outcome", "name"), [(held_member, "held", "event_held"), (refused_unit, "rejected", "event_rejected")]
)
async def test_an_outcome_line_is_written_only_once_its_transaction_committed(  # type: ignore[no-untyped-def]
    meetings_pool, uow_factory, lines: pytest.LogCaptureFixture, build: Any, outcome: str, name: str
) -> None:
    account = random_id("broker")
    event = build(random_id("cell"))
    body = json.dumps([event]).encode()
    message_id = random_id("m")

    def deliver(factory: Any) -> Any:
        return ingest_delivery(
            body,
            factory,
            batch=True,
            route="amqp",
            content_type=BATCH_CONTENT_TYPE,
            message_id=message_id,
            account=account,
        )

    with pytest.raises(asyncpg.PostgresConnectionError):  # the delivery is held back for redelivery
        await deliver(lambda: KilledBeforeCommit(meetings_pool))

    assert lines_of(lines, name, event["id"]) == []  # nothing kept, nothing said
    table = "held_event" if outcome == "held" else "rejection"
    kept = await meetings_pool.fetchval(
        f"SELECT count(*) FROM {table} WHERE source = $1 AND event_id = $2",  # noqa: S608 (a fixed name)
        event["source"],
        event["id"],
    )
    assert kept == 0

    [result] = await deliver(uow_factory)  # the redelivery after the restart

    assert result.outcome == outcome
    [line] = lines_of(lines, name, event["id"])
    assert line["route"] == "amqp-batch" and line["sender"] == account and line["message_id"] == message_id, line
    assert line["event_type"] == event["type"] and line["event_source"] == event["source"], line
    assert line["correlation_id"] == event["id"], line


async def test_a_held_line_names_how_its_event_came_and_a_copys_line_too(  # type: ignore[no-untyped-def]
    meetings_pool, uow_factory, lines: pytest.LogCaptureFixture
) -> None:
    account = random_id("acct")
    member = held_member(random_id("cell"))

    [held] = await ingest_batch([member], uow_factory, route="http", account=account)

    assert held.outcome == "held"
    [line] = lines_of(lines, "event_held", member["id"])
    assert line["route"] == "http" and line["sender"] == account and line["message_id"] is None, line
    assert line["waiting_for"] == held.waiting_for, line

    [again] = await ingest_batch([member], uow_factory, route="http", account=account)

    assert again.outcome == "held"
    [still] = lines_of(lines, "event_still_held", member["id"])
    assert still["route"] == "http" and still["sender"] == account, still
