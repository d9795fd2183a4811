"""A secretary corrects when a meeting that took place was held ("Sửa thời điểm đã diễn ra": a move to another past
start, h371). Its attendance was recorded for the start it had: a member who joined the cell after the new start
stayed recorded as present at a meeting held before they were the cell's. A secretary's roster naming someone not in
the cell at the meeting's start is refused at once (check_members_in_cell, DOMAIN.md: every fact about members from
the snapshots in force at the meeting's start), so the correction is judged the same way: refused naming
`data.starts_at` with the members affected by name (roster_not_in_cell_at_start), the meeting left as it was. A
correction to a start at which every listed member was the cell's is still taken.

Over the real broker and database: the secretary's command as the gateway sends it, the facts by POST /v1/events."""

from datetime import timedelta

import asyncpg

from shared.envelope import now
from shared.rpc import RpcClient
from tests.meetings import events as ev
from tests.meetings.feed import Feed
from tests.meetings.test_held_with_roster_stays import move
from tests.meetings.test_meeting_state_rules_both_routes import command, meeting, rpc, send, world
from tests.support.ids import random_id
from tests.support.running import eventually

__all__ = ["rpc", "world"]  # the fixtures, shared with test_meeting_state_rules_both_routes


async def joined_three_days_ago(rpc: RpcClient, bus: Feed, ids: dict[str, str]) -> str:
    """A member of another cell of the commune who moved into the world's cell three days ago."""
    other, late = random_id("cb"), random_id("dv")
    earlier = now() - timedelta(days=60)
    facts = [
        ev.unit(other, parent_id=ids["committee"], time=earlier),
        ev.member(late, other, time=earlier, data={"full_name": "Trần Thị Mới"}),
        ev.member(late, ids["cell"], time=now() - timedelta(days=3), data={"full_name": "Trần Thị Mới"}),
    ]
    await send(rpc, bus, "http", facts)
    return late


async def held_yesterday(rpc: RpcClient, bus: Feed, ids: dict[str, str], late: str) -> str:
    """A meeting that started yesterday, its attendance recorded: the world's member and `late` present."""
    mtg = random_id("mtg")
    starts = now() - timedelta(days=1)
    facts = [
        ev.scheduled(mtg, ids["cell"], starts_at=starts, time=starts - timedelta(days=20)),
        ev.attendance(mtg, {ids["mem"]: "present", late: "present"}, time=now() - timedelta(minutes=1)),
    ]
    await send(rpc, bus, "http", facts)
    await eventually(lambda: bus.find("attendance.recorded.v1", meeting_id=mtg), timeout=60)
    return mtg


async def test_a_correction_to_a_day_before_a_listed_member_joined_is_refused_naming_them(
    world: tuple[Feed, dict[str, str]], rpc: RpcClient, db: asyncpg.Connection
) -> None:
    bus, ids = world
    late = await joined_three_days_ago(rpc, bus, ids)
    mtg = await held_yesterday(rpc, bus, ids, late)
    before = (await meeting(db, mtg))["starts_at"]
    refused = await command(rpc, move(mtg, (now() - timedelta(days=9)).replace(microsecond=0)))
    assert refused["outcome"] == "rejected", refused  # it was taken, the new member left as present
    assert (refused["outcome"], refused["field"], refused["refusal"]["code"]) == (
        "rejected",
        "data.starts_at",
        "roster_not_in_cell_at_start",
    ), refused
    assert (refused["refusal"]["member_names"], refused["refusal"]["missing"]) == (["Trần Thị Mới"], 1)
    assert (await meeting(db, mtg))["starts_at"] == before


async def test_a_correction_to_a_day_every_listed_member_was_the_cells_is_taken(
    world: tuple[Feed, dict[str, str]], rpc: RpcClient, db: asyncpg.Connection
) -> None:
    bus, ids = world
    late = await joined_three_days_ago(rpc, bus, ids)
    mtg = await held_yesterday(rpc, bus, ids, late)
    corrected = (now() - timedelta(days=2)).replace(microsecond=0)
    taken = await command(rpc, move(mtg, corrected))
    assert taken["outcome"] == "accepted", taken
    assert (await meeting(db, mtg))["starts_at"] == corrected


async def left_three_days_ago(rpc: RpcClient, bus: Feed, ids: dict[str, str], names: list[str]) -> list[str]:
    """Members of the world's cell for two months who moved to another cell of the commune three days ago, one per
    name."""
    other = random_id("cb")
    earlier = now() - timedelta(days=60)
    leavers = [random_id("dv") for _ in names]
    facts = [ev.unit(other, parent_id=ids["committee"], time=earlier)]
    for leaver, name in zip(leavers, names, strict=True):
        facts += [
            ev.member(leaver, ids["cell"], time=earlier, data={"full_name": name}),
            ev.member(leaver, other, time=now() - timedelta(days=3), data={"full_name": name}),
        ]
    await send(rpc, bus, "http", facts)
    return leavers


async def held_yesterday_without_them(rpc: RpcClient, bus: Feed, ids: dict[str, str]) -> str:
    """A meeting that started yesterday, its attendance recorded: the world's member present, the cell's only
    member then."""
    mtg = random_id("mtg")
    starts = now() - timedelta(days=1)
    facts = [
        ev.scheduled(mtg, ids["cell"], starts_at=starts, time=starts - timedelta(days=20)),
        ev.attendance(mtg, {ids["mem"]: "present"}, time=now() - timedelta(minutes=1)),
    ]
    await send(rpc, bus, "http", facts)
    await eventually(lambda: bus.find("attendance.recorded.v1", meeting_id=mtg), timeout=60)
    return mtg


async def test_a_correction_to_a_day_members_left_off_the_attendance_were_the_cells_is_refused_naming_them(
    world: tuple[Feed, dict[str, str]], rpc: RpcClient, db: asyncpg.Connection
) -> None:
    bus, ids = world
    names = ["Lê Văn An", "Trần Thị Bình", "Hoàng Văn Cường", "Phạm Thị Dung"]
    await left_three_days_ago(rpc, bus, ids, names)
    mtg = await held_yesterday_without_them(rpc, bus, ids)
    before = (await meeting(db, mtg))["starts_at"]
    # a secretary's roster leaving out members of the cell at the start is refused (roster_incomplete): so is a
    # correction to a day the four who left since were still the cell's, none of them on the attendance
    refused = await command(rpc, move(mtg, (now() - timedelta(days=9)).replace(microsecond=0)))
    assert (refused["outcome"], refused["field"], refused["refusal"]["code"]) == (
        "rejected",
        "data.starts_at",
        "roster_missing_at_start",
    ), refused
    assert (refused["refusal"]["member_names"], refused["refusal"]["missing"]) == (names[:3], 4)
    assert (await meeting(db, mtg))["starts_at"] == before

    # to a day after they left, the attendance lists every member of the cell: taken
    corrected = (now() - timedelta(days=2)).replace(microsecond=0)
    taken = await command(rpc, move(mtg, corrected))
    assert taken["outcome"] == "accepted", taken
    assert (await meeting(db, mtg))["starts_at"] == corrected
