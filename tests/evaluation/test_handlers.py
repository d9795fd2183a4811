"""Handlers with in-memory fakes: what each fact changes and what is published."""

import dataclasses
import json
from typing import Any

import pytest

from services.evaluation.handlers import (
    FACT_HANDLERS,
    adopt_framework,
    refresh_periods,
    register_shipped,
    score_touched,
    shipped_frameworks,
)
from services.evaluation.handlers.facts import batch_order, lock_order
from services.evaluation.handlers.frameworks import FrameworkConflict
from services.evaluation.handlers.scores import rescore_cell
from shared.contracts.frameworks import FrameworkAdopted
from shared.contracts.registry import read_event
from shared.envelope import parse_envelope
from tests.evaluation.fakes import FakeUnitOfWork
from tests.evaluation.stream import at, cell_history, fact


@pytest.fixture
async def uow() -> FakeUnitOfWork:
    """A fake unit of work with the shipped frameworks registered (their adoptions' events set aside)."""
    unit = FakeUnitOfWork()
    await register_shipped(unit, shipped_frameworks())
    unit.emitted.clear()
    return unit


async def apply(uow: FakeUnitOfWork, raw: dict) -> None:
    """Handle one fact as the consumer would."""
    event = read_event(parse_envelope(json.dumps(raw)))
    await FACT_HANDLERS[event.type](event, uow)
    await score_touched(uow)


def scheduled(meeting_id: str = "m1", **changes: Any) -> dict:
    data = {
        "meeting_id": meeting_id,
        "cell_id": "c1",
        "kind": "regular",
        "starts_at": at(3, 5).isoformat(),
        "location": "Nhà văn hóa",
        "agenda": ["Thường kỳ"],
    } | changes
    return fact("meeting.scheduled.v1", data, time=at(3, 1))


async def test_scheduling_publishes_a_provisional_score_and_the_periods(uow: FakeUnitOfWork) -> None:
    await apply(uow, scheduled())
    types = [event.type for event in uow.emitted]
    assert types.count("score.meeting.updated.v1") == 1
    score = next(event for event in uow.emitted if event.type == "score.meeting.updated.v1")
    assert score.data["provisional"] is True
    # Every begun period of the year is published once (today is 2026-11-25), not only the meeting's month.
    assert {e.data["period"] for e in uow.emitted if e.type == "score.cell.updated.v1"} == {
        *(f"2026-{month:02d}" for month in range(1, 12)),
        *(f"2026-Q{quarter}" for quarter in range(1, 5)),
        "2026",
    }


async def test_a_backfill_publishes_a_month_without_any_meeting_as_poor(uow: FakeUnitOfWork) -> None:
    await apply(uow, scheduled("m1", starts_at=at(1, 5).isoformat()))
    await apply(uow, scheduled("m3", starts_at=at(3, 5).isoformat()))
    months = {e.data["period"]: e.data for e in uow.emitted if e.type == "score.cell.updated.v1"}
    assert months["2026-02"]["rating"] == "poor"
    assert months["2026-02"]["score"] == 0
    assert months["2026-02"]["regular_held"] == 0
    assert "no_regular_meeting" in months["2026-02"]["flags"]
    assert "in_progress" not in months["2026-02"]["flags"]
    # published once: a later fact about March does not re-publish the unchanged February
    uow.emitted.clear()
    await apply(uow, scheduled("m3", starts_at=at(3, 6).isoformat()))
    assert "2026-02" not in {e.data["period"] for e in uow.emitted if e.type == "score.cell.updated.v1"}


async def test_a_cancelled_meeting_is_withdrawn_and_never_counted(uow: FakeUnitOfWork) -> None:
    for raw in cell_history(committee_id="w1", cell_id="c9", prefix="h"):
        await apply(uow, raw)
    assert "h-mt-cancel" not in uow.results.scores  # cancelled before anything scored it: no score at all
    await apply(uow, scheduled("h-mt7", cell_id="c9", starts_at=at(7, 5).isoformat()))
    assert uow.results.scores["h-mt7"]["score"] > 0  # provisional, carried by the previous meeting's tasks
    uow.emitted.clear()
    await apply(uow, fact("meeting.cancelled.v1", {"meeting_id": "h-mt7", "reason": "hoãn"}, time=at(7, 1)))
    withdrawn = [e for e in uow.emitted if e.type == "score.meeting.withdrawn.v1"]
    assert [(e.subject, e.data) for e in withdrawn] == [
        ("h-mt7", {"meeting_id": "h-mt7", "cell_id": "c9", "reason": "cancelled"})
    ]
    assert not [e for e in uow.emitted if e.type == "score.meeting.updated.v1" and e.subject == "h-mt7"]
    assert "h-mt7" not in uow.results.scores
    summaries = await uow.results.cell_summaries("c9", year_from=2026, year_to=2026)
    assert "h-mt7" not in {row.meeting_id for row in summaries}
    july = uow.results.periods[("c9", "2026-07")]
    assert (july.rating, july.score, july.regular_held) == ("poor", 0.0, 0)
    uow.emitted.clear()
    await apply(uow, fact("meeting.cancelled.v1", {"meeting_id": "h-mt7", "reason": "hoãn"}, time=at(7, 2)))
    assert [e.type for e in uow.emitted] == []


async def test_an_older_roster_does_not_replace_a_newer_one(uow: FakeUnitOfWork) -> None:
    await apply(uow, scheduled())
    newer = fact(
        "attendance.recorded.v1",
        {"meeting_id": "m1", "records": [{"member_id": "a", "status": "present"}]},
        time=at(3, 5, 20),
    )
    older = fact(
        "attendance.recorded.v1",
        {"meeting_id": "m1", "records": [{"member_id": "a", "status": "absent"}]},
        time=at(3, 5, 19),
    )
    await apply(uow, newer)
    await apply(uow, older)
    assert uow.facts.rosters["m1"][2] == {"a": "present"}


async def test_facts_before_the_schedule_take_effect_when_it_arrives(uow: FakeUnitOfWork) -> None:
    await apply(
        uow,
        fact(
            "attendance.recorded.v1",
            {"meeting_id": "m1", "records": [{"member_id": "a", "status": "present"}]},
            time=at(3, 5, 20),
        ),
    )
    assert uow.emitted == []
    await apply(uow, scheduled())
    line = next(x for x in uow.results.scores["m1"]["criteria"] if x["code"] == "attendance")
    assert line["points"] == 5


async def test_a_task_completion_rescores_the_next_regular_meeting(uow: FakeUnitOfWork) -> None:
    for raw in cell_history(committee_id="w1", cell_id="c9", prefix="h"):
        if raw["type"] != "task.completed.v1":
            await apply(uow, raw)
    before = next(x for x in uow.results.scores["h-mt4"]["criteria"] if x["code"] == "results")
    assert before["points"] == 10
    uow.emitted.clear()
    for n in range(3):
        await apply(
            uow,
            fact(
                "task.completed.v1",
                {"task_id": f"h-mt3-t{n}", "meeting_id": "h-mt3", "completed_on": "2026-03-10"},
                time=at(3, 10),
            ),
        )
    after = next(x for x in uow.results.scores["h-mt4"]["criteria"] if x["code"] == "results")
    assert after["points"] == 30
    assert {e.subject for e in uow.emitted if e.type == "score.meeting.updated.v1"} == {"h-mt4"}


async def test_tasks_of_the_same_name_in_two_meetings_are_two_tasks(uow: FakeUnitOfWork) -> None:
    """Every meeting names its tasks t0, t1, t2: completing March's tasks must rescore April alone, and not count for
    May, whose previous meeting's t0-t2 (April's) are still open (a trial saw scores move by tens of points)."""
    for raw in cell_history(committee_id="w1", cell_id="c9", prefix="h"):
        if raw["type"] == "task.completed.v1":
            continue
        if raw["type"] == "minutes.submitted.v1":
            for task in raw["data"]["tasks"]:
                task["task_id"] = task["task_id"].rsplit("-", 1)[1]  # "h-mt3-t0" → "t0"
        await apply(uow, raw)

    def results(meeting_id: str) -> int:
        return next(x for x in uow.results.scores[meeting_id]["criteria"] if x["code"] == "results")["points"]

    assert (results("h-mt4"), results("h-mt5")) == (10, 10)
    for n in range(3):
        done = {"task_id": f"t{n}", "meeting_id": "h-mt3", "completed_on": "2026-03-10"}
        await apply(uow, fact("task.completed.v1", done, time=at(3, 10)))
    assert (results("h-mt4"), results("h-mt5")) == (30, 10)


async def test_a_member_becoming_committee_member_rescores_the_cell(uow: FakeUnitOfWork) -> None:
    await apply(uow, scheduled())
    line = next(x for x in uow.results.scores["m1"]["criteria"] if x["code"] == "preparation.committee_met")
    assert line["points"] == 2
    await apply(
        uow,
        fact(
            "member.upserted.v1",
            {"id": "x", "full_name": "Nguyễn Văn X", "cell_id": "c1", "status": "official", "role": "committee_member"},
            time=at(3, 2),
        ),
    )
    line = next(x for x in uow.results.scores["m1"]["criteria"] if x["code"] == "preparation.committee_met")
    assert line["points"] == 0


async def test_a_committee_framework_applies_to_its_subtree_from_its_date(uow: FakeUnitOfWork) -> None:
    document = shipped_frameworks()[1].model_dump(mode="json") | {"id": "ward-2026", "effective_from": "2026-03-01"}
    await apply(
        uow,
        fact(
            "org.unit.upserted.v1",
            {"id": "w1", "name": "Phường 1", "kind": "committee", "parent_id": None},
            time=at(1, 1),
        ),
    )
    await apply(
        uow,
        fact(
            "org.unit.upserted.v1", {"id": "c1", "name": "Chi bộ 1", "kind": "cell", "parent_id": "w1"}, time=at(1, 1)
        ),
    )
    await adopt_framework(uow, document=document, committee_id="w1")
    adopted = [e for e in uow.emitted if e.type == "framework.adopted.v1"]
    assert len(adopted) == 1 and adopted[0].source == "urn:chibo:evaluation"
    data = FrameworkAdopted.model_validate(read_event(adopted[0]).data)  # the internal type validates as published
    assert (data.framework_id, data.committee_id, data.effective_from.isoformat()) == ("ward-2026", "w1", "2026-03-01")
    assert data.sequence == 3 and {i.code: (i.max, i.manual) for i in data.items}["conduct.praise_criticism"] == (
        2,
        True,
    )
    await apply(uow, scheduled())
    await apply(uow, scheduled("m0", starts_at=at(2, 5).isoformat()))
    assert uow.results.scores["m1"]["framework_id"] == "ward-2026"
    assert uow.results.scores["m0"]["framework_id"] == "hd42-2025"
    with pytest.raises(FrameworkConflict):
        await adopt_framework(uow, document=document | {"name": "khác"}, committee_id="w1")
    uow.emitted.clear()
    await adopt_framework(uow, document=document, committee_id="w1")  # the same adoption again: nothing new
    assert [e for e in uow.emitted if e.type == "framework.adopted.v1"] == []


async def test_registering_the_shipped_frameworks_publishes_each_adoption_once() -> None:
    unit = FakeUnitOfWork()
    await register_shipped(unit, shipped_frameworks())
    adopted = [
        FrameworkAdopted.model_validate(read_event(e).data) for e in unit.emitted if e.type == "framework.adopted.v1"
    ]
    assert [(a.framework_id, a.committee_id, a.sequence) for a in adopted] == [
        ("hd12-2018", None, 1),
        ("hd42-2025", None, 2),
    ]
    unit.emitted.clear()
    await register_shipped(unit, shipped_frameworks())  # every start registers them again
    assert unit.emitted == []


def minutes_fact(self_criticism: int, *, origin_id: str, republished_id: str) -> dict:
    """Minutes as meetings re-publishes them: a fresh id of its own, the incoming id in `originid`."""
    data = {
        "meeting_id": "m1",
        "started_at": at(3, 5).isoformat(),
        "ended_at": at(3, 5, 21).isoformat(),
        "chair_id": "p1",
        "recorder_id": "p2",
        "speakers": [],
        "self_criticism_minutes": self_criticism,
        "resolutions": [],
        "tasks": [],
    }
    raw = fact("minutes.submitted.v1", data, time=at(3, 6), event_id=republished_id)
    return raw | {"source": "urn:chibo:meetings", "originsource": "urn:test:handbook", "originid": origin_id}


async def test_equal_time_snapshots_are_ordered_by_the_incoming_id_not_the_republished_one(
    uow: FakeUnitOfWork,
) -> None:
    """Issue 10 fault 10: the re-sent minutes (same time, greater incoming id) win in evaluation as in meetings,
    though meetings gave them a smaller id of its own."""
    await apply(uow, scheduled())
    await apply(uow, minutes_fact(20, origin_id="evt-1", republished_id="rep-9"))
    await apply(uow, minutes_fact(5, origin_id="evt-2", republished_id="rep-1"))
    assert uow.facts.minutes["m1"][2]["self_criticism_minutes"] == 5
    # and the other way round: the earlier incoming id never replaces the later one
    await apply(uow, minutes_fact(30, origin_id="evt-0", republished_id="rep-z"))
    assert uow.facts.minutes["m1"][2]["self_criticism_minutes"] == 5
    score = [e for e in uow.emitted if e.type == "score.meeting.updated.v1"][-1]
    line = next(c for c in score.data["criteria"] if c["code"] == "conduct.self_criticism")
    assert line["points"] == 0, line


async def test_a_period_is_announced_again_only_when_its_published_content_changes(uow: FakeUnitOfWork) -> None:
    """A change only in what is not published (here the months counted) is stored, not re-announced."""
    for raw in cell_history(committee_id="w1", cell_id="c9", prefix="h"):
        await apply(uow, raw)
    stored = uow.results.periods[("c9", "2026-Q2")]
    uow.results.periods[("c9", "2026-Q2")] = dataclasses.replace(stored, months_counted=stored.months_counted + 1)
    uow.emitted.clear()
    await refresh_periods(uow, "c9", ["2026-05"])
    assert uow.results.periods[("c9", "2026-Q2")] == stored  # recomputed and stored again
    assert [e.data["period"] for e in uow.emitted if e.type == "score.cell.updated.v1"] == []
    uow.results.periods[("c9", "2026-Q2")] = dataclasses.replace(stored, rating="poor", score=0.0)
    await refresh_periods(uow, "c9", ["2026-05"])
    assert [e.data["period"] for e in uow.emitted if e.type == "score.cell.updated.v1"] == ["2026-Q2"]


def test_a_batch_is_applied_in_the_order_of_the_keys_its_handlers_lock() -> None:
    """Batches handled side by side take the subject locks in one global order (lock_order sorts a batch)."""
    member = fact(
        "member.upserted.v1",
        {"id": "k1", "full_name": "Nguyễn Văn Kiên", "cell_id": "c1", "status": "official", "role": "member"},
        time=at(3, 1),
    )
    events = [read_event(parse_envelope(json.dumps(raw))) for raw in (scheduled("m2"), member, scheduled("m1"))]
    assert sorted(lock_order(event) for event in events) == ["meeting:m1", "meeting:m2", "member:k1"]


def test_a_group_of_deliveries_keeps_each_locking_type_in_runs_and_the_locks_in_key_order() -> None:
    """batch_order: the facts whose handlers lock come first, in lock_order; those only noted for write_pending
    (documents, rosters, minutes ...) after them, so they no longer cut a meeting.scheduled.v1 run into runs of one."""
    roster = fact("attendance.recorded.v1", {"meeting_id": "m1", "records": []}, time=at(3, 2))
    member = fact(
        "member.upserted.v1",
        {"id": "k1", "full_name": "Nguyễn Văn Kiên", "cell_id": "c1", "status": "official", "role": "member"},
        time=at(3, 1),
    )
    raws = (scheduled("m2"), roster, member, scheduled("m1"))
    events = sorted((read_event(parse_envelope(json.dumps(raw))) for raw in raws), key=batch_order)
    assert [(event.type, lock_order(event)) for event in events] == [
        ("meeting.scheduled.v1", "meeting:m1"),
        ("meeting.scheduled.v1", "meeting:m2"),
        ("member.upserted.v1", "member:k1"),
        ("attendance.recorded.v1", "meeting:m1"),
    ]


async def test_a_score_stored_before_reason_codes_gets_them_at_its_next_scoring_without_being_republished(
    uow: FakeUnitOfWork,
) -> None:
    await apply(uow, scheduled())
    stored = uow.results.scores["m1"]
    assert all(line["parts"] for line in stored["criteria"])
    stored["criteria"] = [{k: v for k, v in line.items() if k != "parts"} for line in stored["criteria"]]
    uow.emitted.clear()
    await rescore_cell(uow, "c1", only=["m1"])  # the next scoring of the meeting: nothing published changes
    assert all(line["parts"] for line in uow.results.scores["m1"]["criteria"])
    assert "score.meeting.updated.v1" not in [event.type for event in uow.emitted]


async def test_the_doubles_order_facts_of_one_microsecond_by_their_nanoseconds(uow: FakeUnitOfWork) -> None:
    # The database orders snapshots by (time, ns, id); the double must too, or handler tests pass on a wrong order.
    later = scheduled("m1", starts_at=at(3, 5).isoformat()) | {"id": "a", "time": "2026-03-01T12:00:00.000000200Z"}
    earlier = scheduled("m1", starts_at=at(3, 6).isoformat()) | {"id": "b", "time": "2026-03-01T12:00:00.000000100Z"}
    await apply(uow, later)
    await apply(uow, earlier)  # 100 ns earlier: stale though its id sorts after
    assert await uow.facts.meeting_position("m1") == ("c1", at(3, 5))


async def test_an_integrations_move_to_the_moment_of_the_notice_scores_the_meeting_as_not_notified(
    uow: FakeUnitOfWork,
) -> None:
    """Meetings takes an integration's move to a start at or before the notice (a secretary's is refused,
    moved_before_notice): the start in force is then not after the notice, and `preparation.notified` ("before" is
    strict, DOMAIN.md) falls to 0; a later move puts it back."""

    def notified() -> Any:
        return next(x for x in uow.results.scores["m1"]["criteria"] if x["code"] == "preparation.notified")["points"]

    await apply(uow, scheduled())  # notified at its time, 1 March 19:00, for the 5th
    assert notified() == 1
    await apply(
        uow, fact("meeting.rescheduled.v1", {"meeting_id": "m1", "starts_at": at(3, 1).isoformat()}, time=at(3, 2))
    )
    assert notified() == 0
    await apply(
        uow, fact("meeting.rescheduled.v1", {"meeting_id": "m1", "starts_at": at(3, 6).isoformat()}, time=at(3, 3))
    )
    assert notified() == 1
