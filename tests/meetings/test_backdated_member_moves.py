"""A new user's trial: member m3 on the 1 Oct 2026 roster of cell 1 (present); a backdated `member.upserted.v1`
(`time` 1 Jun 2026) moves m3 to cell 2. Roster first, then the move: the roster stood (5/5 present). The move first,
then the same roster: it was rejected `member_not_in_cell`. CONTRACT.md: "The system converges to the same state
whatever order ... the events arrive in"; DOMAIN.md: every fact about members is judged from the member snapshots in
force at the meeting's start. So a roster is judged against the member histories as they end, in both orders: a
member snapshot (or removal) arriving after a roster re-judges the rosters naming that member (domain.
rosters_rejudged): a roster it makes certainly wrong is withdrawn and rejected as it is when it arrives after the
snapshot, and a roster rejected `member_not_in_cell` for that member is judged again and applied when it now holds.

Over the real database and the ingest route: for a move out of the cell and a move into it, both arrival orders end
with the same stored roster and the same standing rejection (its field and code).
"""

from datetime import datetime
from typing import Any

import pytest

from services.meetings import queries
from shared.contracts.meetings_rpc import IngestReply
from shared.periods import VIETNAM_TZ
from tests.meetings import events as ev
from tests.meetings.test_scoping import rpc_methods
from tests.support.ids import random_id

START = datetime(2026, 10, 1, 19, 0, tzinfo=VIETNAM_TZ)
MOVED = datetime(2026, 6, 1, 8, 0, tzinfo=VIETNAM_TZ)
"""The backdated move's `time`: before the meeting, sent after or before the roster."""


async def ingest(methods: dict[str, Any], raw: dict[str, Any]) -> tuple[str, str | None]:
    [result] = IngestReply.model_validate(await methods["ingest"](events=[raw], route="http", account="feed")).results
    return result.outcome, result.field


async def two_cells(methods: dict[str, Any]) -> tuple[str, str]:
    """A commune committee and two of its cells (the meetings' and the one members move to), ingested."""
    committee, cell, other = random_id("xa"), random_id("cb"), random_id("cb")
    for raw in (
        ev.unit(committee, kind="committee", name="Đảng ủy xã"),
        ev.unit(cell, parent_id=committee),
        ev.unit(other, parent_id=committee, name="Chi bộ thôn 2"),
    ):
        assert await ingest(methods, raw) == ("accepted", None)
    return cell, other


async def end_state(pool: Any, meeting_id: str, roster_id: str, names: dict[str, str]) -> dict[str, Any]:
    """The meeting's stored roster (members by role in the test) and the roster event's standing rejection."""
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT member_id, status FROM attendance WHERE meeting_id = $1", meeting_id)
        has_roster = await conn.fetchval("SELECT count(*) FROM roster WHERE meeting_id = $1", meeting_id)
        rejection = await queries.open_rejection(conn, source=ev.SOURCE, event_id=roster_id)
    refused = None
    if rejection is not None:
        refusal = rejection["refusal"] or {}
        refused = (rejection["field"], refusal.get("code"), names.get(refusal.get("member_id", "")))
    return {
        "roster": sorted((names[row["member_id"]], row["status"]) for row in rows),
        "has_roster": has_roster,
        "rejection": refused,
    }


@pytest.mark.parametrize("direction", ["out_of_the_cell", "into_the_cell"])
async def test_a_backdated_move_and_a_roster_end_alike_in_either_order(  # type: ignore[no-untyped-def]
    meetings_pool, direction: str
) -> None:
    methods = rpc_methods(meetings_pool)
    cell, other = await two_cells(methods)
    states = {}
    for order in ("roster_first", "move_first"):
        members = [random_id("dv") for _ in range(5)]
        names = {member: f"m{i + 1}" for i, member in enumerate(members)}
        moved = members[2]
        first_cell, moved_to = (cell, other) if direction == "out_of_the_cell" else (other, cell)
        for member in members:
            placed = ev.member(member, first_cell if member == moved else cell)
            assert await ingest(methods, placed) == ("accepted", None)
        meeting = random_id("mtg")
        names[meeting] = "meeting"
        assert await ingest(methods, ev.scheduled(meeting, cell, starts_at=START)) == ("accepted", None)
        roster = ev.attendance(meeting, dict.fromkeys(members, "present"), time=START.replace(hour=21))
        move = ev.member(moved, moved_to, time=MOVED)
        feed = [roster, move] if order == "roster_first" else [move, roster]
        for raw in feed:
            await ingest(methods, raw)
        states[order] = await end_state(meetings_pool, meeting, roster["id"], names)

    assert states["roster_first"] == states["move_first"]
    if direction == "out_of_the_cell":  # m3 was in cell 2 on 1 Oct: the roster naming m3 in cell 1 stands nowhere
        assert states["move_first"] == {
            "roster": [],
            "has_roster": 0,
            "rejection": ("data.records.2.member_id", "member_not_in_cell", "m3"),
        }
    else:  # m3 was in cell 1 on 1 Oct: the roster holds, nothing stays rejected
        assert states["move_first"]["rejection"] is None
        assert states["move_first"]["roster"] == [(f"m{i}", "present") for i in range(1, 6)]


FEEDS = {
    "rosters_then_move": ("a", "b", "move"),
    "newer_roster_first_then_move": ("b", "a", "move"),
    "move_then_rosters": ("move", "a", "b"),
}
"""Arrival orders of an earlier roster A, a later roster B of the same meeting naming m3, and the backdated move."""


@pytest.mark.parametrize("earlier", ["without_the_moved_member", "with_the_moved_member"])
async def test_a_withdrawn_roster_gives_way_to_the_earlier_one_still_valid(  # type: ignore[no-untyped-def]
    meetings_pool, earlier: str
) -> None:
    """Roster A (20:00) then roster B (21:00, all five present, m3 among them), then m3 moved out backdated: B is
    withdrawn. Sent after the move, A is applied and B refused, so A must stand again (it did not: no roster), and
    an A naming m3 too is refused in every order."""
    methods = rpc_methods(meetings_pool)
    cell, other = await two_cells(methods)
    states = {}
    for order, feed in FEEDS.items():
        members = [random_id("dv") for _ in range(5)]
        names = {member: f"m{i + 1}" for i, member in enumerate(members)}
        moved = members[2]
        for member in members:
            assert await ingest(methods, ev.member(member, cell)) == ("accepted", None)
        meeting = random_id("mtg")
        assert await ingest(methods, ev.scheduled(meeting, cell, starts_at=START)) == ("accepted", None)
        listed_first = members if earlier == "with_the_moved_member" else [m for m in members if m != moved]
        events = {
            "a": ev.attendance(
                meeting, dict.fromkeys(listed_first, "present") | {members[0]: "excused"}, time=START.replace(hour=20)
            ),
            "b": ev.attendance(meeting, dict.fromkeys(members, "present"), time=START.replace(hour=21)),
            "move": ev.member(moved, other, time=MOVED),
        }
        for name in feed:
            await ingest(methods, events[name])
        state = await end_state(meetings_pool, meeting, events["b"]["id"], names)
        state["earlier_rejection"] = (await end_state(meetings_pool, meeting, events["a"]["id"], names))["rejection"]
        states[order] = state

    assert states["rosters_then_move"] == states["move_then_rosters"], states
    assert states["newer_roster_first_then_move"] == states["move_then_rosters"], states
    refused = ("data.records.2.member_id", "member_not_in_cell", "m3")
    if earlier == "without_the_moved_member":  # A stands: m1 excused, the three others present
        assert states["move_then_rosters"] == {
            "roster": [("m1", "excused"), ("m2", "present"), ("m4", "present"), ("m5", "present")],
            "has_roster": 1,
            "rejection": refused,
            "earlier_rejection": None,
        }
    else:  # both name m3 in cell 1: no roster, both refused
        assert states["move_then_rosters"] == {
            "roster": [],
            "has_roster": 0,
            "rejection": refused,
            "earlier_rejection": refused,
        }


@pytest.mark.parametrize("change", ["moved_out", "removed"])
async def test_attendance_announcements_name_the_meetings_whose_rosters_changed(  # type: ignore[no-untyped-def]
    meetings_pool, change: str
) -> None:
    """Trial 43: two held meetings' rosters list m3; a backdated move of m3 out of the cell (or m3's removal effective
    before both) withdraws both, and each member whose figures moved is announced (member.attendance.updated.v1)
    with the meeting whose roster changed their history in `meeting_id`, not the member id the member event is
    about. m6, absent at both, is announced once for each meeting (the event names one meeting), numbered in turn:
    it was announced for the last one only, so notifications never heard of the first meeting's change."""
    methods = rpc_methods(meetings_pool)
    cell, other = await two_cells(methods)
    m1, m2, m3, m4, m5, m6 = members = [random_id("dv") for _ in range(6)]
    for member in members:
        assert await ingest(methods, ev.member(member, cell)) == ("accepted", None)
    first, second = random_id("mtg"), random_id("mtg")
    rosters = {
        first: (START, {m1: "absent", m3: "present", m4: "present", m6: "absent"}, m4),
        second: (START.replace(month=11), {m2: "absent", m3: "present", m5: "present", m6: "absent"}, m5),
    }
    for meeting, (starts_at, records, chair) in rosters.items():
        assert await ingest(methods, ev.scheduled(meeting, cell, starts_at=starts_at)) == ("accepted", None)
        roster = ev.attendance(meeting, records, time=starts_at.replace(hour=21))
        assert await ingest(methods, roster) == ("accepted", None)
        held = ev.minutes(meeting, chair_id=chair, started_at=starts_at)
        assert await ingest(methods, held) == ("accepted", None)
    if change == "moved_out":
        member_event = ev.member(m3, other, time=MOVED)
    else:
        removal = {"id": m3, "reason": "transferred", "effective_on": MOVED.date().isoformat()}
        member_event = ev.raw_event("member.removed.v1", removal)
    assert await ingest(methods, member_event) == ("accepted", None)
    async with meetings_pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT payload->'data'->>'member_id' AS member_id, payload->'data'->>'meeting_id' AS meeting_id,"
            " (payload->'data'->>'sequence')::int AS sequence,"
            " (payload->'data'->>'consecutive_absences')::int AS absences"
            " FROM outbox WHERE type = 'member.attendance.updated.v1' AND payload->>'causationid' = $1",
            member_event["id"],
        )
        withdrawn = await conn.fetchval("SELECT count(*) FROM roster WHERE meeting_id = ANY($1::text[])", [*rosters])
    assert withdrawn == 0
    assert sorted((row["member_id"], row["meeting_id"]) for row in rows) == sorted(
        [(m1, first), (m2, second), (m6, first), (m6, second)]
    )
    of_m6 = sorted((row["sequence"], row["meeting_id"], row["absences"]) for row in rows if row["member_id"] == m6)
    # announced at 1 (first roster held), then 2 (both held); the withdrawal's two announcements follow, in turn
    assert of_m6 == [(3, first, 0), (4, second, 0)]


async def test_one_backdated_move_refuses_the_undone_roster_once(meetings_pool) -> None:  # type: ignore[no-untyped-def]
    """Trial 43: one backdated move of a listed member out of the cell stored two refused attempts on the withdrawn
    roster's rejection, the second received before the first: one move is one attempt, and attempts are numbered in
    the order they were received."""
    methods = rpc_methods(meetings_pool)
    cell, other = await two_cells(methods)
    members = [random_id("dv") for _ in range(3)]
    for member in members:
        assert await ingest(methods, ev.member(member, cell)) == ("accepted", None)
    meeting = random_id("mtg")
    assert await ingest(methods, ev.scheduled(meeting, cell, starts_at=START)) == ("accepted", None)
    roster = ev.attendance(meeting, dict.fromkeys(members, "present"), time=START.replace(hour=21))
    assert await ingest(methods, roster) == ("accepted", None)
    moves = [ev.member(members[1], other, time=MOVED), ev.member(members[1], other, time=MOVED.replace(day=2))]
    for count, move in enumerate(moves, start=1):
        assert await ingest(methods, move) == ("accepted", None)
        async with meetings_pool.acquire() as conn:
            attempts = await conn.fetch(
                "SELECT a.attempt, a.received_at FROM rejection_attempt a JOIN rejection r USING (rejection_id)"
                " WHERE r.source = $1 AND r.event_id = $2 ORDER BY a.attempt",
                roster["source"],
                roster["id"],
            )
        assert [row["attempt"] for row in attempts] == [1], count  # the second move changes no placement
        times = [row["received_at"] for row in attempts]
        assert times == sorted(times)


@pytest.mark.parametrize("refused_by", ["its_arrival", "a_move_out"])
async def test_a_roster_applied_after_a_move_in_closes_its_rejection_as_accepted(  # type: ignore[no-untyped-def]
    meetings_pool, refused_by: str
) -> None:
    """A roster naming m3 refused `member_not_in_cell` (sent while m3 was in cell 2, or withdrawn by a backdated move
    of m3 there), then a backdated move of m3 into cell 1: the roster is judged again and applied in the move's
    transaction, so its rejection ends as an accepted fix does (docs/operations.md: replayed, its event taken in;
    outcome `accepted`), never `held` for a hold already over, nor open."""
    methods = rpc_methods(meetings_pool)
    cell, other = await two_cells(methods)
    members = [random_id("dv") for _ in range(5)]
    moved = members[2]
    for member in members:
        placed = other if member == moved and refused_by == "its_arrival" else cell
        assert await ingest(methods, ev.member(member, placed)) == ("accepted", None)
    meeting = random_id("mtg")
    assert await ingest(methods, ev.scheduled(meeting, cell, starts_at=START)) == ("accepted", None)
    roster = ev.attendance(meeting, dict.fromkeys(members, "present"), time=START.replace(hour=21))
    if refused_by == "its_arrival":
        assert await ingest(methods, roster) == ("rejected", "data.records.2.member_id")
    else:
        assert await ingest(methods, roster) == ("accepted", None)
        assert await ingest(methods, ev.member(moved, other, time=MOVED)) == ("accepted", None)
    back = ev.member(moved, cell, time=MOVED.replace(month=7))
    assert await ingest(methods, back) == ("accepted", None)
    async with meetings_pool.acquire() as conn:
        rejection = await conn.fetchrow(
            "SELECT status, replay_outcome, replayed_at IS NOT NULL AS dated FROM rejection"
            " WHERE source = $1 AND event_id = $2",
            ev.SOURCE,
            roster["id"],
        )
        held = await conn.fetchval(
            "SELECT count(*) FROM held_event WHERE source = $1 AND event_id = $2", ev.SOURCE, roster["id"]
        )
        listed = await conn.fetchval("SELECT count(*) FROM attendance WHERE meeting_id = $1", meeting)
    assert (listed, held) == (5, 0)
    assert dict(rejection) == {"status": "replayed", "replay_outcome": "accepted", "dated": True}


async def test_an_earlier_roster_a_withdrawal_leaves_unsure_is_held_as_in_the_other_order(  # type: ignore[no-untyped-def]
    meetings_pool,
) -> None:
    """Roster A (20:00, without m3, with m4) and roster B (21:00, all five); m4 first known on 1 Nov (in the cell,
    taken for true before it), then placed in cell 2 on 15 Oct, so where m4 was at the 1 Oct start is only assumed;
    a backdated move of m3 out withdraws B. Sent after those facts, A is held for m4 and B refused; sent before, B
    was withdrawn and A, unsure, was neither brought back nor held, so once m4 is known in the cell on 1 Sep the
    meeting kept no roster in that order and A's in the other. Both orders end alike, before and after."""
    methods = rpc_methods(meetings_pool)
    cell, other = await two_cells(methods)
    states: dict[str, dict[str, Any]] = {}
    for order in ("rosters_first", "facts_first"):
        members = [random_id("dv") for _ in range(5)]
        m1, m2, m3, m4, m5 = members
        names = {member: f"m{i + 1}" for i, member in enumerate(members)}
        for member in members:
            known = ev.member(member, cell, time=START.replace(month=11) if member == m4 else MOVED)
            assert await ingest(methods, known) == ("accepted", None)
        meeting = random_id("mtg")
        assert await ingest(methods, ev.scheduled(meeting, cell, starts_at=START)) == ("accepted", None)
        earlier = ev.attendance(
            meeting, {m1: "present", m2: "present", m4: "present", m5: "excused"}, time=START.replace(hour=20)
        )
        later = ev.attendance(meeting, dict.fromkeys(members, "present"), time=START.replace(hour=21))
        facts = [ev.member(m4, other, time=START.replace(day=15)), ev.member(m3, other, time=MOVED.replace(month=7))]
        for raw in [earlier, later, *facts] if order == "rosters_first" else [*facts, earlier, later]:
            await ingest(methods, raw)
        async with meetings_pool.acquire() as conn:
            held = await conn.fetchval(
                "SELECT waiting_for FROM held_event WHERE source = $1 AND event_id = $2", ev.SOURCE, earlier["id"]
            )
        state = await end_state(meetings_pool, meeting, later["id"], names)
        state["held"] = (held or "").replace(m4, "m4")
        assert await ingest(methods, ev.member(m4, cell, time=START.replace(month=9))) == ("accepted", None)
        settled = await end_state(meetings_pool, meeting, earlier["id"], names)
        states[order] = {"before": state, "after": settled}

    assert states["rosters_first"] == states["facts_first"], states
    assert states["facts_first"] == {
        "before": {
            "roster": [],
            "has_roster": 0,
            "rejection": ("data.records.2.member_id", "member_not_in_cell", "m3"),
            "held": "member:m4",
        },
        "after": {
            "roster": [("m1", "present"), ("m2", "present"), ("m4", "present"), ("m5", "excused")],
            "has_roster": 1,
            "rejection": None,
        },
    }
