"""Machine-readable reasons for a meeting's score, in one place for evaluation that scores and the gateway that words
them for people.

Each criterion line's reason is a sequence of `ReasonPart`s: a code from `ReasonCode` and the typed values a reader
needs to say it (minutes, counts, shares, moments, document kinds, the assessor's role). The English `reason` of the
line is rendered from the parts here (`reason_text`), so the two cannot drift; a reader picks its own wording by the
code, so a rewording of the English text never changes what a person is told. The parts stay internal to
evaluation's stored lines and its RPC replies: the public `score.meeting.updated.v1` event keeps the fields
CONTRACT.md fixes.
"""

from collections.abc import Callable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from shared.numbers import percent, rounded_half_up
from shared.periods import said_at
from shared.text import with_article

T = TypeVar("T")
Value = Annotated[T | None, Field(exclude_if=lambda value: value is None)]
"""A part's value, left out of its JSON when unset (each code sets only its own few)."""


class ReasonCode(StrEnum):
    """What one part of a criterion's reason says, as a stable English snake_case identifier."""

    NO_MINUTES = "no_minutes"
    """No minutes recorded yet."""
    NO_ROSTER = "no_roster"
    """No attendance recorded yet."""
    NOBODY_EXPECTED = "nobody_expected"
    """The roster counts nobody."""
    DURATION_SHORT = "duration_short"
    """Lasted `lasted` of `required` minutes, `short` minutes short, within a shortfall step."""
    DURATION_HALF = "duration_half"
    """Lasted `lasted` of `required` minutes: at least half."""
    DURATION_BELOW_HALF = "duration_below_half"
    """Lasted `lasted` of `required` minutes: below half."""
    ATTENDANCE_RATE = "attendance_rate"
    """`present` of `counted` present, a share of `rate`."""
    ABSENT_WITHOUT_EXCUSE = "absent_without_excuse"
    """`count` members absent without excuse."""
    """The roster leaves out `count` members of the cell at the meeting's start: not in the rate (DOMAIN.md counts
    the roster only), said so the rate is not read as the cell's."""
    EXCUSED_RUN_BONUS = "excused_run_bonus"
    """Bonus point: no excused-absence run above `limit` (the longest is `longest`)."""
    EXCUSED_RUN_NO_BONUS = "excused_run_no_bonus"
    """No bonus point: an excused-absence run of `longest` meetings."""
    ATTENDANCE_RATE_LOW = "attendance_rate_low"
    """The rate `rate` is not above (`strict`) or at least `required_rate`."""
    ABSENCE_RUN = "absence_run"
    """A member absent `longest` meetings in a row."""
    ATTENDANCE_CHECK_MET = "attendance_check_met"
    """Rate `rate`, no unexcused absence, longest absence run `longest`."""
    DOCUMENTS_NOT_PUBLISHED = "documents_not_published"
    """None of the document `kinds` was published."""
    DOCUMENTS_PUBLISHED_LATE = "documents_published_late"
    """The first of `kinds` was published at `published_at`, after `deadline` (`lead_hours` before the start)."""
    DOCUMENTS_PUBLISHED = "documents_published"
    """One of `kinds` was published at `published_at`, `lead_hours` before the start."""
    NO_COMMITTEE = "no_committee"
    """The cell has no committee."""
    COMMITTEE_PREPARED = "committee_prepared"
    """The cell committee met beforehand."""
    COMMITTEE_NOT_PREPARED = "committee_not_prepared"
    """No record that the cell committee met beforehand."""
    NOTIFIED = "notified"
    """Members notified at `notified_at`."""
    NOT_NOTIFIED = "not_notified"
    """Members not notified before the start."""
    NOBODY_PRESENT = "nobody_present"
    """The roster lists nobody present: there is no share of present members who spoke (`speakers` named in the
    minutes), so no points (DOMAIN.md "How to read it, exactly": no evidence, no points)."""
    SPEAKERS_SHARE = "speakers_share"
    """`speakers` of `present` present members spoke, a share of `rate`."""
    MINUTES_LACK = "minutes_lack"
    """The minutes lack the parts `kinds` (roster, content, conclusions, speakers, resolution)."""
    MINUTES_COMPLETE = "minutes_complete"
    """Roster, content, conclusions, speakers and resolutions recorded."""
    SELF_CRITICISM_UNRECORDED = "self_criticism_unrecorded"
    """The self-criticism time is not recorded."""
    SELF_CRITICISM_WITHIN = "self_criticism_within"
    """`spent` minutes of self-criticism, within `low`–`high`."""
    SELF_CRITICISM_OUTSIDE = "self_criticism_outside"
    """`spent` minutes of self-criticism, outside `low`–`high`."""
    TASKS_ON_TIME = "tasks_on_time"
    """`done` of `total` tasks of the previous meeting done on time, a share of `rate`."""
    NO_RESOLUTION = "no_resolution"
    """No resolution in the minutes."""
    RESOLUTION_NOT_ADOPTED = "resolution_not_adopted"
    """Resolution `number` got `votes` for of `cast` votes cast: not above half."""
    VOTES_OVER_PRESENT = "votes_over_present"
    """Resolution `number` has `cast` votes (for, against, abstaining) with only `present` members present on the
    roster: no real vote, so not adopted (shared.plausible.votes_over)."""
    VOTES_OVER_MEMBERS = "votes_over_members"
    """Resolution `number` has `cast` votes (for, against, abstaining) with only `count` members in the cell at the
    meeting's start and no roster to say who was present: no real vote, so not adopted (shared.plausible.votes_over)."""
    RESOLUTIONS_ADOPTED = "resolutions_adopted"
    """`count` resolutions, each adopted by more than half of the votes cast."""
    MINUTES_APPROVED_AND_TASKS = "minutes_approved_and_tasks"
    """Minutes approved and `count` tasks assigned."""
    MINUTES_NOT_APPROVED = "minutes_not_approved"
    """Minutes not approved."""
    MINUTES_ADOPTED_UNVOTED = "minutes_adopted_unvoted"
    """Minutes said adopted with no vote recorded (an integration's minutes.approved.v1 without `votes_for`): no
    evidence of the vote that adopts them (DOMAIN.md "Meetings": minutes read and adopted)."""
    NO_TASK_ASSIGNED = "no_task_assigned"
    """No task assigned."""
    FINAL_DOCUMENTS_LATE = "final_documents_late"
    """The documents `kinds` were not published within `hours` of the end."""
    FINAL_DOCUMENTS_PUBLISHED = "final_documents_published"
    """The documents `kinds` were published within `hours` of the end."""
    FINAL_DOCUMENTS_PENDING = "final_documents_pending"
    """The documents `kinds` are not published yet, and the `hours` after the end are not over: due by `deadline`."""
    NOT_APPLICABLE = "not_applicable"
    """The item does not apply to a meeting of kind `kind`."""
    NO_PREVIOUS_MEETING = "no_previous_meeting"
    """No previous held regular or combined meeting (whose tasks would count)."""
    PREVIOUS_NO_TASKS = "previous_no_tasks"
    """The previous meeting assigned no tasks."""
    PREVIOUS_RECORDED_LATE = "previous_recorded_late"
    """The score was recalculated: the previous meeting (`previous_id`, started at `previous_start`), held before this
    one, had its minutes first recorded after this one's and became the meeting whose tasks count, which changed the
    points."""
    AWAITING_ASSESSMENT = "awaiting_assessment"
    """A manual item nobody has assessed yet."""
    ASSESSED = "assessed"
    """Assessed by `role`."""
    ASSESSED_CAPPED = "assessed_capped"
    """Assessed `given` points by `role`, capped at the item's `max`."""


class ReasonPart(BaseModel):
    """One part of a criterion's reason: its code and the values that go with it (each set only for the codes that
    name it in ReasonCode)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    code: ReasonCode | str = Field(union_mode="left_to_right")
    """A ReasonCode; a code this reader does not know yet stays readable as text (readers are tolerant)."""
    lasted: Value[float] = None
    """Minutes the meeting lasted."""
    required: Value[int] = None
    """Minutes the meeting's kind requires."""
    short: Value[float] = None
    """Minutes short of the requirement."""
    present: Value[int] = None
    """Members present."""
    counted: Value[int] = None
    """Members the attendance counts."""
    rate: Value[float] = None
    """A share from 0 to 1 (attendance, speakers, tasks on time)."""
    required_rate: Value[float] = None
    """The attendance share the check requires."""
    strict: Value[bool] = None
    """Whether the share must be above `required_rate` rather than at least it."""
    count: Value[int] = None
    """Members absent without excuse, resolutions adopted, tasks assigned or the cell's members at the meeting's
    start."""
    limit: Value[int] = None
    """The longest excused-absence run that still earns the bonus."""
    longest: Value[int] = None
    """The longest run of (excused) absences, in meetings."""
    kinds: Value[tuple[str, ...]] = None
    """Document kinds (content, draft_resolution, minutes, resolution, other) or missing minutes parts."""
    published_at: Value[datetime] = None
    """When the first relevant document was published."""
    deadline: Value[datetime] = None
    """When it had to be published by."""
    lead_hours: Value[float] = None
    """Hours before the start a document had to be published (0: before the start)."""
    ahead_hours: Value[float] = None
    """Hours before the start the first relevant document was in fact published (one decimal)."""
    notified_at: Value[datetime] = None
    """When the members were notified."""
    speakers: Value[int] = None
    """Present members who spoke."""
    spent: Value[int] = None
    """Minutes of self-criticism."""
    low: Value[int] = None
    """The fewest minutes of self-criticism that count."""
    high: Value[int] = None
    """The most minutes of self-criticism that count."""
    done: Value[int] = None
    """Tasks of the previous meeting done on time."""
    total: Value[int] = None
    """Tasks of the previous meeting."""
    number: Value[int] = None
    """A resolution's position in the minutes, from 1."""
    votes: Value[int] = None
    """Votes for a resolution."""
    cast: Value[int] = None
    """Votes cast on a resolution."""
    hours: Value[float] = None
    """Hours after the end within which the final documents count."""
    kind: Value[str] = None
    """The meeting's kind (regular, thematic, combined, extraordinary)."""
    role: Value[str] = None
    """The assessor's role (cell_committee, members_vote, upper_monitor)."""
    given: Value[float] = None
    """Points an assessor gave."""
    max: Value[float] = None
    """The item's maximum points."""
    previous_id: Value[str] = None
    """The previous held regular or combined meeting whose tasks count (results)."""
    previous_start: Value[datetime] = None
    """When that previous meeting started."""


ROLE_LABEL = {
    "cell_committee": "cell committee",
    "members_vote": "members' vote",
    "upper_monitor": "upper-level monitor",
}
"""Assessor roles as the English reason names them."""


def _pct(value: float | None) -> str:
    # rounded once by the pages' rule (shared.numbers: halves up on the decimal text), not a float's `.1f`, which
    # said "1/16 present (6.2%)" (6.25 rounded half to even) where the meeting's page reads 6,3%
    return f"{rounded_half_up(percent(value or 0.0), 1)}%"


def _iso(value: datetime | None) -> str:
    # on Vietnam's clock (DOMAIN.md), as the events were sent: a stored moment reads back +00:00 from PostgreSQL
    return said_at(value) if value is not None else ""


def _lead(part: ReasonPart) -> str:
    return f"{part.lead_hours:g} h before the start" if part.lead_hours else "before the start"


def _role(part: ReasonPart) -> str:
    return ROLE_LABEL.get(part.role or "", part.role or "")


ENGLISH: dict[ReasonCode, Callable[[ReasonPart], str]] = {
    ReasonCode.NO_MINUTES: lambda p: "no minutes recorded yet",
    ReasonCode.NO_ROSTER: lambda p: "no attendance recorded yet",
    ReasonCode.NOBODY_EXPECTED: lambda p: "nobody expected on the roster",
    ReasonCode.DURATION_SHORT: lambda p: (
        f"lasted {p.lasted:g} min of {p.required} required ({p.short:g} min short)"
        if p.short
        else f"lasted {p.lasted:g} min of {p.required} required"
    ),
    ReasonCode.DURATION_HALF: lambda p: f"lasted {p.lasted:g} min of {p.required} required: at least half",
    ReasonCode.DURATION_BELOW_HALF: lambda p: f"lasted {p.lasted:g} min of {p.required} required: below half",
    ReasonCode.ATTENDANCE_RATE: lambda p: f"{p.present}/{p.counted} present ({_pct(p.rate)})",
    ReasonCode.ABSENT_WITHOUT_EXCUSE: lambda p: f"{p.count} absent without excuse",
    ReasonCode.EXCUSED_RUN_BONUS: lambda p: f"bonus: no excused-absence run above {p.limit} (longest {p.longest})",
    ReasonCode.EXCUSED_RUN_NO_BONUS: lambda p: f"no bonus: an excused-absence run of {p.longest} meetings",
    ReasonCode.ATTENDANCE_RATE_LOW: lambda p: (
        f"rate {_pct(p.rate)} not {'above' if p.strict else 'at least'} {_pct(p.required_rate)}"
    ),
    ReasonCode.ABSENCE_RUN: lambda p: f"a member absent {p.longest} meetings in a row",
    ReasonCode.ATTENDANCE_CHECK_MET: lambda p: (
        f"rate {_pct(p.rate)}, no unexcused absence, longest absence run {p.longest}"
    ),
    ReasonCode.DOCUMENTS_NOT_PUBLISHED: lambda p: f"no {'/'.join(p.kinds or ())} published",
    ReasonCode.DOCUMENTS_PUBLISHED_LATE: lambda p: (
        f"first {'/'.join(p.kinds or ())} published {_iso(p.published_at)}, only {p.ahead_hours:g} h ahead of the"
        f" start (at least {p.lead_hours:g} h required)"
        if p.ahead_hours is not None and p.ahead_hours > 0 and p.lead_hours
        else f"first {'/'.join(p.kinds or ())} published {_iso(p.published_at)}, not {_lead(p)} ({_iso(p.deadline)})"
    ),
    ReasonCode.DOCUMENTS_PUBLISHED: lambda p: (
        f"{'/'.join(p.kinds or ())} published {_iso(p.published_at)}, {p.ahead_hours:g} h ahead of the start"
        + (f" (at least {p.lead_hours:g} h required)" if p.lead_hours else "")
        if p.ahead_hours is not None
        else f"{'/'.join(p.kinds or ())} published {_iso(p.published_at)}, {_lead(p)}"
    ),
    ReasonCode.NO_COMMITTEE: lambda p: "the cell has no committee",
    ReasonCode.COMMITTEE_PREPARED: lambda p: "the cell committee met beforehand",
    ReasonCode.COMMITTEE_NOT_PREPARED: lambda p: "no record that the cell committee met beforehand",
    ReasonCode.NOTIFIED: lambda p: f"members notified {_iso(p.notified_at)}",
    ReasonCode.NOT_NOTIFIED: lambda p: "members not notified before the start",
    ReasonCode.NOBODY_PRESENT: lambda p: (
        f"nobody present on the roster, so no share of present members who spoke ({p.speakers} named in the minutes)"
    ),
    ReasonCode.SPEAKERS_SHARE: lambda p: f"{p.speakers} of {p.present} present members spoke ({_pct(p.rate)})",
    ReasonCode.MINUTES_LACK: lambda p: "minutes lack " + ", ".join(p.kinds or ()),
    ReasonCode.MINUTES_COMPLETE: lambda p: "roster, content, conclusions, speakers and resolutions recorded",
    ReasonCode.SELF_CRITICISM_UNRECORDED: lambda p: "self-criticism time not recorded",
    ReasonCode.SELF_CRITICISM_WITHIN: lambda p: f"{p.spent} min of self-criticism ({p.low}–{p.high})",
    ReasonCode.SELF_CRITICISM_OUTSIDE: lambda p: f"{p.spent} min of self-criticism, outside {p.low}–{p.high}",
    ReasonCode.TASKS_ON_TIME: lambda p: (
        f"{p.done} of {p.total} tasks of the previous meeting done on time ({_pct(p.rate)})"
    ),
    ReasonCode.NO_RESOLUTION: lambda p: "no resolution in the minutes",
    ReasonCode.RESOLUTION_NOT_ADOPTED: lambda p: (
        f"resolution {p.number}: {p.votes} for of {p.cast} votes cast, not above half"
    ),
    ReasonCode.VOTES_OVER_PRESENT: lambda p: (
        f"resolution {p.number}: {p.cast} votes cast with {p.present} members present, more votes than voters"
    ),
    ReasonCode.VOTES_OVER_MEMBERS: lambda p: (
        f"resolution {p.number}: {p.cast} votes cast with {p.count} members in the cell at the meeting's start, more"
        " votes than voters"
    ),
    ReasonCode.RESOLUTIONS_ADOPTED: lambda p: (
        f"{p.count} resolution(s), each adopted by more than half of the votes cast"
    ),
    ReasonCode.MINUTES_APPROVED_AND_TASKS: lambda p: f"minutes approved and {p.count} task(s) assigned",
    ReasonCode.MINUTES_NOT_APPROVED: lambda p: "minutes not approved",
    ReasonCode.MINUTES_ADOPTED_UNVOTED: lambda p: "minutes adopted with no vote recorded",
    ReasonCode.NO_TASK_ASSIGNED: lambda p: "no task assigned",
    ReasonCode.FINAL_DOCUMENTS_LATE: lambda p: (
        f"{', '.join(p.kinds or ())} not published within {p.hours:g} h of the end"
    ),
    ReasonCode.FINAL_DOCUMENTS_PUBLISHED: lambda p: (
        f"{', '.join(p.kinds or ())} published within {p.hours:g} h of the end"
    ),
    ReasonCode.FINAL_DOCUMENTS_PENDING: lambda p: (
        f"{', '.join(p.kinds or ())} not published yet: due within {p.hours:g} h of the end, by {_iso(p.deadline)}"
    ),
    ReasonCode.NOT_APPLICABLE: lambda p: f"not applicable to {with_article(str(p.kind))} meeting",
    ReasonCode.NO_PREVIOUS_MEETING: lambda p: "no previous held regular or combined meeting",
    ReasonCode.PREVIOUS_NO_TASKS: lambda p: "the previous meeting assigned no tasks",
    ReasonCode.PREVIOUS_RECORDED_LATE: lambda p: (
        f"score recalculated: the previous meeting of {_iso(p.previous_start)} was recorded after this one was scored"
    ),
    ReasonCode.AWAITING_ASSESSMENT: lambda p: "awaiting assessment",
    ReasonCode.ASSESSED: lambda p: f"assessed by the {_role(p)}",
    ReasonCode.ASSESSED_CAPPED: lambda p: f"assessed {p.given:g} by the {_role(p)}, capped at {p.max:g}",
}
"""Each code's English wording, the one source of a line's `reason` text (for logs, integrators and the event)."""


def english(part: ReasonPart) -> str:
    """The part's English wording (`lasted 60 min of 90 required (30 min short)`); a code without one reads as the
    code itself."""
    say = ENGLISH.get(part.code) if isinstance(part.code, ReasonCode) else None
    return say(part) if say else str(part.code)


def reason_text(parts: Sequence[ReasonPart]) -> str:
    """A line's English reason: its parts' wordings joined by "; " (`8/10 present (80.0%); 1 absent without ...`)."""
    return "; ".join(english(part) for part in parts)
