"""A rejection a later fact makes of an event accepted before keeps who sent that event, as every rejection at
ingestion does (meetings 0034, docs/integrations.md: a replay is judged as the account that sent the event): a roster
a backdated member move undoes (route undone-by-member), and a move a cancellation undoes, were stored with no sender
(NULL) and, the move, with no scope. Real PostgreSQL, meetings' RPC methods as the gateway calls them for a scoped
integration account."""

from datetime import timedelta
from typing import Any

from tests.meetings import events as ev
from tests.meetings.test_replay_judged_as_its_sender import place, send, unit_of_two
from tests.support.ids import random_id

__all__ = ["place", "unit_of_two"]  # the fixtures (unit_of_two builds on place), used by name

START = ev.BASE_TIME + timedelta(days=10)


async def rejection(db: Any, source: str, event_id: str) -> dict[str, Any]:
    """The stored rejection of `event_id`: its route, sender and scope."""
    row = await db.fetchrow(
        "SELECT route, sender, scope FROM meetings.rejection WHERE source = $1 AND event_id = $2", source, event_id
    )
    assert row is not None, event_id
    return dict(row)


async def sent(place: dict[str, Any], events: list[dict[str, Any]], outcome: str = "accepted") -> None:
    """Each of `events` sent by account B under its own source, one delivery each, all ending `outcome`."""
    b_source = place["b"][1]
    for event in events:
        result = await send(place, "b", event, [b_source])
        assert result["outcome"] == outcome, result


async def test_a_roster_undone_by_a_backdated_member_move_keeps_its_sender(
    unit_of_two: dict[str, Any], db: Any
) -> None:
    """B's roster listing m stood; B's backdated move of m to another cell (before the meeting) withdraws it. Its
    rejection names B, its sender, and B's unit as its scope."""
    place = unit_of_two
    (b, b_source), commune, cell = place["b"], place["commune"], place["cell"]
    other, member, meeting = random_id("cell"), random_id("mem"), random_id("mtg")
    roster = ev.attendance(meeting, {member: "present"}, source=b_source, time=START + timedelta(hours=2))
    await sent(
        place,
        [
            ev.unit(other, parent_id=commune, source=b_source),
            ev.member(member, cell, source=b_source),
            ev.scheduled(meeting, cell, starts_at=START, source=b_source),
            roster,
        ],
    )
    moved = ev.member(member, other, source=b_source, time=ev.BASE_TIME + timedelta(days=1))
    await sent(place, [moved])
    assert await rejection(db, b_source, roster["id"]) == {"route": "undone-by-member", "sender": b, "scope": commune}


async def test_a_move_undone_by_a_cancellation_keeps_its_sender_and_scope(unit_of_two: dict[str, Any], db: Any) -> None:
    """The whole kind: B's move issued after B's cancellation but arriving before it is undone and rejected when the
    cancellation comes; its rejection names B and B's unit, as one refused at once does."""
    place = unit_of_two
    (b, b_source), commune, cell = place["b"], place["commune"], place["cell"]
    meeting = random_id("mtg")
    cancelled_at = ev.BASE_TIME + timedelta(days=2)
    move = ev.raw_event(
        "meeting.rescheduled.v1",
        {"meeting_id": meeting, "starts_at": (START + timedelta(days=1)).isoformat(), "reason": "Trùng lịch"},
        source=b_source,
        time=cancelled_at + timedelta(hours=1),
    )
    cancel = ev.raw_event(
        "meeting.cancelled.v1", {"meeting_id": meeting, "reason": "Mưa bão"}, source=b_source, time=cancelled_at
    )
    await sent(place, [ev.scheduled(meeting, cell, starts_at=START, source=b_source), move, cancel])
    found = await rejection(db, b_source, move["id"])
    assert (found["sender"], found["scope"]) == (b, commune), found
