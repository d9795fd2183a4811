"""Rules about a cell over a period, judged by the daily sweep: regularity, thematic meetings, committee, quota."""

from datetime import datetime

from services.notifications.domain import settings as r
from services.notifications.domain.model import (
    REGULAR_KINDS,
    THEMATIC_KINDS,
    Alert,
    CellContext,
    Meeting,
    Monitor,
    Unit,
    committee_recipient,
    monitor_recipient,
    unique_recipients,
)
from services.notifications.domain.rules.common import build_alerts
from services.notifications.domain.settings import RuleConfig
from shared.periods import (
    local,
    month_of,
    month_start,
    next_month,
    previous_month,
    quarter_bounds,
    quarter_of,
)


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
    return build_alerts(
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
    return build_alerts(
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
    return build_alerts(
        rule,
        subject_id=ctx.cell.id,
        period=quarter_of(now),
        recipients=recipients,
        cell_id=ctx.cell.id,
        cell=ctx.cell.name,
        quarter=quarter_of(now),
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
    return build_alerts(
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
    return build_alerts(
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
