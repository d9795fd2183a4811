"""The rule kinds, implemented once: each turns a meeting's facts into points and a reason (coded parts).

Thresholds and points come from the framework's data; nothing here knows a province's values.
"""

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from services.evaluation.domain.facts import MeetingFacts
from services.evaluation.domain.framework import (
    AttendanceCheckRule,
    AttendanceRule,
    DocumentTimingRule,
    DurationRule,
    FinalDocumentsRule,
    Item,
    ResolutionAdoptedRule,
    ResultsRule,
    SelfCriticismRule,
    SpeakersRule,
    Threshold,
)
from shared.plausible import end_for_deadlines, votes_over
from shared.reasons import ReasonCode, ReasonPart
from shared.text import has_text

Reason = tuple[ReasonPart, ...]
"""Why an item got its points, part by part (shared.reasons renders the English text from it)."""
Outcome = tuple[float, Reason]
"""(points, reason parts) of an applicable automatic item."""


@lru_cache(maxsize=256)
def only(code: ReasonCode) -> Reason:
    """The one-part reason naming only `code`, built once per code (frozen models, shared by every line that says
    it): a scoring round says a few dozen per meeting, and building each (a pydantic model) was ~4 µs (issue 12)."""
    return (ReasonPart(code=code),)


NO_MINUTES: Reason = only(ReasonCode.NO_MINUTES)
NO_ROSTER: Reason = only(ReasonCode.NO_ROSTER)


def banded(value: float, bands: Sequence[Threshold], below: float) -> float:
    """The points of the highest step the value reaches, else `below`."""
    for step in sorted(bands, key=lambda step: (step.min, step.strict), reverse=True):
        if step.reached(value):
            return step.points
    return below


def _duration(rule: DurationRule, item: Item, facts: MeetingFacts) -> Outcome:
    if facts.minutes is None:
        return 0, NO_MINUTES
    lasted = facts.minutes.duration_minutes
    required = rule.required_minutes.get(facts.kind, rule.required_minutes["default"])
    shortfall = max(0.0, required - lasted)
    for limit, points in sorted(rule.shortfall_steps):
        if shortfall <= limit:
            return points, (
                ReasonPart(code=ReasonCode.DURATION_SHORT, lasted=lasted, required=required, short=shortfall),
            )
    if lasted >= required / 2:
        return rule.half_points, (ReasonPart(code=ReasonCode.DURATION_HALF, lasted=lasted, required=required),)
    return rule.below_half_points, (ReasonPart(code=ReasonCode.DURATION_BELOW_HALF, lasted=lasted, required=required),)


def _attendance(rule: AttendanceRule, item: Item, facts: MeetingFacts) -> Outcome:
    if facts.roster is None:
        return 0, NO_ROSTER
    counted = facts.attendance_counted
    present = facts.count("present")
    if counted == 0:
        return 0, only(ReasonCode.NOBODY_EXPECTED)
    rate = present / counted
    points = banded(rate, rule.bands, rule.below_points)
    unexcused = facts.count("absent")
    parts = [ReasonPart(code=ReasonCode.ATTENDANCE_RATE, present=present, counted=counted, rate=rate)]
    if unexcused and rule.unexcused_points is not None:
        points = min(points, rule.unexcused_points)
        parts.append(ReasonPart(code=ReasonCode.ABSENT_WITHOUT_EXCUSE, count=unexcused))
    if rule.excused_run_bonus:
        longest = max(facts.excused_runs.values(), default=0)
        if longest <= rule.max_excused_run:
            points += rule.excused_run_bonus
            parts.append(ReasonPart(code=ReasonCode.EXCUSED_RUN_BONUS, limit=rule.max_excused_run, longest=longest))
        else:
            parts.append(ReasonPart(code=ReasonCode.EXCUSED_RUN_NO_BONUS, longest=longest))
    return min(points, item.max), tuple(parts)


def _attendance_check(rule: AttendanceCheckRule, item: Item, facts: MeetingFacts) -> Outcome:
    if facts.roster is None:
        return 0, NO_ROSTER
    counted = facts.attendance_counted
    rate = facts.count("present") / counted if counted else 0.0
    failures = []
    if not (rate > rule.min_rate if rule.strict else rate >= rule.min_rate):
        failures.append(
            ReasonPart(code=ReasonCode.ATTENDANCE_RATE_LOW, rate=rate, required_rate=rule.min_rate, strict=rule.strict)
        )
    if rule.no_unexcused and facts.count("absent"):
        failures.append(ReasonPart(code=ReasonCode.ABSENT_WITHOUT_EXCUSE, count=facts.count("absent")))
    longest = max(facts.absence_runs.values(), default=0)
    if rule.max_absence_run is not None and longest > rule.max_absence_run:
        failures.append(ReasonPart(code=ReasonCode.ABSENCE_RUN, longest=longest))
    if failures:
        return 0, tuple(failures)
    return item.max, (ReasonPart(code=ReasonCode.ATTENDANCE_CHECK_MET, rate=rate, longest=longest),)


def _document_before_start(rule: DocumentTimingRule, item: Item, facts: MeetingFacts) -> Outcome:
    deadline = facts.starts_at - timedelta(hours=rule.lead_hours)
    relevant = sorted(doc.published_at for doc in facts.documents if doc.kind in rule.document_kinds)
    kinds = tuple(rule.document_kinds)
    if not relevant:
        return 0, (ReasonPart(code=ReasonCode.DOCUMENTS_NOT_PUBLISHED, kinds=kinds),)
    first = relevant[0]
    early = first < deadline if rule.strict else first <= deadline
    if early:
        published = ReasonPart(
            code=ReasonCode.DOCUMENTS_PUBLISHED,
            kinds=kinds,
            published_at=first,
            lead_hours=rule.lead_hours,
            ahead_hours=round((facts.starts_at - first).total_seconds() / 3600, 1),
        )
        return item.max, (published,)
    late = ReasonPart(
        code=ReasonCode.DOCUMENTS_PUBLISHED_LATE,
        kinds=kinds,
        published_at=first,
        lead_hours=rule.lead_hours,
        deadline=deadline,
        ahead_hours=round((facts.starts_at - first).total_seconds() / 3600, 1),
    )
    return 0, (late,)


def _committee_prepared(rule: Any, item: Item, facts: MeetingFacts) -> Outcome:
    if not facts.cell_has_committee:
        return item.max, only(ReasonCode.NO_COMMITTEE)
    if facts.committee_prepared:
        return item.max, only(ReasonCode.COMMITTEE_PREPARED)
    return 0, only(ReasonCode.COMMITTEE_NOT_PREPARED)


def _notified(rule: Any, item: Item, facts: MeetingFacts) -> Outcome:
    if facts.notified_at is not None and facts.notified_at < facts.starts_at:
        return item.max, (ReasonPart(code=ReasonCode.NOTIFIED, notified_at=facts.notified_at),)
    return 0, only(ReasonCode.NOT_NOTIFIED)


def _speakers(rule: SpeakersRule, item: Item, facts: MeetingFacts) -> Outcome:
    if facts.minutes is None:
        return 0, NO_MINUTES
    if facts.roster is None:
        return 0, NO_ROSTER
    present = facts.count("present")
    if present == 0:
        # a share of nobody is no share: DOMAIN.md "How to read it, exactly" gives 0 when the roster counts nobody
        # ("no evidence, no points"); with nobody present no member spoke at the meeting either
        return 0, (ReasonPart(code=ReasonCode.NOBODY_PRESENT, speakers=len(facts.minutes.speakers)),)
    speakers = facts.speakers_present
    share = speakers / present
    points = banded(share, rule.bands, rule.below_points)
    return points, (ReasonPart(code=ReasonCode.SPEAKERS_SHARE, speakers=speakers, present=present, rate=share),)


def _minutes_complete(rule: Any, item: Item, facts: MeetingFacts) -> Outcome:
    minutes = facts.minutes
    if minutes is None:
        return 0, NO_MINUTES
    missing = []
    if not facts.roster:
        missing.append("roster")
    if not has_text(minutes.content):
        missing.append("content")
    if not has_text(minutes.conclusions):
        missing.append("conclusions")
    if not minutes.speakers:
        missing.append("speakers")
    if not minutes.resolutions:
        missing.append("resolution")
    if missing:
        return 0, (ReasonPart(code=ReasonCode.MINUTES_LACK, kinds=tuple(missing)),)
    return item.max, only(ReasonCode.MINUTES_COMPLETE)


def _self_criticism(rule: SelfCriticismRule, item: Item, facts: MeetingFacts) -> Outcome:
    if facts.minutes is None:
        return 0, NO_MINUTES
    spent = facts.minutes.self_criticism_minutes
    if spent is None:
        return 0, only(ReasonCode.SELF_CRITICISM_UNRECORDED)
    within = rule.min_minutes <= spent <= rule.max_minutes
    code = ReasonCode.SELF_CRITICISM_WITHIN if within else ReasonCode.SELF_CRITICISM_OUTSIDE
    return item.max if within else 0, (ReasonPart(code=code, spent=spent, low=rule.min_minutes, high=rule.max_minutes),)


def _results(rule: ResultsRule, item: Item, facts: MeetingFacts) -> Outcome:
    tasks = facts.previous_tasks or ()
    done = sum(1 for task in tasks if task.on_time)
    share = done / len(tasks)
    points = banded(share, rule.bands, rule.below_points)
    said = ReasonPart(
        code=ReasonCode.TASKS_ON_TIME,
        done=done,
        total=len(tasks),
        rate=share,
        previous_id=facts.previous_id,
        previous_start=facts.previous_start,
    )
    return points, (said, *previous_late(facts))


def previous_late(facts: MeetingFacts) -> tuple[ReasonPart, ...]:
    """The `results` line's part saying its score was recalculated because the previous meeting (its id and start)
    was recorded late (MeetingFacts.previous_recorded_late), or none."""
    if not facts.previous_recorded_late:
        return ()
    return (
        ReasonPart(
            code=ReasonCode.PREVIOUS_RECORDED_LATE, previous_id=facts.previous_id, previous_start=facts.previous_start
        ),
    )


def _resolution_adopted(rule: ResolutionAdoptedRule, item: Item, facts: MeetingFacts) -> Outcome:
    if facts.minutes is None:
        return 0, NO_MINUTES
    resolutions = facts.minutes.resolutions
    if not resolutions:
        return 0, only(ReasonCode.NO_RESOLUTION)
    # more votes than members present is no vote (shared.plausible.votes_over): judged here, at scoring, since an
    # integration's minutes are stored whatever roster or members arrive before or after them (CONTRACT.md); with no
    # roster, against the cell's members at the meeting's start (none known yet: not judged, they may still come)
    voters: int | None
    if facts.roster is not None:
        voters, code = facts.count("present"), ReasonCode.VOTES_OVER_PRESENT
    else:
        voters, code = facts.cell_members or None, ReasonCode.VOTES_OVER_MEMBERS
    for number, resolution in enumerate(resolutions, start=1):
        counts = (
            ("votes_for", resolution.votes_for),
            ("votes_against", resolution.votes_against),
            ("abstentions", resolution.abstentions),
        )
        if voters is not None and votes_over(counts, voters=voters) is not None:
            cast = resolution.votes_for + resolution.votes_against + resolution.abstentions
            if code == ReasonCode.VOTES_OVER_PRESENT:
                return 0, (ReasonPart(code=code, number=number, cast=cast, present=voters),)
            return 0, (ReasonPart(code=code, number=number, cast=cast, count=voters),)
        cast = resolution.votes_for + resolution.votes_against
        cast += resolution.abstentions if rule.count_abstentions else 0
        if resolution.votes_for * 2 <= cast:
            return 0, (
                ReasonPart(
                    code=ReasonCode.RESOLUTION_NOT_ADOPTED, number=number, votes=resolution.votes_for, cast=cast
                ),
            )
    return item.max, (ReasonPart(code=ReasonCode.RESOLUTIONS_ADOPTED, count=len(resolutions)),)


def _minutes_and_tasks(rule: Any, item: Item, facts: MeetingFacts) -> Outcome:
    # DOMAIN.md "Meetings": the minutes are read and adopted, by the cell's vote; an adoption whose votes are not
    # recorded (an integration's, CONTRACT.md: votes optional) shows no vote, so it does not count as approved here
    # (no evidence, no points), while one stored before its votes were kept (approval_voted None) counts as it did
    adopted = facts.approved_at is not None
    approved = adopted and facts.approval_voted is not False
    tasks = facts.minutes.task_count if facts.minutes else 0
    if approved and tasks:
        return item.max, (ReasonPart(code=ReasonCode.MINUTES_APPROVED_AND_TASKS, count=tasks),)
    unmet = ReasonCode.MINUTES_ADOPTED_UNVOTED if adopted else ReasonCode.MINUTES_NOT_APPROVED
    checks = ((unmet, approved), (ReasonCode.NO_TASK_ASSIGNED, tasks > 0))
    return 0, tuple(only(code)[0] for code, ok in checks if not ok)


def _final_documents(rule: FinalDocumentsRule, item: Item, facts: MeetingFacts) -> Outcome:
    if facts.minutes is None:
        return 0, NO_MINUTES
    # from the minutes' end, or the start when they end before it (DOMAIN.md "After"; shared.plausible)
    end = end_for_deadlines(starts_at=facts.starts_at, ended_at=facts.minutes.ended_at)
    deadline = end + timedelta(hours=rule.within_hours)
    late = [
        kind
        for kind in rule.document_kinds
        if not any(doc.kind == kind and doc.published_at <= deadline for doc in facts.documents)
    ]
    if late and facts.scored_at is not None and facts.scored_at < deadline:
        # the window is still open: nothing is late yet, the documents are only due (no point until they come)
        pending = ReasonPart(
            code=ReasonCode.FINAL_DOCUMENTS_PENDING, kinds=tuple(late), hours=rule.within_hours, deadline=deadline
        )
        return 0, (pending,)
    if late:
        return 0, (ReasonPart(code=ReasonCode.FINAL_DOCUMENTS_LATE, kinds=tuple(late), hours=rule.within_hours),)
    kinds = tuple(rule.document_kinds)
    return item.max, (ReasonPart(code=ReasonCode.FINAL_DOCUMENTS_PUBLISHED, kinds=kinds, hours=rule.within_hours),)


AUTOMATIC: dict[str, Callable[[Any, Item, MeetingFacts], Outcome]] = {
    "duration": _duration,
    "attendance": _attendance,
    "attendance_check": _attendance_check,
    "document_before_start": _document_before_start,
    "committee_prepared": _committee_prepared,
    "notified_before_start": _notified,
    "speakers_share": _speakers,
    "minutes_complete": _minutes_complete,
    "self_criticism_minutes": _self_criticism,
    "previous_tasks_on_time": _results,
    "resolution_adopted": _resolution_adopted,
    "minutes_approved_and_tasks": _minutes_and_tasks,
    "final_documents": _final_documents,
}


def changes_at(parts: Sequence[ReasonPart]) -> datetime | None:
    """When a line with these reason parts may change by time alone (a window open at scoring closes), if ever."""
    due = [part.deadline for part in parts if part.code == ReasonCode.FINAL_DOCUMENTS_PENDING and part.deadline]
    return min(due, default=None)


def evaluate_automatic(item: Item, facts: MeetingFacts) -> Outcome:
    """Points (capped at the item's max) and reason parts of one automatic item."""
    points, reason = AUTOMATIC[item.rule.kind](item.rule, item, facts)
    return min(float(points), item.max), reason
