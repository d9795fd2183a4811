"""The alert rules of DOMAIN.md as pure functions of the projection, the settings and the clock.

Each returns the alerts to raise now (possibly none). Whether an alert was raised before is not
their concern: the (rule, subject, recipient, period) key makes a repeated evaluation harmless.
"""

from datetime import date, datetime, timedelta
from typing import Any

from services.notifications.domain import settings as r
from services.notifications.domain.model import (
    PROBATIONARY,
    REGULAR_KINDS,
    THEMATIC_KINDS,
    Alert,
    CellContext,
    Meeting,
    Member,
    Monitor,
    Recipient,
    Unit,
    committee_recipient,
    monitor_recipient,
    unique_recipients,
)
from services.notifications.domain.periods import (
    add_years,
    local,
    month_of,
    month_start,
    next_month,
    period_bounds,
    previous_month,
    quarter_bounds,
    quarter_of,
)
from services.notifications.domain.settings import RuleConfig

NOTICE_RULES = (r.MEETING_SCHEDULED, r.MEETING_RESCHEDULED, r.MEETING_CANCELLED)
FINAL_DOCUMENT_KINDS = ("minutes", "resolution")
EARLY_DOCUMENT_KINDS = ("content", "draft_resolution")


def _alert(
    rule: str,
    *,
    subject_id: str,
    period: str,
    recipients: tuple[Recipient, ...],
    cell_id: str | None,
    **values: Any,
) -> list[Alert]:
    if not recipients:
        return []
    return [
        Alert(rule=rule, subject_id=subject_id, period=period, recipients=recipients, cell_id=cell_id, values=values)
    ]


def _meeting_values(meeting: Meeting, ctx: CellContext) -> dict[str, Any]:
    return {
        "cell": ctx.cell_name or meeting.cell_id,
        "meeting_kind": meeting.kind,
        "topic": meeting.topic,
        "starts_at": meeting.starts_at,
        "location": meeting.location,
        "meeting_id": meeting.meeting_id,
    }


def meeting_notice(rule: str, *, meeting: Meeting, ctx: CellContext, config: RuleConfig, now: datetime) -> list[Alert]:
    """Scheduled, moved or cancelled: every expected member and the monitors, for meetings still ahead."""
    if rule not in NOTICE_RULES or not config.is_enabled(rule) or not meeting.known:
        return []
    assert meeting.starts_at is not None
    if meeting.starts_at <= now:
        return []
    if rule == r.MEETING_CANCELLED and not meeting.cancelled:
        return []
    if rule != r.MEETING_CANCELLED and meeting.cancelled:
        return []
    period = {r.MEETING_SCHEDULED: "scheduled", r.MEETING_CANCELLED: "cancelled"}.get(
        rule, meeting.starts_at.isoformat()
    )
    recipients = unique_recipients(ctx.expected_members(), ctx.monitor_recipients())
    values = _meeting_values(meeting, ctx) | {"reason": meeting.cancel_reason}
    return _alert(
        rule, subject_id=meeting.meeting_id, period=period, recipients=recipients, cell_id=meeting.cell_id, **values
    )


def documents_missing(*, meeting: Meeting, ctx: CellContext, config: RuleConfig, now: datetime) -> list[Alert]:
    """No content or draft resolution published once the lead time before the start is reached: the secretary."""
    rule = r.DOCUMENTS_MISSING
    if not config.is_enabled(rule) or not meeting.known or meeting.cancelled:
        return []
    assert meeting.starts_at is not None
    due = meeting.starts_at - timedelta(hours=config.param(rule, "hours_before"))
    if now < due or now >= meeting.starts_at:
        return []
    if any(kind in meeting.documents and meeting.documents[kind] <= now for kind in EARLY_DOCUMENT_KINDS):
        return []
    return _alert(
        rule,
        subject_id=meeting.meeting_id,
        period=meeting.starts_at.isoformat(),
        recipients=tuple(ctx.secretary()),
        cell_id=meeting.cell_id,
        **_meeting_values(meeting, ctx),
    )


def meeting_reminder(*, meeting: Meeting, ctx: CellContext, config: RuleConfig, now: datetime) -> list[Alert]:
    """Within the lead time before the start: every expected member and the monitors."""
    rule = r.MEETING_REMINDER
    if not config.is_enabled(rule) or not meeting.known or meeting.cancelled:
        return []
    assert meeting.starts_at is not None
    due = meeting.starts_at - timedelta(hours=config.param(rule, "hours_before"))
    if now < due or now >= meeting.starts_at:
        return []
    recipients = unique_recipients(ctx.expected_members(), ctx.monitor_recipients())
    return _alert(
        rule,
        subject_id=meeting.meeting_id,
        period=meeting.starts_at.isoformat(),
        recipients=recipients,
        cell_id=meeting.cell_id,
        **_meeting_values(meeting, ctx),
    )


def _final_documents_done(meeting: Meeting) -> bool:
    return meeting.minutes_submitted_at is not None and all(kind in meeting.documents for kind in FINAL_DOCUMENT_KINDS)


def minutes_late(*, meeting: Meeting, ctx: CellContext, config: RuleConfig, now: datetime) -> list[Alert]:
    """Minutes or final documents missing after the set days: the secretary, later the superior committee."""
    if not meeting.known or meeting.cancelled or _final_documents_done(meeting):
        return []
    assert meeting.starts_at is not None
    alerts: list[Alert] = []
    days = config.param(r.MINUTES_LATE, "days_after")
    values = _meeting_values(meeting, ctx) | {"days": days}
    if config.is_enabled(r.MINUTES_LATE) and now >= meeting.starts_at + timedelta(days=days):
        alerts += _alert(
            r.MINUTES_LATE,
            subject_id=meeting.meeting_id,
            period="late",
            recipients=tuple(ctx.secretary()),
            cell_id=meeting.cell_id,
            **values,
        )
    more = config.param(r.MINUTES_LATE_SUPERIOR, "more_days")
    if config.is_enabled(r.MINUTES_LATE_SUPERIOR) and now >= meeting.starts_at + timedelta(days=days + more):
        alerts += _alert(
            r.MINUTES_LATE_SUPERIOR,
            subject_id=meeting.meeting_id,
            period="late",
            recipients=tuple(ctx.superior_committee()),
            cell_id=meeting.cell_id,
            **(values | {"days": days + more}),
        )
    return alerts


def _regular_taken_place(meetings: list[Meeting], start: datetime, end: datetime, moment: datetime) -> bool:
    return any(
        m.kind in REGULAR_KINDS and m.took_place_by(moment) and m.starts_at is not None and start <= m.starts_at < end
        for m in meetings
    )


def _known_before(cell: Unit | None, moment: datetime) -> bool:
    """Period rules judge only periods the projection saw from their start (no alerts on imported history)."""
    return cell is not None and cell.active and (cell.known_since is None or cell.known_since <= moment)


def no_regular_meeting(*, ctx: CellContext, meetings: list[Meeting], config: RuleConfig, now: datetime) -> list[Alert]:
    """No regular meeting taken place by the set day of the month: the secretary."""
    rule = r.NO_REGULAR_MEETING
    today = local(now)
    start = month_start(today.year, today.month)
    if (
        not config.is_enabled(rule)
        or today.day < config.param(rule, "day_of_month")
        or not _known_before(ctx.cell, start)
    ):
        return []
    if _regular_taken_place(meetings, start, month_start(*next_month(today.year, today.month)), now):
        return []
    assert ctx.cell is not None
    return _alert(
        rule,
        subject_id=ctx.cell.id,
        period=month_of(now),
        recipients=tuple(ctx.secretary()),
        cell_id=ctx.cell.id,
        cell=ctx.cell.name,
        month=month_of(now),
        day=config.param(rule, "day_of_month"),
    )


def month_without_meeting(
    *, ctx: CellContext, meetings: list[Meeting], config: RuleConfig, now: datetime
) -> list[Alert]:
    """The previous month closed without a regular meeting: the superior committee."""
    rule = r.MONTH_WITHOUT_MEETING
    today = local(now)
    year, month = previous_month(today.year, today.month)
    start, end = month_start(year, month), month_start(today.year, today.month)
    if not config.is_enabled(rule) or not _known_before(ctx.cell, start):
        return []
    if _regular_taken_place(meetings, start, end, end):
        return []
    assert ctx.cell is not None
    period = f"{year:04d}-{month:02d}"
    return _alert(
        rule,
        subject_id=ctx.cell.id,
        period=period,
        recipients=tuple(ctx.superior_committee()),
        cell_id=ctx.cell.id,
        cell=ctx.cell.name,
        month=period,
    )


def quarter_without_thematic(
    *, ctx: CellContext, meetings: list[Meeting], config: RuleConfig, now: datetime
) -> list[Alert]:
    """In the quarter's last month, no thematic meeting held or planned: the secretary and the superior committee."""
    rule = r.QUARTER_WITHOUT_THEMATIC
    today = local(now)
    start, end = quarter_bounds(now)
    if not config.is_enabled(rule) or today.month % 3 != 0 or not _known_before(ctx.cell, start):
        return []
    if today.day < config.param(rule, "day_of_last_month"):
        return []
    if any(
        m.kind in THEMATIC_KINDS and not m.cancelled and m.starts_at and start <= m.starts_at < end for m in meetings
    ):
        return []
    assert ctx.cell is not None
    recipients = unique_recipients(ctx.secretary(), ctx.superior_committee())
    return _alert(
        rule,
        subject_id=ctx.cell.id,
        period=quarter_of(now),
        recipients=recipients,
        cell_id=ctx.cell.id,
        cell=ctx.cell.name,
        quarter=quarter_of(now),
    )


def unexcused_absences(*, meeting: Meeting, absent: list[Member], ctx: CellContext, config: RuleConfig) -> list[Alert]:
    """Each member absent without valid reason: the cell committee."""
    rule = r.UNEXCUSED_ABSENCE
    if not config.is_enabled(rule) or not meeting.known:
        return []
    alerts: list[Alert] = []
    for member in absent:
        alerts += _alert(
            rule,
            subject_id=member.id,
            period=meeting.meeting_id,
            recipients=tuple(ctx.cell_committee()),
            cell_id=meeting.cell_id,
            member=member.full_name,
            **_meeting_values(meeting, ctx),
        )
    return alerts


def absence_history(
    *,
    member_id: str,
    full_name: str,
    meeting_id: str,
    consecutive_absences: int,
    unexcused_months: int,
    ctx: CellContext,
    config: RuleConfig,
    now: datetime,
) -> list[Alert]:
    """Absent more than N meetings in a row, or unexcused in N months of a year: cell and superior committee."""
    recipients = unique_recipients(ctx.cell_committee(), ctx.superior_committee())
    cell_id = ctx.cell.id if ctx.cell else None
    values = {"cell": ctx.cell_name, "member": full_name}
    alerts: list[Alert] = []
    if config.is_enabled(r.CONSECUTIVE_ABSENCES) and consecutive_absences > config.param(
        r.CONSECUTIVE_ABSENCES, "more_than"
    ):
        alerts += _alert(
            r.CONSECUTIVE_ABSENCES,
            subject_id=member_id,
            period=meeting_id,
            recipients=recipients,
            cell_id=cell_id,
            count=consecutive_absences,
            **values,
        )
    if config.is_enabled(r.UNEXCUSED_MONTHS) and unexcused_months >= config.param(r.UNEXCUSED_MONTHS, "at_least"):
        alerts += _alert(
            r.UNEXCUSED_MONTHS,
            subject_id=member_id,
            period=str(local(now).year),
            recipients=recipients,
            cell_id=cell_id,
            count=unexcused_months,
            **values,
        )
    return alerts


def meeting_rated_low(
    *,
    meeting_id: str,
    rating: str,
    score: float,
    provisional: bool,
    meeting: Meeting | None,
    ctx: CellContext,
    config: RuleConfig,
) -> list[Alert]:
    """A meeting rated Average or Poor: the superior committee."""
    rule = r.MEETING_RATED_LOW
    if not config.is_enabled(rule) or rating not in config.param(rule, "ratings"):
        return []
    if provisional and not config.param(rule, "include_provisional"):
        return []
    values = _meeting_values(meeting, ctx) if meeting else {"cell": ctx.cell_name, "meeting_id": meeting_id}
    return _alert(
        rule,
        subject_id=meeting_id,
        period=rating,
        recipients=tuple(ctx.superior_committee()),
        cell_id=ctx.cell.id if ctx.cell else None,
        rating=rating,
        score=score,
        **values,
    )


def period_rated_low(
    *, period: str, rating: str, score: float, ctx: CellContext, config: RuleConfig, now: datetime
) -> list[Alert]:
    """A closed period rated Average or Poor (after a grace for late minutes): the superior committee."""
    rule = r.PERIOD_RATED_LOW
    if not config.is_enabled(rule) or rating not in config.param(rule, "ratings") or ctx.cell is None:
        return []
    if now < period_due(period, grace_days=config.param(rule, "grace_days")):
        return []
    return _alert(
        rule,
        subject_id=ctx.cell.id,
        period=f"{period}/{rating}",
        recipients=tuple(ctx.superior_committee()),
        cell_id=ctx.cell.id,
        cell=ctx.cell.name,
        period_label=period,
        rating=rating,
        score=score,
    )


def period_due(period: str, *, grace_days: int) -> datetime:
    """When a period's rating is final enough to judge: its end plus the grace days."""
    return period_bounds(period)[1] + timedelta(days=grace_days)


def probation_ends_on(member: Member) -> date | None:
    """The end of a probationary member's 12 months, when the admission date is known."""
    if member.status != PROBATIONARY or member.admitted_on is None:
        return None
    return add_years(member.admitted_on, 1)


def probation_ending(*, member: Member, ctx: CellContext, config: RuleConfig, now: datetime) -> list[Alert]:
    """Probation ends within the set days: the secretary, so the cell votes on official membership."""
    rule = r.PROBATION_ENDING
    ends_on = probation_ends_on(member)
    if not config.is_enabled(rule) or ends_on is None or not member.active:
        return []
    if local(now).date() < ends_on - timedelta(days=config.param(rule, "days_before")):
        return []
    return _alert(
        rule,
        subject_id=member.id,
        period=ends_on.isoformat(),
        recipients=tuple(ctx.secretary()),
        cell_id=member.cell_id,
        cell=ctx.cell_name,
        member=member.full_name,
        ends_on=ends_on,
    )


def cell_without_committee(*, ctx: CellContext, config: RuleConfig, now: datetime) -> list[Alert]:
    """A cell with the set number of official members or more and no cell committee: secretary and superior."""
    rule = r.CELL_WITHOUT_COMMITTEE
    if not config.is_enabled(rule) or ctx.cell is None or not ctx.cell.active or ctx.has_committee():
        return []
    count = ctx.official_count()
    if count < config.param(rule, "official_members_at_least"):
        return []
    recipients = unique_recipients(ctx.secretary(), ctx.superior_committee())
    return _alert(
        rule,
        subject_id=ctx.cell.id,
        period=month_of(now),
        recipients=recipients,
        cell_id=ctx.cell.id,
        cell=ctx.cell.name,
        count=count,
    )


def monitor_behind_quota(
    *, monitor: Monitor, attended: int, committee: Unit | None, cell_name: str, config: RuleConfig, now: datetime
) -> list[Alert]:
    """A monitor who attended fewer meetings than the quota's share of the months passed: the monitor and committee."""
    rule = r.MONITOR_BEHIND_QUOTA
    if not config.is_enabled(rule) or not monitor.yearly_quota:
        return []
    months_passed = local(now).month - 1
    expected = monitor.yearly_quota * months_passed // 12
    if attended >= expected:
        return []
    recipients = unique_recipients([monitor_recipient(monitor)], [committee_recipient(committee)] if committee else [])
    return _alert(
        rule,
        subject_id=f"{monitor.person_id}:{monitor.cell_id}",
        period=month_of(now),
        recipients=recipients,
        cell_id=monitor.cell_id,
        cell=cell_name,
        monitor=monitor.full_name,
        attended=attended,
        expected=expected,
        quota=monitor.yearly_quota,
    )
