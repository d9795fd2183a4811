"""Rules about one meeting: notices, documents, reminders, late minutes, unexcused absences; when to check them."""

from collections.abc import Collection, Container
from dataclasses import replace
from datetime import datetime, timedelta

from services.notifications.domain import settings as r
from services.notifications.domain.model import Alert, CellContext, Meeting, Member, unique_recipients
from services.notifications.domain.rules.common import (
    EARLY_DOCUMENT_KINDS,
    FINAL_DOCUMENT_KINDS,
    NOTICE_RULES,
    absence_added_period,
    build_alerts,
    by_recipients,
    meeting_values,
)
from services.notifications.domain.settings import RuleConfig
from shared.plausible import end_for_deadlines


def notice_may_fire(rule: str, *, meeting: Meeting, now: datetime) -> bool:
    """Whether a notice rule can fire for the meeting whatever its cell's settings and people: a known meeting
    still ahead, cancelled for the cancellation notice and not for the others (a handler asks before reading
    the cell; imported history never can). A change notice fires too for a meeting moved from a start still ahead
    to one already past (`previous_starts_at`): members were told of the old start, and without it their inboxes kept
    it (a trial's move of a December meeting to November mailed nobody)."""
    if rule not in NOTICE_RULES or not meeting.known:
        return False
    assert meeting.starts_at is not None
    told_of = meeting.previous_starts_at if rule == r.MEETING_RESCHEDULED else None
    if meeting.starts_at <= now and (told_of is None or told_of <= now):
        return False
    return meeting.cancelled == (rule == r.MEETING_CANCELLED)


def change_id(time: datetime, event_id: str) -> str:
    """What identifies one change of a meeting: the version (time, id) of the fact that made it, as the notice's
    period; a redelivered fact has the same one, every later change another (even back to an earlier time)."""
    return f"change:{time.isoformat()}|{event_id}"


def meeting_change(before: Meeting | None, after: Meeting, *, reason: str | None) -> Meeting | None:
    """The meeting as its change notice tells it (with the start and place it replaced, and why), or None when
    nothing members were told of it changed: its start, place, kind or topic (or it was not known before)."""
    if before is None or not before.known or not after.known:
        return None
    told = (before.starts_at, before.location, before.kind, before.topic)
    if told == (after.starts_at, after.location, after.kind, after.topic):
        return None
    return replace(
        after,
        previous_starts_at=before.starts_at,
        previous_location=before.location,
        previous_kind=before.kind,
        previous_topic=before.topic,
        reschedule_reason=reason,
    )


def meeting_notice(
    rule: str,
    *,
    meeting: Meeting,
    ctx: CellContext,
    config: RuleConfig,
    now: datetime,
    change: str | None = None,
) -> list[Alert]:
    """Scheduled, moved or cancelled: every expected member and the monitors, for meetings still ahead; a change
    (meeting_rescheduled) once per `change` (change_id of the fact that made it). None while the cell's unit is
    unknown: a notice names the cell, so it waits for the unit (on_unit_upserted sends what is still ahead)."""
    if not notice_may_fire(rule, meeting=meeting, now=now) or not config.is_enabled(rule) or ctx.cell is None:
        return []
    assert meeting.starts_at is not None
    if rule == r.MEETING_RESCHEDULED and change is None:
        raise ValueError("a change notice needs the change_id of the fact that made the change")
    period = {r.MEETING_SCHEDULED: "scheduled", r.MEETING_CANCELLED: "cancelled"}.get(rule, change or "")
    recipients = unique_recipients(ctx.expected_members(), ctx.monitor_recipients())
    values = meeting_values(meeting, ctx) | {
        "reason": meeting.reschedule_reason if rule == r.MEETING_RESCHEDULED else meeting.cancel_reason,
        "monitor_ids": tuple(monitor.id for monitor in ctx.monitor_recipients()),
        "agenda": meeting.agenda,
        "previous_starts_at": meeting.previous_starts_at,
        "previous_location": meeting.previous_location,
        "previous_kind": meeting.previous_kind,
        "previous_topic": meeting.previous_topic,
    }
    return build_alerts(
        rule, subject_id=meeting.meeting_id, period=period, recipients=recipients, cell_id=meeting.cell_id, **values
    )


def _within_lead_time(rule: str, meeting: Meeting, config: RuleConfig, now: datetime) -> bool:
    """Whether `rule` (one with an `hours_before` parameter) may fire for `meeting` at `now`: the rule enabled, the
    meeting known, not cancelled, and `now` within the `hours_before` hours before its start (the start excluded)."""
    if not config.is_enabled(rule) or not meeting.known or meeting.cancelled:
        return False
    assert meeting.starts_at is not None
    return meeting.starts_at - timedelta(hours=config.param(rule, "hours_before")) <= now < meeting.starts_at


def documents_missing(*, meeting: Meeting, ctx: CellContext, config: RuleConfig, now: datetime) -> list[Alert]:
    """No content or draft resolution published once the lead time before the start is reached: the secretary."""
    rule = r.DOCUMENTS_MISSING
    if not _within_lead_time(rule, meeting, config, now):
        return []
    assert meeting.starts_at is not None
    if any(kind in meeting.documents and meeting.documents[kind] <= now for kind in EARLY_DOCUMENT_KINDS):
        return []
    return build_alerts(
        rule,
        subject_id=meeting.meeting_id,
        period=meeting.starts_at.isoformat(),
        recipients=tuple(ctx.secretary()),
        cell_id=meeting.cell_id,
        **meeting_values(meeting, ctx),
    )


def meeting_reminder(*, meeting: Meeting, ctx: CellContext, config: RuleConfig, now: datetime) -> list[Alert]:
    """Within the lead time before the start: every expected member and the monitors."""
    rule = r.MEETING_REMINDER
    if not _within_lead_time(rule, meeting, config, now):
        return []
    assert meeting.starts_at is not None
    recipients = unique_recipients(ctx.expected_members(), ctx.monitor_recipients())
    return build_alerts(
        rule,
        subject_id=meeting.meeting_id,
        period=meeting.starts_at.isoformat(),
        recipients=recipients,
        cell_id=meeting.cell_id,
        monitor_ids=tuple(monitor.id for monitor in ctx.monitor_recipients()),
        **meeting_values(meeting, ctx),
    )


def _final_documents_done(meeting: Meeting) -> bool:
    return meeting.minutes_submitted_at is not None and all(kind in meeting.documents for kind in FINAL_DOCUMENT_KINDS)


def missing_records(meeting: Meeting) -> tuple[str, ...]:
    """What the meeting's records still lack, in order: `minutes_submitted` (no minutes.submitted.v1) and each final
    document kind not yet published (documents.published.v1 of `minutes`, `resolution`)."""
    return records_lacking(submitted=meeting.minutes_submitted_at is not None, published=meeting.documents)


def records_lacking(*, submitted: bool, published: Container[str]) -> tuple[str, ...]:
    """missing_records from whether the minutes arrived and which document kinds are published."""
    return (() if submitted else ("minutes_submitted",)) + tuple(
        kind for kind in FINAL_DOCUMENT_KINDS if kind not in published
    )


def records_due_at(*, starts_at: datetime, ended_at: datetime | None, days: float) -> datetime:
    """When a meeting's records (its minutes and final documents) are late: `days` after the meeting's end.

    DOMAIN.md asks the final documents "within 2 days" after the meeting (the alert: "not in 2 days after the
    meeting"; `closing.final_documents`: "within 48 h of the end"), so the days count from the end its minutes give
    (`ended_at` of minutes.submitted.v1). Before any minutes the end is unknown (the minutes are what record it), so
    they count from the start: the one moment known to be the meeting's, and the earliest it can have ended — a
    meeting that ran on is called late at most its own length early, and submitting the minutes moves the deadline
    to the end they give. An end before the start (a mistyped date in the minutes) is not the meeting's time: the
    days then count from its start, as DOMAIN.md counts them "after the meeting", so such minutes never make a meeting
    late before it could have been (a user trial saw an end 6 days before the start alert at once, superior committee
    included). The committee page's list (queries.late_minutes, through RECORDS_DUE_AT_SQL) and the alerts
    (minutes_late, meeting_due_times) both use this reading, and evaluation's `closing.final_documents` the same one
    (shared.plausible.end_for_deadlines).
    """
    return end_for_deadlines(starts_at=starts_at, ended_at=ended_at) + timedelta(days=days)


RECORDS_DUE_AT_SQL = "(GREATEST({ended_at}, {starts_at}) + ({days}) * interval '1 day')"
"""records_due_at as an SQL expression over the named columns (str.format: `starts_at`, `ended_at`, `days`; GREATEST
skips a NULL end), for the queries that list late meetings; tests/notifications/test_late_minutes_list.py holds the
two to the same answers."""


def _records_due(meeting: Meeting, days: float) -> datetime:
    assert meeting.starts_at is not None
    return records_due_at(starts_at=meeting.starts_at, ended_at=meeting.ended_at, days=days)


def minutes_late(*, meeting: Meeting, ctx: CellContext, config: RuleConfig, now: datetime) -> list[Alert]:
    """Minutes or final documents missing after the set days (records_due_at: from the meeting's end its minutes give,
    else its start): the secretary, later the superior committee."""
    if not meeting.known or meeting.cancelled or _final_documents_done(meeting):
        return []
    alerts: list[Alert] = []
    days = config.param(r.MINUTES_LATE, "days_after")
    values = meeting_values(meeting, ctx) | {"days": days, "missing": missing_records(meeting)}
    if config.is_enabled(r.MINUTES_LATE) and now >= _records_due(meeting, days):
        alerts += build_alerts(
            r.MINUTES_LATE,
            subject_id=meeting.meeting_id,
            period="late",
            recipients=tuple(ctx.secretary()),
            cell_id=meeting.cell_id,
            **values,
        )
    more = config.param(r.MINUTES_LATE_SUPERIOR, "more_days")
    if config.is_enabled(r.MINUTES_LATE_SUPERIOR) and now >= _records_due(meeting, days + more):
        alerts += build_alerts(
            r.MINUTES_LATE_SUPERIOR,
            subject_id=meeting.meeting_id,
            period="late",
            recipients=tuple(ctx.superior_committee()),
            cell_id=meeting.cell_id,
            **(values | {"days": days + more}),
        )
    return alerts


def unexcused_absences(
    *,
    meeting: Meeting,
    absent: list[Member],
    ctx: CellContext,
    config: RuleConfig,
    told: Collection[str] = (),
) -> list[Alert]:
    """The unexcused absentees of a held meeting's roster, each recipient told of them in one alert (DOMAIN.md
    "Alerts": the cell committee, each once; committees want no stream of single alerts: a trial's committee
    members got 4 mails each for a roster of 4 absentees). Each absentee goes to the cell committee without
    themself (the alert asks the committee to meet and remind them); when nobody else is on it (the secretary of a
    cell without deputy nor committee), to the superior committee instead, so no absence is told to nobody. An
    alert names every absentee of its recipients, keyed by the meeting (subject and period: once per recipient,
    redelivered or raised again). `told`: the absentees of the roster a later one replaced, whose alert went out
    already; a correction then tells only of those it adds, in one follow-up per recipient (absence_added_period),
    and one that adds nobody (an absentee excused after all) tells nothing. Never on a cancelled meeting's roster
    (an integration may send one, before or after the cancellation: the meeting was not held)."""
    rule = r.UNEXCUSED_ABSENCE
    if not config.is_enabled(rule) or not meeting.known or meeting.cancelled:
        return []
    added = bool(told)
    listed_members = [member for member in absent if member.id not in told] if added else list(absent)
    if not listed_members:
        return []
    period = (
        absence_added_period(meeting.meeting_id, [member.id for member in listed_members])
        if added
        else meeting.meeting_id
    )
    alerts: list[Alert] = []
    for members, recipients in by_recipients(
        listed_members, lambda member: ctx.cell_committee(excluding=member.id) or ctx.superior_committee()
    ):
        alerts += build_alerts(
            rule,
            subject_id=meeting.meeting_id,
            period=period,
            recipients=recipients,
            cell_id=meeting.cell_id,
            member_ids=tuple(member.id for member in members),
            absentees=tuple(member.full_name for member in members),
            added=added,
            **meeting_values(meeting, ctx),
        )
    return alerts


def minutes_due_times(meeting: Meeting, config: RuleConfig) -> dict[str, datetime]:
    """When the late-records rules of a meeting are checked (records_due_at: from its end once minutes give it)."""
    days = config.param(r.MINUTES_LATE, "days_after")
    more = config.param(r.MINUTES_LATE_SUPERIOR, "more_days")
    return {
        "meeting.minutes": _records_due(meeting, days),
        "meeting.minutes_superior": _records_due(meeting, days + more),
    }


MINUTES_JOB_RULES = {"meeting.minutes": r.MINUTES_LATE, "meeting.minutes_superior": r.MINUTES_LATE_SUPERIOR}
"""The late-records rule each late-records check (its schedule kind) raises."""


GRACED_CHECKS = ("meeting.documents", *MINUTES_JOB_RULES)
"""The checks of a deadline the secretary must meet (documents 24 h before the start, records days after the end):
put off by the grace when the deadline had passed as the meeting became known (late_records_deferred_to)."""


def late_records_deferred_to(
    kind: str, *, planned_at: datetime | None, grace: timedelta, now: datetime
) -> datetime | None:
    """When a deadline check (`kind`, one of GRACED_CHECKS) due at `now` must run instead, or None to run now: `grace`
    after the check was first planned (`planned_at`: when its meeting first became known here, or when a change of the
    known meeting — a move, a corrected start, minutes giving its end — put the deadline in the past:
    PgOutgoingRepository's known_late_at) while that has not passed. DOMAIN.md "Alerts" fixes the deadlines ("not in 2
    days after the meeting", documents "24 h before the start"), not when a meeting recorded after one may first be
    called late: a secretary recording a meeting held 4 days ago got the late-minutes mail one second after recording
    it, while entering its minutes as the form asks. The alert stays due (the committee page lists the meeting late), it
    fires at the grace's end unless the records (or documents) are in by then. A meeting known long enough before its
    deadline is never deferred: its checks were planned more than the grace before they fall due."""
    if kind not in GRACED_CHECKS or planned_at is None or now >= planned_at + grace:
        return None
    return planned_at + grace


def minutes_not_late(meeting: Meeting, config: RuleConfig, now: datetime) -> list[tuple[str, str, datetime]]:
    """(check kind, rule, due) of the late-records rules a meeting does not break at `now`: its records are due
    later (records_due_at from the end its latest minutes give), so an alert of that rule raised before (from a
    minutes end since corrected) no longer holds (DOMAIN.md "Alerts": minutes "not in 2 days after the meeting")."""
    if not meeting.known or meeting.cancelled or meeting.starts_at is None:
        return []
    return [
        (kind, MINUTES_JOB_RULES[kind], due_at)
        for kind, due_at in minutes_due_times(meeting, config).items()
        if now < due_at
    ]


LATE_ALERT_SLACK = timedelta(hours=1)
"""How much earlier than `now` minutes_late_may_have_fired looks: a check may run by a clock a little ahead of the
handler's, or commit while a batch that read its clock before it is still running."""


def minutes_late_may_have_fired(meeting: Meeting, config: RuleConfig, now: datetime) -> bool:
    """Whether a late-records alert of the meeting can be standing at `now` (False: none can, and minutes_not_late
    has nothing to withdraw), whatever its cell's settings were: its start plus the fewest days any setting allows
    (days_after, PARAM_BOUNDS; the cell's own if lower) less LATE_ALERT_SLACK has come.

    A late-records check raises only once its deadline has come (records_due_at counts from the end or the start,
    never before the start), and every later fact that may put it ahead (a move; minutes, when this holds) withdraws
    the alerts whose deadline it puts ahead (handlers.facts.withdraw_not_late): an alert left standing has its
    deadline from the meeting's present start come, whatever the settings were then. Minutes do not move the start;
    settings changed since (replan_subtree withdraws nothing) do not matter, only the fewest days they allow."""
    if not meeting.known or meeting.cancelled or meeting.starts_at is None:
        return False
    fewest = min(r.PARAM_BOUNDS["days_after"][0], config.param(r.MINUTES_LATE, "days_after"))
    return now >= meeting.starts_at + timedelta(days=fewest) - LATE_ALERT_SLACK


def meeting_due_times(meeting: Meeting, config: RuleConfig) -> dict[str, datetime]:
    """When each time-based rule of a meeting is checked, from its effective start (its end, for the late-records
    rules, once its minutes give one) and the cell's lead times."""
    assert meeting.starts_at is not None
    return {
        "meeting.documents": meeting.starts_at - timedelta(hours=config.param(r.DOCUMENTS_MISSING, "hours_before")),
        "meeting.reminder": meeting.starts_at - timedelta(hours=config.param(r.MEETING_REMINDER, "hours_before")),
        **minutes_due_times(meeting, config),
    }
