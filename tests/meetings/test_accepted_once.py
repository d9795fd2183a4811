"""Each accepted event is one `event_accepted` line, however often the request it came in is judged; an event
stored by an earlier request whose answer was lost is `duplicate` on its resend (CONTRACT.md, "Idempotency").

Meetings may store an event without its sender hearing so: an AMQP delivery whose acknowledgement was lost after
the commit (the consumer's connection dropped) is delivered again, an HTTP batch answered 503 by the gateway
because meetings' reply came after CHIBO_INGEST_TIMEOUT is sent again by the integrator. CONTRACT.md says the same
(source, id) delivered again, by either route, "changes nothing and is acknowledged as a duplicate": that resend
is answered `duplicate` (docs/integrations.md says what it means then), logged `event_duplicate` with where the
event was first taken in, and never a second `event_accepted`.

A retry of the very same request (a delivery held through an outage and judged again with its token, a group
commit's events judged again alone after the group failed) answers the events an earlier try of it stored as
`accepted` (tests/meetings/test_answer_own_commit.py); before, it wrote their `event_accepted` line again when the
earlier try's commit had returned and written it: two lines for one event. Real PostgreSQL."""

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from services.meetings import consumers
from services.meetings.handlers import ingest as ingest_module
from services.meetings.handlers import ingest_delivery
from services.meetings.handlers.grouped import ingest_singles, single_event
from services.meetings.unit_of_work import MeetingsUnitOfWork
from shared import outages
from shared.envelope import BATCH_CONTENT_TYPE, CLOUDEVENT_CONTENT_TYPE
from tests.meetings import events as ev
from tests.meetings.test_answer_own_commit import (
    DatabaseAwayAfter,
    cell_with_members,
    drop_trigger,
    fail_inbox_insert_of,
)
from tests.meetings.test_consumer_settling import FakeMessage, FakeRaw
from tests.support.ids import random_id


def lines_of(lines: Sequence[Mapping[str, Any]], name: str, events: list[dict[str, Any]]) -> Counter[str]:
    """How many `name` lines each of `events` (by id) has among the captured `lines`."""
    ids = {event["id"] for event in events}
    return Counter(line["event_id"] for line in lines if line["event"] == name and line.get("event_id") in ids)


def accepted_samples(event_type: str) -> float:
    """chibo_ingest_events_total of accepted `event_type` events under route `amqp` (0 before any)."""
    labels = {"route": "amqp", "type": event_type, "outcome": "accepted"}
    return REGISTRY.get_sample_value("chibo_ingest_events_total", labels) or 0.0


def counted(before: tuple[float, float]) -> tuple[float, float]:
    """The accepted units and members counted since `before` (accepted_samples of both)."""
    now = (accepted_samples("org.unit.upserted.v1"), accepted_samples("member.upserted.v1"))
    return (now[0] - before[0], now[1] - before[1])


def samples() -> tuple[float, float]:
    """The accepted units and members counted so far under route `amqp`."""
    return counted((0.0, 0.0))


async def test_a_delivery_tried_again_through_an_outage_logs_each_accepted_event_once(  # type: ignore[no-untyped-def]
    meetings_pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest_module, "EVENTS_PER_TRANSACTION", 2)  # one cell's two events per transaction
    events = cell_with_members(1) + cell_with_members(1)
    body = json.dumps(events).encode()
    committed: list[bool] = []
    delivery = random_id("delivery")

    def going_away() -> MeetingsUnitOfWork:
        uow = DatabaseAwayAfter(meetings_pool)
        uow.committed, uow.healthy = committed, 1
        return uow

    async def deliver(factory: Any) -> list[str]:
        results = await ingest_delivery(
            body, factory, batch=True, route="amqp", content_type=BATCH_CONTENT_TYPE, request=delivery
        )
        return [result.outcome for result in results]

    before = samples()
    with capture_logs() as lines, ingest_module.request_lines(delivery):  # as on_ingest holds the delivery's token
        # the first try: the first cell's transaction commits (its two lines written), the database goes away
        with pytest.raises(asyncpg.PostgresConnectionError):
            await deliver(going_away)
        assert committed == [True]
        # tried again as the same request (hold_through_outage): all four answered as stored now
        assert await deliver(lambda: MeetingsUnitOfWork(meetings_pool)) == ["accepted"] * 4

    # the first cell's events had {2, 2} event_accepted lines before: one from each try
    assert lines_of(lines, "event_accepted", events) == Counter({event["id"]: 1 for event in events})
    assert lines_of(lines, "event_duplicate", events) == Counter()
    assert counted(before) == (2, 2)  # chibo_ingest_events_total: (3, 3) before, the first cell's counted twice


async def test_a_group_judged_again_alone_logs_each_accepted_event_once(meetings_pool, uow_factory) -> None:  # type: ignore[no-untyped-def]
    first, second = ev.unit(random_id("cell")), ev.unit(random_id("cell"))  # two cells: two transactions
    readings = [
        single_event({}, CLOUDEVENT_CONTENT_TYPE, json.dumps(event).encode(), message_id=random_id("msg"))
        for event in (first, second)
    ]
    trigger = await fail_inbox_insert_of(meetings_pool, second["id"])
    before = samples()
    try:
        with capture_logs() as lines:
            outcomes = await ingest_singles([reading for reading in readings if reading is not None], uow_factory)
    finally:
        await drop_trigger(meetings_pool, trigger)

    # the group: the first cell's transaction committed, the second's failed; judged again alone, the first is
    # answered as stored
    assert getattr(outcomes[0], "outcome", outcomes[0]) == "accepted"
    assert isinstance(outcomes[1], asyncpg.RaiseError)
    # {first: 2} before
    assert lines_of(lines, "event_accepted", [first, second]) == Counter({first["id"]: 1})
    assert counted(before) == (1, 0)  # counted once too, by the try that logged it


@pytest.mark.parametrize("route", ["http", "amqp"])
async def test_a_resend_after_an_unanswered_commit_is_a_duplicate_logged_as_one(  # type: ignore[no-untyped-def]
    meetings_pool, route: str
) -> None:
    events = cell_with_members(2)
    body = json.dumps(events).encode()

    async def send() -> list[str]:
        """One request (an HTTP call, an AMQP delivery): a token of its own, as the gateway's RPC and on_ingest give."""
        results = await ingest_delivery(
            body,
            lambda: MeetingsUnitOfWork(meetings_pool),
            batch=True,
            route=route,
            content_type=BATCH_CONTENT_TYPE,
            request=random_id("request"),
        )
        return [result.outcome for result in results]

    with capture_logs() as lines:
        # stored, and the answer lost: the gateway's 503 after its timeout, the acknowledgement of a dropped channel
        assert await send() == ["accepted"] * 3
        # the integrator's resend, the broker's redelivery: CONTRACT.md's duplicate, nothing stored again
        assert await send() == ["duplicate"] * 3

    assert lines_of(lines, "event_accepted", events) == Counter({event["id"]: 1 for event in events})
    duplicates = [line for line in lines if line["event"] == "event_duplicate"]
    assert Counter(line["event_id"] for line in duplicates) == Counter({event["id"]: 1 for event in events})
    # the duplicate's line says the event is in and how it first came: stored on the earlier attempt
    assert {line["first_route"] for line in duplicates} == {f"{route}-batch"}
    assert all(line["received_at"] for line in duplicates)


@pytest.mark.usefixtures("fresh_backlog")
async def test_each_try_of_a_delivery_shares_what_its_earlier_tries_logged(monkeypatch: pytest.MonkeyPatch) -> None:
    held: list[bool] = []

    async def judged(message: Any, app: Any, *, outcomes: Any = None, request: str | None = None) -> int:
        assert request is not None
        held.append(request in ingest_module._ACCEPTED_LINES)
        if len(held) == 1:  # the database went away partway through the first try
            raise asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")
        return 1

    async def no_pause(seconds: float) -> None:
        """The hold's pause between tries, skipped."""

    monkeypatch.setattr(consumers, "ingest_judged", judged)
    monkeypatch.setattr(outages, "_pause", no_pause)
    tokens_before = set(ingest_module._ACCEPTED_LINES)
    message = FakeMessage(FakeRaw(body=b"{}"))
    await consumers.on_ingest(message, object())  # type: ignore[arg-type]

    assert message.settled == ["ack"]
    assert held == [True, True]  # both tries note their lines under the delivery's token, kept between them
    assert set(ingest_module._ACCEPTED_LINES) == tokens_before  # forgotten once the delivery is settled
