"""CONTRACT.md: (source, id) identifies an event. A copy that says the same is a duplicate; another event under a
taken pair is rejected naming `id`, stored and published, never answered `duplicate` and lost (real PostgreSQL)."""

import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest

from services.meetings import handlers
from services.meetings.handlers.ingest import REUSED_ID
from shared.contracts.registry import model_for
from tests.meetings import events as ev
from tests.support.ids import random_id

START = ev.BASE_TIME + timedelta(days=330)


async def ingest_one(uow_factory: Any, raw: Any) -> handlers.IngestResult:
    """One event in its own transaction, as the single-event route judges it."""
    async with uow_factory() as uow:
        result = await handlers.ingest_event(raw, uow, route="test")
        await uow.commit()
        return result


@pytest.fixture
async def cell(uow_factory: Any) -> str:
    """A fresh cell."""
    cell_id = random_id("cell")
    assert (await ingest_one(uow_factory, ev.unit(cell_id))).outcome == "accepted"
    return cell_id


def squatter_and_real(cell: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two different events under one (source, id): another type and other data."""
    event_id = random_id("px")
    squatter = ev.member(random_id("mem"), cell, id=event_id, source="urn:test:province")
    real = ev.scheduled(f"{cell}-2026-12", cell, starts_at=START, id=event_id, source="urn:test:province")
    return squatter, real


@pytest.mark.parametrize("batch", [False, True], ids=["single", "batch"])
async def test_another_event_under_a_taken_identity_is_rejected_naming_id(
    uow_factory: Any, db: Any, cell: str, batch: bool
) -> None:
    squatter, real = squatter_and_real(cell)
    assert (await ingest_one(uow_factory, squatter)).outcome == "accepted"
    if batch:
        [result] = await handlers.ingest_batch([real], uow_factory, route="test")
    else:
        result = await ingest_one(uow_factory, real)
    assert (result.outcome, result.field, result.reason) == ("rejected", "id", REUSED_ID)
    assert result.refusal is not None and result.refusal.code == "id_reused"
    stored = await db.fetchrow(
        "SELECT type, field, reason, status FROM meetings.rejection WHERE source = $1 AND event_id = $2",
        real["source"],
        real["id"],
    )
    assert dict(stored) == {"type": "meeting.scheduled.v1", "field": "id", "reason": REUSED_ID, "status": "open"}
    published = await db.fetchval(
        "SELECT count(*) FROM meetings.outbox WHERE type = 'ingest.rejected.v1' AND payload->'data'->>'event_id' = $1",
        real["id"],
    )
    assert published == 1
    # the first event keeps its identity: a copy of it is still a duplicate, and the real one stays refused
    assert (await ingest_one(uow_factory, squatter)).outcome == "duplicate"
    assert (await ingest_one(uow_factory, real)).field == "id"


async def test_other_data_under_a_held_identity_is_rejected(uow_factory: Any, cell: str) -> None:
    event_id = random_id("px")
    held = ev.member(random_id("mem"), random_id("cell-unknown"), id=event_id)
    other = ev.member(random_id("mem"), cell, id=event_id)
    assert (await ingest_one(uow_factory, held)).outcome == "held"
    assert (await ingest_one(uow_factory, other)).field == "id"


async def test_an_identical_copy_written_otherwise_is_still_a_duplicate(uow_factory: Any, cell: str) -> None:
    raw = ev.member(random_id("mem"), cell)
    assert (await ingest_one(uow_factory, raw)).outcome == "accepted"
    reordered = {**raw, "data": dict(reversed(list(raw["data"].items())))}
    assert (await ingest_one(uow_factory, json.dumps(reordered, indent=2).encode())).outcome == "duplicate"
    [again] = await handlers.ingest_batch([reordered], uow_factory, route="test")
    assert again.outcome == "duplicate"


async def test_two_events_of_one_identity_in_a_batch_keep_the_first(uow_factory: Any, cell: str) -> None:
    squatter, real = squatter_and_real(cell)
    results = await handlers.ingest_batch([squatter, squatter, real], uow_factory, route="test")
    assert [(result.outcome, result.field) for result in results] == [
        ("accepted", None),
        ("duplicate", None),
        ("rejected", "id"),
    ]


# ---- the same instant at another offset is the same fact --------------------------------------------------------

UTC_START = "2026-11-27T12:30:00Z"
"""START (19:30 in Vietnam) written in UTC."""


def schedule_at(cell: str, event_id: str, **times: str) -> dict[str, Any]:
    """One schedule under `event_id`, its time fields (and the free-text `location`) written as given."""
    raw = ev.scheduled(f"{cell}-2026-12", cell, starts_at=START, id=event_id, source="urn:test:province")
    raw["data"].update(times)
    return raw


@pytest.mark.parametrize("batch", [False, True], ids=["single", "batch"])
async def test_a_resend_writing_the_same_instant_at_another_offset_is_a_duplicate(
    uow_factory: Any, cell: str, batch: bool
) -> None:
    event_id = random_id("px")
    first = schedule_at(cell, event_id, starts_at=UTC_START, notified_at="2026-11-20T01:00:00Z")
    again = schedule_at(cell, event_id, starts_at="2026-11-27T19:30:00+07:00", notified_at="2026-11-20T08:00:00+07:00")
    assert (await ingest_one(uow_factory, first)).outcome == "accepted"
    if batch:
        [result] = await handlers.ingest_batch([again], uow_factory, route="test")
    else:
        result = await ingest_one(uow_factory, again)
    assert (result.outcome, result.field) == ("duplicate", None)
    # another instant is another event, and a text field is compared as written, never read as a time
    later = schedule_at(cell, event_id, starts_at="2026-11-27T20:30:00+07:00", notified_at="2026-11-20T01:00:00Z")
    assert (await ingest_one(uow_factory, later)).field == "id"


async def test_a_time_looking_text_is_not_read_as_a_time(uow_factory: Any, cell: str) -> None:
    event_id = random_id("px")
    assert (await ingest_one(uow_factory, schedule_at(cell, event_id, location=UTC_START))).outcome == "accepted"
    other = schedule_at(cell, event_id, location="2026-11-27T19:30:00+07:00")
    assert (await ingest_one(uow_factory, other)).field == "id"


def digest_before_instants(raw: dict[str, Any]) -> bytes:
    """The inbox digest as meetings computed it before times were compared as instants: the typed data's JSON with
    every offset as written."""
    data = model_for(raw["type"]).model_validate(raw["data"])
    return hashlib.sha256(raw["type"].encode() + b"\n" + data.model_dump_json().encode()).digest()


@pytest.mark.parametrize("sent", ["+07:00", "Z"])
async def test_a_resend_of_an_event_recorded_before_instants_were_compared_is_still_a_duplicate(
    uow_factory: Any, db: Any, cell: str, sent: str
) -> None:
    event_id = random_id("px")
    forms = {
        "+07:00": schedule_at(cell, event_id, starts_at="2026-11-27T19:30:00+07:00"),
        "Z": schedule_at(cell, event_id, starts_at=UTC_START),
    }
    first = forms[sent]
    assert (await ingest_one(uow_factory, first)).outcome == "accepted"
    # the inbox row as a meetings from before this change wrote it
    updated = await db.execute(
        "UPDATE meetings.processed_message SET digest = $3 WHERE source = $1 AND event_id = $2",
        first["source"],
        event_id,
        digest_before_instants(first),
    )
    assert updated == "UPDATE 1"
    for written, resend in forms.items():
        assert (await ingest_one(uow_factory, resend)).outcome == "duplicate", written
        [result] = await handlers.ingest_batch([resend], uow_factory, route="test")
        assert result.outcome == "duplicate", written
    other = schedule_at(cell, event_id, starts_at="2026-11-27T20:30:00+07:00")
    assert (await ingest_one(uow_factory, other)).field == "id"
