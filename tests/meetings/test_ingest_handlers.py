"""The ingest use case against the real database: outcomes, duplicates, holds, replays."""

from datetime import timedelta

from services.meetings import handlers
from tests.meetings import events as ev
from tests.support.ids import random_id


async def ingest(uow_factory, raw):  # type: ignore[no-untyped-def]
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
    assert out.model_extra == {"originsource": ev.SOURCE, "originid": raw["id"]}
    assert out.time.isoformat() == raw["time"] and out.id != raw["id"] and out.subject == mtg
    assert out.data["notified_at"] == raw["time"]
