"""One event that cannot be applied holds up no other (the brief; CONTRACT.md: in a batch "one bad event rejects only
itself"). A trial's batch [reschedule, member admitted on 9999-12-31, reschedule] answered 500 with the first event
applied and the third not, and again on every resend; on the AMQP route the batch was retried and dead-lettered with
the valid events after the bad one."""

import json
from typing import Any

import asyncpg
import pytest

from services.meetings import handlers
from services.meetings.handlers import apply
from tests.meetings import events as ev
from tests.support.ids import random_id

BATCH = "application/cloudevents-batch+json"


@pytest.fixture
async def cell(uow_factory: Any) -> str:
    """A fresh cell."""
    cell_id = random_id("cell")
    [result] = await handlers.ingest_batch([ev.unit(cell_id)], uow_factory, route="test")
    assert result.outcome == "accepted"
    return cell_id


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"data": {"admitted_on": "9999-12-31"}}, "data.admitted_on"),
        ({"time": "0001-01-01T00:00:00+07:00"}, "time"),
        ({"data": {"admitted_on": "1899-12-31"}}, "data.admitted_on"),
    ],
)
@pytest.mark.parametrize("route", ["http", "amqp"])
async def test_a_date_no_calendar_sums_is_rejected_naming_it_and_the_batch_goes_on(
    uow_factory: Any, db: Any, cell: str, bad: dict[str, Any], field: str, route: str
) -> None:
    before, after = ev.member(random_id("mem"), cell), ev.member(random_id("mem"), cell)
    member_id = random_id("mem")
    odd = ev.member(member_id, cell, data=bad.get("data", {}), **({"time": bad["time"]} if "time" in bad else {}))
    body = json.dumps([before, odd, after]).encode()
    results = await handlers.ingest_delivery(body, uow_factory, batch=True, route=route, content_type=BATCH)
    assert [(result.outcome, result.field) for result in results] == [
        ("accepted", None),
        ("rejected", field),
        ("accepted", None),
    ]
    assert results[1].reason is not None and "outside 1900-01-01 to 2199-12-31" in results[1].reason
    assert await db.fetchval("SELECT field FROM meetings.rejection WHERE event_id = $1", odd["id"]) == field
    assert await db.fetchval("SELECT count(*) FROM meetings.member WHERE id = $1", member_id) == 0


@pytest.mark.parametrize("route", ["http", "amqp"])
async def test_an_event_that_fails_whenever_it_is_applied_is_rejected_alone_and_kept_for_replay(
    uow_factory: Any, db: Any, cell: str, route: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kind, not the one input: any failure an event causes every time (a value the database refuses, a defect
    in an applier) rejects that event, stored with why, and the others of its batch are applied."""
    cursed = random_id("mem")
    real = apply.APPLIERS["member.upserted.v1"]

    async def failing(event: Any, uow: Any) -> Any:
        if event.data.id == cursed:
            raise asyncpg.DataError("date/time field value out of range")
        return await real(event, uow)

    monkeypatch.setitem(apply.APPLIERS, "member.upserted.v1", failing)
    events = [ev.member(random_id("mem"), cell), ev.member(cursed, cell), ev.member(random_id("mem"), cell)]
    results = await handlers.ingest_delivery(
        json.dumps(events).encode(), uow_factory, batch=True, route=route, content_type=BATCH
    )
    assert [result.outcome for result in results] == ["accepted", "rejected", "accepted"]
    assert results[1].reason is not None and "could not be applied (DataError" in results[1].reason
    stored = await db.fetchrow("SELECT status, raw FROM meetings.rejection WHERE event_id = $1", events[1]["id"])
    assert stored["status"] == "open" and cursed in stored["raw"]  # an operator replays it once fixed
    ids = [event["data"]["id"] for event in events]
    assert await db.fetchval("SELECT count(*) FROM meetings.member WHERE id = ANY($1::text[])", ids) == 2

    # the same event alone, on the single-event path, likewise
    [alone] = await handlers.ingest_delivery(
        json.dumps(ev.member(cursed, cell)).encode(), uow_factory, batch=False, route=route
    )
    assert alone.outcome == "rejected"


async def test_a_failure_of_the_moment_is_not_blamed_on_the_event(
    uow_factory: Any, cell: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database away is no reason to reject anything: the failure propagates, so the delivery is tried again
    (and nothing is stored as the event's fault)."""
    real = apply.APPLIERS["member.upserted.v1"]

    async def away(event: Any, uow: Any) -> Any:
        raise ConnectionResetError("connection lost")

    monkeypatch.setitem(apply.APPLIERS, "member.upserted.v1", away)
    with pytest.raises(ConnectionResetError):
        await handlers.ingest_batch([ev.member(random_id("mem"), cell)], uow_factory, route="test")
    monkeypatch.setitem(apply.APPLIERS, "member.upserted.v1", real)
