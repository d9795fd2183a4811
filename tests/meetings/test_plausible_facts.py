"""Impossible dates and durations are refused naming the field (CONTRACT.md: "impossible values ... are rejected").

A user trial's integration had all of these accepted by POST /v1/events and its dry run: minutes lasting six months
(scored 5/5 for duration, and the final documents' deadline, counted from the end, pushed half a year back), minutes
dated six years before their meeting, 5000 minutes of self-criticism in a 90-minute meeting, a task done in 2199 or
before the meeting that assigned it (counted as done on time towards `results`), minutes adopted in 2030 by an event
of 2026, and a member leaving the roll in 2199. Each case sends the impossible event beside a plausible one in one
batch: the first is rejected with its field and code, the second still accepted.
"""

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from services.evaluation.domain.facts import TaskOutcome
from services.gateway.web.exports import task_on_time
from services.meetings import domain, handlers
from shared.contracts.registry import read_event
from shared.envelope import InvalidEvent, parse_envelope
from shared.periods import VIETNAM_TZ
from shared.refusals import RefusalCode
from tests.meetings import events as ev
from tests.support.ids import random_id

MEETING = datetime(2026, 12, 1, 8, 0, tzinfo=VIETNAM_TZ)
"""The trial's meeting, and the `time` of the trial's events."""


async def cell_with_meeting(
    uow_factory: Any, *, starts_at: datetime = MEETING, minutes: bool = True
) -> tuple[str, str, str]:
    """A fresh cell, a member, and a regular meeting at `starts_at` (with minutes assigning task t1 and a roster of the
    member present, when `minutes`): (cell, member, meeting)."""
    cell, member, meeting = random_id("cell"), random_id("mem"), random_id("mtg")
    before = MEETING - timedelta(days=30)
    batch = [
        ev.unit(cell, time=before),
        ev.member(member, cell, time=before),
        ev.scheduled(meeting, cell, starts_at=starts_at, time=before),
    ]
    if minutes:
        task = {"task_id": "t1", "assignee_id": member, "description": "Thu đảng phí quý", "due_on": "2026-12-21"}
        batch.append(ev.minutes(meeting, chair_id=member, started_at=starts_at, tasks=[task], time=MEETING))
        batch.append(ev.attendance(meeting, {member: "present"}, time=MEETING))  # adoption waits for a roster
    results = await handlers.ingest_batch(batch, uow_factory, route="test")
    assert [result.outcome for result in results] == ["accepted"] * len(batch), [r.reason for r in results]
    return cell, member, meeting


def judged(results: list[Any]) -> list[tuple[str, str | None, str | None]]:
    """(outcome, field, refusal code) of each result."""
    return [(r.outcome, r.field, r.refusal and str(r.refusal.code)) for r in results]


def minutes_of(meeting: str, member: str, *, started_at: datetime, ended_at: datetime, **data: Any) -> dict[str, Any]:
    """minutes.submitted.v1 from `started_at` to `ended_at`, sent at MEETING."""
    event = ev.minutes(meeting, chair_id=member, started_at=started_at, time=MEETING, data=data)
    event["data"]["ended_at"] = ended_at.isoformat()
    return event


@pytest.mark.parametrize("dry_run", [False, True])
async def test_minutes_lasting_six_months_are_refused_naming_the_end(uow_factory: Any, dry_run: bool) -> None:
    _, member, meeting = await cell_with_meeting(uow_factory, minutes=False)
    six_months = minutes_of(
        meeting,
        member,
        started_at=datetime.fromisoformat("2026-12-01T08:00:00+07:00"),
        ended_at=datetime.fromisoformat("2027-06-01T08:00:00+07:00"),
    )
    two_hours = minutes_of(meeting, member, started_at=MEETING, ended_at=MEETING + timedelta(minutes=120))
    judge = handlers.dry_run if dry_run else handlers.ingest_batch
    results = await judge([six_months, two_hours], uow_factory, route="test")
    assert judged(results) == [
        ("rejected", "data.ended_at", RefusalCode.MEETING_TOO_LONG.value),
        ("accepted", None, None),
    ]
    assert results[0].reason is not None and results[0].reason.startswith("data.ended_at: 2027-06-01T08:00:00+07:00 is")
    assert "262080 minutes" in results[0].reason and "at most 24 hours" in results[0].reason


async def test_a_meeting_of_a_whole_day_is_still_plausible(uow_factory: Any) -> None:
    _, member, meeting = await cell_with_meeting(uow_factory, minutes=False)
    day = minutes_of(meeting, member, started_at=MEETING, ended_at=MEETING + timedelta(hours=24))
    results = await handlers.ingest_batch([day], uow_factory, route="test")
    assert judged(results) == [("accepted", None, None)]


async def test_minutes_six_years_before_their_meeting_are_refused_naming_the_start(uow_factory: Any) -> None:
    scheduled = datetime.fromisoformat("2026-12-20T08:00:00+07:00")
    _, member, meeting = await cell_with_meeting(uow_factory, starts_at=scheduled, minutes=False)
    long_ago = datetime.fromisoformat("2020-12-20T08:00:00+07:00")
    # the integration sends the facts ahead of the meeting (`time` 2026-12-01): legitimate, not what is judged
    wrong = minutes_of(meeting, member, started_at=long_ago, ended_at=long_ago + timedelta(minutes=100))
    late_start = scheduled + timedelta(minutes=40)
    right = minutes_of(meeting, member, started_at=late_start, ended_at=late_start + timedelta(minutes=100))
    results = await handlers.ingest_batch([wrong, right], uow_factory, route="test")
    assert judged(results) == [
        ("rejected", "data.started_at", RefusalCode.MINUTES_FAR_FROM_SCHEDULE.value),
        ("accepted", None, None),
    ]
    assert results[0].reason is not None and results[0].reason.startswith("data.started_at: 2020-12-20T08:00:00+07:00")


async def test_more_self_criticism_than_the_meeting_lasted_is_refused(uow_factory: Any) -> None:
    _, member, meeting = await cell_with_meeting(uow_factory, minutes=False)
    ended = MEETING + timedelta(minutes=90)
    absurd = minutes_of(meeting, member, started_at=MEETING, ended_at=ended, self_criticism_minutes=5000)
    plausible = minutes_of(meeting, member, started_at=MEETING, ended_at=ended, self_criticism_minutes=20)
    results = await handlers.ingest_batch([absurd, plausible], uow_factory, route="test")
    assert judged(results) == [
        ("rejected", "data.self_criticism_minutes", RefusalCode.SELF_CRITICISM_OVER_MEETING.value),
        ("accepted", None, None),
    ]
    assert results[0].reason is not None and results[0].reason.startswith("data.self_criticism_minutes: 5000 ")


def completion(meeting: str, completed_on: str) -> dict[str, Any]:
    """task.completed.v1 of task t1 of `meeting`, sent at MEETING."""
    data = {"task_id": "t1", "meeting_id": meeting, "completed_on": completed_on}
    return ev.raw_event("task.completed.v1", data, time=MEETING)


@pytest.mark.parametrize(
    ("completed_on", "code"),
    [("2199-12-31", RefusalCode.BEYOND_HORIZON), ("2020-01-01", RefusalCode.COMPLETED_BEFORE_MEETING)],
)
async def test_a_task_done_in_2199_or_before_its_meeting_is_refused_naming_the_day(
    uow_factory: Any, completed_on: str, code: RefusalCode
) -> None:
    _, _, meeting = await cell_with_meeting(uow_factory)
    results = await handlers.ingest_batch(
        [completion(meeting, completed_on), completion(meeting, "2026-12-01")], uow_factory, route="test"
    )
    assert judged(results) == [("rejected", "data.completed_on", code.value), ("accepted", None, None)]
    assert results[0].reason is not None and results[0].reason.startswith(f"data.completed_on: {completed_on} is")


def test_a_completion_dated_before_its_meeting_never_counts_as_on_time() -> None:
    # one stored before meetings refused it still gives no `results` points, in the score and the yearly evidence
    assigned, due = date(2026, 12, 1), date(2026, 12, 21)
    assert not TaskOutcome(due, date(2020, 1, 1), assigned_on=assigned).on_time
    assert TaskOutcome(due, assigned, assigned_on=assigned).on_time
    assert TaskOutcome(due, date(2020, 1, 1)).on_time  # the meeting unknown: judged on the due date alone
    assert not task_on_time({"completed_on": "2020-01-01", "due_on": "2026-12-21"}, assigned_on="2026-12-01")
    assert task_on_time({"completed_on": "2026-12-21", "due_on": "2026-12-21"}, assigned_on="2026-12-01")


async def test_minutes_adopted_in_2030_by_an_event_of_2026_are_refused(uow_factory: Any) -> None:
    _, _, meeting = await cell_with_meeting(uow_factory)
    data = {"meeting_id": meeting, "approved_at": "2030-01-01T08:00:00+07:00"}
    far = ev.raw_event("minutes.approved.v1", data, time=MEETING)
    near = ev.raw_event("minutes.approved.v1", data | {"approved_at": "2026-12-01T10:00:00+07:00"}, time=MEETING)
    results = await handlers.ingest_batch([far, near], uow_factory, route="test")
    assert judged(results) == [
        ("rejected", "data.approved_at", RefusalCode.BEYOND_HORIZON.value),
        ("accepted", None, None),
    ]
    assert results[0].reason is not None and "more than 2 years after the event's own time" in results[0].reason


def removal(member: str, effective_on: str) -> dict[str, str]:
    """The data of member.removed.v1: `member` transferred from `effective_on`."""
    return {"id": member, "reason": "transferred", "effective_on": effective_on}


async def test_a_removal_effective_in_2199_is_refused_naming_the_day(uow_factory: Any) -> None:
    cell, member, _ = await cell_with_meeting(uow_factory, minutes=False)
    other = random_id("mem")
    await handlers.ingest_batch([ev.member(other, cell, time=MEETING - timedelta(days=30))], uow_factory, route="test")
    far = ev.raw_event("member.removed.v1", removal(member, "2199-01-01"), time=MEETING)
    near = ev.raw_event("member.removed.v1", removal(other, "2026-12-31"), time=MEETING)
    results = await handlers.ingest_batch([far, near], uow_factory, route="test")
    assert judged(results) == [
        ("rejected", "data.effective_on", RefusalCode.BEYOND_HORIZON.value),
        ("accepted", None, None),
    ]


async def test_a_meeting_in_1800_is_refused_by_the_meeting_rule_not_the_generic_bound(uow_factory: Any) -> None:
    cell, _, _ = await cell_with_meeting(uow_factory, minutes=False)
    ancient = ev.scheduled(random_id("mtg"), cell, starts_at=datetime(1800, 1, 1, 19, 30, tzinfo=VIETNAM_TZ))
    fine = ev.scheduled(random_id("mtg"), cell, starts_at=MEETING + timedelta(days=30), time=MEETING)
    results = await handlers.ingest_batch([ancient, fine], uow_factory, route="test")
    assert judged(results) == [("rejected", "data.starts_at", None), ("accepted", None, None)]
    assert results[0].reason == "data.starts_at: 1800-01-01T19:30:00+07:00 is before 2000-01-01"


def read_at(event_type: str, data: dict[str, Any]) -> Any:
    """The event of `event_type` with `data`, sent at MEETING, read as meetings reads it."""
    return read_event(parse_envelope(ev.raw_event(event_type, data, time=MEETING)))


@pytest.mark.parametrize(
    ("event_type", "data", "field"),
    [
        (
            "documents.published.v1",
            {
                "meeting_id": "m1",
                "published_at": "2199-01-01T08:00:00+07:00",
                "items": [{"title": "x", "kind": "minutes"}],
            },
            "data.published_at",
        ),
        (
            "meeting.scheduled.v1",
            {
                "meeting_id": "m1",
                "cell_id": "c1",
                "kind": "regular",
                "starts_at": "2026-12-20T08:00:00+07:00",
                "notified_at": "2199-01-01T08:00:00+07:00",
                "location": "x",
                "agenda": [],
            },
            "data.notified_at",
        ),
        (
            "member.upserted.v1",
            {"id": "p1", "full_name": "Lê Văn Ba", "cell_id": "c1", "status": "official", "admitted_on": "2199-01-01"},
            "data.admitted_on",
        ),
    ],
)
def test_every_reported_date_beyond_two_years_of_the_events_time_is_refused(
    event_type: str, data: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidEvent) as caught:
        domain.check_plausible_moments(read_at(event_type, data), now=MEETING)
    assert caught.value.field == field and caught.value.reason.startswith(f"{field}: 2199-01-01")
    assert caught.value.refusal is not None and caught.value.refusal.code is RefusalCode.BEYOND_HORIZON
    within = {
        key: value.replace("2199-01-01", "2028-11-30") if isinstance(value, str) else value
        for key, value in data.items()
    }
    domain.check_plausible_moments(read_at(event_type, within), now=MEETING)
