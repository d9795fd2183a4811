"""A rejection is replayed once: after its event was accepted, a second replay (as it was, or corrected again) is a
conflict naming the state, and stores nothing, against the real database."""

from datetime import timedelta

import pytest

from shared.rpc import RpcError
from tests.meetings import events as ev
from tests.meetings.test_scoping import rpc_methods
from tests.support.ids import random_id

START = ev.BASE_TIME + timedelta(days=330)


async def test_a_replayed_rejection_is_not_replayed_again(meetings_pool, db) -> None:  # type: ignore[no-untyped-def]
    methods = rpc_methods(meetings_pool)
    commune, cell = random_id("demo-xa"), random_id("demo-cb")
    meeting = f"{cell}-2026-12"
    feed = [
        ev.unit(commune, kind="committee", name="Đảng ủy xã"),
        ev.unit(cell, parent_id=commune, name="Chi bộ thôn 1"),
        ev.scheduled(meeting, cell, starts_at=START, kind="regular"),
    ]
    reply = await methods["ingest"](events=feed, route="http", account="feed")
    assert [result["outcome"] for result in reply["results"]] == ["accepted"] * 3
    broken = ev.raw_event("meeting.cancelled.v1", {"meeting_id": meeting})  # no reason: rejected naming it
    [rejected] = (await methods["ingest"](events=[broken], route="http", account="x"))["results"]
    assert (rejected["outcome"], rejected["field"]) == ("rejected", "data.reason")
    rejection_id = await db.fetchval("SELECT rejection_id FROM meetings.rejection WHERE event_id = $1", broken["id"])
    fixed = {**broken, "data": {"meeting_id": meeting, "reason": "Trùng lịch"}}
    accepted = await methods["replay_rejection"](rejection_id=rejection_id, event=fixed)
    assert accepted["outcome"] == "accepted"
    before = await db.fetch("SELECT * FROM meetings.rejection WHERE event_id = $1", broken["id"])
    assert [row["status"] for row in before] == ["replayed"]

    for event in (None, fixed, broken):
        with pytest.raises(RpcError) as again:
            await methods["replay_rejection"](rejection_id=rejection_id, event=event)
        assert again.value.code == "conflict" and again.value.field == "rejection_id"
        assert f"rejection {rejection_id} is already replayed: accepted at " in again.value.message
    after = await db.fetch("SELECT * FROM meetings.rejection WHERE event_id = $1", broken["id"])
    assert [dict(row) for row in after] == [dict(row) for row in before]  # no new row, the old one unchanged
    reason = await db.fetchval("SELECT cancel_reason FROM meetings.meeting WHERE meeting_id = $1", meeting)
    assert reason == "Trùng lịch"


async def test_a_replay_whose_event_was_held_is_refused_again_saying_held_not_accepted(  # type: ignore[no-untyped-def]
    meetings_pool, db
) -> None:
    """A corrected replay whose event waits for what it refers to closes the rejection as replayed: a second replay
    is a conflict saying `held` with the moment, and its refusal carries the outcome, never `accepted`."""
    methods = rpc_methods(meetings_pool)
    meeting = random_id("mtg-unknown")  # no such meeting yet: the corrected cancellation is held for it
    broken = ev.raw_event("meeting.cancelled.v1", {"meeting_id": meeting})
    [rejected] = (await methods["ingest"](events=[broken], route="http", account="x"))["results"]
    assert (rejected["outcome"], rejected["field"]) == ("rejected", "data.reason")
    rejection_id = await db.fetchval("SELECT rejection_id FROM meetings.rejection WHERE event_id = $1", broken["id"])
    fixed = {**broken, "data": {"meeting_id": meeting, "reason": "Trùng lịch"}}
    held = await methods["replay_rejection"](rejection_id=rejection_id, event=fixed)
    assert held["outcome"] == "held"
    row = await db.fetchrow("SELECT status, replay_outcome FROM meetings.rejection WHERE event_id = $1", broken["id"])
    assert (row["status"], row["replay_outcome"]) == ("replayed", "held")

    with pytest.raises(RpcError) as again:
        await methods["replay_rejection"](rejection_id=rejection_id, event=fixed)
    assert again.value.code == "conflict"
    assert f"rejection {rejection_id} is already replayed: held at " in again.value.message
    assert "accepted" not in again.value.message
    refusal = again.value.refusal
    assert refusal is not None and refusal.outcome == "held" and refusal.replayed_at is not None
    assert refusal.accepted_at is None
