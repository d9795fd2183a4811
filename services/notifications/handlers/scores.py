"""score.meeting.updated.v1 and score.cell.updated.v1: meetings and periods rated Average or Poor, for the superior
committee (DOMAIN.md "Alerts"), each judged on a settled rating: a meeting's latest score some minutes after it came,
a period's after its end and a grace."""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from services.notifications.domain import rules
from services.notifications.domain import settings as r
from services.notifications.domain.model import CellScore, Meeting, MeetingScore, MeetingScoreWithdrawal
from services.notifications.handlers.alerts import config_for, configs_for, raise_alerts
from services.notifications.handlers.facts import about_recent_meetings, is_recent
from services.notifications.unit_of_work import NotificationsUnit
from shared.envelope import Event
from shared.logs import get_logger

log = get_logger(__name__)


async def on_meeting_score(event: Event[Any], uow: NotificationsUnit) -> None:
    """Store a meeting's score and, when it is rated Average or Poor, plan the check of its settled rating."""
    await on_meeting_scores([event], uow)


async def on_meeting_scores(events: Sequence[Event[Any]], uow: NotificationsUnit) -> None:
    """score.meeting.updated.v1 of a batch: the scores of recent meetings stored in one statement (each meeting takes
    its newest when newer than the stored one) and, for those stored with a rating that may alert, the check of the
    settled rating planned `settle_minutes` ahead in one more (re-armed: a later score of the meeting moves it). The
    check raises meeting_rated_low only if the meeting's latest score is still low then: an interim low score (facts
    released out of order, the minutes before the roster) that a later one replaces is no alarm (DOMAIN.md's
    committees want no stream of alerts). A redelivered or older score is not newer: it plans nothing; one published
    before the scores' retention is dropped, even about a meeting not known here (the score it would lose to may have
    been purged, PgMeetings.prune_meeting_scores). A score is evaluation's word that its meeting has begun
    (shared.plausible.meeting_begun is evaluation's rule, and evaluation withdraws a score that no longer stands:
    score.meeting.withdrawn.v1, reason not_held), so it is stored as published, never judged again here on this
    service's copy of the schedule: that copy may lack the move or the minutes that began the meeting (order is not
    guaranteed), and a score dropped on it was lost for good. Whether it alerts is judged when its check runs
    (rules.meeting_rated_low: a meeting held by then, as known then)."""
    meetings: dict[str, Meeting] = {}
    now = uow.now()
    kept_since = now - timedelta(days=uow.settings.meeting_score_retention_days)
    recent = [
        event for event in await about_recent_meetings(events, uow, meetings=meetings) if event.time >= kept_since
    ]
    if not recent:
        return
    stored = await uow.projection.upsert_meeting_scores(
        [
            MeetingScore(
                meeting_id=event.data.meeting_id,
                cell_id=event.data.cell_id,
                rating=event.data.rating.value,
                score=event.data.score,
                provisional=event.data.provisional,
                time=event.time,
                event_id=event.order_id,
                received_at=now,
            )
            for event in recent
        ]
    )
    if not stored:
        return
    configs = await configs_for(sorted({score.cell_id for score in stored}), uow)
    jobs = []
    for score in sorted(stored, key=lambda item: item.meeting_id):
        config, meeting = configs[score.cell_id], meetings.get(score.meeting_id)
        if meeting is not None and meeting.cancelled:
            continue
        if rules.meeting_rated_low_may_alert(rating=score.rating, provisional=score.provisional, config=config):
            settle = config.param(r.MEETING_RATED_LOW, "settle_minutes")
            due = rules.meeting_score_check_due(meeting, now=now, settle_minutes=settle)
            jobs.append((rules.MEETING_SCORE_CHECK, score.meeting_id, due))
    await uow.outgoing.schedule_many(jobs, rearm=True)


async def on_meeting_score_withdrawn(event: Event[Any], uow: NotificationsUnit) -> None:
    """A meeting's score withdrawn (cancelled, or not held: moved ahead): what was raised or planned from that score is
    retracted."""
    await on_meeting_scores_withdrawn([event], uow)


async def on_meeting_scores_withdrawn(events: Sequence[Event[Any]], uow: NotificationsUnit) -> None:
    """score.meeting.withdrawn.v1 of a batch (CONTRACT.md: a meeting no longer scored; reason cancelled or not_held).
    Each withdrawal is stored as its meeting's latest score version when newer than the stored one (in one
    statement), so the withdrawn score counts in no later alert decision and an older score arriving after it (order
    is not guaranteed) changes nothing.
    For the meetings withdrawn now: the settled-rating check not yet fired is cancelled (no meeting_rated_low will
    come from that score), and the meeting_rated_low alerts already raised from it are retracted (PgOutgoing
    .retract_alerts: void in the inbox, out of the digests, their deliveries not yet made cancelled; one delivered
    stays delivered, with no mail about it: DOMAIN.md's alerts reach each recipient once and committees want no
    stream of alerts). A redelivered or older withdrawal changes nothing; one published before the scores'
    retention is dropped, as such a score is (on_meeting_scores)."""
    now = uow.now()
    kept_since = now - timedelta(days=uow.settings.meeting_score_retention_days)
    withdrawn = await uow.projection.withdraw_meeting_scores(
        [
            MeetingScoreWithdrawal(
                meeting_id=event.data.meeting_id,
                cell_id=event.data.cell_id,
                time=event.time,
                event_id=event.order_id,
                received_at=now,
            )
            for event in events
            if event.time >= kept_since
        ]
    )
    if not withdrawn:
        return
    checks = await uow.outgoing.cancel_jobs(rules.MEETING_SCORE_CHECK, withdrawn, now=now)
    alerts, deliveries = await uow.outgoing.retract_alerts(r.MEETING_RATED_LOW, withdrawn, now=now)
    log.info(
        "meeting_scores_withdrawn",
        meetings=len(withdrawn),
        checks_cancelled=checks,
        alerts_retracted=alerts,
        deliveries_cancelled=deliveries,
    )


async def check_meeting_score(meeting_id: str, uow: NotificationsUnit) -> tuple[int, datetime | None]:
    """The settled-rating check of a meeting (its job is due): meeting_rated_low of its latest stored score, if that
    is still low, the meeting not cancelled and, as far as it is known now, not older than the history cutoff when
    the score came (a score may arrive before its meeting: judged recent then, an imported meeting of last month
    known by the check raises nothing); (the alerts created, when to check again: the start of a meeting whose
    minutes came before it, rules.meeting_start_ahead, as nothing else checks when a start passes; else None)."""
    score = await uow.projection.get_meeting_score(meeting_id)
    if score is None:
        return 0, None
    meeting = await uow.projection.get_meeting(meeting_id)
    if not is_recent(meeting, now=score.received_at, cutoff_days=uow.settings.history_cutoff_days):
        return 0, None
    config = await config_for(score.cell_id, uow, lock=False)
    if not rules.meeting_rated_low_may_alert(rating=score.rating, provisional=score.provisional, config=config):
        return 0, None
    again_at = rules.meeting_start_ahead(meeting, now=uow.now())
    if again_at is not None:
        return 0, again_at
    ctx = await uow.projection.cell_context(score.cell_id)
    alerts = rules.meeting_rated_low(
        meeting_id=meeting_id,
        rating=score.rating,
        score=score.score,
        provisional=score.provisional,
        meeting=meeting,
        ctx=ctx,
        config=config,
        now=uow.now(),
    )
    return await raise_alerts(alerts, uow), None


async def on_cell_score(event: Event[Any], uow: NotificationsUnit) -> None:
    """Store the period rating and plan its check once the period is over (plus a grace)."""
    await on_cell_scores([event], uow)


async def on_cell_scores(events: Sequence[Event[Any]], uow: NotificationsUnit) -> None:
    """score.cell.updated.v1 of a batch: the period ratings stored in one statement (each (cell, period) takes
    its newest when newer than the stored one) and the checks of those applied planned in one more."""
    applied = await uow.projection.upsert_cell_scores(
        [
            CellScore(
                cell_id=event.data.cell_id,
                period=event.data.period,
                rating=event.data.rating.value,
                score=event.data.score,
                time=event.time,
                event_id=event.order_id,
            )
            for event in events
        ],
        received_at=uow.now(),
    )
    if not applied:
        return
    configs = await configs_for(sorted({cell_id for cell_id, _ in applied}), uow)
    now = uow.now()
    oldest = now - timedelta(days=uow.settings.history_cutoff_days)
    jobs = []
    for cell_id, period in sorted(applied):
        config = configs[cell_id]
        grace = config.param(r.PERIOD_RATED_LOW, "grace_days")
        if rules.period_due(period, grace_days=grace) >= oldest:
            settle = config.param(r.PERIOD_RATED_LOW, "settle_minutes")
            due = rules.period_check_due(period, grace_days=grace, settle_minutes=settle, received_at=now)
            jobs.append(("cell.period", f"{cell_id}|{period}", due))
    await uow.outgoing.schedule_many(jobs, rearm=True)
