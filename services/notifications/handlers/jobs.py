"""Time-based rules fired from the durable schedule: meeting deadlines, probation, periods, sweeps, digests."""

from datetime import date, datetime, timedelta

from services.notifications.domain import rules
from services.notifications.domain.model import Alert, Recipient
from services.notifications.domain.periods import at_local_hour, local, month_start, previous_month, quarter_bounds
from services.notifications.handlers.alerts import (
    config_for,
    effective_preference,
    plan_external_deliveries,
    raise_alerts,
)
from services.notifications.handlers.facts import is_recent
from services.notifications.repository.outgoing import Job, NewNotification
from services.notifications.templates import render_digest
from services.notifications.unit_of_work import NotificationsUnitOfWork
from shared.logs import get_logger

log = get_logger(__name__)

DAILY_SWEEP = "daily.sweep"
DAILY_DIGEST = "daily.digest"
SWEEP_BATCH = 500


async def plan_daily_jobs(uow: NotificationsUnitOfWork) -> int:
    """Plan the sweep and the digest of every day since the last planned one up to today (catch-up)."""
    today = local(uow.now()).date()
    planned = 0
    for kind, hour in ((DAILY_SWEEP, uow.settings.daily_sweep_hour), (DAILY_DIGEST, uow.settings.digest_hour)):
        last = await uow.outgoing.last_daily(kind)
        day = today if last is None else last + timedelta(days=1)
        while day <= today:
            await uow.outgoing.schedule(
                kind=kind, subject_id=day.isoformat(), due_at=at_local_hour(day, hour), rearm=False
            )
            planned += 1
            day += timedelta(days=1)
    return planned


async def run_job(job: Job, uow: NotificationsUnitOfWork) -> int:
    """Fire one due job inside the caller's transaction; return how many notifications it created."""
    now = uow.now()
    if job.kind.startswith("meeting."):
        return await _meeting_job(job, uow, now=now)
    if job.kind == "member.probation":
        member = await uow.projection.get_member(job.subject_id)
        if member is None:
            return 0
        ctx = await uow.projection.cell_context(member.cell_id)
        config = await config_for(member.cell_id, uow)
        return await raise_alerts(rules.probation_ending(member=member, ctx=ctx, config=config, now=now), uow)
    if job.kind == "cell.period":
        cell_id, period = job.subject_id.split("|", 1)
        stored = await uow.projection.get_cell_score(cell_id=cell_id, period=period)
        if stored is None:
            return 0
        ctx = await uow.projection.cell_context(cell_id)
        config = await config_for(cell_id, uow)
        alerts = rules.period_rated_low(
            period=period, rating=stored[0], score=stored[1], ctx=ctx, config=config, now=now
        )
        return await raise_alerts(alerts, uow)
    if job.kind == DAILY_SWEEP:
        return await sweep_cells(uow, as_of=min(job.due_at, now))
    if job.kind == DAILY_DIGEST:
        return await send_digests(uow, day=date.fromisoformat(job.subject_id), until=now)
    log.warning("schedule_unknown_kind", kind=job.kind, subject_id=job.subject_id)
    return 0


async def _meeting_job(job: Job, uow: NotificationsUnitOfWork, *, now: datetime) -> int:
    meeting = await uow.projection.get_meeting(job.subject_id)
    if meeting is None or not meeting.known:
        return 0
    if not is_recent(meeting, now=now, cutoff_days=uow.settings.history_cutoff_days):
        return 0
    ctx = await uow.projection.cell_context(meeting.cell_id)
    config = await config_for(meeting.cell_id, uow)
    alerts: list[Alert]
    if job.kind == "meeting.documents":
        alerts = rules.documents_missing(meeting=meeting, ctx=ctx, config=config, now=now)
    elif job.kind == "meeting.reminder":
        alerts = rules.meeting_reminder(meeting=meeting, ctx=ctx, config=config, now=now)
    else:
        alerts = rules.minutes_late(meeting=meeting, ctx=ctx, config=config, now=now)
    return await raise_alerts(alerts, uow)


async def sweep_cells(uow: NotificationsUnitOfWork, *, as_of: datetime) -> int:
    """Judge every active cell's period rules as of the sweep's moment (regularity, thematic, committee, quota)."""
    today = local(as_of)
    quarter_start, _ = quarter_bounds(as_of)
    previous_start = month_start(*previous_month(today.year, today.month))
    window_start = min(quarter_start, previous_start)
    window_end = as_of + timedelta(days=62)
    year_start = month_start(today.year, 1)
    this_month = month_start(today.year, today.month)
    created = 0
    after = ""
    while True:
        cells = await uow.projection.active_cells(after_id=after, limit=SWEEP_BATCH)
        if not cells:
            return created
        for cell_id in cells:
            ctx = await uow.projection.cell_context(cell_id)
            config = await config_for(cell_id, uow)
            meetings = await uow.projection.cell_meetings(cell_id, start=window_start, end=window_end)
            alerts = [
                *rules.no_regular_meeting(ctx=ctx, meetings=meetings, config=config, now=as_of),
                *rules.month_without_meeting(ctx=ctx, meetings=meetings, config=config, now=as_of),
                *rules.quarter_without_thematic(ctx=ctx, meetings=meetings, config=config, now=as_of),
                *rules.cell_without_committee(ctx=ctx, config=config, now=as_of),
            ]
            for monitor in await uow.projection.monitors_with_quota(cell_id):
                attended = await uow.projection.monitor_attended(
                    person_id=monitor.person_id, cell_id=cell_id, start=year_start, end=this_month
                )
                committee = await uow.projection.get_unit(monitor.committee_id)
                alerts += rules.monitor_behind_quota(
                    monitor=monitor,
                    attended=attended,
                    committee=committee,
                    cell_name=ctx.cell_name,
                    config=config,
                    now=as_of,
                )
            created += await raise_alerts(alerts, uow)
        after = cells[-1]


async def send_digests(uow: NotificationsUnitOfWork, *, day: date, until: datetime) -> int:
    """One message per recipient who chose the digest, collecting the alerts waiting for it."""
    created = 0
    for recipient_id, rows in (await uow.outgoing.digest_pending(until=until)).items():
        latest = rows[-1]
        recipient = Recipient(
            id=recipient_id,
            kind=latest["recipient_kind"],
            name=latest["recipient_name"],
            emails=tuple(latest["recipient_emails"]),
            phone=latest["recipient_phone"],
        )
        preference = effective_preference(recipient, await uow.outgoing.preference(recipient_id), uow)
        title, body = render_digest(recipient=recipient, day=day, titles=[row["title"] for row in rows])
        digest_id = await uow.outgoing.insert_notification(
            NewNotification(
                rule="daily_digest",
                subject_id=recipient_id,
                period=day.isoformat(),
                recipient=recipient,
                cell_id=None,
                title=title,
                body=body,
                created_at=uow.now(),
                digest_pending=False,
            )
        )
        ids = [str(row["id"]) for row in rows]
        if digest_id is None:
            # a digest for this day went out already: these wait for the next day's
            continue
        await plan_external_deliveries(notification_id=digest_id, recipient=recipient, preference=preference, uow=uow)
        await uow.outgoing.close_digest(ids, digest_id=digest_id)
        created += 1
        log.info("digest_created", recipient_id=recipient_id, items=len(ids), day=day.isoformat())
    return created
