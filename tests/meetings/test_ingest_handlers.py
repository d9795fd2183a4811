"""The ingest use case on fakes: outcomes, republished facts, a batch sharing one transaction."""

from datetime import timedelta
from typing import Any

from services.meetings import handlers
from shared.envelope import CloudEvent
from tests.meetings import events as ev
from tests.meetings.fakes import FakeStore, UowFactory
from tests.support.ids import random_id


async def ingest(uow_factory: UowFactory, raw: dict[str, Any]) -> tuple[handlers.IngestResult, list[CloudEvent]]:
    """Ingest one raw event in its own unit of work; its result and the events it emitted."""
    async with uow_factory() as uow:
        result = await handlers.ingest_event(raw, uow, route="test")
        await uow.commit()
        return result, uow.emitted


async def test_accepts_a_cell_member_and_meeting_and_republishes_them() -> None:
    store = FakeStore()
    uow_factory = store.uow
    cell, mem, mtg = random_id("cell"), random_id("mem"), random_id("mtg")
    assert (await ingest(uow_factory, ev.unit(cell)))[0].outcome == "accepted"
    assert (await ingest(uow_factory, ev.member(mem, cell)))[0].outcome == "accepted"
    raw = ev.scheduled(mtg, cell, starts_at=ev.BASE_TIME + timedelta(days=3))
    result, emitted = await ingest(uow_factory, raw)
    assert result.outcome == "accepted"
    [out] = emitted
    assert out.type == "meeting.scheduled.v1" and out.source == "urn:chibo:meetings"
    assert (out.originsource, out.originid) == (ev.SOURCE, raw["id"])
    assert out.time.isoformat() == raw["time"] and out.id != raw["id"] and out.subject == mtg
    assert out.data["notified_at"] == raw["time"]


async def test_a_batch_shares_a_transaction_yet_each_event_keeps_its_own_outcome() -> None:
    store = FakeStore()
    uow_factory = store.uow
    cell, mem, stranger = random_id("cell"), random_id("mem"), random_id("mem")
    first = ev.unit(cell)
    bad = ev.member(random_id("mem"), cell, data={"status": "chairman"})
    batch = [first, ev.member(mem, cell), bad, first, ev.member(stranger, random_id("cell"))]
    results = await handlers.ingest_batch(batch, uow_factory, route="test")
    assert [r.outcome for r in results] == ["accepted", "accepted", "rejected", "duplicate", "held"]
    assert results[2].field == "data.status"
    assert store.state.members[mem]["cell_id"] == cell
    rejection = store.rejection_of(bad["id"])
    assert rejection is not None and rejection["field"] == "data.status"
    assert store.held_event(batch[4]["id"]) is not None
    origins = [getattr(event, "originid", None) for event in store.published()]
    assert sum(origin in (first["id"], batch[1]["id"]) for origin in origins) == 2
