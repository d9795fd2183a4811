"""A scoped account's events: every id-bearing field judged against its subtree, and no probing of ids elsewhere.

The user trial: an account scoped to a commune assigned a monitor from the province committee (above the cell, but
outside the account's subtree) and it was accepted; and an id that exists outside the subtree was answered "outside
X" while an unknown one was held, so the answers told which ids exist elsewhere. Here every field of CONTRACT.md's
types in that names a unit, member or meeting is sent once naming something outside the subtree and once naming an
unknown id: the two answers must be the same but for the id, and only the stored hold names the real reason.
"""

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from tests.meetings import events as ev
from tests.meetings.test_scoping import rpc_methods
from tests.support.ids import random_id

START = ev.BASE_TIME + timedelta(days=330)
Build = Callable[[dict[str, str], str], dict[str, Any]]


@pytest.fixture
async def tree(meetings_pool) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Tỉnh ủy → (Đảng ủy xã → (Đảng bộ cơ sở → thôn 1), thôn 2) and (Đảng ủy phường → khu phố 3); a member and a
    meeting in thôn 1 (with a task) and in khu phố 3. The account under test is scoped to the xã."""
    ids = {
        name: random_id(name)
        for name in ("tinh", "xa", "dbcs", "thon1", "thon2", "phuong", "kp3", "m-in", "m-out", "m-gone")
    }
    ids["mtg-in"], ids["mtg-out"], ids["task"] = f"{ids['thon1']}-2026-12", f"{ids['kp3']}-2026-12", random_id("t")
    feed = [
        ev.unit(ids["tinh"], kind="committee", name="Tỉnh ủy"),
        ev.unit(ids["xa"], kind="committee", parent_id=ids["tinh"], name="Đảng ủy xã"),
        ev.unit(ids["dbcs"], kind="committee", parent_id=ids["xa"], name="Đảng bộ cơ sở"),
        ev.unit(ids["thon1"], parent_id=ids["dbcs"], name="Chi bộ thôn 1"),
        ev.unit(ids["thon2"], parent_id=ids["xa"], name="Chi bộ thôn 2"),
        ev.unit(ids["phuong"], kind="committee", parent_id=ids["tinh"], name="Đảng ủy phường"),
        ev.unit(ids["kp3"], parent_id=ids["phuong"], name="Chi bộ khu phố 3"),
        ev.member(ids["m-in"], ids["thon1"]),
        ev.member(ids["m-out"], ids["kp3"]),
        ev.member(ids["m-gone"], ids["kp3"]),
        ev.raw_event("member.removed.v1", {"id": ids["m-gone"], "reason": "transferred", "effective_on": "2026-06-01"}),
        ev.scheduled(ids["mtg-in"], ids["thon1"], starts_at=START),
        ev.scheduled(ids["mtg-out"], ids["kp3"], starts_at=START),
        ev.minutes(
            ids["mtg-in"],
            chair_id=ids["m-in"],
            started_at=START,
            tasks=[{"task_id": ids["task"], "assignee_id": ids["m-in"], "description": "Việc", "due_on": "2026-12-31"}],
        ),
    ]
    methods = rpc_methods(meetings_pool)
    reply = await methods["ingest"](events=feed, route="http", account="feed")
    assert [result["outcome"] for result in reply["results"]] == ["accepted"] * len(feed)
    return {"ids": ids, "methods": methods}


async def as_commune(tree: dict[str, Any], event: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
    """One event from an integration account scoped to the xã, under its registered source."""
    ids = tree["ids"]
    source = f"urn:test:feed-{ids['xa']}"
    reply = await tree["methods"]["ingest"](
        events=[{**event, "source": source}],
        route="http",
        account="integration-xa",
        scope=ids["xa"],
        sources=[source],
        dry_run=dry_run,
    )
    [result] = reply["results"]
    return dict(result)


def monitor(committee_id: str, cell_id: str) -> dict[str, Any]:
    """monitor.assigned.v1 of a fresh person."""
    person = random_id("person")
    data = {"person_id": person, "full_name": "Trần Văn Phụ Trách", "committee_id": committee_id, "cell_id": cell_id}
    return ev.raw_event("monitor.assigned.v1", data)


def roster(meeting_id: str, records: dict[str, str], guests: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """attendance.recorded.v1 with guests."""
    event = ev.attendance(meeting_id, records)
    event["data"]["guests"] = guests or []
    return event


def task(assignee: str, task_id: str) -> dict[str, Any]:
    return {"task_id": task_id, "assignee_id": assignee, "description": "Việc", "due_on": "2026-12-31"}


# (case, the id outside the subtree, the event naming it)
CASES: list[tuple[str, str, Build]] = [
    ("org.unit parent_id", "phuong", lambda i, x: ev.unit(random_id("cell"), parent_id=x)),
    ("org.unit parent_id (the root)", "tinh", lambda i, x: ev.unit(random_id("cell"), parent_id=x)),
    ("member.upserted cell_id", "kp3", lambda i, x: ev.member(random_id("mem"), x)),
    (
        "member.removed id",
        "m-out",
        lambda i, x: ev.raw_event("member.removed.v1", {"id": x, "reason": "other", "effective_on": "2026-12-01"}),
    ),
    (
        "member.removed id (removed already)",
        "m-gone",
        lambda i, x: ev.raw_event("member.removed.v1", {"id": x, "reason": "other", "effective_on": "2026-12-01"}),
    ),
    ("monitor cell_id", "kp3", lambda i, x: monitor(i["xa"], x)),
    ("monitor committee_id above the cell", "tinh", lambda i, x: monitor(x, i["thon1"])),
    ("monitor committee_id elsewhere", "phuong", lambda i, x: monitor(x, i["thon1"])),
    ("meeting.scheduled cell_id", "kp3", lambda i, x: ev.scheduled(random_id("mtg"), x, starts_at=START)),
    (
        "meeting.rescheduled meeting_id",
        "mtg-out",
        lambda i, x: ev.raw_event("meeting.rescheduled.v1", {"meeting_id": x, "starts_at": START.isoformat()}),
    ),
    (
        "meeting.cancelled meeting_id",
        "mtg-out",
        lambda i, x: ev.raw_event("meeting.cancelled.v1", {"meeting_id": x, "reason": "Trùng lịch"}),
    ),
    (
        "documents.published meeting_id",
        "mtg-out",
        lambda i, x: ev.raw_event(
            "documents.published.v1",
            {"meeting_id": x, "published_at": START.isoformat(), "items": [{"title": "Dự thảo", "kind": "content"}]},
        ),
    ),
    ("attendance meeting_id", "mtg-out", lambda i, x: roster(x, {})),
    ("attendance member_id", "m-out", lambda i, x: roster(i["mtg-in"], {i["m-in"]: "present", x: "present"})),
    (
        "attendance transferred member_id",
        "m-out",
        lambda i, x: roster(i["mtg-in"], {i["m-in"]: "present", x: "transferred"}),
    ),
    (
        "attendance guest committee_id",
        "phuong",
        lambda i, x: roster(i["mtg-in"], {i["m-in"]: "present"}, [{"name": "Khách", "committee_id": x}]),
    ),
    ("minutes meeting_id", "mtg-out", lambda i, x: ev.minutes(x, chair_id=i["m-in"], started_at=START)),
    ("minutes chair_id", "m-out", lambda i, x: ev.minutes(i["mtg-in"], chair_id=x, started_at=START)),
    (
        "minutes speaker",
        "m-out",
        lambda i, x: ev.minutes(i["mtg-in"], chair_id=i["m-in"], started_at=START, speakers=[i["m-in"], x]),
    ),
    (
        "minutes assignee_id",
        "m-out",
        lambda i, x: ev.minutes(i["mtg-in"], chair_id=i["m-in"], started_at=START, tasks=[task(x, random_id("t"))]),
    ),
    (
        "minutes.approved meeting_id",
        "mtg-out",
        lambda i, x: ev.raw_event(
            "minutes.approved.v1", {"meeting_id": x, "approved_at": (START + timedelta(hours=3)).isoformat()}
        ),
    ),
    (
        "meeting.assessed meeting_id",
        "mtg-out",
        lambda i, x: ev.raw_event(
            "meeting.assessed.v1",
            {"meeting_id": x, "assessor": {"role": "cell_committee"}, "points": {"preparation.content": 3}},
        ),
    ),
    (
        "task.completed meeting_id",
        "mtg-out",
        lambda i, x: ev.raw_event(
            "task.completed.v1", {"task_id": i["task"], "meeting_id": x, "completed_on": "2026-12-20"}
        ),
    ),
]


def answer_without(result: dict[str, Any], identifier: str) -> str:
    """The answer as the sender reads it, the named id blanked (and the event's own id left out)."""
    kept = {key: value for key, value in result.items() if key not in ("id", "source")}
    return json.dumps(kept, sort_keys=True).replace(identifier, "<id>")


@pytest.mark.parametrize(("case", "outside", "build"), CASES, ids=[case for case, _, _ in CASES])
async def test_an_id_outside_the_subtree_is_answered_as_an_unknown_one(tree, db, case, outside, build) -> None:  # type: ignore[no-untyped-def]
    ids = tree["ids"]
    unknown = random_id("nobody")
    there = build(ids, ids[outside])
    nowhere = build(ids, unknown)
    on_outside = await as_commune(tree, there)
    on_unknown = await as_commune(tree, nowhere)
    assert on_outside["outcome"] == "held", on_outside
    assert answer_without(on_outside, ids[outside]) == answer_without(on_unknown, unknown)
    for word in ("outside", ids["xa"], ids["kp3"], ids["phuong"]):
        assert word not in answer_without(on_outside, ids[outside])
    # the operator sees why: the stored hold names the real reason, the unknown one's stays the answer's
    stored = await db.fetchval("SELECT reason FROM meetings.held_event WHERE event_id = $1", there["id"])
    assert f"lies outside {ids['xa']}, the only subtree this account may write" in stored
    held = await db.fetchval("SELECT reason FROM meetings.held_event WHERE event_id = $1", nowhere["id"])
    assert held == on_unknown["reason"]
    # a dry run answers the same
    assert answer_without(await as_commune(tree, build(ids, ids[outside]), dry_run=True), ids[outside]) == (
        answer_without(on_unknown, unknown)
    )


async def test_a_monitor_from_a_committee_outside_the_subtree_is_not_assigned(tree, db) -> None:  # type: ignore[no-untyped-def]
    ids = tree["ids"]
    # the trial's event: the province committee is above thôn 1 but outside the xã's subtree
    from_province = monitor(ids["tinh"], ids["thon1"])
    assert (await as_commune(tree, from_province))["outcome"] == "held"
    person = from_province["data"]["person_id"]
    assert await db.fetchval("SELECT count(*) FROM meetings.monitor_assignment WHERE person_id = $1", person) == 0
    # committees of the subtree above the cell may be named: the account's own unit and the one between
    for committee in ("xa", "dbcs"):
        assert (await as_commune(tree, monitor(ids[committee], ids["thon1"])))["outcome"] == "accepted"
    # inside the subtree but not above the cell: refused as before, naming why (both ids are the account's own)
    [result] = [await as_commune(tree, monitor(ids["dbcs"], ids["thon2"]))]
    assert (result["outcome"], result["field"]) == ("rejected", "data.committee_id")
    assert "is not above cell" in result["reason"]
    # a province-wide account may assign the province's own members
    reply = await tree["methods"]["ingest"](events=[monitor(ids["tinh"], ids["thon1"])], route="http", account="p")
    assert reply["results"][0]["outcome"] == "accepted"


@pytest.mark.parametrize(
    ("event_of", "field", "kind", "taken"),
    [
        (lambda i: ev.member(i["m-out"], i["thon1"]), "data.id", "member", "m-out"),
        (lambda i: ev.scheduled(i["mtg-out"], i["thon1"], starts_at=START), "data.meeting_id", "meeting", "mtg-out"),
        (lambda i: ev.unit(i["kp3"], parent_id=i["xa"], name="Chi bộ khu phố 3"), "data.id", "unit", "kp3"),
    ],
    ids=["member", "meeting", "unit"],
)
async def test_an_id_taken_outside_is_refused_without_saying_where(tree, db, event_of, field, kind, taken) -> None:  # type: ignore[no-untyped-def]
    ids = tree["ids"]
    event = event_of(ids)
    result = await as_commune(tree, event)
    assert (result["outcome"], result["field"]) == ("rejected", field)
    # existence is inherent in refusing an id a new object would take; where it lives is not told
    assert result["reason"] == f"{field}: this account may not write {kind} {ids[taken]}"
    stored = await db.fetchval("SELECT reason FROM meetings.rejection WHERE event_id = $1", event["id"])
    assert f"lies outside {ids['xa']}, the only subtree this account may write" in stored
    assert await db.fetchval("SELECT parent_id FROM meetings.org_unit WHERE id = $1", ids["kp3"]) == ids["phuong"]
    assert await db.fetchval("SELECT cell_id FROM meetings.member WHERE id = $1", ids["m-out"]) == ids["kp3"]
    assert await db.fetchval("SELECT cell_id FROM meetings.meeting WHERE meeting_id = $1", ids["mtg-out"]) == ids["kp3"]


async def test_inside_the_subtree_everything_still_passes(tree) -> None:  # type: ignore[no-untyped-def]
    ids = tree["ids"]
    accepted = [
        ev.unit(random_id("cell"), parent_id=ids["dbcs"]),
        ev.member(random_id("mem"), ids["thon2"]),
        roster(
            ids["mtg-in"],
            {ids["m-in"]: "present"},
            [
                {"name": "Đồng chí phụ trách", "committee_id": ids["xa"], "person_id": random_id("p")},
                # a guest from above the cell, though outside the subtree: the cell's own ancestry, not elsewhere
                {"name": "Đồng chí Tỉnh ủy viên", "committee_id": ids["tinh"], "person_id": random_id("p")},
            ],
        ),
        ev.raw_event(
            "task.completed.v1", {"task_id": ids["task"], "meeting_id": ids["mtg-in"], "completed_on": "2026-12-20"}
        ),
    ]
    for event in accepted:
        assert (await as_commune(tree, event))["outcome"] == "accepted", event["type"]


async def test_a_secretary_records_the_upper_level_monitor_as_a_guest(tree) -> None:  # type: ignore[no-untyped-def]
    """A secretary's scope is the cell, which holds no committee: the monitor's committee above it is still named; a
    committee elsewhere is refused at once as an unknown one (a person's command is never held)."""
    ids = tree["ids"]
    guests = [{"name": "Đồng chí phụ trách", "committee_id": ids["dbcs"], "person_id": random_id("p")}]
    for committee in ("phuong", "nobody"):
        elsewhere = [{"name": "Khách", "committee_id": ids.get(committee, committee)}]
        event = {**roster(ids["mtg-in"], {ids["m-in"]: "present"}, elsewhere), "source": "urn:chibo:gateway"}
        reply = await tree["methods"]["ingest"](events=[event], route="http", account="secretary", scope=ids["thon1"])
        result = reply["results"][0]
        said = (result["outcome"], result["field"], result["refusal"]["code"])
        assert said == ("rejected", "data.guests.0.committee_id", "guest_committee_unknown")
    event = {**roster(ids["mtg-in"], {ids["m-in"]: "present"}, guests), "source": "urn:chibo:gateway"}
    event["time"] = (START + timedelta(hours=2)).isoformat()  # a command is recorded once its meeting has begun
    reply = await tree["methods"]["ingest"](events=[event], route="http", account="secretary", scope=ids["thon1"])
    assert reply["results"][0]["outcome"] == "accepted", reply
