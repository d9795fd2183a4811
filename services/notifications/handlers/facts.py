"""Use cases for the facts and scores on chibo.events: update the projection, raise or plan alerts."""

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace as dataclass_replace
from datetime import datetime, timedelta
from typing import Any

from services.notifications.domain import rules
from services.notifications.domain import settings as r
from services.notifications.domain.model import Alert, CellContext, Meeting, Member, Monitor, Recipient, Roster, Unit
from services.notifications.domain.settings import RuleConfig
from services.notifications.handlers.alerts import (
    config_for,
    configs_for,
    follow_up_alerts,
    raise_alerts,
    revise_alerts,
    send_corrections,
    strike_members,
)
from services.notifications.handlers.replan import replan_subtree
from services.notifications.unit_of_work import NotificationsUnit
from shared.consuming import check_same_cell, check_same_kind
from shared.envelope import Event
from shared.logs import get_logger
from shared.periods import at_local_hour

MEETING_JOBS = ("meeting.documents", "meeting.reminder", "meeting.minutes", "meeting.minutes_superior")

log = get_logger(__name__)


def is_recent(meeting: Meeting | None, *, now: datetime, cutoff_days: int) -> bool:
    """Whether a meeting is recent enough to alert about (imported history stays silent)."""
    if meeting is None or meeting.starts_at is None:
        return True
    return meeting.starts_at >= now - timedelta(days=cutoff_days)


async def plan_meeting_jobs(meeting: Meeting, uow: NotificationsUnit, *, moved: bool = False) -> None:
    """(Re)plan the time-based rules of a meeting from its effective start and its cell's settings; when its start
    `moved`, its late-records alerts the new start shows do not hold are withdrawn (withdraw_not_late); a meeting
    whose minutes are in has its settled-rating check planned again (_plan_held_score_checks: known only now, or
    its start moved)."""
    if (
        not meeting.known
        or meeting.cancelled
        or not is_recent(meeting, now=uow.now(), cutoff_days=uow.settings.history_cutoff_days)
    ):
        return
    config = await config_for(meeting.cell_id, uow)
    for kind, due_at in rules.meeting_due_times(meeting, config).items():
        await uow.outgoing.schedule(kind=kind, subject_id=meeting.meeting_id, due_at=due_at, rearm=True)
    if moved:
        await withdraw_not_late([(meeting, config)], uow)
    if meeting.held:
        await _plan_held_score_checks([meeting], uow)


def _moved(before: Meeting | None, after: Meeting) -> bool:
    """Whether a stored fact moved a known meeting's start."""
    return before is not None and before.starts_at is not None and before.starts_at != after.starts_at


async def _notice(
    rule: str, meeting: Meeting | None, uow: NotificationsUnit, *, change: str | None = None, revise: bool = False
) -> list[Alert]:
    """Raise (or, with `revise`, rewrite the stored texts of) a meeting's notice; the alerts it came to."""
    if meeting is None or not rules.notice_may_fire(rule, meeting=meeting, now=uow.now()):
        return []  # a meeting already held (imported history) or unknown: its cell need not be read
    ctx = await uow.projection.cell_context(meeting.cell_id)
    config = await config_for(meeting.cell_id, uow)
    alerts = rules.meeting_notice(rule, meeting=meeting, ctx=ctx, config=config, now=uow.now(), change=change)
    await (revise_alerts if revise else raise_alerts)(alerts, uow)
    return alerts


def _schedule_notices(
    before: Meeting | None, after: Meeting, event: Event[Any]
) -> list[tuple[str, Meeting, str | None]]:
    """The notices a stored schedule snapshot raises, (rule, meeting as told, change id): the schedule the first
    time the meeting is known (again harmlessly later: its key holds it to once), a change notice with what it
    replaced when a newer snapshot changes what members were told (start, place, kind, topic), and the
    cancellation of a cancelled one (once)."""
    changed = rules.meeting_change(before, after, reason=None)
    notices: list[tuple[str, Meeting, str | None]] = (
        [(r.MEETING_RESCHEDULED, changed, rules.change_id(event.time, event.order_id))]
        if changed is not None
        else [(r.MEETING_SCHEDULED, after, None)]
    )
    return [*notices, (r.MEETING_CANCELLED, after, None)]


async def _roster_alerts(meeting: Meeting, uow: NotificationsUnit, *, told: Sequence[str] = ()) -> None:
    """Alert the cell committee of the unexcused absences on the roster of a held, recent meeting, one alert per
    recipient (again harmlessly: the notification's key holds each to once); a meeting without minutes yet waits for
    them (on_minutes_submitted). `told`: the absentees of the roster this one replaced, told of already (only those
    it adds are told, rules.unexcused_absences)."""
    if not meeting.held:
        return  # no minutes yet, cancelled or unknown: not held, no absence on its roster alerts anyone
    if not is_recent(meeting, now=uow.now(), cutoff_days=uow.settings.history_cutoff_days):
        return
    absent_ids = await uow.projection.absent_members(meeting.meeting_id)
    if not absent_ids:
        return
    known = await uow.projection.members_by_id(absent_ids)
    absent = [
        known.get(member_id)
        or Member(id=member_id, full_name=member_id, cell_id=meeting.cell_id or "", status="official", role="member")
        for member_id in absent_ids
    ]
    ctx = await uow.projection.cell_context(meeting.cell_id)
    config = await config_for(meeting.cell_id, uow)
    alerts = rules.unexcused_absences(meeting=meeting, absent=absent, ctx=ctx, config=config, told=told)
    await raise_alerts(alerts, uow)


async def correct_absences(meeting: Meeting, uow: NotificationsUnit, *, told: Sequence[str], change: str) -> None:
    """A roster replacing one whose unexcused absentees (`told`) it no longer marks absent without reason (excused,
    present after all) takes back what the cell committee was told of them (DOMAIN.md "Alerts": what reaches a
    recipient must hold): a recipient told of no absentee who still is has their unexcused-absence notices of the
    meeting withdrawn (kept in the inbox labelled corrected, their mails not yet sent cancelled: PgOutgoing
    .withdraw_corrected); one still told of another absentee keeps the notice, its text rewritten to those left
    (a mail not gone out carries that text). Each recipient whose notice already went out by mail or webhook gets
    one short correction (ABSENCE_CORRECTED, keyed by the roster's version `change`: a redelivered roster is not
    applied again and mails nothing) on those channels, one whose daily digest listed it in their next digest; it
    names the members taken back and, to one still told of others, for whom the notice still holds. None is sent
    for a notice still waiting (its mail cancelled, or left out of the digest to come)."""
    absent_now = set(await uow.projection.absent_members(meeting.meeting_id))
    cleared = [member_id for member_id in told if member_id not in absent_now]
    if not cleared or not meeting.known:
        return
    holders = await uow.outgoing.told_of(rule=r.UNEXCUSED_ABSENCE, subject_id=meeting.meeting_id)
    if not holders:
        return  # nobody was told (the meeting not held yet, or too old to alert about): nothing to take back
    known = await uow.projection.members_by_id(sorted({*cleared, *absent_now}))

    def member(member_id: str) -> Member:
        return known.get(member_id) or Member(
            id=member_id, full_name=member_id, cell_id=meeting.cell_id or "", status="official", role="member"
        )

    ctx = await uow.projection.cell_context(meeting.cell_id)
    # what the rule tells now: decided as if the meeting were held, whatever it is now (the alerts were raised then)
    config = await config_for(meeting.cell_id, uow)
    deciding = dataclass_replace(meeting, cancelled=False)
    untrue = [
        dataclass_replace(alert, recipients=tuple(rc for rc in alert.recipients if rc.id in holders))
        for alert in rules.unexcused_absences(
            meeting=deciding, absent=[member(member_id) for member_id in cleared], ctx=ctx, config=config
        )
    ]
    still = rules.unexcused_absences(
        meeting=deciding, absent=[member(member_id) for member_id in sorted(absent_now)], ctx=ctx, config=config
    )
    still_told = {recipient.id for alert in still for recipient in alert.recipients}
    concerned = sorted({recipient.id for alert in untrue for recipient in alert.recipients})
    if not concerned:
        return
    now = uow.now()
    sent = await uow.outgoing.mailed_about(
        rule=r.UNEXCUSED_ABSENCE, subject_id=meeting.meeting_id, recipient_ids=concerned, now=now
    )
    digested = await uow.outgoing.digested_about(
        rule=r.UNEXCUSED_ABSENCE, subject_id=meeting.meeting_id, recipient_ids=concerned
    )
    withdrawn = await uow.outgoing.withdraw_corrected(
        rule=r.UNEXCUSED_ABSENCE,
        subject_id=meeting.meeting_id,
        recipient_ids=[recipient_id for recipient_id in concerned if recipient_id not in still_told],
        now=now,
    )
    # a notice that still holds for another absentee names only those left, sent or not: the inbox says what holds,
    # and the correction says whom it no longer names; a follow-up that named only members taken back is withdrawn
    rewrite = {recipient_id for recipient_id in concerned if recipient_id in still_told}
    struck, legacy = await strike_members(
        rule=r.UNEXCUSED_ABSENCE,
        subject_id=meeting.meeting_id,
        recipient_ids=sorted(rewrite),
        struck=set(cleared),
        naming=lambda left: rules.unexcused_absences(
            meeting=deciding, absent=[member(member_id) for member_id in left], ctx=ctx, config=config
        ),
        uow=uow,
    )
    withdrawn += struck
    if legacy:  # notices stored before they kept their members: the first alert names all still absent
        await revise_alerts(
            [
                dataclass_replace(alert, recipients=tuple(rc for rc in alert.recipients if rc.id in legacy))
                for alert in still
            ],
            uow,
        )
    left = {recipient.id: alert.values["absentees"] for alert in still for recipient in alert.recipients}
    corrections = [
        dataclass_replace(
            alert,
            rule=r.ABSENCE_CORRECTED,
            period=change,
            recipients=recipients,
            values={**alert.values, "remaining": remaining} if remaining else alert.values,
        )
        for alert in untrue
        for remaining, recipients in grouped_by(alert.recipients, left)
    ]
    mailed = await send_corrections(corrections, sent, uow, digested=digested)
    log.info("absence_alerts_corrected", withdrawn=withdrawn, rewritten=len(rewrite), corrections=mailed)


def grouped_by(
    recipients: Sequence[Recipient], names: Mapping[str, Sequence[str]]
) -> list[tuple[tuple[str, ...], tuple[Recipient, ...]]]:
    """The recipients grouped by the names `names` gives each (none: ()), in their order, each group once."""
    groups: dict[tuple[str, ...], list[Recipient]] = {}
    for recipient in recipients:
        groups.setdefault(tuple(names.get(recipient.id, ())), []).append(recipient)
    return [(value, tuple(members)) for value, members in groups.items()]


async def _roster_alerts_many(
    meetings: Sequence[Meeting], uow: NotificationsUnit, *, told: Mapping[str, Sequence[str]] | None = None
) -> None:
    """_roster_alerts of each meeting in turn (distinct meetings), decided at once: only held, recent meetings read
    their rosters' absentees (one query for all), and only those with an unexcused absence read those members,
    their cells' contexts and settings (one query each); every alert raised in one raise_alerts, in the meetings'
    order. Raising alerts changes no roster, member or cell, so each meeting reads what it read in turn (issue 12:
    a batch's alerts decided once per batch; most rosters of a backfill are of meetings too old to alert). `told`: per
    meeting, the absentees of the roster its new one replaced (_roster_alerts)."""
    now, cutoff_days = uow.now(), uow.settings.history_cutoff_days
    candidates = [
        meeting for meeting in meetings if meeting.held and is_recent(meeting, now=now, cutoff_days=cutoff_days)
    ]
    if not candidates:
        return
    absent = await uow.projection.absent_members_of([meeting.meeting_id for meeting in candidates])
    alerting = [meeting for meeting in candidates if absent.get(meeting.meeting_id)]
    if not alerting:
        return
    known = await uow.projection.members_by_id(
        sorted({member_id for meeting in alerting for member_id in absent[meeting.meeting_id]})
    )
    cells = sorted({meeting.cell_id for meeting in alerting if meeting.cell_id is not None})
    contexts = await uow.projection.cell_contexts(cells) if cells else {}
    configs = await configs_for(cells, uow) if cells else {}
    alerts: list[Alert] = []
    for meeting in alerting:
        if meeting.cell_id is None:  # as _roster_alerts reads it: no cell, the default settings
            ctx, config = await uow.projection.cell_context(None), await config_for(None, uow)
        else:
            ctx, config = contexts[meeting.cell_id], configs[meeting.cell_id]
        members = [
            known.get(member_id)
            or Member(
                id=member_id, full_name=member_id, cell_id=meeting.cell_id or "", status="official", role="member"
            )
            for member_id in absent[meeting.meeting_id]
        ]
        before = (told or {}).get(meeting.meeting_id, ())
        alerts += rules.unexcused_absences(meeting=meeting, absent=members, ctx=ctx, config=config, told=before)
    await raise_alerts(alerts, uow)


async def _lock_meeting_cell(meeting_id: str, uow: NotificationsUnit) -> Meeting | None:
    """Lock the meeting's cell (the meeting's id while its cell is unknown); the meeting as read, when it was read
    under that lock already (taken earlier in the transaction: nobody else can have changed it), else None."""
    known = await uow.projection.get_meeting(meeting_id)
    if known is None or known.cell_id is None:  # whoever schedules it locks its cell, not this id
        await uow.projection.lock_cell(meeting_id)
        return None
    held = uow.projection.holds_lock(known.cell_id)
    await uow.projection.lock_cell(known.cell_id)
    return known if held else None


async def on_unit_upserted(event: Event[Any], uow: NotificationsUnit) -> None:
    """Store the unit snapshot (names, tree, contact e-mails) when newer; a cell's members and monitors hear of its
    meetings still ahead that were known before the cell (notices name the cell, so they waited for it; those
    already sent are kept to once by their key). Contradiction naming `data.kind` for a snapshot changing a known
    unit's kind (meetings refuses it: "a unit never changes kind"). A unit moved under another parent has the
    pending jobs of its subtree re-planned to the settings now above it (replan_subtree)."""
    data = event.data
    await uow.projection.lock_cell(data.id)
    known = await uow.projection.get_unit(data.id)
    check_same_kind(data.id, held=known.kind if known else None, sent=data.kind.value)
    moved = known is not None and known.parent_id != data.parent_id
    if moved:
        # a save on a committee it leaves waits for the move, then re-plans without its cells (lock_rule_reads)
        await uow.projection.lock_rule_reads([await uow.projection.ancestors(data.id)])
    unit = Unit(
        id=data.id,
        name=data.name,
        kind=data.kind.value,
        parent_id=data.parent_id,
        contact_emails=tuple(data.contact_emails),
        active=data.active,
    )
    if not await uow.projection.upsert_unit(unit, time=event.time, event_id=event.order_id, ns=event.time_ns):
        return
    uow.configs.clear()  # a cell's chain of ancestors may have changed
    if moved:
        # the pending jobs of the cells it carries follow the settings of the committees it moved under, read with
        # their locks held (a save there waits for this re-plan, or this re-plan for the save)
        await replan_subtree(unit.id, uow)
    if unit.kind == "cell":
        await _notices_not_yet_told(unit.id, uow)


async def _notices_not_yet_told(cell_id: str, uow: NotificationsUnit) -> None:
    """Raise the notice of each meeting of the cell still ahead (meeting_scheduled, DOMAIN.md: every expected
    member and the monitors) to those not told of it yet: the whole cell's notice (same text, key and monitors
    named), its members only those with no notification of it (members_not_told: the others' keys would skip them
    in raise_alerts anyway), in one raise_alerts. A rename of a 9,000-member cell whose members were all told
    rendered and offered 9,000 notices again (~1.2 s each)."""
    now = uow.now()
    meetings = [
        meeting
        for meeting in await uow.projection.upcoming_meetings(cell_id, now=now)
        if rules.notice_may_fire(r.MEETING_SCHEDULED, meeting=meeting, now=now)
    ]
    if not meetings:
        return
    untold = await uow.projection.members_not_told(
        cell_id, rule=r.MEETING_SCHEDULED, subject_ids=[meeting.meeting_id for meeting in meetings], period="scheduled"
    )
    ctx = (
        await uow.projection.cell_contexts(
            [cell_id], member_ids=sorted({member_id for ids in untold.values() for member_id in ids})
        )
    )[cell_id]
    config = await config_for(cell_id, uow)
    monitors = {monitor.person_id for monitor in ctx.monitors}  # few: raise_alerts skips those already told
    alerts: list[Alert] = []
    for meeting in meetings:
        wanted = monitors | set(untold.get(meeting.meeting_id, ()))
        for alert in rules.meeting_notice(r.MEETING_SCHEDULED, meeting=meeting, ctx=ctx, config=config, now=now):
            recipients = tuple(recipient for recipient in alert.recipients if recipient.id in wanted)
            if recipients:
                alerts.append(dataclass_replace(alert, recipients=recipients))
    await raise_alerts(alerts, uow)


async def on_member_upserted(event: Event[Any], uow: NotificationsUnit) -> None:
    """Store the member snapshot; plan the probation check and tell a newcomer of upcoming meetings."""
    await uow.projection.lock_cell(event.data.cell_id)
    member = _member_of(event)
    if not await uow.projection.upsert_member(member, time=event.time, event_id=event.order_id, ns=event.time_ns):
        return
    await plan_probation(member, uow)
    await _upcoming_notices({member.cell_id: [member.id]}, uow)


async def _upcoming_notices(heard: Mapping[str, Sequence[str]], uow: NotificationsUnit) -> None:
    """Tell the people just stored in each cell (`heard`: cell id -> member or monitor ids) of the cell's meetings
    still ahead (meeting_scheduled, DOMAIN.md: every expected member and the monitors), decided once for all the
    cells: their upcoming meetings, one context read of the cells with only those members on it, their settings,
    and one raise_alerts. Each notice is the one the whole cell's gets (same text, key and monitors named) with
    only those recipients: the others were told when the meeting, or they, were stored, and a snapshot of one
    member changes nobody else's notice (a trial's 1,000 upserts into a 9,000-member cell considered the whole
    cell for each, ~1 event/s)."""
    now = uow.now()
    upcoming = {cell_id: await uow.projection.upcoming_meetings(cell_id, now=now) for cell_id in heard}
    cells = [
        cell_id
        for cell_id, meetings in upcoming.items()
        if any(rules.notice_may_fire(r.MEETING_SCHEDULED, meeting=meeting, now=now) for meeting in meetings)
    ]
    if not cells:
        return
    contexts = await uow.projection.cell_contexts(
        cells, member_ids=sorted({person_id for cell_id in cells for person_id in heard[cell_id]})
    )
    configs = await configs_for(cells, uow)
    alerts: list[Alert] = []
    for cell_id in cells:
        wanted = set(heard[cell_id])
        for meeting in upcoming[cell_id]:
            for alert in rules.meeting_notice(
                r.MEETING_SCHEDULED, meeting=meeting, ctx=contexts[cell_id], config=configs[cell_id], now=now
            ):
                recipients = tuple(recipient for recipient in alert.recipients if recipient.id in wanted)
                if recipients:
                    alerts.append(dataclass_replace(alert, recipients=recipients))
    await raise_alerts(alerts, uow)


def _member_of(event: Event[Any]) -> Member:
    data = event.data
    return Member(
        id=data.id,
        full_name=data.full_name,
        cell_id=data.cell_id,
        status=data.status.value,
        role=data.role.value,
        email=data.email,
        phone=data.phone,
        exempt=data.exempt,
        admitted_on=data.admitted_on,
    )


async def on_members_upserted(events: Sequence[Event[Any]], uow: NotificationsUnit) -> None:
    """member.upserted.v1 of a batch, leaving what on_member_upserted of each in turn leaves.

    Each stretch of members named once in the run has its cells locked in one statement, is stored in one and
    has its probation checks planned in one more; the notices of the meetings ahead to the members stored are
    decided once for the stretch's cells (_upcoming_notices: a member's notice reads only that member, so the
    order within the stretch changes nothing; issue 12: alerts decided once per batch). A member named twice goes
    through on_member_upserted, in order."""
    for once, stretch in _stretches(events, key=lambda event: event.data.id):
        if not once:
            await on_member_upserted(stretch[0], uow)
            continue
        await uow.projection.lock_cells(list(dict.fromkeys(event.data.cell_id for event in stretch)))
        snapshots = [(event, _member_of(event)) for event in stretch]
        applied = await uow.projection.upsert_members(
            [(member, event.time, event.order_id, event.time_ns) for event, member in snapshots]
        )
        members = [member for _, member in snapshots if member.id in applied]
        configs = await configs_for(sorted({member.cell_id for member in members}), uow)
        jobs = []
        heard: dict[str, list[str]] = {}
        for member in members:
            heard.setdefault(member.cell_id, []).append(member.id)
            due_day = rules.probation_check_day(member, configs[member.cell_id])
            if due_day is not None:
                jobs.append(("member.probation", member.id, at_local_hour(due_day, uow.settings.daily_sweep_hour)))
        await uow.outgoing.schedule_many(jobs, rearm=True)
        await _upcoming_notices(heard, uow)


async def plan_probation(member: Member, uow: NotificationsUnit) -> None:
    """Plan the probation-ending check at the lead time before the 12 months end."""
    due_day = rules.probation_check_day(member, await config_for(member.cell_id, uow))
    if due_day is None:
        return
    await uow.outgoing.schedule(
        kind="member.probation",
        subject_id=member.id,
        due_at=at_local_hour(due_day, uow.settings.daily_sweep_hour),
        rearm=True,
    )


async def on_member_removed(event: Event[Any], uow: NotificationsUnit) -> None:
    """Take the member off the roll when the removal is newer than the snapshot."""
    await uow.projection.remove_member(event.data.id, time=event.time, event_id=event.order_id, ns=event.time_ns)


async def on_monitor_assigned(event: Event[Any], uow: NotificationsUnit) -> None:
    """Store the assignment and tell the monitor of the cell's upcoming meetings."""
    data = event.data
    await uow.projection.lock_cell(data.cell_id)
    monitor = Monitor(
        person_id=data.person_id,
        cell_id=data.cell_id,
        committee_id=data.committee_id,
        full_name=data.full_name,
        email=data.email,
        yearly_quota=data.yearly_quota,
    )
    if not await uow.projection.upsert_monitor(monitor, time=event.time, event_id=event.order_id, ns=event.time_ns):
        return
    await _upcoming_notices({monitor.cell_id: [monitor.person_id]}, uow)


def _same_cell(event: Event[Any], known: Meeting | None) -> None:
    """shared.consuming.check_same_cell against the cell the meeting is known under."""
    check_same_cell(event.data.meeting_id, held=known.cell_id if known else None, sent=event.data.cell_id)


async def on_meeting_scheduled(event: Event[Any], uow: NotificationsUnit) -> None:
    """Store the meeting; notify members and monitors of it, or of what a newer snapshot changed in it (once per
    change); plan its time-based rules."""
    await uow.projection.lock_cell(event.data.cell_id)
    before = await uow.projection.get_meeting(event.data.meeting_id)  # a meeting never changes cell: locked too
    _same_cell(event, before)
    if not await uow.projection.apply_scheduled(event.data, time=event.time, event_id=event.order_id, ns=event.time_ns):
        return
    meeting = await uow.projection.get_meeting(event.data.meeting_id)
    assert meeting is not None
    for rule, told, change in _schedule_notices(before, meeting, event):
        if rule == r.MEETING_RESCHEDULED and change is not None:
            await _move_notices(meeting, told, uow, change=change)
        else:
            await _notice(rule, told, uow, change=change)
    await plan_meeting_jobs(meeting, uow, moved=_moved(before, meeting))
    await _roster_alerts(meeting, uow)


async def on_meeting_scheduled_many(events: Sequence[Event[Any]], uow: NotificationsUnit) -> None:
    """meeting.scheduled.v1 of a batch, leaving what on_meeting_scheduled of each in turn leaves: each stretch of
    meetings named once in the run has its cells locked in one statement, is stored in one and read back in one,
    then each applied meeting's notices, jobs and roster alerts follow in order (those read and write only about
    that meeting and its cell); a meeting named more than once goes through on_meeting_scheduled each time."""
    for once, stretch in _stretches(events):
        if not once:
            await on_meeting_scheduled(stretch[0], uow)
            continue
        await uow.projection.lock_cells([event.data.cell_id for event in stretch])
        before = await uow.projection.meetings_by_id([event.data.meeting_id for event in stretch])
        for event in stretch:
            _same_cell(event, before.get(event.data.meeting_id))
        applied = await uow.projection.apply_scheduled_many(
            [(event.data, event.time, event.order_id, event.time_ns) for event in stretch]
        )
        if not applied:
            continue
        meetings = await uow.projection.meetings_by_id(sorted(applied))
        await _scheduled_alerts(
            [
                (
                    meetings[event.data.meeting_id],
                    _schedule_notices(before.get(event.data.meeting_id), meetings[event.data.meeting_id], event),
                )
                for event in stretch
                if event.data.meeting_id in applied
            ],
            uow,
        )
        moved = [
            meetings[meeting_id]
            for meeting_id in sorted(applied)
            if _moved(before.get(meeting_id), meetings[meeting_id])
            and meetings[meeting_id].known
            and not meetings[meeting_id].cancelled
            and meetings[meeting_id].cell_id is not None
        ]
        if moved:
            configs = await configs_for(sorted({meeting.cell_id for meeting in moved if meeting.cell_id}), uow)
            await withdraw_not_late(
                [(meeting, configs[meeting.cell_id]) for meeting in moved if meeting.cell_id is not None], uow
            )


async def _scheduled_alerts(
    stored: Sequence[tuple[Meeting, list[tuple[str, Meeting, str | None]]]], uow: NotificationsUnit
) -> None:
    """What on_meeting_scheduled does after storing each of these meetings (its notices, jobs, rating checks and
    roster alerts, meeting by meeting), for all of them at once: their cells' contexts and settings, their rosters'
    absentees and those members read in one go, every job planned in one statement (the rating checks of the held
    ones in one more) and every alert raised in one raise_alerts (alerts in the order of the meetings, so the rows
    and events are those of one by one). Storing a meeting changes no cell, roster or member, so what one meeting's
    alerts read is what it read in turn.

    A meeting's notices cost ~12 statements one by one (four for its cell's context, four jobs, its roster, the
    preferences, notifications and deliveries); a stretch of meetings now costs about as many in all."""
    now = uow.now()
    cutoff_days = uow.settings.history_cutoff_days
    meetings = [meeting for meeting, _ in stored]
    notices = {
        meeting.meeting_id: [
            (rule, told, change)
            for rule, told, change in told_notices
            if rules.notice_may_fire(rule, meeting=told, now=now)
        ]
        for meeting, told_notices in stored
    }
    recent = [
        meeting
        for meeting in meetings
        if meeting.known and not meeting.cancelled and is_recent(meeting, now=now, cutoff_days=cutoff_days)
    ]
    recent_ids = {meeting.meeting_id for meeting in recent}
    held = [meeting.meeting_id for meeting in recent if meeting.held]
    absent = await uow.projection.absent_members_of(held) if held else {}
    absent_ids = sorted({member_id for ids in absent.values() for member_id in ids})
    known = await uow.projection.members_by_id(absent_ids) if absent_ids else {}
    read = [meeting for meeting in meetings if notices[meeting.meeting_id] or absent.get(meeting.meeting_id)]
    read_cells = sorted({meeting.cell_id for meeting in read if meeting.cell_id is not None})
    contexts = await uow.projection.cell_contexts(read_cells) if read_cells else {}
    cells = sorted({meeting.cell_id for meeting in [*read, *recent] if meeting.cell_id is not None})
    configs = await configs_for(cells, uow) if cells else {}

    async def context_of(meeting: Meeting) -> tuple[CellContext, RuleConfig]:
        if meeting.cell_id is None:  # as _notice reads it: no cell, the default settings
            return await uow.projection.cell_context(None), await config_for(None, uow)
        return contexts[meeting.cell_id], configs[meeting.cell_id]

    alerts: list[Alert] = []
    jobs: list[tuple[str, str, datetime]] = []
    for meeting in meetings:
        for rule, told, change in notices[meeting.meeting_id]:
            ctx, config = await context_of(meeting)
            if rule == r.MEETING_RESCHEDULED and change is not None:
                alerts += await _move_alerts(meeting, told, ctx=ctx, config=config, change=change, uow=uow)
            else:
                alerts += rules.meeting_notice(rule, meeting=told, ctx=ctx, config=config, now=now, change=change)
        if not meeting.cancelled and meeting.meeting_id in recent_ids:
            config = configs[meeting.cell_id] if meeting.cell_id is not None else await config_for(None, uow)
            jobs += [(kind, meeting.meeting_id, due) for kind, due in rules.meeting_due_times(meeting, config).items()]
        absent_ids = absent.get(meeting.meeting_id, [])
        if absent_ids:
            ctx, config = await context_of(meeting)
            members = [
                known.get(member_id)
                or Member(
                    id=member_id, full_name=member_id, cell_id=meeting.cell_id or "", status="official", role="member"
                )
                for member_id in absent_ids
            ]
            alerts += rules.unexcused_absences(meeting=meeting, absent=members, ctx=ctx, config=config)
    await uow.outgoing.schedule_many(jobs, rearm=True)
    await _plan_held_score_checks([meeting for meeting in recent if meeting.held], uow)
    await raise_alerts(alerts, uow)


def _stretches(
    events: Sequence[Event[Any]], *, key: Callable[[Event[Any]], str] = lambda event: event.data.meeting_id
) -> list[tuple[bool, list[Event[Any]]]]:
    """The events in order, cut into stretches of events whose subject (`key`: `data.meeting_id`) the run names
    once (True) and single events about a subject it names more than once (False)."""
    times = Counter(key(event) for event in events)
    stretches: list[tuple[bool, list[Event[Any]]]] = []
    for event in events:
        once = times[key(event)] == 1
        if once and stretches and stretches[-1][0]:
            stretches[-1][1].append(event)
        else:
            stretches.append((once, [event]))
    return stretches


async def on_meeting_rescheduled(event: Event[Any], uow: NotificationsUnit) -> None:
    """Store the new start (and place), notify of the move once per move that changes them (keyed by the move's
    version, not its target: back to an earlier time is a move too), re-plan the meeting's time-based rules."""
    before = await _lock_meeting_cell(event.data.meeting_id, uow) or await uow.projection.get_meeting(
        event.data.meeting_id
    )
    if not await uow.projection.apply_rescheduled(
        event.data, time=event.time, event_id=event.order_id, ns=event.time_ns
    ):
        return
    meeting = await uow.projection.get_meeting(event.data.meeting_id)
    assert meeting is not None
    changed = rules.meeting_change(before, meeting, reason=event.data.reason)
    if changed is not None:
        await _move_notices(meeting, changed, uow, change=rules.change_id(event.time, event.order_id))
    await plan_meeting_jobs(meeting, uow, moved=_moved(before, meeting))


async def _move_notices(meeting: Meeting, changed: Meeting, uow: NotificationsUnit, *, change: str) -> None:
    """Raise the notices of a move of `meeting` (`changed`: as its change notice tells it, rules.meeting_change):
    _move_alerts; a move of a meeting that stays or goes into the past nobody heard of reads no cell."""
    if not rules.notice_may_fire(r.MEETING_RESCHEDULED, meeting=changed, now=uow.now()):
        return  # imported history moved within the past
    ctx = await uow.projection.cell_context(meeting.cell_id)
    config = await config_for(meeting.cell_id, uow)
    await raise_alerts(await _move_alerts(meeting, changed, ctx=ctx, config=config, change=change, uow=uow), uow)


async def _move_alerts(
    meeting: Meeting, changed: Meeting, *, ctx: CellContext, config: RuleConfig, change: str, uow: NotificationsUnit
) -> list[Alert]:
    """The notices of a move of `meeting` (`changed`: as its change notice tells it): the change notice to those told
    of the meeting before (a schedule or change notice of it in their inbox); to the others the meeting moved to is
    new: a start ahead is announced by the schedule notice (time, place, content), one already past tells them
    nothing. An integration feeding a meeting as history (no notice: notice_may_fire) and then moving it ahead mailed
    "dự kiến lúc <a start nobody heard of> được chuyển sang ..." (who was told: two statements per move)."""
    now = uow.now()
    moves = rules.meeting_notice(r.MEETING_RESCHEDULED, meeting=changed, ctx=ctx, config=config, now=now, change=change)
    news = rules.meeting_notice(r.MEETING_SCHEDULED, meeting=meeting, ctx=ctx, config=config, now=now)
    if not moves and not news:
        return []
    if not config.is_enabled(r.MEETING_SCHEDULED):  # the cell announces no meeting: nobody can have been told one,
        return moves  # so a move is told to everyone as a move, as before schedule notices were told apart
    told = await uow.outgoing.told_of(rule=r.MEETING_SCHEDULED, subject_id=meeting.meeting_id)
    told |= await uow.outgoing.told_of(rule=r.MEETING_RESCHEDULED, subject_id=meeting.meeting_id)
    return [
        dataclass_replace(alert, recipients=recipients)
        for alerts, wanted in ((moves, True), (news, False))
        for alert in alerts
        if (recipients := tuple(recipient for recipient in alert.recipients if (recipient.id in told) == wanted))
    ]


async def on_meeting_cancelled(event: Event[Any], uow: NotificationsUnit) -> None:
    """Mark the meeting cancelled and notify members and monitors; its late-minutes alerts are void (the inbox no
    longer shows them), so the committee's next digest does not carry them either; its absence and low-rating alerts
    raised before stay in the inbox marked void, their mails and webhooks not yet sent cancelled (PgOutgoing
    .void_for_cancelled, the retraction a withdrawn score makes), and no mail about it. A later cancellation (by event
    time, then id, as meetings keeps it) replaces the reason: the notices already stored say the latest one (a mail
    still waiting goes out with it), and those whose mail already went out with the earlier reason get one short
    follow-up with the new one (once per change, keyed by its version); an older one arriving late, or one
    redelivered, changes nothing and mails nothing."""
    before = await _lock_meeting_cell(event.data.meeting_id, uow) or await uow.projection.get_meeting(
        event.data.meeting_id
    )
    applied = await uow.projection.apply_cancelled(
        event.data.meeting_id, reason=event.data.reason, time=event.time, event_id=event.order_id, ns=event.time_ns
    )
    if applied is None:
        return
    meeting = await uow.projection.get_meeting(event.data.meeting_id)
    if applied == "newer":
        alerts = await _notice(r.MEETING_CANCELLED, meeting, uow, revise=True)
        previous = (before.cancel_reason or "").strip() if before is not None else ""
        if meeting is not None and (meeting.cancel_reason or "").strip() != previous:
            await follow_up_alerts(
                alerts,
                rule=r.MEETING_CANCEL_UPDATED,
                period=rules.change_id(event.time, event.order_id),
                uow=uow,
            )
        return
    retracted, deliveries = await uow.outgoing.void_for_cancelled(event.data.meeting_id, now=uow.now())
    if retracted or deliveries:
        log.info("cancelled_meeting_alerts_retracted", alerts_retracted=retracted, deliveries_cancelled=deliveries)
    await _notice(r.MEETING_CANCELLED, meeting, uow)


async def on_documents_published(event: Event[Any], uow: NotificationsUnit) -> None:
    """Remember which document kinds are out, for the documents and final-documents rules."""
    await on_documents_published_many([event], uow)


async def on_documents_published_many(events: Sequence[Event[Any]], uow: NotificationsUnit) -> None:
    """documents.published.v1 of a batch: the earliest publication of each meeting's kinds, in one statement."""
    await uow.projection.add_documents_many(
        [
            (event.data.meeting_id, item.kind.value, event.data.published_at)
            for event in events
            for item in event.data.items
        ]
    )


async def on_minutes_submitted(event: Event[Any], uow: NotificationsUnit) -> None:
    """Remember that the minutes arrived and when the meeting ended (its late-records checks move to count from that
    end); the meeting is held now, so its roster's unexcused absences alert."""
    await on_minutes_submitted_many([event], uow)


async def on_minutes_submitted_many(events: Sequence[Event[Any]], uow: NotificationsUnit) -> None:
    """minutes.submitted.v1 of a batch: that each meeting's minutes arrived and its end (the latest minutes' by time
    and id, whatever order they come in), in one statement; its pending late-records checks moved to count from that
    end (rules.records_due_at); then the unexcused absences of the rosters already known alert, for all the
    meetings at once in the order first named (_roster_alerts_many: the meeting is held now). The meetings' cells
    (a meeting's id while its cell is unknown) are locked first, as a roster's handler locks them: minutes and
    roster committed side by side cannot each miss the other."""
    ids = list(dict.fromkeys(event.data.meeting_id for event in events))
    known = await uow.projection.meetings_by_id(ids)
    await uow.projection.lock_cells(
        [cell_id if (cell_id := _cell_of(known.get(meeting_id))) is not None else meeting_id for meeting_id in ids]
    )
    await uow.projection.minutes_submitted_many(
        [(event.data.meeting_id, event.time, event.order_id, event.data.ended_at, event.time_ns) for event in events]
    )
    meetings = await uow.projection.meetings_by_id(ids)
    await _replan_minutes_jobs([meetings[meeting_id] for meeting_id in ids if meeting_id in meetings], uow)
    await _roster_alerts_many([meetings[meeting_id] for meeting_id in ids if meeting_id in meetings], uow)
    await _plan_held_score_checks([meetings[meeting_id] for meeting_id in ids if meeting_id in meetings], uow)


async def _plan_held_score_checks(meetings: Sequence[Meeting], uow: NotificationsUnit) -> None:
    """Plan the settled-rating check (rules.MEETING_SCORE_CHECK, re-armed) of the meetings held (minutes in, not
    cancelled, known) whose latest stored score may alert: `settle_minutes` from now, or at the meeting's start when
    that is later (rules.meeting_score_check_due: minutes may come before the start, and the start passing is no
    fact). A score that came while the meeting was still scheduled raised nothing (rules.meeting_rated_low judges
    held meetings only), and the score evaluation publishes from the minutes may reach this service before them,
    its check finding the meeting not yet held; so the minutes (and a schedule or move of a meeting whose minutes
    are in) plan the check again, and the meeting once held and rated low alerts once (its key holds it to once)."""
    now = uow.now()
    held = [
        meeting
        for meeting in meetings
        if meeting.held and is_recent(meeting, now=now, cutoff_days=uow.settings.history_cutoff_days)
    ]
    if not held:
        return
    scores = await uow.projection.meeting_scores_of([meeting.meeting_id for meeting in held])
    if not scores:
        return
    by_id = {meeting.meeting_id: meeting for meeting in held}
    configs = await configs_for(sorted({score.cell_id for score in scores.values()}), uow)
    jobs = []
    for meeting_id, score in sorted(scores.items()):
        config = configs[score.cell_id]
        if rules.meeting_rated_low_may_alert(rating=score.rating, provisional=score.provisional, config=config):
            settle = config.param(r.MEETING_RATED_LOW, "settle_minutes")
            due = rules.meeting_score_check_due(by_id[meeting_id], now=now, settle_minutes=settle)
            jobs.append((rules.MEETING_SCORE_CHECK, meeting_id, due))
    await uow.outgoing.schedule_many(jobs, rearm=True)


async def _replan_minutes_jobs(meetings: Sequence[Meeting], uow: NotificationsUnit) -> None:
    """Move the late-records checks of meetings whose minutes just gave their end to that end plus the set days
    (rules.records_due_at); checks that fired already stay as they were (what they raised is kept) unless the end
    now given puts the deadline ahead: the minutes were corrected (a mistyped end, say), so the late alerts raised
    from the earlier end no longer hold and are withdrawn (void in the inbox, out of the digests, their deliveries
    not yet made cancelled: PgOutgoing.withdraw_alerts), and their checks planned again at the new deadline. Only
    meetings one of whose late alerts can be standing are looked for (rules.minutes_late_may_have_fired: a day after
    their start), so minutes sent within a day of the meeting, the usual case, cost no withdraw_alerts statement."""
    planned = [(meeting, meeting.cell_id) for meeting in meetings if meeting.known and not meeting.cancelled]
    cells = sorted({cell_id for _, cell_id in planned if cell_id is not None})
    if not cells:
        return
    configs = await configs_for(cells, uow)
    await uow.outgoing.replan_pending(
        [
            (kind, meeting.meeting_id, due_at)
            for meeting, cell_id in planned
            if cell_id is not None
            for kind, due_at in rules.minutes_due_times(meeting, configs[cell_id]).items()
        ]
    )
    now = uow.now()
    await withdraw_not_late(
        [
            (meeting, configs[cell_id])
            for meeting, cell_id in planned
            if cell_id is not None and rules.minutes_late_may_have_fired(meeting, configs[cell_id], now)
        ],
        uow,
    )


async def withdraw_not_late(planned: Sequence[tuple[Meeting, RuleConfig]], uow: NotificationsUnit) -> None:
    """Withdraw the late-records alerts of these meetings (each with its cell's settings) that no longer hold now:
    a later fact (corrected minutes, a move of the meeting) puts the rule's deadline ahead (rules.minutes_not_late).
    They are void in the inbox, out of the digests, their deliveries not yet made cancelled (PgOutgoing
    .withdraw_alerts), and their checks planned again at the new deadline, so a deadline that passes with the
    records still missing alerts again."""
    now = uow.now()
    ahead = {
        (rule, meeting.meeting_id): (kind, due_at)
        for meeting, config in planned
        for kind, rule, due_at in rules.minutes_not_late(meeting, config, now)
    }
    if not ahead:
        return
    withdrawn = await uow.outgoing.withdraw_alerts(list(ahead), now=now)
    if not withdrawn:
        return
    await uow.outgoing.schedule_many([(ahead[key][0], key[1], ahead[key][1]) for key in withdrawn], rearm=True)
    log.info("late_records_alerts_withdrawn", alerts=len(withdrawn), meetings=len({key[1] for key in withdrawn}))


async def on_attendance_recorded(event: Event[Any], uow: NotificationsUnit) -> None:
    """Store the roster when newer and, when the meeting is held (it has minutes), alert the cell committee of its
    unexcused absences (one alert per recipient; a correction tells only of the absentees it adds)."""
    data = event.data
    locked = await _lock_meeting_cell(data.meeting_id, uow)
    told = await uow.projection.absent_members(data.meeting_id)  # the roster it may replace, under the lock
    applied = await uow.projection.replace_roster(
        data.meeting_id,
        records=[(record.member_id, record.status.value) for record in data.records],
        guests=[guest.person_id for guest in data.guests if guest.person_id],
        time=event.time,
        event_id=event.order_id,
        ns=event.time_ns,
    )
    if not applied:
        return
    # a roster changes none of the meeting's own fields: the meeting read under the lock stands
    meeting = locked or await uow.projection.get_meeting(data.meeting_id)
    if meeting is not None:
        await correct_absences(meeting, uow, told=told, change=rules.change_id(event.time, event.order_id))
        await _roster_alerts(meeting, uow, told=told)


async def on_attendance_withdrawn(event: Event[Any], uow: NotificationsUnit) -> None:
    """attendance.withdrawn.v1 (meetings, internal: a member move put a listed member in another cell at the start):
    the withdrawn roster, if still the stored one, gives way to the one restored (or none), and what it alerted
    that the restored roster no longer supports is taken back as a corrected roster's is (correct_absences, keyed by
    the withdrawn roster: once); absentees the restored roster adds are told as a roster's are."""
    data = event.data
    locked = await _lock_meeting_cell(data.meeting_id, uow)
    told = await uow.projection.absent_members(data.meeting_id)
    restored = data.restored
    applied = await uow.projection.withdraw_roster(
        data.meeting_id,
        roster_id=data.roster_id,
        restored=[(record.member_id, record.status.value) for record in restored.records] if restored else None,
        time=restored.time if restored else None,
        event_id=restored.roster_id if restored else None,
        ns=restored.time_ns if restored else 0,
    )
    if not applied:
        return
    meeting = locked or await uow.projection.get_meeting(data.meeting_id)
    if meeting is not None:
        await correct_absences(meeting, uow, told=told, change=f"withdrawn:{data.roster_id}")
        await _roster_alerts(meeting, uow, told=told)


async def on_attendance_recorded_many(events: Sequence[Event[Any]], uow: NotificationsUnit) -> None:
    """attendance.recorded.v1 of a batch, leaving what on_attendance_recorded of each in turn leaves: each stretch
    of meetings named once in the run is read in one statement, has its cells (a meeting's id while its cell is
    unknown) locked in one, its rosters stored in three and the applied meetings read again in one; then the
    applied rosters' alerts, for all of them at once in order (_roster_alerts_many: each reads only its meeting's
    roster and cell); a meeting named more than once goes through on_attendance_recorded each time."""
    for once, stretch in _stretches(events):
        if not once:
            await on_attendance_recorded(stretch[0], uow)
            continue
        ids = [event.data.meeting_id for event in stretch]
        known = await uow.projection.meetings_by_id(ids)
        await uow.projection.lock_cells(
            [cell_id if (cell_id := _cell_of(known.get(meeting_id))) is not None else meeting_id for meeting_id in ids]
        )
        told = await uow.projection.absent_members_of(ids)  # the rosters they may replace, under the locks
        applied = await uow.projection.replace_rosters(
            [
                Roster(
                    meeting_id=event.data.meeting_id,
                    records=tuple((record.member_id, record.status.value) for record in event.data.records),
                    guests=tuple(guest.person_id for guest in event.data.guests if guest.person_id),
                    time=event.time,
                    event_id=event.order_id,
                    ns=event.time_ns,
                )
                for event in stretch
            ]
        )
        if not applied:
            continue
        meetings = await uow.projection.meetings_by_id(sorted(applied))
        for item in stretch:
            if item.data.meeting_id in applied and item.data.meeting_id in meetings:
                await correct_absences(
                    meetings[item.data.meeting_id],
                    uow,
                    told=told.get(item.data.meeting_id, ()),
                    change=rules.change_id(item.time, item.order_id),
                )
        await _roster_alerts_many(
            [meetings[meeting_id] for meeting_id in ids if meeting_id in applied and meeting_id in meetings],
            uow,
            told=told,
        )


def _cell_of(meeting: Meeting | None) -> str | None:
    return meeting.cell_id if meeting is not None else None


async def about_recent_meetings(
    events: Sequence[Event[Any]], uow: NotificationsUnit, *, meetings: dict[str, Meeting] | None = None
) -> list[Event[Any]]:
    """The events whose `data.meeting_id` is recent enough to alert about (or unknown), the meetings read in one
    query (into `meetings` when given)."""
    found = await uow.projection.meetings_by_id(sorted({event.data.meeting_id for event in events}))
    if meetings is not None:
        meetings.update(found)
    now, cutoff_days = uow.now(), uow.settings.history_cutoff_days
    return [event for event in events if is_recent(found.get(event.data.meeting_id), now=now, cutoff_days=cutoff_days)]
