"""member.attendance.updated.v1: a member's announced attendance histories, and the absence alerts decided over
them (each run of absences and each crossing of the unexcused months told once, in one alert per recipient per
meeting naming every member who crossed at it, DOMAIN.md "Alerts")."""

import hashlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from services.notifications.domain import rules
from services.notifications.domain import settings as r
from services.notifications.domain.model import Alert, AnnouncedFigures, CellContext, Meeting
from services.notifications.domain.settings import RuleConfig
from services.notifications.handlers.alerts import (
    configs_for,
    raise_alerts,
    revise_alerts,
    send_corrections,
    strike_members,
)
from services.notifications.handlers.facts import about_recent_meetings, grouped_by
from services.notifications.repository.projection import NewFigures
from services.notifications.repository.projection.figures import ToldCrossing
from services.notifications.unit_of_work import NotificationsUnit
from shared.envelope import Event
from shared.logs import get_logger

log = get_logger(__name__)


async def on_member_attendance_updated(event: Event[Any], uow: NotificationsUnit) -> None:
    """Absent too many meetings in a row or unexcused in too many months: cell and superior committees."""
    await on_member_attendance_updates([event], uow)


async def on_member_attendance_updates(events: Sequence[Event[Any]], uow: NotificationsUnit) -> None:
    """member.attendance.updated.v1 of a batch: every announcement joins its member's history (those about old
    meetings too: they tell where runs start and end, silently), then the absence rules decide over the whole
    history of each member whose new figures pass a threshold or arrived late (a figure below the thresholds that
    comes last cuts no run that could alert), so that each run of absences and each crossing of the unexcused
    months alerts once, whatever the batching, order or repetition of the announcements. The members are locked,
    so two batches about one member decide one after the other; a cell's context (its people) is read only for
    members with something to alert: most histories announced are of members present. The members crossing at one
    meeting are told of in one alert per recipient (meetings announces a roster's members in one transaction, which
    its outbox sends as one batch message), whatever messages carried them: the alert's mails wait
    `absence_group_seconds`, and crossings at the meeting that other messages bring meanwhile (one announcement a
    message, a batch cut in two) rewrite the notice still waiting (join_waiting_notices); one crossing at a meeting
    whose alert went out already (a corrected roster) is told in one follow-up naming only the members it adds."""
    if not events:
        return
    await uow.projection.lock_members(sorted({event.data.member_id for event in events}))
    # a figure older than the retention is never recent, even about a meeting not known here: the figures before it
    # may have been pruned (PgFigures.prune_figures), with the alert anchored on them
    kept_since = uow.now() - timedelta(days=uow.settings.figures_retention_days)
    meetings: dict[str, Meeting] = {}
    recent = {
        id(event)
        for event in await about_recent_meetings(events, uow, meetings=meetings)
        if event.time >= kept_since and (event.data.meeting_id in meetings or told_recently(event, uow))
    }
    added = await uow.projection.add_figures(
        [
            NewFigures(
                member_id=event.data.member_id,
                time=event.time,
                sequence=_sequence_of(event),
                cause_id=_cause_of(event),
                event_id=event.order_id,
                consecutive_absences=event.data.consecutive_absences,
                unexcused_months=event.data.unexcused_months_last_year,
                recent=id(event) in recent,
                ns=event.time_ns,
                meeting_id=event.data.meeting_id,
            )
            for event in events
        ]
    )
    if not added:
        return
    newest: dict[str, Event[Any]] = {}
    for event in sorted(events, key=_announcement_order):
        newest[event.data.member_id] = event  # the member's name and cell as last announced
    configs = await configs_for(sorted({event.data.cell_id for event in newest.values()}), uow)
    await correct_crossings(
        [event for event in events if (event.data.member_id, event.order_id) in added], newest, configs, uow
    )
    deciding = sorted(
        {
            event.data.member_id
            for event in events
            if (event.data.member_id, event.order_id) in added
            and (
                added[(event.data.member_id, event.order_id)]
                or event is not newest[event.data.member_id]
                or (
                    id(event) in recent
                    and rules.absence_history_may_alert(
                        consecutive_absences=event.data.consecutive_absences,
                        unexcused_months=event.data.unexcused_months_last_year,
                        config=configs[newest[event.data.member_id].data.cell_id],
                    )
                )
            )
        }
    )
    if not deciding:
        return
    histories = await uow.projection.figure_histories(deciding)
    alerting = [
        member_id
        for member_id in deciding
        if rules.pending_stretches(histories[member_id], configs[newest[member_id].data.cell_id])
    ]
    if not alerting:
        return
    contexts = await uow.projection.cell_contexts(sorted({newest[member_id].data.cell_id for member_id in alerting}))
    crossings = [
        crossing
        for member_id in alerting
        for crossing in rules.pending_crossings(
            member_id=member_id,
            full_name=newest[member_id].data.full_name,
            cell_id=newest[member_id].data.cell_id,
            history=histories[member_id],
            config=configs[newest[member_id].data.cell_id],
        )
    ]
    # one alert per recipient per meeting names every member crossing at it: whether it went out already (this
    # batch's crossings then a follow-up) is read under the meetings' locks, so two batches of one meeting's
    # announcements decide one after the other
    meeting_ids = sorted({crossing.meeting_id for crossing in crossings if crossing.meeting_id})
    await uow.projection.lock_meetings(meeting_ids)
    told = await uow.projection.alerted_at(meeting_ids)
    joined = await join_waiting_notices(
        [crossing for crossing in crossings if crossing.meeting_id and rules.crossings_key(crossing) in told],
        contexts,
        uow,
    )
    alerts = [
        replace(alert, recipients=tuple(r for r in alert.recipients if r.id not in joined.get(_key_of(alert), ())))
        for alert in rules.absence_crossing_alerts(crossings, contexts, told=told)
    ]
    # the mails wait a moment for the meeting's crossings that other messages bring (joined above when they come)
    hold_until = uow.now() + timedelta(seconds=uow.settings.absence_group_seconds)
    await raise_alerts([alert for alert in alerts if alert.recipients], uow, hold_until=hold_until)
    await uow.projection.mark_alerted(
        [
            (crossing.member_id, crossing.anchor, crossing.rule)
            for crossing in crossings
            if rules.crossing_recipients(crossing, contexts)  # told of nobody: decided again when someone hears
        ]
    )


async def correct_crossings(
    events: Sequence[Event[Any]],
    newest: Mapping[str, Event[Any]],
    configs: Mapping[str, RuleConfig],
    uow: NotificationsUnit,
) -> None:
    """Figures announced again about a meeting where a member's absence alert is anchored (meetings re-announces a
    member's figures about a meeting whose roster was corrected) that no longer pass the rule's threshold take that
    alert back (DOMAIN.md "Alerts": what reaches a recipient must hold): a recipient told at the meeting of no other
    member still past it has the meeting's notices of that rule withdrawn (kept in the inbox labelled corrected,
    their mails not yet sent cancelled: PgOutgoing.withdraw_corrected); each recipient whose notice already went out
    by mail or webhook gets one short correction (CROSSING_CORRECTED, keyed by the rule and the correcting figures:
    a redelivered announcement adds no figure and mails nothing) on those channels, one whose daily digest listed
    it (a committee's default) in their next digest. Only the latest figure of the
    member about that meeting counts (a copy of an older announcement arriving late corrects nothing)."""
    about = {(event.data.member_id, event.data.meeting_id) for event in events if event.data.meeting_id}
    if not about:
        return
    # figures below a rule's threshold about a meeting: one before the meeting an alert of the rule is anchored at
    # (its roster corrected) may have cut that run of absences, or those unexcused months
    below = {
        (rule, event.data.member_id, event.data.meeting_id)
        for event in events
        if event.data.meeting_id
        for rule, count in (
            (r.CONSECUTIVE_ABSENCES, event.data.consecutive_absences),
            (r.UNEXCUSED_MONTHS, event.data.unexcused_months_last_year),
        )
        if not rules.past_threshold(rule, count, configs[newest[event.data.member_id].data.cell_id])
    }
    earlier = [
        crossing
        for crossing in await uow.projection.told_after(sorted({(m, meeting) for _, m, meeting in below}))
        if any(rule == crossing.rule and m == crossing.member_id for rule, m, _ in below)
    ]
    told = [
        crossing
        for crossing in await uow.projection.told_crossings(
            sorted({meeting_id for _, meeting_id in about} | {crossing.meeting_id for crossing in earlier})
        )
        if crossing.meeting_id
    ]
    touched = sorted(
        {crossing.member_id for crossing in told if (crossing.member_id, crossing.meeting_id) in about}
        | {crossing.member_id for crossing in earlier}
    )
    if not touched:
        return
    histories = await uow.projection.figure_histories(touched)
    untrue: dict[tuple[str, str], dict[str, str]] = {}  # (rule, meeting) -> member -> the correcting figure
    for crossing in earlier:
        config = configs[newest[crossing.member_id].data.cell_id]
        cut = run_cut_before(
            histories.get(crossing.member_id, []),
            crossing.meeting_id,
            {(m, meeting) for rule, m, meeting in below if rule == crossing.rule},
            crossing.member_id,
            rule=crossing.rule,
        )
        if cut is not None and not rules.past_threshold(crossing.rule, _count(cut, crossing.rule), config):
            untrue.setdefault((crossing.rule, crossing.meeting_id), {})[crossing.member_id] = cut.event_id
    for crossing in told:
        if crossing.member_id not in histories or (crossing.member_id, crossing.meeting_id) not in about:
            continue
        latest = [figures for figures in histories[crossing.member_id] if figures.meeting_id == crossing.meeting_id]
        config = configs[newest[crossing.member_id].data.cell_id]
        last = latest[-1]
        running = crossing.rule == r.CONSECUTIVE_ABSENCES
        count = last.consecutive_absences if running else last.unexcused_months
        alerted = last.run_alerted if running else last.months_alerted
        if not alerted and not rules.past_threshold(crossing.rule, count, config):
            untrue.setdefault((crossing.rule, crossing.meeting_id), {})[crossing.member_id] = last.event_id
    if not untrue:
        return
    cells = sorted({newest[member_id].data.cell_id for by_member in untrue.values() for member_id in by_member})
    contexts = await uow.projection.cell_contexts(cells)
    now = uow.now()
    for (rule, meeting_id), by_member in sorted(untrue.items()):
        at_meeting = [
            _told_crossing(c, newest, configs, fallback_cell=cells[0])
            for c in told
            if (c.rule, c.meeting_id) == (rule, meeting_id)
        ]
        wrong = [crossing for crossing in at_meeting if crossing.member_id in by_member]
        still = {
            recipient.id
            for crossing in at_meeting
            if crossing.member_id not in by_member
            for recipient in rules.crossing_recipients(crossing, contexts)
        }
        holders = await uow.outgoing.told_of(rule=rule, subject_id=meeting_id)
        groups = [
            (members, tuple(rc for rc in recipients if rc.id in holders))
            for members, recipients in rules.by_recipients(wrong, lambda c: rules.crossing_recipients(c, contexts))
        ]
        concerned = sorted({rc.id for _, recipients in groups for rc in recipients})
        if not concerned:
            continue
        sent = await uow.outgoing.mailed_about(rule=rule, subject_id=meeting_id, recipient_ids=concerned, now=now)
        digested = await uow.outgoing.digested_about(rule=rule, subject_id=meeting_id, recipient_ids=concerned)
        withdrawn = await uow.outgoing.withdraw_corrected(
            rule=rule, subject_id=meeting_id, recipient_ids=[rid for rid in concerned if rid not in still], now=now
        )
        # a notice still naming others names only them from now on, and its correction says for whom it holds
        staying = [crossing for crossing in at_meeting if crossing.member_id not in by_member]
        rewrite = {rid for rid in concerned if rid in still}
        left: dict[str, tuple[str, ...]] = {}
        for other in staying:
            for recipient in rules.crossing_recipients(other, contexts):
                left[recipient.id] = (*left.get(recipient.id, ()), other.full_name)
        # each notice naming a member taken back (a follow-up among them) names only those left, or is withdrawn
        struck, legacy = await strike_members(
            rule=rule,
            subject_id=meeting_id,
            recipient_ids=sorted(rewrite),
            struck=set(by_member),
            naming=_naming(staying, contexts),
            uow=uow,
        )
        withdrawn += struck
        if legacy:  # notices stored before they kept their members: the first alert names all still past it
            await revise_alerts(
                [
                    replace(alert, recipients=tuple(rc for rc in alert.recipients if rc.id in legacy))
                    for alert in rules.absence_crossing_alerts(staying, contexts)
                ],
                uow,
            )
        change = hashlib.sha256("\n".join(sorted(by_member.values())).encode()).hexdigest()[:16]
        corrections = [
            Alert(
                rule=r.CROSSING_CORRECTED,
                subject_id=meeting_id,
                period=f"{rule}|corrected:{change}",
                recipients=readers,
                cell_id=members[0].cell_id,
                values={
                    "cell": contexts[members[0].cell_id].cell_name,
                    "members": [member.full_name for member in members],
                    "counts": [member.count for member in members],
                    "threshold": members[0].threshold,
                    "corrected_rule": rule,
                    "remaining": list(remaining),
                },
            )
            for members, recipients in groups
            for remaining, readers in grouped_by(recipients, left)
        ]
        mailed = await send_corrections(corrections, sent, uow, digested=digested)
        log.info(
            "absence_crossings_corrected", rule=rule, withdrawn=withdrawn, rewritten=len(rewrite), corrections=mailed
        )


def _naming(
    staying: Sequence[rules.Crossing], contexts: Mapping[str, CellContext]
) -> Callable[[tuple[str, ...]], list[Alert]]:
    """What the alert of a meeting's crossings says when it names only these members (ids) of those `staying`."""
    return lambda ids: rules.absence_crossing_alerts(
        [crossing for crossing in staying if crossing.member_id in ids], contexts
    )


def run_cut_before(
    history: Sequence[AnnouncedFigures],
    meeting_id: str,
    below: Collection[tuple[str, str]],
    member_id: str,
    *,
    rule: str = r.CONSECUTIVE_ABSENCES,
) -> AnnouncedFigures | None:
    """The member's latest figure when it is about a meeting before the one whose alert of `rule` (`meeting_id`) it
    may cut (an announcement in `below`, about a meeting with an earlier one ahead of the alert's: its roster
    corrected) and what the alert told of was still going when it came (no figure since the alert counted fewer:
    absences in a row for consecutive_absences, unexcused months for unexcused_months): meetings announces the
    member's figures as they are now, so they are what the alert told of, corrected. None otherwise: a later figure
    has the last word, or the run or the months had ended (attended since, a month rolled out of the year), and
    the figure says nothing of them. Whether the alert still holds is the caller's (DOMAIN.md "Alerts": absent more
    than 3 meetings in a row, or without valid reason 3 months in a year)."""
    if not history or (member_id, history[-1].meeting_id) not in below or history[-1].meeting_id == meeting_id:
        return None
    anchors = [
        index
        for index, figures in enumerate(history)
        if figures.meeting_id == meeting_id and (figures.run_alerted if _running(rule) else figures.months_alerted)
    ]
    if not anchors:
        return None
    told = _count(history[anchors[-1]], rule)
    if any(_count(figures, rule) < told for figures in history[anchors[-1] : -1]):
        return None
    return history[-1]


def _running(rule: str) -> bool:
    """Whether an absence rule counts absences in a row (else unexcused months)."""
    return rule == r.CONSECUTIVE_ABSENCES


def _count(figures: AnnouncedFigures, rule: str) -> int:
    """What an absence rule counts in a figure: absences in a row, or unexcused months."""
    return figures.consecutive_absences if _running(rule) else figures.unexcused_months


def _told_crossing(
    told: ToldCrossing, newest: Mapping[str, Event[Any]], configs: Mapping[str, RuleConfig], *, fallback_cell: str
) -> rules.Crossing:
    """A member told of at a meeting as a crossing (for its recipients and text): their name and cell as last
    announced in this batch, else the projection's name and `fallback_cell` (a member crossing at the same meeting
    of the same cell)."""
    event = newest.get(told.member_id)
    cell_id = event.data.cell_id if event is not None else fallback_cell
    return rules.Crossing(
        rule=told.rule,
        threshold=rules.absence_threshold(told.rule, configs[cell_id]) if cell_id in configs else 0,
        member_id=told.member_id,
        full_name=(event.data.full_name if event is not None else told.full_name) or told.member_id,
        cell_id=cell_id,
        count=told.count,
        anchor="",
        meeting_id=told.meeting_id,
    )


async def join_waiting_notices(
    joining: Sequence[rules.Crossing], contexts: Mapping[str, CellContext], uow: NotificationsUnit
) -> dict[tuple[str, str], set[str]]:
    """Crossings at a meeting whose alert was raised already (in another message: one announcement a message, a
    batch cut in two) join that alert where it has not gone out yet: each such recipient's stored notice is
    rewritten to name every member crossing at the meeting so far, as the one batch would have (DOMAIN.md "Alerts":
    each recipient once, no stream of single alerts), and its mail, still held back (absence_group_seconds) or in a
    digest to come, carries that text. Recipients whose mail or digest went out already, or who have no notice
    under it, get the follow-up naming only the members added, as before. Per (rule, meeting), the recipients whose
    notice was rewritten."""
    if not joining:
        return {}
    new: dict[tuple[str, str], dict[str, rules.Crossing]] = {}
    for crossing in joining:
        new.setdefault(rules.crossings_key(crossing), {}).setdefault(crossing.member_id, crossing)
    earlier = await uow.projection.told_crossings(sorted({meeting_id for _, meeting_id in new}))
    now = uow.now()
    joined: dict[tuple[str, str], set[str]] = {}
    for key, adding in new.items():
        first = next(iter(adding.values()))
        told = [t for t in earlier if (t.rule, t.meeting_id) == key and t.member_id not in adding]
        if any(t.full_name is None for t in told):
            continue  # a member the projection cannot name: the follow-up tells of the added ones alone
        everyone = [
            *(replace(first, member_id=t.member_id, full_name=t.full_name or "", count=t.count) for t in told),
            *adding.values(),
        ]
        for alert in rules.absence_crossing_alerts(everyone, contexts):
            ids = [recipient.id for recipient in alert.recipients]
            rule, subject_id, period = alert.rule, alert.subject_id, alert.period
            waiting = await uow.outgoing.undigested(rule=rule, subject_id=subject_id, period=period, recipient_ids=ids)
            gone = await uow.outgoing.gone_out(
                rule=rule, subject_id=subject_id, period=period, recipient_ids=ids, now=now
            )
            keep = tuple(r for r in alert.recipients if r.id in waiting and r.id not in gone)
            if keep:
                await revise_alerts([replace(alert, recipients=keep)], uow)
                joined.setdefault(key, set()).update(recipient.id for recipient in keep)
    return joined


def _key_of(alert: Alert) -> tuple[str, str]:
    """The (rule, meeting) an absence alert about a meeting is keyed by (its subject)."""
    return alert.rule, alert.subject_id


def told_recently(event: Event[Any], uow: NotificationsUnit) -> bool:
    """Whether figures about a meeting not known here (yet) can be about a recent one: the fact that moved them (a
    roster, minutes, a cancellation of a held meeting, all from the meeting's start on) is not older than the
    history cutoff. A history loaded with its figures ahead of their meetings stays silent."""
    return event.time >= uow.now() - timedelta(days=uow.settings.history_cutoff_days)


def _cause_of(event: Event[Any]) -> str:
    """The id of the fact whose handling announced these figures (the same in every run over the same facts,
    unlike the announcement's own id), the announcement's id when it names none."""
    return str(event.envelope.causationid or event.order_id)


def _sequence_of(event: Event[Any]) -> int:
    """The member's announcement number meetings gave it (1, 2, … as published), 0 for one published before the
    numbering: what orders a member's announcements, before their time (the facts that caused two announcements
    may have been committed in the other order than their times, as two batches committing side by side are)."""
    return int(event.data.sequence or 0)


def _announcement_order(event: Event[Any]) -> tuple[int, datetime, int, str, str]:
    """Announcements in the order member_figures keeps them (projection.figures.ORDER): announcement number, then
    time, its nanoseconds below the microsecond, cause, id (code point order)."""
    return (_sequence_of(event), event.time, event.time_ns, _cause_of(event), event.order_id)
