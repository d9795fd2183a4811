"""A secretary's roster lists every member of the cell at the meeting's start, and an excused absence its reason.

A new user's trial: `PUT /v1/meetings/{id}/attendance` listing 2 of the cell's 14 members was accepted, and so was
`{"records": []}`; the score read "1/2 present (50%)". CONTRACT.md: attendance.recorded.v1 is a full roster. A
secretary's command (source urn:chibo:gateway) that leaves out a member the snapshots in force at the meeting's start
put in the cell is refused naming `data.records` (code roster_incomplete, the first few missing by name and how many
are missing), an empty one too; an excused line without a reason is refused naming its `reason`. An integration's
roster is taken as before (DOMAIN.md: a member not listed neither extends nor breaks a run).
"""

from datetime import timedelta
from typing import Any

import pytest

from services.meetings import queries
from shared.envelope import GATEWAY_SOURCE, now
from shared.periods import VIETNAM_TZ
from shared.refusals import RefusalCode
from tests.meetings import events as ev
from tests.meetings.test_scoping import rpc_methods
from tests.support.ids import random_id

NAMES = {"m1": "Trần Thị Bình", "m2": "Lê Văn An", "m3": "Phạm Thị Dung", "m4": "Hoàng Văn Cường", "m5": "Vũ Thị Em"}
"""The members in the cell at the meeting's start; m4 exempt, m5 transferred away the day after it."""


@pytest.fixture
async def cell(meetings_pool: Any) -> dict[str, Any]:
    """A cell of five members at a meeting that began two hours ago (m4 exempt; m5 removed as transferred from
    tomorrow), a sixth member removed ten days before it and a member of another cell."""
    ids = {name: random_id(name) for name in ("tinh", "cell", "other", *NAMES, "gone", "stranger", "mtg")}
    before = now() - timedelta(days=30)
    starts_at = now() - timedelta(hours=2)
    today = now().astimezone(VIETNAM_TZ).date()
    feed = [
        ev.unit(ids["tinh"], kind="committee", name="Tỉnh ủy", time=before),
        ev.unit(ids["cell"], parent_id=ids["tinh"], name="Chi bộ thôn 1", time=before),
        ev.unit(ids["other"], parent_id=ids["tinh"], name="Chi bộ thôn 2", time=before),
        *(
            ev.member(
                ids[key],
                ids["cell"],
                time=before,
                data={"full_name": name, **({"exempt": True} if key == "m4" else {})},
            )
            for key, name in NAMES.items()
        ),
        ev.member(ids["gone"], ids["cell"], time=before, data={"full_name": "Đỗ Văn Giang"}),
        ev.member(ids["stranger"], ids["other"], time=before),
        ev.raw_event(
            "member.removed.v1",
            {"id": ids["gone"], "reason": "transferred", "effective_on": (today - timedelta(days=10)).isoformat()},
            time=before,
        ),
        ev.raw_event(
            "member.removed.v1",
            {"id": ids["m5"], "reason": "transferred", "effective_on": (today + timedelta(days=1)).isoformat()},
            time=now() - timedelta(minutes=5),
        ),
        ev.scheduled(ids["mtg"], ids["cell"], starts_at=starts_at, time=before),
    ]
    methods = rpc_methods(meetings_pool)
    reply = await methods["ingest"](events=feed, route="http", account="feed")
    assert [result["outcome"] for result in reply["results"]] == ["accepted"] * len(feed), reply
    return {"ids": ids, "methods": methods}


async def as_secretary(tree: dict[str, Any], *events: dict[str, Any]) -> list[dict[str, Any]]:
    """The events as the gateway sends the cell secretary's commands: its source, timed now, scoped to the cell."""
    sent = [{**event, "source": GATEWAY_SOURCE, "time": now().isoformat()} for event in events]
    reply = await tree["methods"]["ingest"](events=sent, route="http", account="secretary", scope=tree["ids"]["cell"])
    return list(reply["results"])


def full(ids: dict[str, str]) -> dict[str, str]:
    """The whole roster: the exempt listed exempt, the transferred transferred."""
    return {
        ids["m1"]: "present",
        ids["m2"]: "present",
        ids["m3"]: "absent",
        ids["m4"]: "exempt",
        ids["m5"]: "transferred",
    }


def outcome(result: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """(outcome, field, refusal code) of one result."""
    return result["outcome"], result["field"], (result.get("refusal") or {}).get("code")


async def test_a_secretarys_roster_leaving_out_members_is_refused_naming_them(
    cell: dict[str, Any], uow_factory: Any
) -> None:
    ids = cell["ids"]
    two = {ids["m1"]: "present", ids["m2"]: "absent"}
    [partial, empty] = await as_secretary(cell, ev.attendance(ids["mtg"], two), ev.attendance(ids["mtg"], {}))
    assert outcome(partial) == ("rejected", "data.records", RefusalCode.ROSTER_INCOMPLETE.value)
    # in Vietnamese name order (by given name): Cường, Dung, Em; every one counted
    assert partial["refusal"]["member_names"] == ["Hoàng Văn Cường", "Phạm Thị Dung", "Vũ Thị Em"]
    assert partial["refusal"]["missing"] == 3
    assert outcome(empty) == ("rejected", "data.records", RefusalCode.ROSTER_INCOMPLETE.value)
    assert empty["refusal"]["member_names"] == ["Lê Văn An", "Trần Thị Bình", "Hoàng Văn Cường"]
    assert empty["refusal"]["missing"] == 5
    async with uow_factory() as uow:
        assert await uow.meetings.roster_members(ids["mtg"]) == []


async def test_a_secretarys_full_roster_is_taken_without_members_gone_before_the_start(cell: dict[str, Any]) -> None:
    ids = cell["ids"]
    [taken] = await as_secretary(cell, ev.attendance(ids["mtg"], full(ids)))
    assert outcome(taken) == ("accepted", None, None), taken
    # an exempt or transferred member left out is missing all the same
    without_exempt = {key: status for key, status in full(ids).items() if status != "exempt"}
    [refused] = await as_secretary(cell, ev.attendance(ids["mtg"], without_exempt))
    assert outcome(refused) == ("rejected", "data.records", RefusalCode.ROSTER_INCOMPLETE.value)
    assert (refused["refusal"]["member_names"], refused["refusal"]["missing"]) == (["Hoàng Văn Cường"], 1)


async def test_an_integrations_partial_roster_is_still_taken(cell: dict[str, Any]) -> None:
    ids = cell["ids"]
    reply = await cell["methods"]["ingest"](
        events=[ev.attendance(ids["mtg"], {ids["m1"]: "present"}, time=now())], route="http", account="feed"
    )
    assert outcome(reply["results"][0]) == ("accepted", None, None)


async def test_a_secretarys_excused_line_without_a_reason_is_refused_naming_it(cell: dict[str, Any]) -> None:
    ids = cell["ids"]
    rows = [{"member_id": member_id, "status": status} for member_id, status in full(ids).items()]
    rows[1] = {"member_id": ids["m2"], "status": "excused"}
    blank = [*rows[:1], {"member_id": ids["m2"], "status": "excused", "reason": "  "}, *rows[2:]]
    sent = [ev.raw_event("attendance.recorded.v1", {"meeting_id": ids["mtg"], "records": r}) for r in (rows, blank)]
    results = await as_secretary(cell, *sent)
    code = RefusalCode.EXCUSED_WITHOUT_REASON.value
    assert [outcome(result) for result in results] == [("rejected", "data.records.1.reason", code)] * 2
    assert results[0]["refusal"]["member_id"] == ids["m2"]
    # the same line from an integration is a fact of its record
    reply = await cell["methods"]["ingest"](
        events=[{**sent[0], "time": now().isoformat()}], route="http", account="feed"
    )
    assert outcome(reply["results"][0]) == ("accepted", None, None)


async def test_the_members_at_a_meetings_start_are_those_its_roster_must_list(
    cell: dict[str, Any], meetings_pool: Any
) -> None:
    """The record page lists the members at the meeting's start (ListMembers `at`), so a member who left the cell
    since is still on its form: listed as of today, the roster the form sent would leave them out and be refused."""
    ids = cell["ids"]
    left, earlier = random_id("left"), random_id("mtg")
    before = now() - timedelta(days=30)
    yesterday = now().astimezone(VIETNAM_TZ).date() - timedelta(days=1)
    starts_at = now() - timedelta(days=3)
    feed = [
        ev.member(left, ids["cell"], time=before, data={"full_name": "Bùi Văn Lâm"}),
        ev.raw_event(
            "member.removed.v1",
            {"id": left, "reason": "transferred", "effective_on": yesterday.isoformat()},
            time=now(),
        ),
        ev.scheduled(earlier, ids["cell"], starts_at=starts_at, time=before),
    ]
    reply = await cell["methods"]["ingest"](events=feed, route="http", account="feed")
    assert [result["outcome"] for result in reply["results"]] == ["accepted"] * len(feed), reply
    async with meetings_pool.acquire() as conn:
        then = await queries.list_members_at(conn, cell_id=ids["cell"], at=starts_at, limit=50, offset=0)
        today = await queries.list_members(
            conn, cell_id=ids["cell"], today=now().astimezone(VIETNAM_TZ).date(), limit=50, offset=0
        )
    at_start = [item["id"] for item in then["items"]]
    # Vietnamese name order; the member gone before the start and the other cell's are not listed
    assert at_start == [ids["m2"], ids["m1"], ids["m4"], ids["m3"], ids["m5"], left]
    assert then["total"] == 6 and left not in [item["id"] for item in today["items"]]
    # the roster of those members is taken
    statuses = {member: "present" for member in at_start} | {left: "transferred"}
    [taken] = await as_secretary(cell, ev.attendance(earlier, statuses))
    assert outcome(taken) == ("accepted", None, None), taken
