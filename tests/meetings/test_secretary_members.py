"""A secretary's command naming a member is judged at once against the cell's members, never held for them.

A fresh-user trial: the secretary's roster naming "no-such-member-zz" (and one naming a member of another cell) was
answered `held` (member_unknown); a later member.upserted.v1 of that id released it, and the meeting's roster of 19
lines became that one line and its score fell. Now an unknown member, a member of another cell or one no record
places in the cell is refused naming the field (`member_not_in_cell`, one answer for all three, so nothing tells
which ids exist elsewhere), as the gateway sends the command (source urn:chibo:gateway, scoped to the cell); for
every field of a command that names members: roster lines (transferred ones too), chair, recorder, speakers and
task assignees. An integration's facts keep CONTRACT.md's holds.
"""

from datetime import timedelta
from typing import Any

import pytest

from shared.envelope import GATEWAY_SOURCE, now
from shared.refusals import RefusalCode
from tests.meetings import events as ev
from tests.meetings.test_scoping import rpc_methods
from tests.support.ids import random_id

CODE = RefusalCode.MEMBER_NOT_IN_CELL.value


@pytest.fixture
async def cells(meetings_pool: Any) -> dict[str, Any]:
    """Two cells under a committee, two members in the first and one in the second, and a meeting of the first
    that began two hours ago, its roster (both members present) recorded by the secretary."""
    ids = {name: random_id(name) for name in ("tinh", "cell", "other", "m1", "m2", "stranger", "mtg")}
    before = now() - timedelta(days=30)
    starts_at = now() - timedelta(hours=2)
    feed = [
        ev.unit(ids["tinh"], kind="committee", name="Tỉnh ủy", time=before),
        ev.unit(ids["cell"], parent_id=ids["tinh"], name="Chi bộ thôn 1", time=before),
        ev.unit(ids["other"], parent_id=ids["tinh"], name="Chi bộ thôn 2", time=before),
        ev.member(ids["m1"], ids["cell"], time=before),
        ev.member(ids["m2"], ids["cell"], time=before),
        ev.member(ids["stranger"], ids["other"], time=before),
        ev.scheduled(ids["mtg"], ids["cell"], starts_at=starts_at, time=before),
    ]
    methods = rpc_methods(meetings_pool)
    reply = await methods["ingest"](events=feed, route="http", account="feed")
    assert [result["outcome"] for result in reply["results"]] == ["accepted"] * len(feed), reply
    tree = {"ids": ids, "methods": methods, "starts_at": starts_at}
    [first] = await as_secretary(tree, ev.attendance(ids["mtg"], {ids["m1"]: "present", ids["m2"]: "present"}))
    assert first["outcome"] == "accepted", first
    return tree


async def as_secretary(tree: dict[str, Any], *events: dict[str, Any]) -> list[dict[str, Any]]:
    """The events as the gateway sends the cell secretary's commands: its source, timed now, scoped to the cell."""
    sent = [{**event, "source": GATEWAY_SOURCE, "time": now().isoformat()} for event in events]
    reply = await tree["methods"]["ingest"](events=sent, route="http", account="secretary", scope=tree["ids"]["cell"])
    return list(reply["results"])


def refused(result: dict[str, Any]) -> tuple[str, str | None, str | None, str | None]:
    """(outcome, field, refusal code, refused member) of one result."""
    refusal = result.get("refusal") or {}
    return result["outcome"], result["field"], refusal.get("code"), refusal.get("member_id")


async def test_a_secretarys_roster_naming_an_unknown_or_foreign_member_is_refused_naming_the_line(
    cells: dict[str, Any], uow_factory: Any
) -> None:
    ids = cells["ids"]
    roster = {ids["m1"]: "present"}
    results = await as_secretary(
        cells,
        ev.attendance(ids["mtg"], roster | {"no-such-member-zz": "present"}),
        ev.attendance(ids["mtg"], roster | {ids["stranger"]: "absent"}),
        ev.attendance(ids["mtg"], roster | {"gone-nowhere-zz": "transferred"}),
        ev.attendance(ids["mtg"], roster | {ids["stranger"]: "transferred"}),
    )
    assert [refused(result) for result in results] == [
        ("rejected", "data.records.1.member_id", CODE, "no-such-member-zz"),
        ("rejected", "data.records.1.member_id", CODE, ids["stranger"]),
        ("rejected", "data.records.1.member_id", CODE, "gone-nowhere-zz"),
        ("rejected", "data.records.1.member_id", CODE, ids["stranger"]),
    ]
    # an unknown id and another cell's member get the same words but for the id: nothing tells which exists
    assert results[0]["reason"].replace("no-such-member-zz", "X") == results[1]["reason"].replace(ids["stranger"], "X")
    # the id arriving later releases nothing: the roster recorded before stays the meeting's roster
    reply = await cells["methods"]["ingest"](
        events=[ev.member("no-such-member-zz", ids["cell"], time=now())], route="http", account="feed"
    )
    assert reply["results"][0]["outcome"] == "accepted"
    async with uow_factory() as uow:
        lines = await uow.meetings.roster_members(ids["mtg"])
    assert sorted(lines) == sorted([ids["m1"], ids["m2"]])


async def test_a_secretarys_minutes_naming_someone_outside_the_cell_are_refused_naming_the_field(
    cells: dict[str, Any],
) -> None:
    ids = cells["ids"]
    started_at = cells["starts_at"]
    task = {"task_id": random_id("t"), "description": "Việc", "due_on": (now() + timedelta(days=20)).date().isoformat()}
    results = await as_secretary(
        cells,
        ev.minutes(ids["mtg"], chair_id="no-such-member-zz", started_at=started_at, speakers=[ids["m1"]]),
        ev.minutes(ids["mtg"], chair_id=ids["m1"], started_at=started_at, speakers=[ids["m1"], ids["stranger"]]),
        ev.minutes(
            ids["mtg"], chair_id=ids["m1"], started_at=started_at, tasks=[task | {"assignee_id": "no-such-member-zz"}]
        ),
        ev.minutes(ids["mtg"], chair_id=ids["m1"], started_at=started_at, data={"recorder_id": ids["stranger"]}),
    )
    assert [refused(result) for result in results] == [
        ("rejected", "data.chair_id", CODE, "no-such-member-zz"),
        ("rejected", "data.speakers.1", CODE, ids["stranger"]),
        ("rejected", "data.tasks.0.assignee_id", CODE, "no-such-member-zz"),
        ("rejected", "data.recorder_id", CODE, ids["stranger"]),
    ]
    [accepted] = await as_secretary(
        cells, ev.minutes(ids["mtg"], chair_id=ids["m1"], started_at=started_at, speakers=[ids["m1"], ids["m2"]])
    )
    assert accepted["outcome"] == "accepted", accepted


async def test_an_integrations_roster_naming_an_unknown_member_is_still_held(cells: dict[str, Any]) -> None:
    """CONTRACT.md: an event referring to a member not yet known (the national database's feed) is held."""
    ids = cells["ids"]
    late = random_id("late")
    event = ev.attendance(ids["mtg"], {ids["m1"]: "present", late: "present"}, time=now())
    reply = await cells["methods"]["ingest"](events=[event], route="http", account="feed")
    [result] = reply["results"]
    assert (result["outcome"], result["field"], result["waiting_for"]) == (
        "held",
        "data.records.1.member_id",
        f"member:{late}",
    )
