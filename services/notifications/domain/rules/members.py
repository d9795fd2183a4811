"""Rules about one member: absences in a row or over months, and the end of probation."""

from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from services.notifications.domain import settings as r
from services.notifications.domain.model import (
    PROBATIONARY,
    Alert,
    AnnouncedFigures,
    CellContext,
    Member,
    Recipient,
    Stretch,
    unique_recipients,
)
from services.notifications.domain.rules.common import absence_added_period, build_alerts, by_recipients
from services.notifications.domain.settings import RuleConfig
from shared.collation import by_person
from shared.periods import add_years, local


def absence_threshold(rule: str, config: RuleConfig) -> int:
    """The threshold of an absence rule under the settings: consecutive_absences' `more_than` (meetings),
    unexcused_months' `at_least` (months) (DOMAIN.md "Alerts": more than 3 in a row, 3 months in a year)."""
    return config.param(rule, "more_than" if rule == r.CONSECUTIVE_ABSENCES else "at_least")


def past_threshold(rule: str, count: int, config: RuleConfig) -> bool:
    """Whether a member's `count` (absences in a row, or unexcused months) passes the absence rule's threshold:
    above `more_than`, or at least `at_least` (absence_threshold)."""
    threshold = absence_threshold(rule, config)
    return count > threshold if rule == r.CONSECUTIVE_ABSENCES else count >= threshold


def absence_history_may_alert(*, consecutive_absences: int, unexcused_months: int, config: RuleConfig) -> bool:
    """Whether these figures pass a threshold of the absence rules under the settings (a batch reads a member's
    announced history only when one of its new figures does, or arrived late: most histories announced are of
    members present)."""
    return (
        config.is_enabled(r.CONSECUTIVE_ABSENCES)
        and past_threshold(r.CONSECUTIVE_ABSENCES, consecutive_absences, config)
    ) or (config.is_enabled(r.UNEXCUSED_MONTHS) and past_threshold(r.UNEXCUSED_MONTHS, unexcused_months, config))


def absence_runs(history: Sequence[AnnouncedFigures], *, more_than: int) -> list[Stretch]:
    """A member's runs of absences over their announced figures in order. A run starts at the first figure and
    wherever the count falls: the member attended since the figure before, whether or not an announcement of the
    fall itself (0) came through. A run alerts once a figure in it about a recent meeting that added to it (its count
    above the figure before's: an absence recorded now) exceeds `more_than`, however far it jumped past it (at the
    first such figure); later figures of the same run only extend it. A run that passed the threshold only in history
    (imported meetings, older than the history cutoff) stays silent, whatever later figure repeats its count (DOMAIN.md
    "Alerts": a member absent more than 3 meetings in a row)."""
    runs: list[Stretch] = []
    previous: int | None = None
    for figures in history:
        count = figures.consecutive_absences
        if previous is None or count < previous:
            runs.append(Stretch(count=count, alerting=False, alerted=False, anchor=""))
        passes = count > more_than and (previous is None or count != previous)
        runs[-1] = _extend(runs[-1], figures, count=count, passes=passes, alerted=figures.run_alerted)
        previous = count
    return runs


def unexcused_crossings(history: Sequence[AnnouncedFigures], *, at_least: int) -> list[Stretch]:
    """The times a member's unexcused months (a rolling 12 months) stood at `at_least` or more, over their
    announced figures in order: each rise from below the threshold is a new crossing, further months of the same
    time above it are not. A crossing alerts at its first figure about a recent meeting that added a month (above the
    figure before's months); one whose months were all counted in history stays silent when a later figure (the
    member present at a meeting now) only carries them on (DOMAIN.md "Alerts": unexcused 3 months in a year)."""
    crossings: list[Stretch] = []
    above = False
    previous: int | None = None
    for figures in history:
        months = figures.unexcused_months
        rose = previous is None or months > previous
        previous = months
        if months < at_least:
            above = False
            continue
        if not above:
            crossings.append(Stretch(count=months, alerting=False, alerted=False, anchor=""))
            above = True
        crossings[-1] = _extend(crossings[-1], figures, count=months, passes=rose, alerted=figures.months_alerted)
    return crossings


def _extend(stretch: Stretch, figures: AnnouncedFigures, *, count: int, passes: bool, alerted: bool) -> Stretch:
    """The stretch with one more figure; the first that `passes` (past the threshold by what it added to the
    stretch) about a recent meeting is where it crossed (its count and anchor), so the same figures give the same
    alert however they were batched."""
    crosses = passes and figures.recent and not stretch.alerting
    return Stretch(
        count=count if crosses else stretch.count,
        alerting=stretch.alerting or crosses,
        alerted=stretch.alerted or alerted,
        anchor=figures.event_id if crosses else stretch.anchor,
        meeting_id=figures.meeting_id if crosses else stretch.meeting_id,
    )


def pending_stretches(history: Sequence[AnnouncedFigures], config: RuleConfig) -> list[tuple[str, int, Stretch]]:
    """The runs of absences and crossings of the unexcused months in a member's history that should alert and have
    not (no figure of theirs anchors an alert yet): (rule, its threshold, stretch) each."""
    found: list[tuple[str, int, Stretch]] = []
    if config.is_enabled(r.CONSECUTIVE_ABSENCES):
        more_than = config.param(r.CONSECUTIVE_ABSENCES, "more_than")
        found += [(r.CONSECUTIVE_ABSENCES, more_than, run) for run in absence_runs(history, more_than=more_than)]
    if config.is_enabled(r.UNEXCUSED_MONTHS):
        at_least = config.param(r.UNEXCUSED_MONTHS, "at_least")
        found += [(r.UNEXCUSED_MONTHS, at_least, one) for one in unexcused_crossings(history, at_least=at_least)]
    return [
        (rule, threshold, stretch) for rule, threshold, stretch in found if stretch.alerting and not stretch.alerted
    ]


@dataclass(frozen=True)
class Crossing:
    """A member's stretch that should alert and has not: the rule (consecutive_absences or unexcused_months), its
    threshold, the member, their cell, the count it crossed at, the figure anchoring it and that figure's meeting
    ("" for a figure stored before figures kept their meeting)."""

    rule: str
    threshold: int
    member_id: str
    full_name: str
    cell_id: str
    count: int
    anchor: str
    meeting_id: str


def pending_crossings(
    *, member_id: str, full_name: str, cell_id: str, history: Sequence[AnnouncedFigures], config: RuleConfig
) -> list[Crossing]:
    """The member's pending_stretches as crossings (DOMAIN.md "Alerts": absent more than 3 meetings in a row, or
    unexcused 3 months in a year)."""
    return [
        Crossing(
            rule=rule,
            threshold=threshold,
            member_id=member_id,
            full_name=full_name,
            cell_id=cell_id,
            count=stretch.count,
            anchor=stretch.anchor,
            meeting_id=stretch.meeting_id,
        )
        for rule, threshold, stretch in pending_stretches(history, config)
    ]


def crossings_key(crossing: Crossing) -> tuple[str, str]:
    """What one alert per recipient gathers crossings by: the rule and the meeting they crossed at (the anchor
    itself for a figure without its meeting: that member's alert alone, as before figures kept their meeting)."""
    return crossing.rule, crossing.meeting_id or crossing.anchor


def absence_crossing_alerts(
    crossings: Sequence[Crossing], contexts: Mapping[str, CellContext], *, told: Container[tuple[str, str]] = ()
) -> list[Alert]:
    """The alerts of members' crossings of the absence rules (DOMAIN.md "Alerts": the cell committee, without the
    member, and the superior committee): one per recipient per rule and meeting, naming every member who crossed
    at it (a trial's 4 members crossing at one meeting mailed each recipient 4 times), keyed by the meeting (subject
    and period: once per recipient, redelivered or raised again). `told`: the crossings_key whose alert went out
    already; those crossings, added later (a corrected roster), go in one follow-up per recipient keyed by the
    added members (absence_added_period). A crossing at a figure without its meeting alerts alone, keyed by the
    member and the anchor as before. Each member once per group (their first crossing in it), in Vietnamese order
    of their names."""
    groups: dict[tuple[str, str], dict[str, Crossing]] = {}
    for crossing in crossings:
        groups.setdefault(crossings_key(crossing), {}).setdefault(crossing.member_id, crossing)
    alerts: list[Alert] = []
    for (rule, key), by_member in groups.items():
        listed = by_person(by_member.values(), lambda crossing: crossing.full_name)
        added = bool(listed[0].meeting_id) and (rule, key) in told
        if not listed[0].meeting_id:
            subject_id, period = listed[0].member_id, key
        else:
            subject_id = key
            period = absence_added_period(key, by_member) if added else key
        for members, recipients in by_recipients(listed, lambda crossing: crossing_recipients(crossing, contexts)):
            ctx = contexts[members[0].cell_id]
            one = {"member": members[0].full_name, "count": members[0].count} if len(members) == 1 else {}
            alerts += build_alerts(
                rule,
                subject_id=subject_id,
                period=period,
                recipients=recipients,
                cell_id=ctx.cell.id if ctx.cell else None,
                member_ids=tuple(member.member_id for member in members),
                cell=ctx.cell_name,
                members=[member.full_name for member in members],
                counts=[member.count for member in members],
                threshold=members[0].threshold,
                added=added,
                **one,
            )
    return alerts


def crossing_recipients(crossing: Crossing, contexts: Mapping[str, CellContext]) -> tuple[Recipient, ...]:
    """Who hears of a crossing: the member's cell committee without them (they may sit on it: it is asked to act on
    their absences), and the superior committee (DOMAIN.md "Alerts")."""
    ctx = contexts[crossing.cell_id]
    return unique_recipients(ctx.cell_committee(excluding=crossing.member_id), ctx.superior_committee())


def absence_history(
    *,
    member_id: str,
    full_name: str,
    history: Sequence[AnnouncedFigures],
    ctx: CellContext,
    config: RuleConfig,
) -> list[tuple[Alert, str]]:
    """Absent more than N meetings in a row, or unexcused in N months of a year: the cell and superior committees,
    once per run of absences and once per crossing of the months; each alert of this one member with the figure to
    anchor it on (the one where the stretch crossed the threshold, whose count it tells).

    Decided over the member's whole announced history, so the alerts are the same whatever the announcements'
    batching (0 -> 18 at once, or 1, 2, ... one by one), order or repetition; a run a late figure shows to have
    been two runs is two runs, the part without an anchored alert alerting on its own. A batch of several members
    gathers their crossings instead (pending_crossings, absence_crossing_alerts)."""
    cell_id = ctx.cell.id if ctx.cell else ""
    decided: list[tuple[Alert, str]] = []
    for crossing in pending_crossings(
        member_id=member_id, full_name=full_name, cell_id=cell_id, history=history, config=config
    ):
        decided += [(alert, crossing.anchor) for alert in absence_crossing_alerts([crossing], {cell_id: ctx})]
    return decided


def probation_ends_on(member: Member) -> date | None:
    """The end of a probationary member's 12 months, when the admission date is known."""
    if member.status != PROBATIONARY or member.admitted_on is None:
        return None
    return add_years(member.admitted_on, 1)


def probation_ending(*, member: Member, ctx: CellContext, config: RuleConfig, now: datetime) -> list[Alert]:
    """Probation ends within the set days: the secretary, so the cell votes on official membership (DOMAIN.md
    "Alerts"). Only while the probation is still to end (its last day today at the latest): one that ended already,
    a member snapshot imported late or a probationer never made official, is no advance warning any more."""
    rule = r.PROBATION_ENDING
    ends_on = probation_ends_on(member)
    if not config.is_enabled(rule) or ends_on is None or not member.active:
        return []
    today = local(now).date()
    if today < ends_on - timedelta(days=config.param(rule, "days_before")) or today > ends_on:
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
