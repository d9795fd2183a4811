"""The ingest use case against the real database: outcomes, duplicates, holds, replays."""

from datetime import timedelta

from services.meetings import handlers
from tests.meetings import events as ev
from tests.support.ids import random_id


async def ingest(uow_factory, raw):
    async with uow_factory() as uow:
        result = await handlers.ingest_event(raw, uow, route="test")
        await uow.commit()
        return result, uow.emitted


async def test_accepts_a_cell_member_and_meeting_and_republishes_them(uow_factory, db) -> None:  # type: ignore[no-untyped-def]
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


async def test_a_batch_shares_a_transaction_yet_each_event_keeps_its_own_outcome(uow_factory, db) -> None:  # type: ignore[no-untyped-def]
    cell, mem, stranger = random_id("cell"), random_id("mem"), random_id("mem")
    first = ev.unit(cell)
    bad = ev.member(random_id("mem"), cell, data={"status": "chairman"})
    batch = [first, ev.member(mem, cell), bad, first, ev.member(stranger, random_id("cell"))]
    results = await handlers.ingest_batch(batch, uow_factory, route="test")
    assert [r.outcome for r in results] == ["accepted", "accepted", "rejected", "duplicate", "held"]
    assert results[2].field == "data.status"
    assert await db.fetchval("SELECT cell_id FROM meetings.member WHERE id = $1", mem) == cell
    assert await db.fetchval("SELECT field FROM meetings.rejection WHERE event_id = $1", bad["id"]) == "data.status"
    assert await db.fetchval("SELECT count(*) FROM meetings.held_event WHERE event_id = $1", batch[4]["id"]) == 1
    republished = await db.fetchval(
        "SELECT count(*) FROM meetings.outbox WHERE payload->>'originid' = ANY($1::text[])",
        [first["id"], batch[1]["id"]],
    )
    assert republished == 2
