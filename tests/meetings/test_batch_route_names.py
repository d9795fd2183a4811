"""One event has one route name on every line and row (docs/operations.md, "Following an event"): `http`,
`http-batch`, `amqp`, `amqp-batch`, `bulk`, `replay`. Trial: an event that came inside an AMQP batch message was
logged `event_accepted` with `route: "amqp"` while its copy's `event_duplicate` said `first_route: "amqp-batch"` (the
inbox row's, meetings migration 0037), and its rejection was stored, and shown on the operations page, as come by
`amqp`, so an operator could not tell a batch's item from a message of its own. Every per-event line (`event_accepted`,
`event_held`, `event_still_held`, `event_duplicate`, `event_rejected`, `event_fields_ignored`), the hold, the
rejection and each of its attempts now name the batch route as the inbox does; a whole batch body refused is stored
and logged by it too. Real PostgreSQL; the lines as the service writes them."""

import json
import logging
from typing import Any

import asyncpg
import pytest

from services.meetings.handlers import ingest_delivery
from services.meetings.handlers.grouped import ingest_singles, single_event
from services.meetings.repository.ingest import INBOX
from shared.envelope import CLOUDEVENT_CONTENT_TYPE
from tests.meetings import events as ev
from tests.support.ids import random_id
from tests.support.logs import route_logs_to_stdlib, structured_logs

BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"
OUTCOME_LINES = ("event_accepted", "event_held", "event_still_held", "event_duplicate", "event_rejected")


@pytest.fixture
def lines(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    route_logs_to_stdlib(caplog)
    caplog.set_level(logging.INFO)
    return caplog


def routes_said(caplog: pytest.LogCaptureFixture, event_id: str) -> dict[str, list[Any]]:
    """The `route` of each per-event line naming `event_id`, by the line's name."""
    said: dict[str, list[Any]] = {}
    for line in structured_logs(caplog):
        if line.get("event_id") == event_id and line["event"] in (*OUTCOME_LINES, "event_fields_ignored"):
            said.setdefault(line["event"], []).append(line.get("route"))
    return said


def three_events() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A cell taken in (naming a field its type does not read), a member of an unknown cell (held) and a cell
    without its name (rejected)."""
    accepted = ev.unit(random_id("cell"))
    accepted["data"]["nickname"] = "thôn 1"
    held = ev.member(random_id("mem"), random_id("cell"))
    rejected = ev.unit(random_id("cell"))
    del rejected["data"]["name"]
    return accepted, held, rejected


async def deliver(route: str, events: list[dict[str, Any]], uow_factory: Any) -> list[str]:
    """Send `events` by `route` (`amqp`/`http`: each as a body of its own; `amqp-batch`/`http-batch`: one batch
    body), as the AMQP consumer and the gateway's RPC hand them over; their outcomes."""
    batch = route.endswith("-batch")
    transport = route.removesuffix("-batch")
    if route == "amqp":
        readings = [
            single_event({}, CLOUDEVENT_CONTENT_TYPE, json.dumps(event).encode(), message_id=random_id("m"))
            for event in events
        ]
        singles = await ingest_singles([reading for reading in readings if reading is not None], uow_factory)
        said: list[str] = []
        for single in singles:
            assert not isinstance(single, Exception), single
            said.append(single.outcome)
        return said
    bodies = [events] if batch else [[event] for event in events]
    outcomes: list[str] = []
    for body in bodies:
        results = await ingest_delivery(
            json.dumps(body if batch else body[0]).encode(),
            uow_factory,
            batch=batch,
            route=transport,
            content_type=BATCH_CONTENT_TYPE if batch else CLOUDEVENT_CONTENT_TYPE,
            message_id=random_id("m") if transport == "amqp" else None,
            account=random_id("acct"),
        )
        outcomes += [result.outcome for result in results]
    return outcomes


async def stored_routes(pool: asyncpg.Pool, event: dict[str, Any]) -> dict[str, Any]:
    """The route each row kept of `event` names: its inbox row, its hold, its rejection and each attempt of it."""
    identity = (event["source"], event["id"])
    return {
        "inbox": await pool.fetchval(
            "SELECT route FROM processed_message WHERE consumer = $1 AND source = $2 AND event_id = $3",
            INBOX,
            *identity,
        ),
        "held": await pool.fetchval("SELECT route FROM held_event WHERE source = $1 AND event_id = $2", *identity),
        "rejection": await pool.fetchval("SELECT route FROM rejection WHERE source = $1 AND event_id = $2", *identity),
        "attempts": [
            row["route"]
            for row in await pool.fetch(
                "SELECT a.route FROM rejection_attempt AS a JOIN rejection AS r USING (rejection_id)"
                " WHERE r.source = $1 AND r.event_id = $2 ORDER BY a.attempt",
                *identity,
            )
        ],
    }


@pytest.mark.parametrize("route", ["amqp-batch", "http-batch", "amqp", "http"])
async def test_every_line_and_row_of_an_event_names_the_route_it_came_by(  # type: ignore[no-untyped-def]
    meetings_pool, uow_factory, lines: pytest.LogCaptureFixture, route: str
) -> None:
    accepted, held, rejected = three_events()
    assert await deliver(route, [accepted, held, rejected], uow_factory) == ["accepted", "held", "rejected"]
    assert await deliver(route, [accepted, held], uow_factory) == ["duplicate", "held"]  # a redelivery

    assert routes_said(lines, accepted["id"]) == {
        "event_fields_ignored": [route, route],
        "event_accepted": [route],
        "event_duplicate": [route],
    }
    [duplicate] = [
        line
        for line in structured_logs(lines)
        if line["event"] == "event_duplicate" and line.get("event_id") == accepted["id"]
    ]
    assert duplicate["first_route"] == route, duplicate  # the one name the accepted line gave
    assert routes_said(lines, held["id"]) == {"event_held": [route], "event_still_held": [route]}
    assert routes_said(lines, rejected["id"]) == {"event_rejected": [route]}
    assert (await stored_routes(meetings_pool, accepted))["inbox"] == route
    assert (await stored_routes(meetings_pool, held))["held"] == route
    refused = await stored_routes(meetings_pool, rejected)
    assert (refused["rejection"], refused["attempts"]) == (route, [route]), refused


@pytest.mark.parametrize("transport", ["amqp", "http"])
async def test_a_batch_body_refused_whole_is_stored_and_logged_as_a_batch(  # type: ignore[no-untyped-def]
    meetings_pool, uow_factory, lines: pytest.LogCaptureFixture, transport: str
) -> None:
    marker = random_id("not-a-batch")
    body = json.dumps({"marker": marker}).encode()  # an object, not a batch's array

    [result] = await ingest_delivery(
        body, uow_factory, batch=True, route=transport, content_type=BATCH_CONTENT_TYPE, message_id=random_id("m")
    )

    assert (result.outcome, result.type) == ("rejected", "batch")
    row = await meetings_pool.fetchrow(
        "SELECT rejection_id, route, type FROM rejection WHERE raw LIKE $1", f"%{marker}%"
    )
    assert row is not None and (row["route"], row["type"]) == (f"{transport}-batch", "batch"), row
    said = [
        line
        for line in structured_logs(lines)
        if line["event"] == "event_rejected" and line.get("rejection_id") == str(row["rejection_id"])
    ]
    assert [line["route"] for line in said] == [f"{transport}-batch"], said
