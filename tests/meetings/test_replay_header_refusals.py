"""A replay as sent reads a rejected message as its first reading did, headers included (real PostgreSQL, through
ingest_delivery as the AMQP consumer and the HTTP route both call it). A trial's binary-mode AMQP message with a
stray `ce_type` header was refused naming it, yet replayed as sent it came back `held`: meetings keeps no headers,
only the event as the sender meant it (each refused header's value among its attributes), so the replay read that
as a structured event and let through what the headers' first reading refused. Every header refusal, on either
route, is refused again up front (409 refused_again_as_sent naming its first reason, nothing stored), and a message
whose headers passed (or were not read: a batch) is still judged again as it was."""

import json
from collections.abc import Callable
from typing import Any

import pytest

from services.meetings import handlers
from services.meetings.queries import rejection
from shared.envelope import InvalidEvent
from shared.reading import refused_again_as_sent
from tests.meetings import events as ev
from tests.support.ids import random_id

BATCH = "application/cloudevents-batch+json"
ATTEMPTS = "SELECT count(*) FROM meetings.rejection_attempt WHERE rejection_id = $1"


def attributes(event: dict[str, Any]) -> list[tuple[str, Any]]:
    """An event's attributes (no data, no datacontenttype) as (name, value) pairs."""
    return [(name, value) for name, value in event.items() if name not in ("data", "datacontenttype")]


def binary(event: dict[str, Any], route: str, *, stray: str | None = None, prefix: str = "") -> list[tuple[str, Any]]:
    """The event's attributes as binary-mode headers of `route` (`ce-` over HTTP, `cloudEvents:` over AMQP), the
    attribute `stray` under `prefix` instead."""
    accepted = "ce-" if route == "http" else "cloudEvents:"
    return [(f"{prefix if name == stray else accepted}{name}", value) for name, value in attributes(event)]


HeaderCase = Callable[[dict[str, Any]], list[tuple[str, Any]]]

HEADER_REFUSALS: dict[str, tuple[str, HeaderCase]] = {
    # the trial's: one attribute under a prefix the route does not read, beside accepted ones
    "amqp-ce_type": ("amqp", lambda event: binary(event, "amqp", stray="type", prefix="ce_")),
    "amqp-ce_id": ("amqp", lambda event: binary(event, "amqp", stray="id", prefix="ce_")),
    "amqp-cloudevents-subject": ("amqp", lambda event: binary(event, "amqp", stray="subject", prefix="cloudevents-")),
    "http-ce_type": ("http", lambda event: binary(event, "http", stray="type", prefix="ce_")),
    "http-cloudEvents_id": ("http", lambda event: binary(event, "http", stray="id", prefix="cloudEvents_")),
    # an attribute given twice: which one is meant is unknown
    "amqp-subject-twice": ("amqp", lambda event: [*binary(event, "amqp"), ("ce-subject", "other")]),
    "http-subject-twice": ("http", lambda event: [*binary(event, "http"), ("ce-subject", "other")]),
    # datacontenttype as a header (it travels in the content type)
    "amqp-datacontenttype": (
        "amqp",
        lambda event: [*binary(event, "amqp"), ("cloudEvents:datacontenttype", "application/json")],
    ),
    "http-datacontenttype": ("http", lambda event: [*binary(event, "http"), ("ce-datacontenttype", "text/plain")]),
    # a value that cannot be read: malformed percent-encoding, bytes not UTF-8, an AMQP timestamp no calendar has
    "http-percent": (
        "http",
        lambda event: [(n, "100%zz" if n == "ce-subject" else v) for n, v in binary(event, "http")],
    ),
    "amqp-not-utf8": (
        "amqp",
        lambda event: [(n, b"\xff\xfeab" if n == "cloudEvents:subject" else v) for n, v in binary(event, "amqp")],
    ),
    "amqp-timestamp": (
        "amqp",
        lambda event: [(n, 10**17 if n == "cloudEvents:time" else v) for n, v in binary(event, "amqp")],
    ),
}
"""Binary-mode messages whose first reading refuses a header (shared.bindings), each the member of a cell not known
yet: read as the structured event stored, its replay was held (or refused for another reason)."""


async def read_back(pool: Any, rejection_id: str) -> dict[str, Any]:
    """The rejection as its reply reads it (queries.rejection, on the meetings schema)."""
    async with pool.acquire() as conn:
        found = await rejection(conn, rejection_id)
    assert found is not None
    return dict(found)


async def stored_id(db: Any, marker: str) -> str:
    """The one rejection whose kept body holds `marker`."""
    rows = await db.fetch("SELECT rejection_id FROM meetings.rejection WHERE strpos(raw, $1) > 0", marker)
    assert len(rows) == 1, rows
    return str(rows[0]["rejection_id"])


@pytest.mark.parametrize("case", list(HEADER_REFUSALS))
async def test_a_message_refused_for_a_header_is_refused_again_when_replayed_as_sent(
    uow_factory: Any, db: Any, meetings_pool: Any, case: str
) -> None:
    route, headers_of = HEADER_REFUSALS[case]
    marker = random_id("hdr")
    event = ev.member(marker, random_id("cell-later"), subject=f"member {marker}")
    headers = headers_of(event)
    [first] = await handlers.ingest_delivery(
        json.dumps(event["data"]).encode(),
        uow_factory,
        batch=False,
        route=route,
        headers=headers,
        content_type="application/json",
    )
    assert (first.outcome, first.problem) == ("rejected", "header"), first
    rejection_id = await stored_id(db, marker)
    before = await db.fetchval(ATTEMPTS, rejection_id)
    for attempt in (None, 1):
        async with uow_factory() as uow:
            with pytest.raises(handlers.RejectionRefusedAgainAsSent) as caught:
                await handlers.replay_rejection(rejection_id, uow, attempt=attempt)
        assert caught.value.refusal.code == "refused_again_as_sent"
        assert str(first.reason) in str(caught.value), caught.value
    assert await db.fetchval(ATTEMPTS, rejection_id) == before
    assert refused_again_as_sent(first.reason), first.reason  # the page's rule: no "Xét lại"
    kept = await read_back(meetings_pool, rejection_id)
    assert (kept["status"], kept["reason"], kept["last_replay_reason"]) == ("open", first.reason, None)
    assert await db.fetchval("SELECT count(*) FROM meetings.held_event WHERE event_id = $1", event["id"]) == 0
    # a corrected event still replays it (the operator's, not the headers as sent) when the rejection kept the
    # event's identity; one that came under the refused header is unknown, so only its source can send it again
    stored = await db.fetchrow(
        "SELECT event_id, type, raw FROM meetings.rejection WHERE rejection_id = $1", rejection_id
    )
    subject = json.loads(stored["raw"]).get("subject")  # a correction keeps the subject the kept body says
    corrected = {**event, "subject": subject} if isinstance(subject, str) else event
    async with uow_factory() as uow:
        if stored["event_id"] and stored["type"]:
            replayed = await handlers.replay_rejection(rejection_id, uow, event=corrected)
            await uow.commit()
            assert replayed.outcome == "held", replayed
        else:
            with pytest.raises(InvalidEvent, match="a correction keeps the rejected event's"):
                await handlers.replay_rejection(rejection_id, uow, event=corrected)


ROUTES = [
    ("http", False, False),
    ("amqp", False, False),
    ("http", False, True),
    ("amqp", False, True),
    ("http", True, False),
    ("amqp", True, False),
]


@pytest.mark.parametrize(("route", "batch", "binary_mode"), ROUTES)
async def test_a_message_whose_headers_passed_is_judged_again_as_it_was(
    uow_factory: Any, db: Any, route: str, batch: bool, binary_mode: bool
) -> None:
    """The rule is only for headers refused: an event refused for its data, whatever its route and content mode (a
    batch carrying a stray `ce_type`, which a batch's reading never reads), is judged again as sent and refused again
    for the same reason, noted as the replay's."""
    marker = random_id("hdr-ok")
    event = ev.member(marker, random_id("cell"), status="retired")
    if binary_mode:
        body, content_type, headers = json.dumps(event["data"]).encode(), "application/json", binary(event, route)
    elif batch:
        body, content_type, headers = json.dumps([event]).encode(), BATCH, [("ce_type", event["type"])]
    else:
        body, content_type, headers = json.dumps(event).encode(), "application/cloudevents+json", []
    [first] = await handlers.ingest_delivery(
        body, uow_factory, batch=batch, route=route, headers=headers, content_type=content_type
    )
    assert first.outcome == "rejected" and first.field == "data.status", first
    assert not refused_again_as_sent(first.reason)
    rejection_id = await stored_id(db, marker)
    async with uow_factory() as uow:
        again = await handlers.replay_rejection(rejection_id, uow)
        await uow.commit()
    assert (again.outcome, again.reason) == ("rejected", first.reason), again
