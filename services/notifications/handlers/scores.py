"""score.meeting.updated.v1 and score.cell.updated.v1: meetings and periods rated Average or Poor, for the superior
committee (DOMAIN.md "Alerts")."""

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from services.notifications.domain import rules
from services.notifications.domain import settings as r
from services.notifications.domain.model import CellScore, Meeting
from services.notifications.handlers.alerts import configs_for, raise_alerts
from services.notifications.handlers.facts import about_recent_meetings
from services.notifications.unit_of_work import NotificationsUnit
from shared.envelope import Event


async def on_meeting_score(event: Event[Any], uow: NotificationsUnit) -> None:
    """A meeting rated Average or Poor: the superior committee."""
    await on_meeting_scores([event], uow)


async def on_meeting_scores(events: Sequence[Event[Any]], uow: NotificationsUnit) -> None:
    """score.meeting.updated.v1 of a batch: the ratings of recent meetings decided at once, each cell's settings
    read once and the context (its committees) only of cells with a rating that may alert, as for the histories
    (the alerts are those of each event in turn)."""
    meetings: dict[str, Meeting] = {}
    recent = await about_recent_meetings(events, uow, meetings=meetings)
    configs = await configs_for(sorted({event.data.cell_id for event in recent}), uow) if recent else {}
    alerting = [
        event
        for event in recent
        if rules.meeting_rated_low_may_alert(
            rating=event.data.rating.value, provisional=event.data.provisional, config=configs[event.data.cell_id]
        )
    ]
    if not alerting:
        return
    contexts = await uow.projection.cell_contexts(sorted({event.data.cell_id for event in alerting}))
    alerts = []
    for event in alerting:
        data = event.data
        alerts += rules.meeting_rated_low(
            meeting_id=data.meeting_id,
            rating=data.rating.value,
            score=data.score,
            provisional=data.provisional,
            meeting=meetings.get(data.meeting_id),
            ctx=contexts[data.cell_id],
            config=configs[data.cell_id],
        )
    await raise_alerts(alerts, uow)


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
        ]
    )
    if not applied:
        return
    configs = await configs_for(sorted({cell_id for cell_id, _ in applied}), uow)
    now = uow.now()
    oldest = now - timedelta(days=uow.settings.history_cutoff_days)
    jobs = []
    for cell_id, period in sorted(applied):
        due = rules.period_due(period, grace_days=configs[cell_id].param(r.PERIOD_RATED_LOW, "grace_days"))
        if due >= oldest:
            jobs.append(("cell.period", f"{cell_id}|{period}", max(due, now)))
    await uow.outgoing.schedule_many(jobs, rearm=True)
