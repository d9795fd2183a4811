"""Time-based rules fired from the durable schedule: meeting deadlines, settled meeting ratings, probation, periods,
sweeps, digests."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from services.notifications.domain import rules
from services.notifications.domain.model import Alert, Meeting, Recipient
from services.notifications.domain.settings import RuleConfig
from services.notifications.handlers.alerts import (
    config_for,
    configs_for,
    effective_preference,
    plan_external_deliveries,
    raise_alerts,
)
from services.notifications.handlers.facts import is_recent
from services.notifications.handlers.scores import check_meeting_score
from services.notifications.repository.outgoing import Job, NewNotification
from services.notifications.templates import render_digest
from services.notifications.unit_of_work import NotificationsUnit, NotificationsUnitOfWork
from shared.logs import get_logger
from shared.periods import at_local_hour, local, month_start, previous_month, quarter_bounds
from shared.retention import count_pruned

log = get_logger(__name__)

DAILY_SWEEP = "daily.sweep"
DAILY_DIGEST = "daily.digest"
DAILY_PRUNE = "daily.prune"
DAILY_SCORE_PRUNE = "daily.prune_scores"
DAILY_MAIL_PRUNE = "daily.prune_mail_addresses"
DAILY_NOTIFICATION_PRUNE = "daily.prune_notifications"


@dataclass(frozen=True)
class JobRun:
    """What one run of a job did: notifications created, and where to resume when it has more to do."""

    created: int
    resume_after: str | None = None
    """Set by a job done in batches that is not finished: the runner stores it and leaves the job due."""
    again_at: datetime | None = None
    """Set by a job that ran before what it judges could hold (a meeting's rating check before the start of a
    meeting whose minutes came early): the runner plans it again for then instead of marking it fired."""


async def plan_daily_jobs(uow: NotificationsUnit, *, replan: bool = False) -> int:
    """Plan the sweep, the digest and the prunes of every day since the last planned one up to today (catch-up), at
    the hours now configured; with `replan` (a process's first pass: its hours are fixed while it runs) also move
    those planned before and not started yet to those hours (a restart with a changed `digest_hour` or
    `daily_sweep_hour`): a day's job runs once, at its new hour, or at once when that hour has passed; returns how
    many were planned."""
    today = local(uow.now()).date()
    planned = 0
    settings = uow.settings
    daily = (
        (DAILY_SWEEP, settings.daily_sweep_hour),
        (DAILY_DIGEST, settings.digest_hour),
        (DAILY_PRUNE, settings.prune_hour),
        (DAILY_SCORE_PRUNE, settings.prune_hour),
        (DAILY_MAIL_PRUNE, settings.prune_hour),
        (DAILY_NOTIFICATION_PRUNE, settings.prune_hour),
    )
    for kind, hour in daily:
        last = await uow.outgoing.last_daily(kind)
        day = today if last is None else last + timedelta(days=1)
        while day <= today:
            await uow.outgoing.schedule(
                kind=kind, subject_id=day.isoformat(), due_at=at_local_hour(day, hour), rearm=False
            )
            planned += 1
            day += timedelta(days=1)
    if not replan:
        return planned
    hours = dict(daily)
    moves = [
        (kind, subject_id, at_local_hour(date.fromisoformat(subject_id), hours[kind]))
        for kind, subject_id, due_at in await uow.outgoing.unstarted_daily(list(hours))
        if due_at != at_local_hour(date.fromisoformat(subject_id), hours[kind])
    ]
    if moves:
        moved = await uow.outgoing.move_unstarted(moves)
        log.info(
            "daily_jobs_replanned",
            jobs=moved,
            sweep_hour=settings.daily_sweep_hour,
            digest_hour=settings.digest_hour,
            prune_hour=settings.prune_hour,
        )
    return planned


async def run_job(job: Job, uow: NotificationsUnit) -> JobRun:
    """Fire one due job (or the next batch of a long one) inside the caller's transaction."""
    if job.kind == DAILY_SWEEP:
        day = date.fromisoformat(job.subject_id)
        # judged as of the day's sweep hour, whenever the batch runs (catch-up, retries, restarts)
        as_of = min(at_local_hour(day, uow.settings.daily_sweep_hour), uow.now())
        return await sweep_batch(uow, as_of=as_of, after=job.cursor or "", limit=uow.settings.sweep_batch_size)
    if job.kind == DAILY_PRUNE:
        return await prune_batch(job, uow)
    if job.kind == DAILY_SCORE_PRUNE:
        return await prune_scores_batch(job, uow)
    if job.kind == DAILY_MAIL_PRUNE:
        return await prune_mail_addresses_batch(job, uow)
    if job.kind == DAILY_NOTIFICATION_PRUNE:
        return await prune_notifications_batch(job, uow)
    if job.kind == rules.MEETING_SCORE_CHECK:
        created, again_at = await check_meeting_score(job.subject_id, uow)
        return JobRun(created=created, again_at=again_at)
    deferred_to = rules.late_records_deferred_to(
        job.kind,
        planned_at=job.planned_at,
        grace=timedelta(minutes=uow.settings.late_records_grace_minutes),
        now=uow.now(),
    )
    if deferred_to is not None:
        return JobRun(created=0, again_at=deferred_to)
    return JobRun(created=await _fire_job(job, uow))


async def record_run(job: Job, run: JobRun, uow: NotificationsUnitOfWork) -> None:
    """Store what a run of `job` left in the caller's transaction: planned again at `again_at`, its batch cursor
    (the job stays due), or fired."""
    if run.again_at is not None:
        await uow.outgoing.rearm_job(job.id, due_at=run.again_at)
    elif run.resume_after is not None:
        # a batch of a long job: its cursor commits with the batch, the job stays due
        await uow.outgoing.advance_job(job.id, cursor=run.resume_after)
    else:
        await uow.outgoing.finish_job(job.id, now=uow.now())


async def prune_batch(job: Job, uow: NotificationsUnit) -> JobRun:
    """One batch of the daily prune of old attendance figures (`prune_batch_size` members after the job's cursor);
    the cutoff is the retention before the day's prune hour, whenever the batch runs, so every batch of a day
    prunes alike."""
    return await _prune_batch(
        job, uow, uow.settings.figures_retention_days, uow.projection.prune_figures, "member_figures"
    )


async def prune_scores_batch(job: Job, uow: NotificationsUnit) -> JobRun:
    """One batch of the daily purge of meeting scores (`prune_batch_size` meetings after the job's cursor): those
    stored `meeting_score_retention_days` before the day's prune hour (whenever the batch runs) whose settled-rating
    check is not pending; a batch that deletes nothing still moves the cursor on."""
    days = uow.settings.meeting_score_retention_days
    return await _prune_batch(job, uow, days, uow.projection.prune_meeting_scores, "meeting_score")


async def prune_mail_addresses_batch(job: Job, uow: NotificationsUnit) -> JobRun:
    """One batch of the daily prune of the e-mail addresses alerts hold (table mail_address, one mail per address
    per alert: `prune_batch_size` rows after the job's cursor), as of the day's prune hour whenever the batch runs.

    A row matters only while its alert (rule, subject, period) can be raised again with a new notification for one
    more recipient at that address (a newcomer sharing the mailbox, a changed committee): a redelivered fact is
    answered by the processed-message inbox and the notification's own key, both kept longer (their settings'
    floors, config.Settings). It is kept
    `mail_address_retention_days` (400) from the notification that took it, which outlasts every window but the
    meetings' ahead (config.Settings._mail_addresses_outlive_their_alerts holds it to that):
    - meeting notices (scheduled, moved, cancelled), documents missing and reminders: until the meeting starts,
      which may be two years ahead (shared.plausible.MEETING_HORIZON) and move again: a row naming a meeting (its
      subject, or its period for an unexcused absence) is kept while its scheduled or moved start, the later, is
      not before the cutoff, however old;
    - late minutes, unexcused absences, a meeting's low rating: while the meeting is within the history cutoff (14
      days; a settled rating's check a day at most after the score), so the meeting rule above covers them;
    - a period's low rating: its check is planned only while its end plus the grace (30 days at most) is within the
      history cutoff, a day's settling at most after;
    - the sweep's month and quarter rules: the sweeps of that month and the next (62 days; catch-up sweeps run in
      their days' order and prune as of their own day, so a late sweep finds what an on-time one would);
    - probation ending: from the lead time (180 days at most) before the end to the end;
    - absences in a row or months unexcused: once per run, its anchor taken with the first alert (never again).
    A meeting's low score about a meeting never known here, scored again more than the retention later, could mail
    a sharing member a second time: a meeting that old raises nothing once known."""
    return await _prune_batch(
        job, uow, uow.settings.mail_address_retention_days, uow.outgoing.prune_mail_addresses, "mail_address"
    )


async def prune_notifications_batch(job: Job, uow: NotificationsUnit) -> JobRun:
    """One batch of the daily prune of notifications with their deliveries (`prune_batch_size` after the job's
    cursor), as of the day's prune hour: those older than `notification_retention_days` that no inbox lists unread,
    no delivery, digest, mail_address row or meeting still ahead needs (repository prune_notifications). The setting
    is at least `mail_address_retention_days`, so a notification's key outlives every window in which its alert
    may be raised again for its recipient."""
    days = uow.settings.notification_retention_days
    return await _prune_batch(job, uow, days, uow.outgoing.prune_notifications, "notification")


class Pruner(Protocol):
    """A repository's batched prune: (rows deleted, the cursor to resume after, None when done)."""

    async def __call__(self, *, before: datetime, after: str, limit: int) -> tuple[int, str | None]: ...


async def _prune_batch(job: Job, uow: NotificationsUnit, days: int, prune: Pruner, table: str) -> JobRun:
    """One batch of a daily prune: what `prune` finds older than `days` before the day's prune hour (whenever the
    batch runs, so every batch of a day prunes alike), `prune_batch_size` after the job's cursor; counted and logged
    as every prune is (shared.retention: `rows_pruned` naming `table`)."""
    day = date.fromisoformat(job.subject_id)
    as_of = min(at_local_hour(day, uow.settings.prune_hour), uow.now())
    before = as_of - timedelta(days=days)
    pruned, last = await prune(before=before, after=job.cursor or "", limit=uow.settings.prune_batch_size)
    count_pruned(schema="notifications", table=table, rows=pruned)
    log.info("rows_pruned", table=table, rows=pruned, before=before.isoformat(), after=job.cursor, last=last)
    return JobRun(created=0, resume_after=last)


async def _fire_job(job: Job, uow: NotificationsUnit) -> int:
    now = uow.now()
    if job.kind.startswith("meeting."):
        return await _meeting_job(job, uow, now=now)
    if job.kind == "member.probation":
        member = await uow.projection.get_member(job.subject_id)
        if member is None:
            return 0
        ctx = await uow.projection.cell_context(member.cell_id)
        config = await config_for(member.cell_id, uow, lock=False)
        return await raise_alerts(rules.probation_ending(member=member, ctx=ctx, config=config, now=now), uow)
    if job.kind == "cell.period":
        cell_id, period = job.subject_id.split("|", 1)
        stored = await uow.projection.get_cell_score(cell_id=cell_id, period=period)
        if stored is None:
            return 0
        ctx = await uow.projection.cell_context(cell_id)
        config = await config_for(cell_id, uow, lock=False)
        alerts = rules.period_rated_low(
            period=period, rating=stored[0], score=stored[1], ctx=ctx, config=config, now=now
        )
        return await raise_alerts(alerts, uow)
    if job.kind == DAILY_DIGEST:
        return await send_digests(uow, day=date.fromisoformat(job.subject_id), until=now)
    log.warning("schedule_unknown_kind", kind=job.kind, subject_id=job.subject_id)
    return 0


def check_lag(kind: str, meeting: Meeting, config: RuleConfig) -> timedelta:
    """How long after a known meeting's start its timed check `kind` falls due (rules.meeting_due_times; zero for the
    checks before the start, and for a meeting without a start): the history cutoff counts from that deadline, not
    from the start. A committee's own days for the records (DOMAIN.md "Alerts": the superior committee "after more
    days *(local)*"; `days_after` and `more_days` up to 120 each) can put a late-records check past the 14 days, and
    judged from the start it raised nothing: with 7 + 10 days a cell's missing minutes never reached its superior
    committee. A check run more than the cutoff after its own deadline (caught up after a long stop, a meeting moved
    far back) still raises nothing."""
    if meeting.starts_at is None:
        return timedelta(0)
    due_at = rules.meeting_due_times(meeting, config).get(kind)
    return max(due_at - meeting.starts_at, timedelta(0)) if due_at is not None else timedelta(0)


async def _meeting_job(job: Job, uow: NotificationsUnit, *, now: datetime) -> int:
    meeting = await uow.projection.get_meeting(job.subject_id)
    if meeting is None or not meeting.known:
        return 0
    config = await config_for(meeting.cell_id, uow, lock=False)
    lag = check_lag(job.kind, meeting, config)
    if not is_recent(meeting, now=now - lag, cutoff_days=uow.settings.history_cutoff_days):
        return 0
    ctx = await uow.projection.cell_context(meeting.cell_id)
    alerts: list[Alert]
    if job.kind == "meeting.documents":
        alerts = rules.documents_missing(meeting=meeting, ctx=ctx, config=config, now=now)
    elif job.kind == "meeting.reminder":
        alerts = rules.meeting_reminder(meeting=meeting, ctx=ctx, config=config, now=now)
    else:
        alerts = rules.minutes_late(meeting=meeting, ctx=ctx, config=config, now=now)
    return await raise_alerts(alerts, uow)


async def sweep_batch(uow: NotificationsUnit, *, as_of: datetime, after: str, limit: int) -> JobRun:
    """Judge the period rules of the next `limit` active cells after `after` (regularity, thematic, committee, quota).

    The province's 35,000 cells go in batches, each in the job's own transaction with its cursor,
    so no transaction holds locks for the whole sweep and a restart resumes at the last batch.
    """
    cells = await uow.projection.active_cells(after_id=after, limit=limit)
    if not cells:
        return JobRun(created=0)
    today = local(as_of)
    quarter_start, _ = quarter_bounds(as_of)
    window_start = min(quarter_start, month_start(*previous_month(today.year, today.month)))
    contexts = await uow.projection.cell_contexts(cells)
    meetings = await uow.projection.meetings_of_cells(cells, start=window_start, end=as_of + timedelta(days=62))
    configs = await configs_for(cells, uow)
    attended = await uow.projection.monitor_attendance(
        cells, start=month_start(today.year, 1), end=month_start(today.year, today.month)
    )
    committees = await uow.projection.units_by_id(
        sorted({monitor.committee_id for ctx in contexts.values() for monitor in ctx.monitors})
    )
    alerts: list[Alert] = []
    for cell_id in cells:
        ctx, config, held = contexts[cell_id], configs[cell_id], meetings.get(cell_id, [])
        alerts += rules.no_regular_meeting(ctx=ctx, meetings=held, config=config, now=as_of)
        alerts += rules.month_without_meeting(ctx=ctx, meetings=held, config=config, now=as_of)
        alerts += rules.quarter_without_thematic(ctx=ctx, meetings=held, config=config, now=as_of)
        alerts += rules.cell_without_committee(ctx=ctx, config=config, now=as_of)
        for monitor in ctx.monitors:
            if not monitor.yearly_quota:
                continue
            alerts += rules.monitor_behind_quota(
                monitor=monitor,
                attended=attended.get((monitor.person_id, cell_id), 0),
                committee=committees.get(monitor.committee_id),
                cell_name=ctx.cell_name,
                config=config,
                now=as_of,
            )
    created = await raise_alerts(alerts, uow)
    log.info("sweep_batch_done", after=after, cells=len(cells), last=cells[-1], created=created)
    return JobRun(created=created, resume_after=cells[-1] if len(cells) == limit else None)


async def send_digests(uow: NotificationsUnit, *, day: date, until: datetime) -> int:
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
        title, body = render_digest(recipient=recipient, day=day, alerts=[(row["rule"], row["title"]) for row in rows])
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
        await plan_external_deliveries(
            notification_id=digest_id,
            recipient=recipient,
            preference=preference,
            uow=uow,
            rule="daily_digest",
            subject_id=recipient_id,
        )
        await uow.outgoing.close_digest(ids, digest_id=digest_id)
        created += 1
        log.info("digest_created", recipient_id=recipient_id, items=len(ids), day=day.isoformat())
    return created
