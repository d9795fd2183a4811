"""The rule kinds, implemented once: each turns a meeting's facts into points and a reason.

Thresholds and points come from the framework's data; nothing here knows a province's values.
"""

from collections.abc import Callable, Sequence
from datetime import timedelta
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

Outcome = tuple[float, str]
"""(points, reason) of an applicable automatic item."""

NO_MINUTES = "no minutes recorded yet"
NO_ROSTER = "no attendance recorded yet"


def banded(value: float, bands: Sequence[Threshold], below: float) -> float:
    """The points of the highest step the value reaches, else `below`."""
    for step in sorted(bands, key=lambda step: (step.min, step.strict), reverse=True):
        if step.reached(value):
            return step.points
    return below


def pct(value: float) -> str:
    """A share as a percentage for reasons."""
    return f"{value * 100:.1f}%"


def _duration(rule: DurationRule, item: Item, facts: MeetingFacts) -> Outcome:
    if facts.minutes is None:
        return 0, NO_MINUTES
    lasted = facts.minutes.duration_minutes
    required = rule.required_minutes.get(facts.kind, rule.required_minutes["default"])
    shortfall = max(0.0, required - lasted)
    for limit, points in sorted(rule.shortfall_steps):
        if shortfall <= limit:
            return points, f"lasted {lasted:g} min of {required} required ({shortfall:g} min short)"
    if lasted >= required / 2:
        return rule.half_points, f"lasted {lasted:g} min of {required} required: at least half"
    return rule.below_half_points, f"lasted {lasted:g} min of {required} required: below half"


def _attendance(rule: AttendanceRule, item: Item, facts: MeetingFacts) -> Outcome:
    if facts.roster is None:
        return 0, NO_ROSTER
    counted = facts.attendance_counted
    present = facts.count("present")
    if counted == 0:
        return 0, "nobody expected on the roster"
    rate = present / counted
    points = banded(rate, rule.bands, rule.below_points)
    unexcused = facts.count("absent")
    parts = [f"{present}/{counted} present ({pct(rate)})"]
    if unexcused and rule.unexcused_points is not None:
        points = min(points, rule.unexcused_points)
        parts.append(f"{unexcused} absent without excuse")
    if rule.excused_run_bonus:
        longest = max(facts.excused_runs.values(), default=0)
        if longest <= rule.max_excused_run:
            points += rule.excused_run_bonus
            parts.append(f"bonus: no excused-absence run above {rule.max_excused_run} (longest {longest})")
        else:
            parts.append(f"no bonus: an excused-absence run of {longest} meetings")
    return min(points, item.max), "; ".join(parts)


def _attendance_check(rule: AttendanceCheckRule, item: Item, facts: MeetingFacts) -> Outcome:
    if facts.roster is None:
        return 0, NO_ROSTER
    counted = facts.attendance_counted
    rate = facts.count("present") / counted if counted else 0.0
    failures = []
    if not (rate > rule.min_rate if rule.strict else rate >= rule.min_rate):
        failures.append(f"rate {pct(rate)} not {'above' if rule.strict else 'at least'} {pct(rule.min_rate)}")
    if rule.no_unexcused and facts.count("absent"):
        failures.append(f"{facts.count('absent')} absent without excuse")
    longest = max(facts.absence_runs.values(), default=0)
    if rule.max_absence_run is not None and longest > rule.max_absence_run:
        failures.append(f"a member absent {longest} meetings in a row")
    if failures:
        return 0, "; ".join(failures)
    return item.max, f"rate {pct(rate)}, no unexcused absence, longest absence run {longest}"


def _document_before_start(rule: DocumentTimingRule, item: Item, facts: MeetingFacts) -> Outcome:
    deadline = facts.starts_at - timedelta(hours=rule.lead_hours)
    relevant = sorted(doc.published_at for doc in facts.documents if doc.kind in rule.document_kinds)
    kinds = "/".join(rule.document_kinds)
    lead = f"{rule.lead_hours:g} h before the start" if rule.lead_hours else "before the start"
    if not relevant:
        return 0, f"no {kinds} published"
    first = relevant[0]
    early = first < deadline if rule.strict else first <= deadline
    if early:
        return item.max, f"{kinds} published {first.isoformat()}, {lead}"
    return 0, f"first {kinds} published {first.isoformat()}, not {lead} ({deadline.isoformat()})"


def _committee_prepared(rule: Any, item: Item, facts: MeetingFacts) -> Outcome:
    if not facts.cell_has_committee:
        return item.max, "the cell has no committee"
    if facts.committee_prepared:
        return item.max, "the cell committee met beforehand"
    return 0, "no record that the cell committee met beforehand"


def _notified(rule: Any, item: Item, facts: MeetingFacts) -> Outcome:
    if facts.notified_at is not None and facts.notified_at < facts.starts_at:
        return item.max, f"members notified {facts.notified_at.isoformat()}"
    return 0, "members not notified before the start"


def _speakers(rule: SpeakersRule, item: Item, facts: MeetingFacts) -> Outcome:
    if facts.minutes is None:
        return 0, NO_MINUTES
    if facts.roster is None:
        return 0, NO_ROSTER
    present = facts.count("present")
    speakers = facts.speakers_present
    share = speakers / present if present else 0.0
    points = banded(share, rule.bands, rule.below_points)
    return points, f"{speakers} of {present} present members spoke ({pct(share)})"


def _minutes_complete(rule: Any, item: Item, facts: MeetingFacts) -> Outcome:
    minutes = facts.minutes
    if minutes is None:
        return 0, NO_MINUTES
    missing = []
    if not facts.roster:
        missing.append("roster")
    if not (minutes.content or "").strip():
        missing.append("content")
    if not (minutes.conclusions or "").strip():
        missing.append("conclusions")
    if not minutes.speakers:
        missing.append("speakers")
    if not minutes.resolutions:
        missing.append("resolution")
    if missing:
        return 0, "minutes lack " + ", ".join(missing)
    return item.max, "roster, content, conclusions, speakers and resolutions recorded"


def _self_criticism(rule: SelfCriticismRule, item: Item, facts: MeetingFacts) -> Outcome:
    if facts.minutes is None:
        return 0, NO_MINUTES
    spent = facts.minutes.self_criticism_minutes
    if spent is None:
        return 0, "self-criticism time not recorded"
    if rule.min_minutes <= spent <= rule.max_minutes:
        return item.max, f"{spent} min of self-criticism ({rule.min_minutes}–{rule.max_minutes})"
    return 0, f"{spent} min of self-criticism, outside {rule.min_minutes}–{rule.max_minutes}"


def _results(rule: ResultsRule, item: Item, facts: MeetingFacts) -> Outcome:
    tasks = facts.previous_tasks or ()
    done = sum(1 for task in tasks if task.on_time)
    share = done / len(tasks)
    points = banded(share, rule.bands, rule.below_points)
    return points, f"{done} of {len(tasks)} tasks of the previous meeting done on time ({pct(share)})"


def _resolution_adopted(rule: ResolutionAdoptedRule, item: Item, facts: MeetingFacts) -> Outcome:
    if facts.minutes is None:
        return 0, NO_MINUTES
    resolutions = facts.minutes.resolutions
    if not resolutions:
        return 0, "no resolution in the minutes"
    for number, resolution in enumerate(resolutions, start=1):
        cast = resolution.votes_for + resolution.votes_against
        cast += resolution.abstentions if rule.count_abstentions else 0
        if resolution.votes_for * 2 <= cast:
            return 0, f"resolution {number}: {resolution.votes_for} for of {cast} votes cast, not above half"
    return item.max, f"{len(resolutions)} resolution(s), each adopted by more than half of the votes cast"


def _minutes_and_tasks(rule: Any, item: Item, facts: MeetingFacts) -> Outcome:
    approved = facts.approved_at is not None
    tasks = facts.minutes.task_count if facts.minutes else 0
    if approved and tasks:
        return item.max, f"minutes approved and {tasks} task(s) assigned"
    missing = [text for text, ok in (("minutes not approved", approved), ("no task assigned", tasks > 0)) if not ok]
    return 0, "; ".join(missing)


def _final_documents(rule: FinalDocumentsRule, item: Item, facts: MeetingFacts) -> Outcome:
    if facts.minutes is None:
        return 0, NO_MINUTES
    deadline = facts.minutes.ended_at + timedelta(hours=rule.within_hours)
    late = [
        kind
        for kind in rule.document_kinds
        if not any(doc.kind == kind and doc.published_at <= deadline for doc in facts.documents)
    ]
    if late:
        return 0, f"{', '.join(late)} not published within {rule.within_hours:g} h of the end"
    return item.max, f"{', '.join(rule.document_kinds)} published within {rule.within_hours:g} h of the end"


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


def evaluate_automatic(item: Item, facts: MeetingFacts) -> Outcome:
    """Points (capped at the item's max) and reason of one automatic item."""
    points, reason = AUTOMATIC[item.rule.kind](item.rule, item, facts)
    return min(float(points), item.max), reason
