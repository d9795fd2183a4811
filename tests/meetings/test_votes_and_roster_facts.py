"""Votes, rosters and minutes that contradict themselves or each other are refused naming the field.

A user trial had all of these accepted: minutes voted down (2 for, 9 against) recorded as adopted and scored 2/2,
50 votes in a cell of 14 and resolutions of 40 votes with 11 present, a secretary's minutes dated tomorrow, a task
due a month before the meeting that assigned it, a present member carrying an absence reason, an absent recorder
and an excused speaker, and a secretary's edit of minutes the cell had already adopted. The adopted minutes sent
again unchanged (a resent form, a client's retry) are no change, taken without a refusal.
"""

from datetime import datetime, timedelta
from typing import Any

import pytest

from services.meetings import handlers
from shared.envelope import GATEWAY_SOURCE, now
from shared.periods import VIETNAM_TZ
from shared.refusals import RefusalCode
from tests.meetings import events as ev
from tests.support.ids import random_id

MEETING = datetime(2026, 11, 2, 8, 0, tzinfo=VIETNAM_TZ)
"""The meeting of the integration cases, and the `time` of their events."""


def judged(results: list[Any]) -> list[tuple[str, str | None, str | None]]:
    """(outcome, field, refusal code) of each result."""
    return [(r.outcome, r.field, r.refusal and str(r.refusal.code)) for r in results]


async def accept(uow_factory: Any, batch: list[dict[str, Any]]) -> None:
    """Ingest `batch`, every event accepted."""
    results = await handlers.ingest_batch(batch, uow_factory, route="test")
    assert [result.outcome for result in results] == ["accepted"] * len(batch), [r.reason for r in results]


async def cell_of_three(
    uow_factory: Any, *, starts_at: datetime = MEETING, present: bool = False
) -> tuple[list[str], str]:
    """A fresh cell of three members and a regular meeting at `starts_at`, with an integration's roster of all three
    present when `present` (minutes are adopted once a roster is known): (members, meeting)."""
    cell, meeting = random_id("cell"), random_id("mtg")
    members = [random_id("mem") for _ in range(3)]
    before = starts_at - timedelta(days=30)
    roster = [ev.attendance(meeting, dict.fromkeys(members, "present"), time=starts_at)] if present else []
    await accept(
        uow_factory,
        [ev.unit(cell, time=before)]
        + [ev.member(member, cell, time=before) for member in members]
        + [ev.scheduled(meeting, cell, starts_at=starts_at, time=before)]
        + roster,
    )
    return members, meeting


def approval(meeting: str, votes_for: int | None, votes_against: int | None, **kw: Any) -> dict[str, Any]:
    """minutes.approved.v1 at the end of the meeting, with the votes given (None: left out)."""
    data: dict[str, Any] = {"meeting_id": meeting, "approved_at": (MEETING + timedelta(hours=2)).isoformat()}
    data |= {
        key: value for key, value in (("votes_for", votes_for), ("votes_against", votes_against)) if value is not None
    }
    return ev.raw_event("minutes.approved.v1", data, time=kw.pop("time", MEETING + timedelta(hours=2)), **kw)


def resolution(votes_for: int, votes_against: int = 0, abstentions: int = 0) -> dict[str, Any]:
    """A resolution of the minutes with its votes."""
    return {
        "text": "Nghị quyết tháng",
        "votes_for": votes_for,
        "votes_against": votes_against,
        "abstentions": abstentions,
    }


@pytest.mark.parametrize("dry_run", [False, True])
async def test_minutes_voted_down_are_not_recorded_as_adopted(uow_factory: Any, dry_run: bool) -> None:
    members, meeting = await cell_of_three(uow_factory, present=True)
    await accept(uow_factory, [ev.minutes(meeting, chair_id=members[0], started_at=MEETING, time=MEETING)])
    judge = handlers.dry_run if dry_run else handlers.ingest_batch
    results = await judge(
        [approval(meeting, 2, 9), approval(meeting, 5, 5), approval(meeting, 0, None), approval(meeting, 6, 5)],
        uow_factory,
        route="test",
    )
    refused = ("rejected", "data.votes_for", RefusalCode.MINUTES_NOT_ADOPTED.value)
    assert judged(results) == [refused, refused, refused, ("accepted", None, None)]
    assert results[0].reason is not None and "2 for and 9 against" in results[0].reason


async def test_an_integrations_adoption_without_votes_is_taken_as_the_cells_word(uow_factory: Any) -> None:
    """CONTRACT.md makes the votes of minutes.approved.v1 optional: an integration's adoption without them is taken."""
    members, meeting = await cell_of_three(uow_factory, present=True)
    await accept(uow_factory, [ev.minutes(meeting, chair_id=members[0], started_at=MEETING, time=MEETING)])
    await accept(uow_factory, [approval(meeting, None, None)])


@pytest.mark.parametrize(("votes_against", "code"), [(None, None), (0, RefusalCode.MINUTES_NOT_ADOPTED.value)])
async def test_a_secretarys_adoption_without_votes_for_is_refused_naming_them(
    uow_factory: Any, votes_against: int | None, code: str | None
) -> None:
    """A trial's "Thông qua biên bản" with both vote boxes empty was taken and scored full: the minutes are adopted
    by a vote (DOMAIN.md "Meetings"), so a secretary's adoption names its votes for (with votes against and none for,
    the majority rule refuses it first); votes against left out are 0."""
    members, meeting = await cell_of_three(uow_factory, present=True)
    await accept(uow_factory, [secretarys(meeting, members[0])])
    results = await handlers.ingest_batch(
        [approval(meeting, None, votes_against, source=GATEWAY_SOURCE, time=AFTER)], uow_factory, route="http"
    )
    assert judged(results) == [("rejected", "data.votes_for", code)]
    await accept(uow_factory, [approval(meeting, 3, None, source=GATEWAY_SOURCE, time=AFTER)])


def secretarys(meeting: str, chair: str, **kw: Any) -> dict[str, Any]:
    """minutes.submitted.v1 of the meeting at MEETING sent through the gateway three hours after it began."""
    return ev.minutes(meeting, chair_id=chair, started_at=MEETING, source=GATEWAY_SOURCE, time=AFTER, **kw)


AFTER = MEETING + timedelta(hours=3)


async def test_a_secretarys_votes_above_the_members_present_are_refused_naming_the_count(uow_factory: Any) -> None:
    members, meeting = await cell_of_three(uow_factory)
    roster = {members[0]: "present", members[1]: "present", members[2]: "excused"}
    await accept(uow_factory, [ev.attendance(meeting, roster, time=MEETING)])
    chair = members[0]
    too_many = [
        secretarys(meeting, chair, data={"resolutions": [resolution(40)]}),
        secretarys(meeting, chair, data={"resolutions": [resolution(2), resolution(1, 1, 1)]}),
        secretarys(meeting, chair, data={"resolutions": [resolution(2)]}),
    ]
    results = await handlers.ingest_batch(too_many, uow_factory, route="http")
    assert judged(results) == [
        ("rejected", "data.resolutions.0.votes_for", RefusalCode.VOTES_OVER_PRESENT.value),
        ("rejected", "data.resolutions.1.abstentions", RefusalCode.VOTES_OVER_PRESENT.value),
        ("accepted", None, None),
    ]
    assert results[0].reason is not None and "40 votes with 2 members present" in results[0].reason
    adoptions = [approval(meeting, votes, against, source=GATEWAY_SOURCE) for votes, against in ((50, None), (2, 1))]
    adoptions.append(approval(meeting, 2, 0, source=GATEWAY_SOURCE))
    results = await handlers.ingest_batch(adoptions, uow_factory, route="http")
    assert judged(results) == [
        ("rejected", "data.votes_for", RefusalCode.VOTES_OVER_PRESENT.value),
        ("rejected", "data.votes_against", RefusalCode.VOTES_OVER_PRESENT.value),
        ("accepted", None, None),
    ]


async def test_without_a_roster_a_secretarys_votes_are_judged_against_the_cells_members(uow_factory: Any) -> None:
    """A user's minutes with `votes_for: 99999` in a cell of 5 were accepted before any roster: a secretary's votes
    beyond the cell's members at the meeting's start are refused naming the count (VOTES_OVER_MEMBERS), votes within
    them taken (a roster recorded later judges them again from its side)."""
    members, meeting = await cell_of_three(uow_factory)
    results = await handlers.ingest_batch(
        [
            secretarys(meeting, members[0], data={"resolutions": [resolution(99999)]}),
            secretarys(meeting, members[0], data={"resolutions": [resolution(3), resolution(2, 1, 1)]}),
            secretarys(meeting, members[0], data={"resolutions": [resolution(2, 1)]}),
        ],
        uow_factory,
        route="http",
    )
    assert judged(results) == [
        ("rejected", "data.resolutions.0.votes_for", RefusalCode.VOTES_OVER_MEMBERS.value),
        ("rejected", "data.resolutions.1.abstentions", RefusalCode.VOTES_OVER_MEMBERS.value),
        ("accepted", None, None),
    ]
    assert results[0].reason is not None
    assert "99999 votes with 3 members in the cell at the meeting's start" in results[0].reason


async def test_an_integrations_votes_are_not_judged_against_a_roster_or_the_members(uow_factory: Any) -> None:
    """An integration's facts are stored whatever arrived first (judged against a roster or members that may come
    before or after them, the stored state would depend on the arrival order); evaluation scores such votes as no
    vote (`closing.resolution_adopted`)."""
    members, meeting = await cell_of_three(uow_factory)
    over = {"resolutions": [resolution(40)]}
    first = ev.minutes(meeting, chair_id=members[0], started_at=MEETING, time=AFTER - timedelta(minutes=1), data=over)
    await accept(uow_factory, [first])
    roster = {members[0]: "present", members[1]: "absent", members[2]: "excused"}
    feed = ev.minutes(meeting, chair_id=members[1], started_at=MEETING, time=AFTER, speakers=[members[2]], data=over)
    await accept(uow_factory, [ev.attendance(meeting, roster, time=MEETING), feed, approval(meeting, 50, 0)])


async def test_a_task_due_before_the_meeting_that_assigns_it_is_refused(uow_factory: Any) -> None:
    members, meeting = await cell_of_three(uow_factory)

    def task(due_on: str) -> dict[str, str]:
        return {"task_id": "t1", "assignee_id": members[1], "description": "Thu đảng phí quý", "due_on": due_on}

    results = await handlers.ingest_batch(
        [
            ev.minutes(meeting, chair_id=members[0], started_at=MEETING, time=MEETING, tasks=[task("2026-11-01")]),
            ev.minutes(meeting, chair_id=members[0], started_at=MEETING, time=MEETING, tasks=[task("2026-11-02")]),
        ],
        uow_factory,
        route="test",
    )
    assert judged(results) == [
        ("rejected", "data.tasks.0.due_on", RefusalCode.TASK_DUE_BEFORE_MEETING.value),
        ("accepted", None, None),
    ]


async def test_a_secretarys_present_member_with_an_absence_reason_is_refused_naming_the_line(uow_factory: Any) -> None:
    """On the form a present line with a reason is a wrong status or a misplaced reason; an integration's present line
    may carry a note (a check-in device's "đến muộn"), kept and never counted."""
    members, meeting = await cell_of_three(uow_factory)
    rows = [
        {"member_id": members[0], "status": "present"},
        {"member_id": members[1], "status": "present", "reason": "Đi công tác"},
    ]
    roster = {"meeting_id": meeting, "records": rows}
    wrong = ev.raw_event("attendance.recorded.v1", roster, source=GATEWAY_SOURCE, time=AFTER)
    # the whole cell, as a secretary's roster lists it (meetings refuses a partial one: roster_incomplete)
    blank = [{"member_id": members[0], "status": "present", "reason": "\u00a0\u200b"}]
    blank += [{"member_id": member, "status": "present"} for member in members[1:]]
    blank_reason = ev.raw_event(
        "attendance.recorded.v1", {"meeting_id": meeting, "records": blank}, source=GATEWAY_SOURCE, time=AFTER
    )
    noted = ev.raw_event("attendance.recorded.v1", roster, time=MEETING)  # an integration's
    results = await handlers.ingest_batch([wrong, blank_reason, noted], uow_factory, route="test")
    assert judged(results) == [
        ("rejected", "data.records.1.reason", RefusalCode.REASON_FOR_PRESENT.value),
        ("accepted", None, None),  # a blank reason gives no reason
        ("accepted", None, None),
    ]


async def test_a_secretarys_absent_recorder_or_speaker_is_refused_when_the_roster_says_so(uow_factory: Any) -> None:
    members, meeting = await cell_of_three(uow_factory)
    roster = {members[0]: "present", members[1]: "absent", members[2]: "excused"}
    await accept(uow_factory, [ev.attendance(meeting, roster, time=MEETING)])
    chair = members[0]
    one_vote = {"resolutions": [resolution(1)]}  # one member present
    absent_recorder = secretarys(meeting, chair, data=one_vote)
    absent_recorder["data"]["recorder_id"] = members[1]
    excused_speaker = secretarys(meeting, chair, speakers=[chair, members[2]], data=one_vote)
    absent_chair = secretarys(meeting, members[1], data=one_vote)
    absent_chair["data"]["recorder_id"] = chair
    present = secretarys(meeting, chair, data=one_vote)
    results = await handlers.ingest_batch(
        [absent_recorder, excused_speaker, absent_chair, present], uow_factory, route="http"
    )
    code = RefusalCode.ABSENT_AT_MEETING.value
    assert judged(results) == [
        ("rejected", "data.recorder_id", code),
        ("rejected", "data.speakers.1", code),
        ("rejected", "data.chair_id", code),
        ("accepted", None, None),
    ]


async def test_a_secretarys_minutes_dated_after_their_sending_are_refused(uow_factory: Any) -> None:
    sent = now().replace(microsecond=0)
    members, meeting = await cell_of_three(uow_factory, starts_at=sent - timedelta(hours=3))

    def minutes(started_at: datetime, source: str) -> dict[str, Any]:
        return ev.minutes(meeting, chair_id=members[0], started_at=started_at, source=source, time=sent)

    tomorrow = sent + timedelta(days=1)
    results = await handlers.ingest_batch(
        [
            minutes(tomorrow, GATEWAY_SOURCE),
            minutes(sent - timedelta(minutes=90), GATEWAY_SOURCE),  # ends 10 minutes from now: within the skew
            minutes(tomorrow, "urn:test:feed"),  # an integration's minutes are its own facts
            minutes(sent - timedelta(hours=3), GATEWAY_SOURCE),
        ],
        uow_factory,
        route="http",
    )
    code = RefusalCode.MINUTES_IN_THE_FUTURE.value
    assert judged(results) == [
        ("rejected", "data.started_at", code),
        ("accepted", None, None),
        ("accepted", None, None),
        ("accepted", None, None),
    ]
    late_end = minutes(sent - timedelta(minutes=60), GATEWAY_SOURCE)  # ends 40 minutes from now
    results = await handlers.ingest_batch([late_end], uow_factory, route="http")
    assert judged(results) == [("rejected", "data.ended_at", code)]


async def test_adopted_minutes_are_not_changed_by_a_secretary_but_taken_from_an_integration(uow_factory: Any) -> None:
    sent = now().replace(microsecond=0)
    start = sent - timedelta(hours=3)
    members, meeting = await cell_of_three(uow_factory, starts_at=start, present=True)

    def minutes(content: str, source: str, time: datetime) -> dict[str, Any]:
        return ev.minutes(
            meeting, chair_id=members[0], started_at=start, source=source, time=time, data={"content": content}
        )

    adopted = ev.raw_event(
        "minutes.approved.v1",
        {"meeting_id": meeting, "approved_at": (start + timedelta(hours=2)).isoformat(), "votes_for": 3},
        source=GATEWAY_SOURCE,
        time=sent - timedelta(minutes=30),
    )
    edit_before = minutes("Bản sửa trước khi thông qua", GATEWAY_SOURCE, sent - timedelta(minutes=50))
    await accept(uow_factory, [minutes("Bản đầu", GATEWAY_SOURCE, sent - timedelta(hours=1)), edit_before, adopted])
    results = await handlers.ingest_batch(
        [
            minutes("Bản sửa sau khi thông qua", GATEWAY_SOURCE, sent),
            minutes("Bản của hệ thống", "urn:test:feed", sent),
        ],
        uow_factory,
        route="http",
    )
    assert judged(results) == [
        ("rejected", "data.meeting_id", RefusalCode.MINUTES_ADOPTED.value),
        ("accepted", None, None),
    ]


async def test_adopted_minutes_sent_again_unchanged_by_a_secretary_are_a_no_op(uow_factory: Any) -> None:
    sent = now().replace(microsecond=0)
    start = sent - timedelta(hours=3)
    members, meeting = await cell_of_three(uow_factory, starts_at=start, present=True)
    tasks = [
        {"task_id": f"t{index}", "assignee_id": members[index], "description": f"Việc {index}", "due_on": due}
        for index, due in ((1, f"{start + timedelta(days=7):%Y-%m-%d}"), (2, f"{start + timedelta(days=30):%Y-%m-%d}"))
    ]

    def minutes(content: str, time: datetime, *, order: int = 1, local: bool = False) -> dict[str, Any]:
        started = start.astimezone(VIETNAM_TZ) if local else start
        data = {"content": content, "conclusions": "Kết luận", "self_criticism_minutes": 15}
        return ev.minutes(
            meeting,
            chair_id=members[0],
            started_at=started,
            tasks=tasks[::order],
            source=GATEWAY_SOURCE,
            time=time,
            data=data,
        )

    adopted = ev.raw_event(
        "minutes.approved.v1",
        {"meeting_id": meeting, "approved_at": (start + timedelta(hours=2)).isoformat(), "votes_for": 1},
        source=GATEWAY_SOURCE,
        time=sent - timedelta(minutes=30),
    )
    await accept(uow_factory, [minutes("Bản đã thông qua", sent - timedelta(hours=1)), adopted])
    results = await handlers.ingest_batch(
        [
            # the same minutes: their start in Vietnam's time, their tasks in another order
            minutes("Bản đã thông qua", sent, order=-1, local=True),
            minutes("Bản đã thông qua, sửa lại", sent + timedelta(seconds=1)),
        ],
        uow_factory,
        route="http",
    )
    assert judged(results) == [
        ("accepted", None, None),
        ("rejected", "data.meeting_id", RefusalCode.MINUTES_ADOPTED.value),
    ]
    async with uow_factory() as uow:
        stored = await uow.meetings.stored_minutes(meeting)
        state = await uow.meetings.get_state(meeting)
    assert stored is not None and stored["content"] == "Bản đã thông qua"
    assert state is not None and state.minutes_version is not None
    assert state.minutes_version[0] == sent - timedelta(hours=1)  # not rewritten by the no-op


async def test_adopted_minutes_are_adopted_once_by_a_secretary_and_again_by_an_integration(uow_factory: Any) -> None:
    # a trial's second adoption of adopted minutes was accepted and moved approved_at from 09:03:11 to 09:03:23
    sent = now().replace(microsecond=0)
    start = sent - timedelta(hours=3)
    members, meeting = await cell_of_three(uow_factory, starts_at=start, present=True)

    def adoption(votes_for: int, seconds: int, *, source: str = GATEWAY_SOURCE) -> dict[str, Any]:
        data: dict[str, Any] = {"meeting_id": meeting, "approved_at": (sent + timedelta(seconds=seconds)).isoformat()}
        data |= {"votes_for": votes_for, "votes_against": 0}
        return ev.raw_event("minutes.approved.v1", data, source=source, time=sent + timedelta(seconds=seconds))

    minutes = ev.minutes(
        meeting, chair_id=members[0], started_at=start, source=GATEWAY_SOURCE, time=sent - timedelta(minutes=30)
    )
    await accept(uow_factory, [minutes, adoption(3, 0)])
    results = await handlers.ingest_batch(
        # the very same adoption again under a new id; the same votes later (a tab opened before, or the API's
        # second adoption a trial was told was accepted, approved_at unmoved); then other votes
        [adoption(3, 0), adoption(3, 12), adoption(2, 13)],
        uow_factory,
        route="http",
    )
    assert judged(results) == [
        ("accepted", None, None),
        ("rejected", "data.approved_at", RefusalCode.MINUTES_ADOPTED.value),
        ("rejected", "data.meeting_id", RefusalCode.MINUTES_ADOPTED.value),
    ]
    async with uow_factory() as uow:
        state = await uow.meetings.get_state(meeting)
        assert await uow.meetings.stored_approval(meeting) == (sent, 3, 0)
    assert state is not None and state.approval_version is not None
    assert state.approval_version[0] == sent  # not moved by the no-op
    # an integration's later snapshot still wins (CONTRACT.md)
    results = await handlers.ingest_batch([adoption(2, 20, source=ev.SOURCE)], uow_factory, route="test")
    assert judged(results) == [("accepted", None, None)]
    async with uow_factory() as uow:
        assert await uow.meetings.stored_approval(meeting) == (sent + timedelta(seconds=20), 2, 0)


async def test_a_secretarys_unexcused_absence_with_a_reason_is_refused_naming_the_line(uow_factory: Any) -> None:
    """A trial's form took a 600-character reason for a member marked absent without leave, and the minutes printed
    "Vắng không lý do (…)": a reason goes with an excused absence only (DOMAIN.md). An integration's line is taken as
    sent (CONTRACT.md makes `reason` optional on every line)."""
    members, meeting = await cell_of_three(uow_factory)
    rows = [{"member_id": member, "status": "present"} for member in members[:2]]
    rows.append({"member_id": members[2], "status": "absent", "reason": "Đi làm ăn xa"})
    roster = {"meeting_id": meeting, "records": rows}
    wrong = ev.raw_event("attendance.recorded.v1", roster, source=GATEWAY_SOURCE, time=AFTER)
    bare = [*rows[:2], {"member_id": members[2], "status": "absent"}]
    unexcused = ev.raw_event(
        "attendance.recorded.v1", {"meeting_id": meeting, "records": bare}, source=GATEWAY_SOURCE, time=AFTER
    )
    integration = ev.raw_event("attendance.recorded.v1", roster, time=MEETING)
    results = await handlers.ingest_batch([wrong, unexcused, integration], uow_factory, route="test")
    assert judged(results) == [
        ("rejected", "data.records.2.reason", RefusalCode.REASON_FOR_UNEXCUSED.value),
        ("accepted", None, None),
        ("accepted", None, None),
    ]
