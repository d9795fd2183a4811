"""A new user's trial: a meeting recorded as already held on 05/12/2026 08:00, all 14 members marked present, was
moved by its secretary to 28/12/2026 19:30 ("Thay đổi lịch" mailed to every member); the page then said it had not
taken place yet while listing 14 present. Once its start has passed and its attendance is recorded, the meeting took
place: the secretary's move and cancel (the gateway's source, judged on the meeting as it stands, as the cancel after
the minutes is refused `meeting_already_held`) are refused `meeting_took_place` naming `data.meeting_id`. An
integration's move and cancellation are stored whatever else is known (docs/architecture.md "Ordering": facts arrive
in any order and converge, CONTRACT.md).

Over the real broker and database: the secretary's command as the gateway sends it (the API and the web form alike),
and an integration's events by the gateway's POST /v1/events route.
"""

from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from shared.contracts.meetings_rpc import HELD_STATUSES
from shared.envelope import now
from shared.rpc import RpcClient
from tests.meetings import events as ev
from tests.meetings.feed import Feed
from tests.meetings.test_meeting_state_rules_both_routes import command, meeting, rpc, send, world
from tests.support.ids import random_id
from tests.support.running import eventually

__all__ = ["rpc", "world"]  # the fixtures, shared with test_meeting_state_rules_both_routes


def move(meeting_id: str, starts_at: Any, *, time: Any = None) -> dict[str, Any]:
    data = {"meeting_id": meeting_id, "starts_at": starts_at.isoformat(), "reason": "Dời lịch"}
    return ev.raw_event("meeting.rescheduled.v1", data, **({"time": time} if time else {}))


def cancel(meeting_id: str, *, time: Any = None) -> dict[str, Any]:
    data = {"meeting_id": meeting_id, "reason": "Trùng lịch"}
    return ev.raw_event("meeting.cancelled.v1", data, **({"time": time} if time else {}))


async def roster_taken(rpc: RpcClient, bus: Feed, ids: dict[str, str], *, starts_at: Any) -> str:
    """A meeting starting at `starts_at` whose roster is recorded (no minutes), sent by an integration."""
    mtg = random_id("mtg")
    facts = [
        ev.scheduled(mtg, ids["cell"], starts_at=starts_at, time=starts_at - timedelta(days=7)),
        ev.attendance(mtg, {ids["mem"]: "present"}, time=now() - timedelta(minutes=1)),
    ]
    await send(rpc, bus, "http", facts)
    await eventually(lambda: bus.find("attendance.recorded.v1", meeting_id=mtg), timeout=60)
    return mtg


@pytest.mark.parametrize("what", ["move", "cancel"])
async def test_the_secretary_cannot_move_ahead_nor_cancel_a_meeting_that_took_place(
    world: tuple[Feed, dict[str, str]], rpc: RpcClient, db: asyncpg.Connection, what: str
) -> None:
    """A move to a start still ahead is refused naming the start (a start already past is taken: a correction)."""
    bus, ids = world
    started = now() - timedelta(days=1)
    mtg = await roster_taken(rpc, bus, ids, starts_at=started)
    sent = move(mtg, now() + timedelta(days=22)) if what == "move" else cancel(mtg)
    refused = await command(rpc, sent)
    assert (refused["outcome"], refused["field"], refused["refusal"]["code"]) == (
        "rejected",
        "data.starts_at" if what == "move" else "data.meeting_id",
        "meeting_took_place",
    )
    stored = await meeting(db, mtg)
    assert stored["status"] == "scheduled" and stored["starts_at"] < now(), stored


async def test_a_meeting_held_off_schedule_with_its_attendance_taken_is_corrected_then_its_minutes_taken(
    world: tuple[Feed, dict[str, str]], rpc: RpcClient, db: asyncpg.Connection
) -> None:
    """Held 9 days after its scheduled start without being moved, its attendance taken: its minutes are refused as far
    from the schedule (minutes_far_from_schedule, "move it first"), so the secretary's move to the past start it was
    really held at is a correction, taken (no mail: both starts are past); its minutes are taken then. It was stuck:
    minutes refused, every move refused meeting_took_place."""
    bus, ids = world
    held = (now() - timedelta(days=1)).replace(microsecond=0)
    mtg = await roster_taken(rpc, bus, ids, starts_at=held - timedelta(days=9))
    minutes = ev.minutes(mtg, chair_id=ids["mem"], started_at=held)
    refused = await command(rpc, minutes)
    assert (refused["outcome"], refused["refusal"]["code"]) == ("rejected", "minutes_far_from_schedule"), refused
    corrected = await command(rpc, move(mtg, held))
    assert corrected["outcome"] == "accepted", corrected
    assert (await meeting(db, mtg))["starts_at"] == held
    taken = await command(rpc, ev.minutes(mtg, chair_id=ids["mem"], started_at=held))
    assert taken["outcome"] == "accepted", taken
    assert (await meeting(db, mtg))["status"] in HELD_STATUSES


async def test_a_meeting_ahead_with_a_roster_may_still_be_moved_by_the_secretary(
    world: tuple[Feed, dict[str, str]], rpc: RpcClient
) -> None:
    """An integration's roster sent before the start (a check-in device) does not make the meeting take place."""
    bus, ids = world
    mtg = await roster_taken(rpc, bus, ids, starts_at=now() + timedelta(days=2))
    moved = await command(rpc, move(mtg, now() + timedelta(days=3)))
    assert moved["outcome"] == "accepted", moved


@pytest.mark.parametrize("what", ["move", "cancel"])
async def test_an_integrations_move_or_cancellation_of_a_meeting_that_took_place_is_stored(
    world: tuple[Feed, dict[str, str]], rpc: RpcClient, db: asyncpg.Connection, what: str
) -> None:
    bus, ids = world
    mtg = await roster_taken(rpc, bus, ids, starts_at=now() - timedelta(days=1))
    later = now() + timedelta(days=5)
    sent = move(mtg, later, time=now()) if what == "move" else cancel(mtg, time=now())
    await send(rpc, bus, "http", [sent])
    if what == "move":
        await eventually(lambda: bus.find("meeting.rescheduled.v1", meeting_id=mtg), timeout=60)
    else:
        await eventually(lambda: bus.find("meeting.cancelled.v1", meeting_id=mtg), timeout=60)
        assert (await meeting(db, mtg))["status"] == "cancelled"
