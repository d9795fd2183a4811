"""An assessment in a person's name names someone who may assess so: an upper_monitor assigned to follow the cell, a
members' vote or cell committee a member of the cell.

A new user's trial: an integration account scoped to a commune sent meeting.assessed.v1 as `upper_monitor` naming an
ordinary member of the cell, and it was accepted, changing a closed month's score (the monitor's points win over the
members' vote, DOMAIN.md). An unknown reference is held until it arrives (CONTRACT.md; order is not guaranteed), as
a roster's unknown member is: an upper_monitor not (yet) assigned waits for monitor.assigned.v1 of (person, cell); a
members' vote naming an unknown person waits for that member; a member known to be in another cell is rejected naming
`data.assessor.person_id`. The secretary's and officer's commands are judged at once, never held.
"""

from datetime import timedelta
from typing import Any

import pytest

from services.meetings import queries
from services.meetings.handlers import expire_holds
from shared.envelope import GATEWAY_SOURCE, now
from shared.refusals import RefusalCode
from tests.meetings import events as ev
from tests.meetings.test_scoping import rpc_methods
from tests.support.ids import random_id

POINTS = {"conduct.procedure": 4}


@pytest.fixture
async def commune(meetings_pool: Any) -> dict[str, Any]:
    """A province, a commune under it, a cell of the commune with one member and a cell elsewhere with another, and a
    meeting of the first cell that began two hours ago."""
    ids = {name: random_id(name) for name in ("tinh", "xa", "cell", "other", "m1", "stranger", "uv", "mtg")}
    before = now() - timedelta(days=30)
    feed = [
        ev.unit(ids["tinh"], kind="committee", name="Tỉnh ủy", time=before),
        ev.unit(ids["xa"], kind="committee", parent_id=ids["tinh"], name="Đảng ủy xã", time=before),
        ev.unit(ids["cell"], parent_id=ids["xa"], name="Chi bộ thôn 1", time=before),
        ev.unit(ids["other"], parent_id=ids["xa"], name="Chi bộ thôn 2", time=before),
        ev.member(ids["m1"], ids["cell"], time=before),
        ev.member(ids["stranger"], ids["other"], time=before),
        ev.scheduled(ids["mtg"], ids["cell"], starts_at=now() - timedelta(hours=2), time=before),
    ]
    methods = rpc_methods(meetings_pool)
    reply = await methods["ingest"](events=feed, route="http", account="feed")
    assert [result["outcome"] for result in reply["results"]] == ["accepted"] * len(feed), reply
    return {"ids": ids, "methods": methods, "pool": meetings_pool}


def assessed(tree: dict[str, Any], role: str, person_id: str | None = None) -> dict[str, Any]:
    """meeting.assessed.v1 of the meeting by `role`, in `person_id`'s name when given, timed now."""
    assessor = {"role": role, **({"person_id": person_id} if person_id else {})}
    data = {"meeting_id": tree["ids"]["mtg"], "assessor": assessor, "points": POINTS}
    return ev.raw_event("meeting.assessed.v1", data, time=now())


async def from_commune(tree: dict[str, Any], *events: dict[str, Any]) -> list[dict[str, Any]]:
    """The events as the commune's integration account sends them (scoped to the commune)."""
    reply = await tree["methods"]["ingest"](
        events=list(events), route="http", account="xa-feed", scope=tree["ids"]["xa"]
    )
    return list(reply["results"])


def outcome(result: dict[str, Any]) -> tuple[str, str | None, str | None, str | None]:
    """(outcome, field, refusal code, what a hold waits for) of one result."""
    refusal = result.get("refusal") or {}
    return result["outcome"], result["field"], refusal.get("code"), result.get("waiting_for")


async def assessors(tree: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(role, person) of the meeting's stored assessments, in order."""
    async with tree["pool"].acquire() as conn:
        meeting = await queries.get_meeting(conn, tree["ids"]["mtg"])
    assert meeting is not None
    return [(item["role"], item["person_id"]) for item in meeting["assessments"]]


async def test_an_upper_monitor_in_an_ordinary_members_name_is_held_and_refused_when_the_wait_runs_out(
    commune: dict[str, Any], uow_factory: Any
) -> None:
    ids = commune["ids"]
    sent = assessed(commune, "upper_monitor", ids["m1"])
    [held] = await from_commune(commune, sent)
    waiting = f"monitor:{ids['m1']}:{ids['cell']}"
    assert outcome(held) == ("held", "data.assessor.person_id", RefusalCode.MONITOR_NOT_ASSIGNED.value, waiting)
    assert await assessors(commune) == []  # the score is not changed by it
    async with uow_factory() as uow:
        await uow.connection.execute(
            "UPDATE held_event SET held_at = held_at - interval '2 days' WHERE event_id = $1", sent["id"]
        )
        await expire_holds(uow, timeout=timedelta(hours=24))
        await uow.commit()
    async with commune["pool"].acquire() as conn:
        row = await conn.fetchrow(
            "SELECT field, refusal->>'code' AS code FROM rejection WHERE event_id = $1", sent["id"]
        )
    assert row is not None
    assert (row["field"], row["code"]) == ("data.assessor.person_id", RefusalCode.HOLD_EXPIRED.value)
    assert await assessors(commune) == []


async def test_an_upper_monitor_assigned_after_the_assessment_arrived_releases_it(commune: dict[str, Any]) -> None:
    ids = commune["ids"]
    [held] = await from_commune(commune, assessed(commune, "upper_monitor", ids["uv"]))
    assert outcome(held)[:3] == ("held", "data.assessor.person_id", RefusalCode.MONITOR_NOT_ASSIGNED.value)
    monitor = ev.raw_event(
        "monitor.assigned.v1",
        {"person_id": ids["uv"], "full_name": "Nguyễn Văn Ủy", "committee_id": ids["xa"], "cell_id": ids["cell"]},
        time=now(),
    )
    [assigned] = await from_commune(commune, monitor)
    assert outcome(assigned) == ("accepted", None, None, None)
    assert await assessors(commune) == [("upper_monitor", ids["uv"])]
    # assigned now: the next one is taken at once, and one without a person as before
    results = await from_commune(
        commune, assessed(commune, "upper_monitor", ids["uv"]), assessed(commune, "upper_monitor")
    )
    assert [outcome(result) for result in results] == [("accepted", None, None, None)] * 2


async def test_a_members_vote_names_a_member_of_the_cell(commune: dict[str, Any]) -> None:
    ids = commune["ids"]
    unknown = random_id("nobody")
    results = await from_commune(
        commune,
        assessed(commune, "members_vote", ids["stranger"]),
        assessed(commune, "cell_committee", unknown),
        assessed(commune, "members_vote", ids["m1"]),
    )
    assert [outcome(result) for result in results] == [
        ("rejected", "data.assessor.person_id", RefusalCode.MEMBER_NOT_IN_CELL.value, None),
        ("held", "data.assessor.person_id", RefusalCode.MEMBER_UNKNOWN.value, f"member:{unknown}"),
        ("accepted", None, None, None),
    ]
    # the unknown person arriving as a member of the cell releases the held one
    [member] = await from_commune(commune, ev.member(unknown, ids["cell"], time=now()))
    assert outcome(member) == ("accepted", None, None, None)
    assert sorted(await assessors(commune)) == [("cell_committee", unknown), ("members_vote", ids["m1"])]


async def test_a_persons_assessment_is_judged_at_once(commune: dict[str, Any]) -> None:
    ids = commune["ids"]
    sent = [
        {**assessed(commune, "upper_monitor", ids["m1"]), "source": GATEWAY_SOURCE},
        {**assessed(commune, "cell_committee", ids["stranger"]), "source": GATEWAY_SOURCE},
        {**assessed(commune, "cell_committee", ids["m1"]), "source": GATEWAY_SOURCE},
    ]
    reply = await commune["methods"]["ingest"](events=sent, route="http", account="secretary", scope=ids["cell"])
    assert [outcome(result) for result in reply["results"]] == [
        ("rejected", "data.assessor.person_id", RefusalCode.MONITOR_NOT_ASSIGNED.value, None),
        ("rejected", "data.assessor.person_id", RefusalCode.MEMBER_NOT_IN_CELL.value, None),
        ("accepted", None, None, None),
    ]
