"""Rules about ratings: a meeting or a closed period rated Average or Poor."""

from datetime import datetime, timedelta

from services.notifications.domain import settings as r
from services.notifications.domain.model import Alert, CellContext, Meeting
from services.notifications.domain.rules.common import build_alerts, meeting_values
from services.notifications.domain.settings import RuleConfig
from shared.periods import period_due

MEETING_SCORE_CHECK = "score.meeting"
"""The schedule's kind of the check that judges a meeting's settled rating (subject: the meeting id)."""


def meeting_rated_low_may_alert(*, rating: str, provisional: bool, config: RuleConfig) -> bool:
    """Whether meeting_rated_low raises anything for this rating under the settings, whoever the cell's committees
    are (a batch asks before reading the cells: most ratings are not low)."""
    rule = r.MEETING_RATED_LOW
    if not config.is_enabled(rule) or rating not in config.param(rule, "ratings"):
        return False
    return not provisional or bool(config.param(rule, "include_provisional"))


def meeting_score_due(received_at: datetime, *, settle_minutes: int) -> datetime:
    """When a meeting's latest score is settled enough to judge: `settle_minutes` after it was stored, no newer one
    having come (a newer one plans the check again from its own arrival)."""
    return received_at + timedelta(minutes=settle_minutes)


def meeting_score_check_due(meeting: Meeting | None, *, now: datetime, settle_minutes: int) -> datetime:
    """When to check a meeting's low score stored or made judgeable at `now`: `settle_minutes` on (meeting_score_due),
    and not before the start of a meeting held but not started yet (its minutes came ahead of its start:
    meeting_rated_low judges a meeting held by then only, Meeting.held_by)."""
    due = meeting_score_due(now, settle_minutes=settle_minutes)
    start = meeting_start_ahead(meeting, now=due)
    return due if start is None else start


def meeting_start_ahead(meeting: Meeting | None, *, now: datetime) -> datetime | None:
    """The start of a meeting held but for its start (minutes in, not cancelled) while that start is after `now`,
    else None: when its settled-rating check must run again (its start passing makes it held, with no fact coming)."""
    if meeting is None or not meeting.held or meeting.starts_at is None or meeting.starts_at <= now:
        return None
    return meeting.starts_at


def period_check_due(period: str, *, grace_days: int, settle_minutes: int, received_at: datetime | None) -> datetime:
    """When period_rated_low judges a cell's period (DOMAIN.md "Alerts": a period rated Average or Poor): `grace_days`
    after the period ends, and not before its latest rating has gone `settle_minutes` without a newer one (ratings of
    a period already past its grace, a backfill's or late minutes', pass through interim levels as the facts arrive;
    None: arrival unknown, the grace alone)."""
    due = period_due(period, grace_days=grace_days)
    if received_at is None:
        return due
    return max(due, received_at + timedelta(minutes=settle_minutes))


def meeting_rated_low(
    *,
    meeting_id: str,
    rating: str,
    score: float,
    provisional: bool,
    meeting: Meeting | None,
    ctx: CellContext,
    config: RuleConfig,
    now: datetime,
) -> list[Alert]:
    """A held meeting rated Average or Poor: the superior committee. Only a meeting held by `now` (Meeting.held_by:
    its minutes here, its start come, not cancelled) is rated: evaluation scores whatever facts it has, so a meeting
    still scheduled gets a (provisional) score, and a trial's commune inbox read "xếp loại Kém" for a meeting due the
    next day; one not known here is not judged either. A meeting held later is judged then (its minutes plan the
    check again, handlers.facts). Never a meeting known cancelled (its score is withdrawn: a score published before
    the cancellation reached evaluation may arrive after it). Judged on the meeting's settled score (the latest once
    `settle_minutes` passed without a newer one, MEETING_SCORE_CHECK), so an interim low score a later one replaces
    raises nothing."""
    rule = r.MEETING_RATED_LOW
    if not meeting_rated_low_may_alert(rating=rating, provisional=provisional, config=config):
        return []
    if meeting is None or not meeting.held_by(now):
        return []
    values = meeting_values(meeting, ctx)
    return build_alerts(
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
    """A closed period rated Average or Poor (after a grace for late minutes): the superior committee. Judged by the
    check period_check_due plans, on the period's latest rating then."""
    rule = r.PERIOD_RATED_LOW
    if not config.is_enabled(rule) or rating not in config.param(rule, "ratings") or ctx.cell is None:
        return []
    if now < period_due(period, grace_days=config.param(rule, "grace_days")):
        return []
    return build_alerts(
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
