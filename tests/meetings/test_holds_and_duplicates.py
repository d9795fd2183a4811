"""Duplicates, stale snapshots, holds (applied later or expired) and replays: the ingest use case on fakes."""

import json
from datetime import date, timedelta
from typing import Any

from services.meetings import handlers
from shared.envelope import CLOUDEVENT_CONTENT_TYPE, CloudEvent
from tests.meetings import events as ev
from tests.meetings.fakes import FakeStore, UowFactory
from tests.support.ids import random_id

START = ev.BASE_TIME + timedelta(days=3)


async def ingest(uow_factory: UowFactory, raw: dict[str, Any]) -> tuple[handlers.IngestResult, list[CloudEvent]]:
    """Ingest one raw event in its own unit of work; its result and the events it emitted."""
    async with uow_factory() as uow:
        result = await handlers.ingest_event(raw, uow, route="test")
        await uow.commit()
        return result, uow.emitted


async def test_a_duplicate_changes_nothing_and_is_not_republished() -> None:
    store = FakeStore()
    uow_factory = store.uow
    cell, mem = random_id("cell"), random_id("mem")
    await ingest(uow_factory, ev.unit(cell))
    raw = ev.member(mem, cell)
    first, _ = await ingest(uow_factory, raw)
    before = dict(store.state.members[mem])
    again, emitted = await ingest(uow_factory, raw)
    assert (first.outcome, again.outcome) == ("accepted", "duplicate")
    assert emitted == []
    assert store.state.members[mem] == before
    assert len(store.state.member_versions[mem]) == 1


async def test_an_older_snapshot_does_not_replace_a_newer_one() -> None:
    store = FakeStore()
    uow_factory = store.uow
    cell, mem = random_id("cell"), random_id("mem")
    await ingest(uow_factory, ev.unit(cell))
    newer = ev.member(mem, cell, status="official", time=ev.BASE_TIME + timedelta(days=2))
    older = ev.member(mem, cell, status="probationary", data={"admitted_on": "2025-06-01"}, time=ev.BASE_TIME)
    await ingest(uow_factory, newer)
    result, emitted = await ingest(uow_factory, older)
    assert result.outcome == "accepted" and emitted == []
    assert store.state.members[mem]["status"] == "official"


async def test_probation_ends_twelve_months_after_admission() -> None:
    store = FakeStore()
    uow_factory = store.uow
    cell, mem = random_id("cell"), random_id("mem")
    await ingest(uow_factory, ev.unit(cell))
    await ingest(uow_factory, ev.member(mem, cell, status="probationary", data={"admitted_on": "2025-06-01"}))
    assert store.state.members[mem]["probation_ends_on"] == date(2026, 6, 1)


async def test_events_wait_for_their_referents_and_are_applied_when_they_arrive() -> None:
    store = FakeStore()
    uow_factory = store.uow
    committee, cell, mem, mtg = random_id("cmt"), random_id("cell"), random_id("mem"), random_id("mtg")
    roster = ev.attendance(mtg, {mem: "present"})
    approval = ev.raw_event("minutes.approved.v1", {"meeting_id": mtg, "approved_at": START.isoformat()})
    schedule = ev.scheduled(mtg, cell, starts_at=START)
    waiting = [roster, approval, schedule, ev.member(mem, cell), ev.unit(cell, parent_id=committee)]
    for raw in waiting:
        assert (await ingest(uow_factory, raw))[0].outcome == "held"
    assert mtg not in store.state.meetings
    result, emitted = await ingest(uow_factory, ev.unit(committee, kind="committee"))
    assert result.outcome == "accepted"
    republished = {event.originid for event in emitted if event.originid}
    assert {raw["id"] for raw in waiting} - {approval["id"]} <= republished
    assert len(store.state.rosters[mtg]["records"]) == 1
    assert any(e.type == "member.attendance.updated.v1" and e.data["member_id"] == mem for e in emitted)
    held = store.held_event(approval["id"])
    assert held is not None and held["waiting_for"] == f"minutes:{mtg}"
    result, emitted = await ingest(uow_factory, ev.minutes(mtg, chair_id=mem, started_at=START))
    assert [e.originid for e in emitted if e.originid] == [
        emitted[0].originid,
        approval["id"],
    ]
    assert store.state.meetings[mtg]["approved_at"] == START


async def test_a_held_event_is_rejected_after_the_hold_timeout() -> None:
    store = FakeStore()
    uow_factory = store.uow
    cell, mem = random_id("cell"), random_id("mem")
    raw = ev.member(mem, cell)
    assert (await ingest(uow_factory, raw))[0].outcome == "held"
    async with uow_factory() as uow:
        expired = await handlers.expire_holds(uow, timeout=timedelta(seconds=0))
        await uow.commit()
        emitted = uow.emitted
    assert expired >= 1
    row = store.rejection_of(raw["id"])
    assert (
        row is not None and row["field"] == "data.cell_id" and cell in row["reason"] and "unresolved" in row["reason"]
    )
    assert any(e.type == "ingest.rejected.v1" and e.data["event_id"] == raw["id"] for e in emitted)
    assert store.held_event(raw["id"]) is None


async def test_a_rejection_is_replayed_with_a_corrected_event() -> None:
    store = FakeStore()
    uow_factory = store.uow
    cell = random_id("cell")
    await ingest(uow_factory, ev.unit(cell))
    raw = ev.scheduled(random_id("mtg"), cell, starts_at=START, kind="thematic", data={"topic": None})
    assert (await ingest(uow_factory, raw))[0].outcome == "rejected"
    stored = store.rejection_of(raw["id"])
    assert stored is not None
    rejection_id = stored["rejection_id"]
    async with uow_factory() as uow:
        again = await handlers.replay_rejection(rejection_id, uow)
        await uow.commit()
    assert again.outcome == "rejected"
    corrected = raw | {"data": raw["data"] | {"topic": "Chuyên đề chuyển đổi số"}}
    async with uow_factory() as uow:
        fixed = await handlers.replay_rejection(rejection_id, uow, event=corrected)
        await uow.commit()
    assert fixed.outcome == "accepted"
    assert store.state.rejections[rejection_id]["status"] == "replayed"
    assert store.state.meetings[raw["data"]["meeting_id"]]["topic"]


async def test_a_member_history_is_announced_only_when_its_figures_move() -> None:
    """member.attendance.updated.v1: the first history of a member, then only changes (issue 12, fan-out)."""
    store = FakeStore()
    uow_factory = store.uow
    cell, steady, absent = random_id("cell"), random_id("steady"), random_id("absent")
    first, second = random_id("mtg"), random_id("mtg")
    for raw in (ev.unit(cell), ev.member(steady, cell), ev.member(absent, cell)):
        await ingest(uow_factory, raw)

    def announced(emitted: list[CloudEvent]) -> dict[str, int]:
        return {
            e.data["member_id"]: e.data["consecutive_absences"]
            for e in emitted
            if e.type == "member.attendance.updated.v1"
        }

    await ingest(uow_factory, ev.scheduled(first, cell, starts_at=START))
    await ingest(uow_factory, ev.minutes(first, chair_id=steady, started_at=START))
    _, emitted = await ingest(uow_factory, ev.attendance(first, {steady: "present", absent: "absent"}))
    assert announced(emitted) == {steady: 0, absent: 1}
    later = START + timedelta(days=30)
    await ingest(uow_factory, ev.scheduled(second, cell, starts_at=later))
    _, emitted = await ingest(uow_factory, ev.attendance(second, {steady: "present", absent: "absent"}))
    assert announced(emitted) == {}  # no minutes yet: the meeting is not held, no figure moved
    _, emitted = await ingest(uow_factory, ev.minutes(second, chair_id=steady, started_at=later))
    assert announced(emitted) == {absent: 2}  # held now; the steady member's figures did not move


async def test_an_operator_retries_a_held_event_and_it_applies_once_its_referent_exists() -> None:
    store = FakeStore()
    uow_factory = store.uow
    cell, mem = random_id("cell"), random_id("mem")
    raw = ev.member(mem, cell)
    assert (await ingest(uow_factory, raw))[0].outcome == "held"
    async with uow_factory() as uow:
        still = await handlers.retry_held(uow, source=raw["source"], event_id=raw["id"])
        await uow.commit()
    assert (still.outcome, still.waiting_for) == ("held", f"unit:{cell}")
    # the unit is there but nothing released the event (say, restored from a backup): the operator's retry applies it
    store.state.units[cell] = {"id": cell, "kind": "cell", "parent_id": None, "active": True}
    async with uow_factory() as uow:
        applied = await handlers.retry_held(uow, source=raw["source"], event_id=raw["id"])
        await uow.commit()
    assert applied.outcome == "accepted", applied
    assert store.held_event(raw["id"]) is None and mem in store.state.members
    async with uow_factory() as uow:
        try:
            await handlers.retry_held(uow, source=raw["source"], event_id=raw["id"])
        except handlers.HeldNotFound:
            pass
        else:
            raise AssertionError("a released event is not held any more")


async def test_an_operator_drops_a_held_event_and_it_becomes_a_rejection_with_the_reason() -> None:
    store = FakeStore()
    uow_factory = store.uow
    cell, mem = random_id("cell"), random_id("mem")
    raw = ev.member(mem, cell)
    assert (await ingest(uow_factory, raw))[0].outcome == "held"
    held = store.held_event(raw["id"])
    assert held is not None
    received = held["held_at"] - timedelta(hours=3)
    held["held_at"] = received  # held three hours ago: the rejection says when it came, not when it was dropped
    async with uow_factory() as uow:
        result = await handlers.drop_held(uow, source=raw["source"], event_id=raw["id"], reason="Nguồn đã hủy")
        await uow.commit()
        emitted = uow.emitted
    assert result.outcome == "rejected" and "Nguồn đã hủy" in (result.reason or "")
    row = store.rejection_of(raw["id"])
    assert row is not None and row["field"] == "data.cell_id" and "dropped by an operator" in row["reason"]
    assert row["received_at"] == received
    assert any(e.type == "ingest.rejected.v1" and e.data["event_id"] == raw["id"] for e in emitted)
    assert store.held_event(raw["id"]) is None


async def test_a_held_event_keeps_its_amqp_message_id_for_the_rejection_its_hold_ends_in() -> None:
    """An event held, then dropped by an operator or expired, is rejected later: its rejection still names the AMQP
    message it came in (`message_id`, a batch's own id for an event of a batch), as one rejected at once does."""
    store = FakeStore()
    cell = random_id("cell")
    in_batch, alone = ev.member(random_id("mem"), cell), ev.member(random_id("mem"), cell)  # their cell is unknown
    [batched] = await handlers.ingest_delivery(
        json.dumps([in_batch]).encode(), store.uow, batch=True, message_id="amqp-batch-9"
    )
    reading = handlers.single_event({}, CLOUDEVENT_CONTENT_TYPE, json.dumps(alone).encode(), message_id="amqp-one-3")
    assert reading is not None
    [single] = await handlers.ingest_singles([reading], store.uow)
    assert isinstance(single, handlers.IngestResult) and (batched.outcome, single.outcome) == ("held", "held")
    async with store.uow() as uow:
        await handlers.drop_held(uow, source=alone["source"], event_id=alone["id"], reason="Nguồn đã hủy")
        await handlers.expire_holds(uow, timeout=timedelta(seconds=0))
        await uow.commit()
    dropped, expired = store.rejection_of(alone["id"]), store.rejection_of(in_batch["id"])
    assert dropped is not None and dropped["message_id"] == "amqp-one-3"
    assert expired is not None and expired["message_id"] == "amqp-batch-9" and "unresolved" in expired["reason"]
