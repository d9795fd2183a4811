"""Rules about one member: absences in a row or over months, and the end of probation."""

from datetime import date, datetime, timedelta

from services.notifications.domain import settings as r
from services.notifications.domain.model import PROBATIONARY, Alert, CellContext, Member, unique_recipients
from services.notifications.domain.rules.common import build_alerts
from services.notifications.domain.settings import RuleConfig
from shared.periods import add_years, local


def absence_history_may_alert(*, consecutive_absences: int, unexcused_months: int, config: RuleConfig) -> bool:
    """Whether absence_history raises anything for these counts under the settings, whoever the cell's people are
    (a batch asks before reading the cells: most histories announced are of members present)."""
    return (
        config.is_enabled(r.CONSECUTIVE_ABSENCES)
        and consecutive_absences > config.param(r.CONSECUTIVE_ABSENCES, "more_than")
    ) or (config.is_enabled(r.UNEXCUSED_MONTHS) and unexcused_months >= config.param(r.UNEXCUSED_MONTHS, "at_least"))


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
        alerts += build_alerts(
            r.CONSECUTIVE_ABSENCES,
            subject_id=member_id,
            period=meeting_id,
            recipients=recipients,
            cell_id=cell_id,
            count=consecutive_absences,
            **values,
        )
    if config.is_enabled(r.UNEXCUSED_MONTHS) and unexcused_months >= config.param(r.UNEXCUSED_MONTHS, "at_least"):
        alerts += build_alerts(
            r.UNEXCUSED_MONTHS,
            subject_id=member_id,
            period=str(local(now).year),
            recipients=recipients,
            cell_id=cell_id,
            count=unexcused_months,
            **values,
        )
    return alerts


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
    return build_alerts(
        rule,
        subject_id=member.id,
        period=ends_on.isoformat(),
        recipients=tuple(ctx.secretary()),
        cell_id=member.cell_id,
        cell=ctx.cell_name,
        member=member.full_name,
        ends_on=ends_on,
    )


def probation_check_day(member: Member, config: RuleConfig) -> date | None:
    """The day the probation-ending rule is checked: the lead time before the 12 months end."""
    ends_on = probation_ends_on(member)
    if ends_on is None:
        return None
    return ends_on - timedelta(days=config.param(r.PROBATION_ENDING, "days_before"))
