"""Every alert rule fires for its case and stays silent just inside its threshold (pure, controllable clock)."""

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from services.notifications.domain import rules
from services.notifications.domain import settings as r
from services.notifications.domain.model import (
    AnnouncedFigures,
    CellContext,
    Meeting,
    Member,
    Monitor,
    Unit,
)
from services.notifications.domain.model import (
    person_recipient as person,
)
from services.notifications.domain.settings import DEFAULT_CONFIG, RuleOverride, resolve_config
from services.notifications.templates import render
from shared.periods import VIETNAM_TZ

NOW = datetime(2026, 11, 10, 9, 0, tzinfo=VIETNAM_TZ)
COMMITTEE = Unit(
    id="ward", name="Đảng ủy phường An Hòa", kind="committee", parent_id=None, contact_emails=("dangu@anhoa.vn",)
)
CELL = Unit(
    id="cell",
    name="Chi bộ khu phố 3",
    kind="cell",
    parent_id="ward",
    known_since=datetime(2026, 1, 1, tzinfo=VIETNAM_TZ),
)


def member(member_id: str, role: str = "member", **extra: Any) -> Member:
    """A member of the test cell."""
    return Member(
        id=member_id,
        full_name=f"Nguyễn Văn {member_id}",
        cell_id="cell",
        status=str(extra.pop("status", "official")),
        role=role,
        email=f"{member_id}@x.vn",
        **extra,
    )


MEMBERS = (
    member("bt", "secretary"),
    member("pbt", "deputy_secretary"),
    member("a"),
    member("b", exempt=True),
    member("c", removed=True),
)
MONITOR = Monitor(
    person_id="mon", cell_id="cell", committee_id="ward", full_name="Trần Thị Mai", email="mai@x.vn", yearly_quota=6
)
CTX = CellContext(cell=CELL, superior=COMMITTEE, members=MEMBERS, monitors=(MONITOR,))


def meeting(starts_at: datetime = NOW + timedelta(days=2), **extra: object) -> Meeting:
    """A regular meeting of the test cell."""
    fields: dict = {"kind": "regular", "topic": None, "location": "Nhà văn hóa khu phố 3"} | extra
    return Meeting(meeting_id="m1", cell_id="cell", starts_at=starts_at, **fields)


def held_meeting(**extra: object) -> Meeting:
    """A regular meeting of the test cell held the day before NOW (its minutes in)."""
    return meeting(NOW - timedelta(days=1), minutes_submitted_at=NOW - timedelta(hours=20), **extra)


def recipients(alerts: list) -> dict[str, list[str]]:
    """Rule name → recipient ids."""
    return {alert.rule: [recipient.id for recipient in alert.recipients] for alert in alerts}


def test_notices_go_to_expected_members_and_the_monitor_only_for_meetings_ahead() -> None:
    alerts = rules.meeting_notice(r.MEETING_SCHEDULED, meeting=meeting(), ctx=CTX, config=DEFAULT_CONFIG, now=NOW)
    assert recipients(alerts) == {r.MEETING_SCHEDULED: ["bt", "pbt", "a", "mon"]}
    past = meeting(starts_at=NOW - timedelta(minutes=1))
    assert rules.meeting_notice(r.MEETING_SCHEDULED, meeting=past, ctx=CTX, config=DEFAULT_CONFIG, now=NOW) == []
    change = rules.change_id(NOW, "evt-move")
    moved = rules.meeting_notice(
        r.MEETING_RESCHEDULED, meeting=meeting(), ctx=CTX, config=DEFAULT_CONFIG, now=NOW, change=change
    )
    assert moved[0].period == change  # the move's version, not its target: back to an earlier time is news too
    cancelled = meeting(cancelled=True, cancel_reason="mưa bão")
    assert recipients(
        rules.meeting_notice(r.MEETING_CANCELLED, meeting=cancelled, ctx=CTX, config=DEFAULT_CONFIG, now=NOW)
    )[r.MEETING_CANCELLED] == ["bt", "pbt", "a", "mon"]
    assert rules.meeting_notice(r.MEETING_SCHEDULED, meeting=cancelled, ctx=CTX, config=DEFAULT_CONFIG, now=NOW) == []


def test_a_change_is_what_members_were_told_changing_and_says_what_it_replaced() -> None:
    before = meeting()
    assert rules.meeting_change(before, meeting(), reason=None) is None  # the same content: no change
    assert rules.meeting_change(None, before, reason=None) is None  # first known: the schedule notice's
    later = NOW + timedelta(days=3)
    moved = rules.meeting_change(before, meeting(later, location="Hội trường"), reason="Trùng lịch")
    assert moved is not None and moved.starts_at == later and moved.location == "Hội trường"
    assert moved.previous_starts_at == before.starts_at and moved.previous_location == before.location
    assert moved.reschedule_reason == "Trùng lịch"
    rekinded = rules.meeting_change(before, meeting(kind="thematic", topic="Học tập Chỉ thị 50"), reason=None)
    assert rekinded is not None and rekinded.previous_kind == "regular"
    # an agenda alone is no change of time, place or kind
    assert rules.meeting_change(before, meeting(agenda=("Việc khác",)), reason=None) is None
    assert rules.change_id(NOW, "a") != rules.change_id(NOW, "b") != rules.change_id(later, "b")


def test_documents_missing_fires_24_hours_before_and_not_earlier_or_when_published() -> None:
    start = NOW + timedelta(hours=24)
    fired = rules.documents_missing(meeting=meeting(start), ctx=CTX, config=DEFAULT_CONFIG, now=NOW)
    assert recipients(fired) == {r.DOCUMENTS_MISSING: ["bt"]}
    early = rules.documents_missing(
        meeting=meeting(start + timedelta(minutes=1)), ctx=CTX, config=DEFAULT_CONFIG, now=NOW
    )
    assert early == []
    published = meeting(start, documents={"content": NOW - timedelta(hours=1)})
    assert rules.documents_missing(meeting=published, ctx=CTX, config=DEFAULT_CONFIG, now=NOW) == []


def test_reminder_fires_at_the_lead_time_and_is_configurable_per_subtree() -> None:
    start = NOW + timedelta(hours=3)
    assert recipients(rules.meeting_reminder(meeting=meeting(start), ctx=CTX, config=DEFAULT_CONFIG, now=NOW)) == {
        r.MEETING_REMINDER: ["bt", "pbt", "a", "mon"]
    }
    later = meeting(start + timedelta(seconds=1))
    assert rules.meeting_reminder(meeting=later, ctx=CTX, config=DEFAULT_CONFIG, now=NOW) == []
    config = resolve_config(
        ["root", "ward", "cell"], [RuleOverride("ward", r.MEETING_REMINDER, params={"hours_before": 5})]
    )
    assert rules.meeting_reminder(meeting=later, ctx=CTX, config=config, now=NOW) != []


def test_minutes_late_goes_to_the_secretary_after_2_days_then_to_the_superior() -> None:
    start = NOW - timedelta(days=2)
    fired = rules.minutes_late(meeting=meeting(start), ctx=CTX, config=DEFAULT_CONFIG, now=NOW)
    assert recipients(fired) == {r.MINUTES_LATE: ["bt"]}
    inside = rules.minutes_late(meeting=meeting(start + timedelta(minutes=1)), ctx=CTX, config=DEFAULT_CONFIG, now=NOW)
    assert inside == []
    escalated = rules.minutes_late(meeting=meeting(NOW - timedelta(days=5)), ctx=CTX, config=DEFAULT_CONFIG, now=NOW)
    assert recipients(escalated) == {r.MINUTES_LATE: ["bt"], r.MINUTES_LATE_SUPERIOR: ["ward"]}
    done = meeting(start, minutes_submitted_at=start, documents={"minutes": start, "resolution": start})
    assert rules.minutes_late(meeting=done, ctx=CTX, config=DEFAULT_CONFIG, now=NOW) == []


def test_a_late_records_alert_may_have_fired_from_a_day_after_the_start_whatever_the_days_set() -> None:
    """minutes_late_may_have_fired: no setting calls records late sooner than a day after the start (days_after is
    at least 1), an hour allowed for clocks; a cell's own lower days (set before the bounds) count; never for a
    cancelled meeting (its late alerts are void) or one not yet known."""
    day = NOW - timedelta(days=1)
    may = rules.minutes_late_may_have_fired
    assert may(meeting(day + timedelta(hours=1)), DEFAULT_CONFIG, NOW)
    assert not may(meeting(day + timedelta(hours=1, seconds=1)), DEFAULT_CONFIG, NOW)
    assert not may(meeting(NOW - timedelta(hours=3)), DEFAULT_CONFIG, NOW)  # minutes sent hours after: the usual
    longer = resolve_config(["cell"], [RuleOverride("cell", r.MINUTES_LATE, params={"days_after": 30})])
    assert may(meeting(day), longer, NOW)  # an alert may stand from days set shorter before
    shorter = resolve_config(["cell"], [RuleOverride("cell", r.MINUTES_LATE, params={"days_after": 0})])
    assert may(meeting(NOW - timedelta(minutes=30)), shorter, NOW)
    assert not may(meeting(NOW - timedelta(days=9), cancelled=True), DEFAULT_CONFIG, NOW)
    assert not may(meeting(NOW - timedelta(days=9), kind=None), DEFAULT_CONFIG, NOW)


def test_minutes_late_says_what_is_missing_not_that_the_minutes_are() -> None:
    """Minutes submitted and approved but the final documents never published: the alerts say the minutes and the
    resolution are not published, not that the minutes were never handed in (the fresh user's fault 5)."""
    start = NOW - timedelta(days=5)
    submitted = meeting(start, minutes_submitted_at=start + timedelta(hours=2))
    late = {
        alert.rule: alert for alert in rules.minutes_late(meeting=submitted, ctx=CTX, config=DEFAULT_CONFIG, now=NOW)
    }
    secretary = render(late[r.MINUTES_LATE], late[r.MINUTES_LATE].recipients[0])
    superior = render(late[r.MINUTES_LATE_SUPERIOR], late[r.MINUTES_LATE_SUPERIOR].recipients[0])
    for title, body in (secretary, superior):
        assert "chưa đăng tải biên bản và chưa đăng tải nghị quyết." in body and "chưa nộp" not in body
        assert "Chưa hoàn thiện biên bản, nghị quyết" in title or "chậm hoàn thiện biên bản, nghị quyết" in title
    nothing = rules.minutes_late(
        meeting=meeting(start, documents={"resolution": start}), ctx=CTX, config=DEFAULT_CONFIG, now=NOW
    )
    _, body = render(nothing[0], nothing[0].recipients[0])
    assert "mà chi bộ chưa nộp biên bản và chưa đăng tải biên bản." in body


def test_no_regular_meeting_by_day_25() -> None:
    day25 = datetime(2026, 11, 25, 8, 0, tzinfo=VIETNAM_TZ)
    assert recipients(rules.no_regular_meeting(ctx=CTX, meetings=[], config=DEFAULT_CONFIG, now=day25)) == {
        r.NO_REGULAR_MEETING: ["bt"]
    }
    day24 = day25 - timedelta(days=1)
    assert rules.no_regular_meeting(ctx=CTX, meetings=[], config=DEFAULT_CONFIG, now=day24) == []
    held = [meeting(datetime(2026, 11, 4, 19, 30, tzinfo=VIETNAM_TZ))]
    assert rules.no_regular_meeting(ctx=CTX, meetings=held, config=DEFAULT_CONFIG, now=day25) == []


def test_month_closed_without_a_regular_meeting_goes_to_the_superior() -> None:
    december = datetime(2026, 12, 1, 8, 0, tzinfo=VIETNAM_TZ)
    fired = rules.month_without_meeting(ctx=CTX, meetings=[], config=DEFAULT_CONFIG, now=december)
    assert recipients(fired) == {r.MONTH_WITHOUT_MEETING: ["ward"]} and fired[0].period == "2026-11"
    last_evening = [meeting(datetime(2026, 11, 30, 23, 0, tzinfo=VIETNAM_TZ))]
    assert rules.month_without_meeting(ctx=CTX, meetings=last_evening, config=DEFAULT_CONFIG, now=december) == []
    thematic_only = [meeting(datetime(2026, 11, 5, 19, 0, tzinfo=VIETNAM_TZ), kind="thematic", topic="Chỉ thị 50")]
    assert rules.month_without_meeting(ctx=CTX, meetings=thematic_only, config=DEFAULT_CONFIG, now=december) != []


def test_quarter_last_month_without_thematic() -> None:
    december = datetime(2026, 12, 1, 8, 0, tzinfo=VIETNAM_TZ)
    fired = rules.quarter_without_thematic(ctx=CTX, meetings=[], config=DEFAULT_CONFIG, now=december)
    assert recipients(fired) == {r.QUARTER_WITHOUT_THEMATIC: ["bt", "ward"]} and fired[0].period == "2026-Q4"
    november = datetime(2026, 11, 30, 23, 0, tzinfo=VIETNAM_TZ)
    assert rules.quarter_without_thematic(ctx=CTX, meetings=[], config=DEFAULT_CONFIG, now=november) == []
    planned = [meeting(datetime(2026, 12, 20, 19, 0, tzinfo=VIETNAM_TZ), kind="combined", topic="Học tập Nghị quyết")]
    assert rules.quarter_without_thematic(ctx=CTX, meetings=planned, config=DEFAULT_CONFIG, now=december) == []


def test_unexcused_absence_goes_to_the_cell_committee() -> None:
    fired = rules.unexcused_absences(meeting=meeting(), absent=[MEMBERS[2]], ctx=CTX, config=DEFAULT_CONFIG)
    assert recipients(fired) == {r.UNEXCUSED_ABSENCE: ["bt", "pbt"]}
    assert rules.unexcused_absences(meeting=meeting(), absent=[], ctx=CTX, config=DEFAULT_CONFIG) == []


def test_an_absent_committee_member_is_not_asked_to_remind_herself() -> None:
    """Trial 21: committee member Hồ Kim Vân, absent without excuse, was sent "Đồng chí Hồ Kim Vân vắng mặt… Đề nghị
    chi ủy gặp gỡ, nhắc nhở đảng viên"; the rest of the committee is asked, not her."""
    van = member("van", "committee_member")
    ctx = replace(CTX, members=(*MEMBERS, van))
    fired = rules.unexcused_absences(meeting=meeting(), absent=[van], ctx=ctx, config=DEFAULT_CONFIG)
    assert recipients(fired) == {r.UNEXCUSED_ABSENCE: ["bt", "pbt"]}
    absent_secretary = rules.unexcused_absences(meeting=meeting(), absent=[MEMBERS[0]], ctx=ctx, config=DEFAULT_CONFIG)
    assert recipients(absent_secretary) == {r.UNEXCUSED_ABSENCE: ["pbt", "van"]}
    # a secretary with nobody else on the committee: the superior committee hears of it, never nobody
    alone = replace(CTX, members=(MEMBERS[0], MEMBERS[2]))
    fired = rules.unexcused_absences(meeting=meeting(), absent=[MEMBERS[0]], ctx=alone, config=DEFAULT_CONFIG)
    assert recipients(fired) == {r.UNEXCUSED_ABSENCE: ["ward"]}


def test_a_meetings_unexcused_absentees_reach_each_recipient_in_one_alert_naming_them_all() -> None:
    """A trial's roster of 4 unexcused absentees mailed each of the committee 4 times: one alert per recipient now,
    keyed by the meeting, each naming the absentees it concerns (never the recipient themself)."""
    van = member("van", "committee_member")
    ctx = replace(CTX, members=(*MEMBERS, van, member("d"), member("e")))
    absent = [van, member("a"), member("d"), member("e")]
    fired = rules.unexcused_absences(meeting=held_meeting(), absent=absent, ctx=ctx, config=DEFAULT_CONFIG)
    named = {
        recipient.id: (alert.subject_id, alert.period, alert.values["absentees"])
        for alert in fired
        for recipient in alert.recipients
    }
    everyone = tuple(f"Nguyễn Văn {who}" for who in ("van", "a", "d", "e"))
    assert named == {
        "bt": ("m1", "m1", everyone),
        "pbt": ("m1", "m1", everyone),
        "van": ("m1", "m1", everyone[1:]),  # not asked to remind herself
    }
    title, body = render(next(alert for alert in fired if alert.recipients[0].id == "bt"), person(MEMBERS[0]))
    assert title == "4 đảng viên vắng mặt không lý do: Chi bộ khu phố 3 — buổi sinh hoạt ngày 09/11/2026", title
    assert "Các đồng chí Nguyễn Văn van, Nguyễn Văn a, Nguyễn Văn d và Nguyễn Văn e vắng mặt không có lý do" in body
    assert "nhắc nhở từng đồng chí" in body

    # a correction adding "f": one follow-up naming only f; one adding nobody: nothing
    ctx = replace(ctx, members=(*ctx.members, member("f")))
    told = [m.id for m in absent]
    added = rules.unexcused_absences(
        meeting=held_meeting(), absent=[*absent, member("f")], ctx=ctx, config=DEFAULT_CONFIG, told=told
    )
    assert {alert.values["absentees"] for alert in added} == {("Nguyễn Văn f",)}
    assert {alert.period for alert in added} == {rules.absence_added_period("m1", ["f"])}
    title, body = render(added[0], person(MEMBERS[0]))
    assert title == (
        "Bổ sung đảng viên vắng mặt không lý do: Nguyễn Văn f, Chi bộ khu phố 3 — buổi sinh hoạt ngày 09/11/2026"
    )
    assert "Theo danh sách điểm danh được cập nhật, đồng chí Nguyễn Văn f cũng vắng mặt không có lý do" in body
    fewer = rules.unexcused_absences(
        meeting=held_meeting(), absent=absent[:2], ctx=ctx, config=DEFAULT_CONFIG, told=told
    )
    assert fewer == []


def test_a_committee_members_run_of_absences_goes_to_the_others_and_the_superior_committee() -> None:
    van = member("van", "committee_member")
    ctx = replace(CTX, members=(*MEMBERS, van))
    fired = rules.absence_history(
        member_id="van", full_name=van.full_name, history=history(4), ctx=ctx, config=DEFAULT_CONFIG
    )
    assert [[recipient.id for recipient in alert.recipients] for alert, _ in fired] == [["bt", "pbt", "ward"]]


def test_a_cancelled_meeting_alerts_no_absence_and_no_low_rating_whatever_arrived_before() -> None:
    """An integration may send a cancelled meeting's roster (after the cancellation or before it), and a score
    published before the cancellation reached evaluation may come after it here: the meeting did not take place."""
    cancelled = meeting(NOW - timedelta(hours=20), cancelled=True, cancel_reason="Mất điện")
    assert rules.unexcused_absences(meeting=cancelled, absent=[MEMBERS[2]], ctx=CTX, config=DEFAULT_CONFIG) == []

    def rate(told: Meeting) -> list:
        return rules.meeting_rated_low(
            meeting_id="m1",
            rating="poor",
            score=40.0,
            provisional=False,
            meeting=told,
            ctx=CTX,
            config=DEFAULT_CONFIG,
            now=NOW,
        )

    assert rate(replace(held_meeting(), cancelled=True)) == []
    assert recipients(rate(held_meeting())) == {r.MEETING_RATED_LOW: ["ward"]}


def test_a_meeting_not_held_is_not_rated_low_whatever_its_score() -> None:
    """A trial's commune inbox read "xếp loại Kém" for a meeting scheduled for the next day: evaluation scores what
    it has, a meeting not yet held included; only a held meeting (minutes in, start come, not cancelled) alerts."""
    provisional = resolve_config(["c"], [RuleOverride("c", r.MEETING_RATED_LOW, params={"include_provisional": True})])

    def rate(told: Meeting | None) -> list:
        return rules.meeting_rated_low(
            meeting_id="m1",
            rating="poor",
            score=21.7,
            provisional=True,
            meeting=told,
            ctx=CTX,
            config=provisional,
            now=NOW,
        )

    assert rate(meeting(NOW + timedelta(days=1))) == []  # still scheduled
    assert rate(meeting(NOW - timedelta(hours=3))) == []  # its start passed, no minutes
    assert rate(meeting(NOW + timedelta(days=1), minutes_submitted_at=NOW)) == []  # minutes before its start
    assert rate(None) == []  # not known here
    assert recipients(rate(held_meeting())) == {r.MEETING_RATED_LOW: ["ward"]}


def history(*figures: int | tuple[int, int], recent: bool = True) -> list[AnnouncedFigures]:
    """A member's announced figures in order: a count in a row (no unexcused months), or (in a row, months)."""
    pairs = [figure if isinstance(figure, tuple) else (figure, 0) for figure in figures]
    return [
        AnnouncedFigures(event_id=f"e{index}", consecutive_absences=count, unexcused_months=months, recent=recent)
        for index, (count, months) in enumerate(pairs, start=1)
    ]


def decide(figures: list[AnnouncedFigures], config: Any = DEFAULT_CONFIG) -> list[tuple[str, int, str]]:
    """(rule, count, anchor) of each alert absence_history raises for the history (one recipient set each)."""
    fired = rules.absence_history(member_id="a", full_name="Nguyễn Văn a", history=figures, ctx=CTX, config=config)
    assert all([recipient.id for recipient in alert.recipients] == ["bt", "pbt", "ward"] for alert, _ in fired)
    assert all(alert.period == anchor for alert, anchor in fired)
    return [(alert.rule, alert.values["count"], anchor) for alert, anchor in fired]


@pytest.mark.parametrize(
    ("consecutive", "months", "expected"),
    [
        (4, 0, {r.CONSECUTIVE_ABSENCES}),
        (3, 2, set()),
        (0, 3, {r.UNEXCUSED_MONTHS}),
    ],
)
def test_absence_history_thresholds(consecutive: int, months: int, expected: set[str]) -> None:
    assert {rule for rule, _, _ in decide(history((consecutive, months)))} == expected


def test_a_run_of_absences_alerts_once_however_its_figures_came() -> None:
    assert decide(history(1, 2, 3, 4, 5, 6)) == [(r.CONSECUTIVE_ABSENCES, 4, "e4")]
    assert decide(history(0, 18, 19, 20)) == [(r.CONSECUTIVE_ABSENCES, 18, "e2")]
    assert decide(history(18)) == [(r.CONSECUTIVE_ABSENCES, 18, "e1")]


def test_a_run_already_alerted_stays_quiet_as_it_grows() -> None:
    figures = history(1, 2, 3, 4, 5, 6)
    figures[3] = replace(figures[3], run_alerted=True)
    assert decide(figures) == []
    assert rules.pending_stretches(figures, DEFAULT_CONFIG) == []


def test_attending_ends_a_run_and_the_next_one_past_three_alerts_again() -> None:
    assert decide(history(4, 5, 0, 1, 2, 3, 4)) == [
        (r.CONSECUTIVE_ABSENCES, 4, "e1"),
        (r.CONSECUTIVE_ABSENCES, 4, "e7"),
    ]
    # the return to meetings announced in the same breath as the new run: the count fell, so a new run
    assert decide(history(30, 4)) == [(r.CONSECUTIVE_ABSENCES, 30, "e1"), (r.CONSECUTIVE_ABSENCES, 4, "e2")]
    assert decide(history(4, 5, 0, 1, 2, 3)) == [(r.CONSECUTIVE_ABSENCES, 4, "e1")]  # the new run is at 3: not yet


def test_a_late_figure_that_shows_two_runs_alerts_the_part_not_told_of() -> None:
    figures = history(5, 1, 7)  # 1 came late: 5 then 7 had looked like one run, alerted on 7 (arrived first)
    figures[2] = replace(figures[2], run_alerted=True)
    assert decide(figures) == [(r.CONSECUTIVE_ABSENCES, 5, "e1")]


def test_figures_about_old_meetings_alert_nothing_but_still_shape_the_runs() -> None:
    old = history(4, 5, 6, recent=False)
    assert decide(old) == []
    now = [*old, *[replace(figure, event_id=f"n{index}", recent=True) for index, figure in enumerate(history(7))]]
    assert decide(now) == [(r.CONSECUTIVE_ABSENCES, 7, "n0")]  # the run goes on into a recent meeting: told once


def test_a_threshold_passed_only_in_history_stays_silent_whatever_later_figure_carries_it() -> None:
    """A province loads a year of history (figures about meetings older than the cutoff), then a current fact moves
    the member's figures without adding an absence: the runs and months counted in history alert nothing."""

    def then(old: list[AnnouncedFigures], *figures: int | tuple[int, int]) -> list[AnnouncedFigures]:
        later = [replace(figure, event_id=f"n{index}") for index, figure in enumerate(history(*figures), start=1)]
        return [*old, *later]

    months = history((0, 1), (0, 2), (1, 3), recent=False)  # unexcused in 3 months, the last a month ago
    assert decide(then(months, (0, 3))) == []  # present at this month's meeting: the year still counts 3
    assert decide(then(months, (0, 3), (1, 4))) == [(r.UNEXCUSED_MONTHS, 4, "n2")]  # a 4th month, recorded now
    run = history(4, 5, recent=False)  # absent 5 in a row, all in history
    assert decide(then(run, (5, 1))) == []  # a current figure moves only the months: the run is history's
    assert decide(then(run, (5, 1), 6)) == [(r.CONSECUTIVE_ABSENCES, 6, "n2")]  # absent again now: it goes on
    assert decide(then(run, 0, 4)) == [(r.CONSECUTIVE_ABSENCES, 4, "n2")]  # a new run, passed now


def test_unexcused_months_alert_once_per_crossing_not_per_month() -> None:
    assert decide(history((0, 1), (0, 2), (0, 3), (0, 4), (0, 5))) == [(r.UNEXCUSED_MONTHS, 3, "e3")]
    assert decide(history((0, 4))) == [(r.UNEXCUSED_MONTHS, 4, "e1")]
    crossings = history((0, 3), (0, 4), (0, 2), (0, 3))  # a month rolled out of the year, another came in
    assert decide(crossings) == [(r.UNEXCUSED_MONTHS, 3, "e1"), (r.UNEXCUSED_MONTHS, 3, "e4")]
    crossings[0] = replace(crossings[0], months_alerted=True)
    assert decide(crossings) == [(r.UNEXCUSED_MONTHS, 3, "e4")]


def test_meeting_rated_average_or_poor_goes_to_the_superior_unless_provisional() -> None:
    def rate(rating: str, provisional: bool = False) -> list:
        return rules.meeting_rated_low(
            meeting_id="m1",
            rating=rating,
            score=55.0,
            provisional=provisional,
            meeting=held_meeting(),
            ctx=CTX,
            config=DEFAULT_CONFIG,
            now=NOW,
        )

    assert recipients(rate("average")) == {r.MEETING_RATED_LOW: ["ward"]}
    assert recipients(rate("poor")) == {r.MEETING_RATED_LOW: ["ward"]}
    assert rate("fair") == [] and rate("poor", provisional=True) == []


SETTINGS_VARIANTS = [
    DEFAULT_CONFIG,
    resolve_config(["c"], [RuleOverride("c", r.CONSECUTIVE_ABSENCES, params={"more_than": 0})]),
    resolve_config(["c"], [RuleOverride("c", r.UNEXCUSED_MONTHS, enabled=False)]),
    resolve_config(["c"], [RuleOverride("c", r.MEETING_RATED_LOW, params={"include_provisional": True})]),
    resolve_config(["c"], [RuleOverride("c", r.MEETING_RATED_LOW, params={"ratings": ["poor"]})]),
    resolve_config(["c"], [RuleOverride("c", r.MEETING_RATED_LOW, enabled=False)]),
]


@pytest.mark.parametrize("config", SETTINGS_VARIANTS)
def test_the_may_alert_checks_say_exactly_when_the_history_and_rating_rules_alert(config: Any) -> None:
    """The batch handlers read a cell's people only when these say an alert may fire: never wrong either way."""
    for consecutive in range(6):
        for months in range(5):
            decided = rules.absence_history(
                member_id="a", full_name="a", history=history((consecutive, months)), ctx=CTX, config=config
            )
            may = rules.absence_history_may_alert(
                consecutive_absences=consecutive, unexcused_months=months, config=config
            )
            assert may == bool(decided) == bool(rules.pending_stretches(history((consecutive, months)), config))
    for rating in ("good", "fair", "average", "poor"):
        for provisional in (False, True):
            fired = rules.meeting_rated_low(
                meeting_id="m1",
                rating=rating,
                score=50.0,
                provisional=provisional,
                meeting=held_meeting(),
                ctx=CTX,
                config=config,
                now=NOW,
            )
            may = rules.meeting_rated_low_may_alert(rating=rating, provisional=provisional, config=config)
            assert may == bool(fired), (rating, provisional)


def test_period_rated_low_waits_for_the_period_end_and_grace() -> None:
    due = datetime(2026, 12, 4, 0, 0, tzinfo=VIETNAM_TZ)
    fired = rules.period_rated_low(period="2026-11", rating="poor", score=30.0, ctx=CTX, config=DEFAULT_CONFIG, now=due)
    assert recipients(fired) == {r.PERIOD_RATED_LOW: ["ward"]}
    early = due - timedelta(seconds=1)
    assert (
        rules.period_rated_low(period="2026-11", rating="poor", score=30.0, ctx=CTX, config=DEFAULT_CONFIG, now=early)
        == []
    )
    assert (
        rules.period_rated_low(period="2026-11", rating="fair", score=75.0, ctx=CTX, config=DEFAULT_CONFIG, now=due)
        == []
    )


def test_probation_ending_within_30_days() -> None:
    probationer = member("dv", status="probationary", admitted_on=date(2025, 12, 10))
    fired = rules.probation_ending(member=probationer, ctx=CTX, config=DEFAULT_CONFIG, now=NOW)
    assert recipients(fired) == {r.PROBATION_ENDING: ["bt"]} and fired[0].period == "2026-12-10"
    later = member("dv", status="probationary", admitted_on=date(2025, 12, 11))
    assert rules.probation_ending(member=later, ctx=CTX, config=DEFAULT_CONFIG, now=NOW) == []


def test_probation_ending_alerts_only_while_the_probation_is_still_to_end() -> None:
    """A probationer whose 12 months ended already (a member snapshot imported late, never made official) is no
    advance warning: the check planned in the past raises nothing; ending today still alerts."""
    ended = member("dv", status="probationary", admitted_on=date(2025, 11, 9))
    assert rules.probation_ending(member=ended, ctx=CTX, config=DEFAULT_CONFIG, now=NOW) == []
    long_ago = member("dv", status="probationary", admitted_on=date(2023, 5, 2))
    assert rules.probation_ending(member=long_ago, ctx=CTX, config=DEFAULT_CONFIG, now=NOW) == []
    today = member("dv", status="probationary", admitted_on=date(2025, 11, 10))
    fired = rules.probation_ending(member=today, ctx=CTX, config=DEFAULT_CONFIG, now=NOW)
    assert [alert.period for alert in fired] == ["2026-11-10"]


def test_cell_with_9_official_members_and_no_committee() -> None:
    nine = tuple(member(f"m{i}", "secretary" if i == 0 else "member") for i in range(9))
    ctx = CellContext(cell=CELL, superior=COMMITTEE, members=nine)
    assert recipients(rules.cell_without_committee(ctx=ctx, config=DEFAULT_CONFIG, now=NOW)) == {
        r.CELL_WITHOUT_COMMITTEE: ["m0", "ward"]
    }
    eight = CellContext(cell=CELL, superior=COMMITTEE, members=nine[:8])
    assert rules.cell_without_committee(ctx=eight, config=DEFAULT_CONFIG, now=NOW) == []
    with_committee = CellContext(cell=CELL, superior=COMMITTEE, members=(*nine, member("cu", "committee_member")))
    assert rules.cell_without_committee(ctx=with_committee, config=DEFAULT_CONFIG, now=NOW) == []


def test_monitor_behind_quota() -> None:
    # 1 November: 10 months passed, a quota of 6 a year expects 5 meetings attended
    first = datetime(2026, 11, 1, 8, 0, tzinfo=VIETNAM_TZ)
    fired = rules.monitor_behind_quota(
        monitor=MONITOR, attended=4, committee=COMMITTEE, cell_name=CELL.name, config=DEFAULT_CONFIG, now=first
    )
    assert recipients(fired) == {r.MONITOR_BEHIND_QUOTA: ["mon", "ward"]}
    assert (
        rules.monitor_behind_quota(
            monitor=MONITOR, attended=5, committee=COMMITTEE, cell_name=CELL.name, config=DEFAULT_CONFIG, now=first
        )
        == []
    )


def test_a_subtree_can_switch_a_rule_off_and_the_nearest_setting_wins() -> None:
    overrides = [
        RuleOverride("province", r.UNEXCUSED_ABSENCE, enabled=False),
        RuleOverride("ward", r.UNEXCUSED_ABSENCE, enabled=True),
        RuleOverride("province", r.CONSECUTIVE_ABSENCES, params={"more_than": 5}),
    ]
    config = resolve_config(["province", "ward", "cell"], overrides)
    assert config.is_enabled(r.UNEXCUSED_ABSENCE) and config.param(r.CONSECUTIVE_ABSENCES, "more_than") == 5
    other = resolve_config(["province", "other-ward", "cell2"], overrides)
    assert not other.is_enabled(r.UNEXCUSED_ABSENCE)


def test_a_cells_notice_and_reminder_greet_its_monitor_by_name_and_its_members_together() -> None:
    """Trial: the monitor's own mail greeted "các đồng chí đảng viên … và đồng chí cấp ủy viên phụ trách"."""
    notice = rules.meeting_notice(r.MEETING_SCHEDULED, meeting=meeting(), ctx=CTX, config=DEFAULT_CONFIG, now=NOW)
    start = NOW + timedelta(hours=3)
    reminder = rules.meeting_reminder(meeting=meeting(start), ctx=CTX, config=DEFAULT_CONFIG, now=NOW)
    for alert in (*notice, *reminder):
        by_id = {recipient.id: recipient for recipient in alert.recipients}
        own = render(alert, by_id["mon"])[1]
        assert own.startswith("Kính gửi đồng chí Trần Thị Mai,\n") and "các đồng chí" not in own, alert.rule
        members = render(alert, by_id["a"])[1]
        assert members.startswith("Kính gửi các đồng chí đảng viên") and "phụ trách" not in members, alert.rule


def crossing(member_id: str, count: int, *, rule: str = r.CONSECUTIVE_ABSENCES, meeting_id: str = "m1") -> Any:
    """A member of the test cell crossing the rule's default threshold at the meeting with `count`."""
    threshold = 3
    return rules.Crossing(
        rule=rule,
        threshold=threshold,
        member_id=member_id,
        full_name=f"Nguyễn Văn {member_id}",
        cell_id="cell",
        count=count,
        anchor=f"f-{member_id}",
        meeting_id=meeting_id,
    )


def test_members_crossing_at_one_meeting_are_one_alert_per_recipient_listed_past_five() -> None:
    """DOMAIN.md "Alerts": a member absent more than 3 meetings in a row, or unexcused 3 months in a year: the cell
    committee and the superior committee, each once; 7 members crossing at one meeting are one alert each, the
    names listed one a line with their counts; the committee member among them is not told of themself."""
    ids = ["pbt", "a", "d", "e", "f", "g", "h"]
    crossings = [crossing(member_id, 4 + (member_id == "d")) for member_id in ids]
    crossings += [crossing(member_id, 3, rule=r.UNEXCUSED_MONTHS) for member_id in ids[:2]]
    fired = rules.absence_crossing_alerts(crossings, {"cell": CTX})
    heard = [(alert.rule, recipient.id) for alert in fired for recipient in alert.recipients]
    assert sorted(heard) == sorted(
        (rule, who) for rule in (r.CONSECUTIVE_ABSENCES, r.UNEXCUSED_MONTHS) for who in ("bt", "pbt", "ward")
    )
    assert {(alert.subject_id, alert.period) for alert in fired} == {("m1", "m1")}
    to_bt = [alert for alert in fired if alert.recipients[0].id == "bt"]
    title, body = render(next(a for a in to_bt if a.rule == r.CONSECUTIVE_ABSENCES), person(MEMBERS[0]))
    assert title == "7 đảng viên vắng quá 3 buổi liên tiếp: Chi bộ khu phố 3"
    assert "Có 7 đồng chí thuộc Chi bộ khu phố 3 đã vắng mặt quá 3 buổi sinh hoạt liên tiếp.\nDanh sách:\n" in body
    assert "- Nguyễn Văn d: 5 buổi\n" in body and "- Nguyễn Văn pbt: 4 buổi\n" in body
    title, body = render(next(a for a in to_bt if a.rule == r.UNEXCUSED_MONTHS), person(MEMBERS[0]))
    assert title == "2 đảng viên vắng không lý do từ 3 tháng trở lên trong năm: Chi bộ khu phố 3"
    assert (
        "Các đồng chí Nguyễn Văn a và Nguyễn Văn pbt thuộc Chi bộ khu phố 3 đã vắng sinh hoạt không có lý do chính"
        " đáng trong 3 tháng của 12 tháng qua, đều thuộc trường hợp phải xem xét xóa tên" in body
    )
    later = rules.absence_crossing_alerts([crossing("i", 4)], {"cell": CTX}, told={(r.CONSECUTIVE_ABSENCES, "m1")})
    assert {alert.period for alert in later} == {rules.absence_added_period("m1", ["i"])}
    title, body = render(later[0], person(MEMBERS[0]))
    assert title == "Bổ sung đảng viên vắng 4 buổi liên tiếp: Nguyễn Văn i, Chi bộ khu phố 3"
    assert (
        "Theo số liệu điểm danh được cập nhật, đồng chí Nguyễn Văn i (Chi bộ khu phố 3) cũng đã vắng mặt 4 buổi" in body
    )
