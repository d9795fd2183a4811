"""The meetings domain: ordering of snapshots, membership on a date, lifecycle rules, attendance history.

Pure: the standard library and the contract's value types only. Rules raise InvalidEvent (the event
is rejected, the field named) or Held (the event waits for something it refers to).
"""

import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from shared.contracts import meetings as contract
from shared.contracts.ingest import IngestWarning
from shared.envelope import GATEWAY_SOURCE, Event, InvalidEvent
from shared.membership import MemberVersion, cell_on, not_listed
from shared.minutes import part_stands
from shared.periods import add_years, local_date, month_of, period_bounds, said_at
from shared.plausible import (
    CLOCK_SKEW,
    HELD_RECORD_WINDOW,
    MINUTES_START_WINDOW,
    SAME_START_WINDOW,
    already_past,
    begins_later,
    event_time_problem,
    held_too_long_ago,
    horizon_problem,
    meeting_length_problem,
    meeting_start_problem,
    moved_into_the_past,
    notified_before_start,
    self_criticism_over,
    took_place,
    votes_over,
)
from shared.refusals import NAMED_MEMBERS, REASON_REFUSED, Refusal, RefusalCode
from shared.rejection_fields import sender_nameable as sender_nameable  # the rule, shared with the command line
from shared.text import has_text, with_article

Version = tuple[datetime, int, str]
"""(event time, its nanoseconds below the microsecond, event id): snapshots resolve by time to the nanosecond, ties
by id (CONTRACT.md)."""

ABSENT_STATUSES = frozenset({"excused", "absent"})
COUNTED_STATUSES = frozenset({"present", "excused", "absent"})


class Held(Exception):
    """The event refers to something not known yet; it waits for `waiting_for`."""

    def __init__(self, *, waiting_for: str, reason: str, field: str | None, refusal: Refusal | None = None) -> None:
        super().__init__(reason)
        self.waiting_for = waiting_for
        self.reason = reason
        self.field = field
        self.refusal = refusal
        """The machine-readable reason of the hold (shared.refusals), when a reader words it itself."""
        self.detail: str | None = None
        """What the stored hold and the log say instead of `reason` when the sender must not learn it (a referent
        outside the sender's subtree, answered as an unknown one: handlers/scope.py)."""


@dataclass(frozen=True)
class LockSet:
    """The entities one transaction must hold: those it writes (exclusively) and those it reads (shared).

    Keys are `meetings.<kind>:<id>` strings; the database turns them into advisory locks. A transaction
    holding every key of every event it applies is two-phase locked, so concurrent ingestion equals some
    serial order of it, and a hold (waiting for a key) and the arrival of that key's entity never miss
    each other: one of them runs after the other has committed."""

    exclusive: frozenset[str] = frozenset()
    shared: frozenset[str] = frozenset()

    def __or__(self, other: "LockSet") -> "LockSet":
        exclusive = self.exclusive | other.exclusive
        return LockSet(exclusive=exclusive, shared=(self.shared | other.shared) - exclusive)

    @property
    def keys(self) -> frozenset[str]:
        """Every key, whatever its mode."""
        return self.exclusive | self.shared

    def __len__(self) -> int:
        return len(self.exclusive) + len(self.shared - self.exclusive)


def unit_key(unit_id: str) -> str:
    """The lock key of an org unit (committee or cell)."""
    return f"meetings.unit:{unit_id}"


def member_key(member_id: str) -> str:
    """The lock key of a member: their versions, current row and attendance history."""
    return f"meetings.member:{member_id}"


def meeting_key(meeting_id: str) -> str:
    """The lock key of a meeting and everything recorded about it (roster, minutes, tasks...)."""
    return f"meetings.meeting:{meeting_id}"


def monitor_key(person_id: str, cell_id: str) -> str:
    """The lock key of one monitor assignment."""
    return f"meetings.monitor:{person_id}:{cell_id}"


def event_key(source: str, event_id: str) -> str:
    """The lock key of one incoming event's identity (its rejection row)."""
    return f"meetings.event:{source}:{event_id}"


def is_newer(candidate: Version, stored: Version | None) -> bool:
    """True when a snapshot with `candidate` version replaces one with `stored`."""
    return stored is None or candidate > stored


def check_plausible_moments(event: Event[Any], *, now: datetime) -> None:
    """Reject an event sent from the future (`time` beyond the clock skew), a meeting starting (`data.starts_at`, or its
    minutes' `data.started_at`) before 2000 or more than two years ahead, minutes lasting more than a day
    (`data.ended_at`) or giving more self-criticism than the meeting lasted (`data.self_criticism_minutes`), an
    adoption, completion, removal, publication, notice or admission dated more than two years after the event's own
    `time` (`data.approved_at`, `data.completed_on`, `data.effective_on`, `data.published_at`, `data.notified_at`,
    `data.admitted_on`), or a member born after the event's own `time` (`data.birth_year`) or
    admitted before their birth year (`data.admitted_on`), or a cell without a parent (check_unit_root).
    shared.plausible holds the bounds. Judged on the event alone (and the clock, whose bounds only widen), so the
    outcome does not depend on what arrived before it."""
    # the event's type, data and time read once (each is a property of Event; this runs for every event in)
    event_type, data, time = event.type, event.data, event.time
    problem = event_time_problem(time, now=now)
    if problem:
        raise InvalidEvent(f"time: {problem}", field="time")
    if event_type == "org.unit.upserted.v1":
        check_unit_root(kind=data.kind.value, parent_id=data.parent_id)
    starts_at = getattr(data, "starts_at", None) if event_type.startswith("meeting.") else None
    if isinstance(starts_at, datetime):
        problem = meeting_start_problem(starts_at, now=now)
        if problem:
            raise InvalidEvent(f"data.starts_at: {problem}", field="data.starts_at")
    if event_type == "minutes.submitted.v1":
        _check_minutes_moments(data, now=now)
        _check_tasks_due(data)
        _check_resolutions_voted(data)
    if event_type == "minutes.approved.v1":
        check_adoption_majority(data)
    if event_type == "attendance.recorded.v1" and from_a_person(event.source):
        _check_reason_refused(data)
        _check_excused_with_reason(data)
    if event_type == "meeting.scheduled.v1" and from_a_person(event.source):
        _check_notified_before_start(data)
    for field in _REPORTED_DATES_OF.get(event_type, ()):
        reported = getattr(data, field, None)
        problem = horizon_problem(reported, time=time) if isinstance(reported, date) else None
        if problem:
            raise InvalidEvent(
                f"data.{field}: {problem}", field=f"data.{field}", refusal=Refusal(code=RefusalCode.BEYOND_HORIZON)
            )
    if event_type != "member.upserted.v1":
        return
    born = getattr(data, "birth_year", None)
    if isinstance(born, int) and born > time.year:
        raise InvalidEvent(
            f"data.birth_year: {born} is after the event's own time ({time.year}): nobody is born in the future",
            field="data.birth_year",
            refusal=Refusal(code=RefusalCode.BORN_AFTER_EVENT),
        )
    admitted = getattr(data, "admitted_on", None)
    if isinstance(born, int) and isinstance(admitted, date) and admitted.year < born:
        raise InvalidEvent(
            f"data.admitted_on: admitted in {admitted.year}, before the member's birth year {born}",
            field="data.admitted_on",
            refusal=Refusal(code=RefusalCode.ADMITTED_BEFORE_BIRTH),
        )


_REPORTED_DATES = {
    "approved_at": ("minutes.approved.v1",),
    "completed_on": ("task.completed.v1",),
    "effective_on": ("member.removed.v1",),
    "published_at": ("documents.published.v1",),
    "notified_at": ("meeting.scheduled.v1",),
    "admitted_on": ("member.upserted.v1",),
}
"""The dates events report that must not lie beyond shared.plausible.FACT_HORIZON of the event's own time."""
_REPORTED_DATES_OF: dict[str, tuple[str, ...]] = {}
for _field, _types in _REPORTED_DATES.items():
    for _type in _types:
        _REPORTED_DATES_OF[_type] = (*_REPORTED_DATES_OF.get(_type, ()), _field)
"""_REPORTED_DATES by event type: the fields one type reports, in _REPORTED_DATES's order."""


def _check_minutes_moments(data: Any, *, now: datetime) -> None:
    """Reject minutes starting outside the meeting window (`data.started_at`), lasting more than a day
    (`data.ended_at`), or giving more self-criticism than the meeting lasted (`data.self_criticism_minutes`)."""
    started_at, ended_at = data.started_at, data.ended_at
    problem = meeting_start_problem(started_at, now=now)
    if problem:
        raise InvalidEvent(f"data.started_at: {problem}", field="data.started_at")
    problem = meeting_length_problem(started_at, ended_at)
    if problem:
        raise InvalidEvent(
            f"data.ended_at: {problem}", field="data.ended_at", refusal=Refusal(code=RefusalCode.MEETING_TOO_LONG)
        )
    spent = data.self_criticism_minutes
    lasted = self_criticism_over(spent, started_at=started_at, ended_at=ended_at)
    if lasted is not None:
        raise InvalidEvent(
            f"data.self_criticism_minutes: {spent} minutes of self-criticism in a meeting of {lasted:g} minutes"
            f" ({started_at.isoformat()} to {said_at(ended_at, like=started_at)})",
            field="data.self_criticism_minutes",
            refusal=Refusal(code=RefusalCode.SELF_CRITICISM_OVER_MEETING),
        )


def check_person_minutes_moments(event: Event[Any]) -> None:
    """Reject a secretary's minutes (`source` GATEWAY_SOURCE, timed by our clock) that start or end after the moment
    they are sent, CLOCK_SKEW aside (`data.started_at`, `data.ended_at`): a trial's minutes dated tomorrow were
    accepted. An integration's minutes are facts sent on the sender's clock (backfills, feeds sent ahead) and are not
    judged so, as check_command_after_start. Judged on the event alone, but after check_command_after_start, so that
    minutes of a meeting still ahead are told the meeting has not begun."""
    if not from_a_person(event.source):
        return
    for field in ("started_at", "ended_at"):
        moment = getattr(event.data, field)
        if moment > event.time + CLOCK_SKEW:
            raise InvalidEvent(
                f"data.{field}: {moment.isoformat()} is after the minutes were sent"
                f" ({said_at(event.time, like=moment)}): minutes record a meeting that has taken place",
                field=f"data.{field}",
                refusal=Refusal(code=RefusalCode.MINUTES_IN_THE_FUTURE),
            )


def _check_tasks_due(data: Any) -> None:
    """Reject a task due before the day the minutes start (`data.tasks.N.due_on`, the day in Vietnam): a meeting
    assigns work for after it (a trial's minutes of 02/12 assigned a task due 01/11). Judged on the event alone."""
    assigned_on = local_date(data.started_at)
    for number, task in enumerate(data.tasks):
        if task.due_on < assigned_on:
            raise InvalidEvent(
                f"data.tasks.{number}.due_on: {task.due_on.isoformat()} is before the meeting that assigns the task"
                f" ({assigned_on.isoformat()})",
                field=f"data.tasks.{number}.due_on",
                refusal=Refusal(code=RefusalCode.TASK_DUE_BEFORE_MEETING),
            )


def _check_resolutions_voted(data: Any) -> None:
    """Reject minutes with a resolution whose votes are 0 for, 0 against and 0 abstaining
    (`data.resolutions.N.votes_for`): DOMAIN.md "Meetings" has the resolution voted by the members at the meeting, and
    a vote nobody cast is no evidence of one (a trial's resolution of 0/0/0 was accepted on every route). CONTRACT.md
    bounds each count (0 to 100,000), not their sum, and rejects impossible values naming the field; a resolution
    voted down (more against) is a vote, taken and scored as not adopted. Judged on the event alone, every route."""
    for number, resolution in enumerate(data.resolutions):
        if resolution.votes_for + resolution.votes_against + resolution.abstentions == 0:
            raise InvalidEvent(
                f"data.resolutions.{number}.votes_for: 0 for, 0 against and 0 abstaining: nobody voted on the"
                " resolution, and a resolution is voted by the members at the meeting",
                field=f"data.resolutions.{number}.votes_for",
                refusal=Refusal(code=RefusalCode.RESOLUTION_NOT_VOTED),
            )


def check_adoption_majority(data: Any) -> None:
    """Reject an adoption of minutes whose votes show no majority: `data.votes_for` not above half of the votes cast
    (votes for plus votes against, a missing count read as 0). DOMAIN.md "Meetings": the minutes are read and
    adopted, by votes for above half of the votes cast; a trial's adoption with 2 for and 9 against marked the
    minutes adopted and scored them. An adoption without votes cannot be judged and is taken as the cell's word.
    Judged on the event alone, whatever arrived before it."""
    if data.votes_for is None and data.votes_against is None:
        return
    votes_for, votes_against = data.votes_for or 0, data.votes_against or 0
    if votes_for * 2 <= votes_for + votes_against:
        raise InvalidEvent(
            f"data.votes_for: {votes_for} for and {votes_against} against is no majority of the votes cast: the"
            " minutes were not adopted",
            field="data.votes_for",
            refusal=Refusal(code=RefusalCode.MINUTES_NOT_ADOPTED),
        )


def check_adoption_voted(data: Any, *, source: str) -> None:
    """Reject a secretary's adoption of the minutes that gives no votes for (`data.votes_for`): DOMAIN.md "Meetings"
    has the minutes read and adopted, and `closing.minutes_and_tasks` counts minutes approved, which a vote shows (a
    trial's adoption with both vote boxes empty was taken, "Biên bản đã được thông qua", and scored full). Votes
    against left out are none (check_adoption_majority reads them as 0). Asked of the gateway's commands only:
    CONTRACT.md makes the votes of minutes.approved.v1 optional, so an integration's adoption without them is taken
    as recorded. Asked once the meeting may be adopted (minutes and roster in), so a refusal says first what the
    meeting lacks."""
    if data.votes_for is None and from_a_person(source):
        raise InvalidEvent(
            "data.votes_for: required: the minutes are adopted by a vote, give the votes for (and against)",
            field="data.votes_for",
        )


def _check_notified_before_start(data: Any) -> None:
    """Reject a secretary's schedule whose notice (`data.notified_at`) is not before the meeting's start: DOMAIN.md
    "Before" has members told before the meeting, and such a notice would only score `preparation.notified` 0 unsaid
    (a trial's API schedule was taken where the held form refuses it; shared.plausible.notified_before_start is the
    rule of both). Asked of the gateway's commands only: an integration's `notified_at` is a fact of its record
    (CONTRACT.md sets no bound but the horizon), taken and scored as not notified. Judged on the event alone."""
    notified_at = data.notified_at
    if notified_at is not None and not notified_before_start(notified_at, data.starts_at):
        raise InvalidEvent(
            f"data.notified_at: {notified_at.isoformat()} is not before the meeting's start"
            f" ({said_at(data.starts_at, like=notified_at)}): members are notified before the meeting",
            field="data.notified_at",
            refusal=Refusal(code=RefusalCode.NOTIFIED_AFTER_START),
        )


REASON_REFUSED_SAID = {
    "present": "is present, and a reason is given only for an absence",
    "absent": "is absent without leave, and a reason is given only for an excused absence",
}
"""What a refusal of shared.refusals.REASON_REFUSED says of the line's status."""


def _check_reason_refused(data: Any) -> None:
    """Reject a secretary's roster line giving a reason (`data.records.N.reason`) with a status that takes none
    (shared.refusals.REASON_REFUSED: present, absent without leave): DOMAIN.md "Meetings" gives a reason to the
    absent-excused only, so on the form such a line is a wrong status or a misplaced reason, and which one only the
    secretary knows; dropping it silently would keep whichever was wrong (a trial's 600-character reason was printed
    "Vắng không lý do (…)"). Asked of the gateway's commands only (check_plausible_moments): an integration's roster
    is a fact of its record (CONTRACT.md makes `reason` optional on every line; a check-in device's "đến muộn 10
    phút" on a present line), taken as sent and never counted. Judged on the event alone (shared.text.has_text
    decides whether a reason is given)."""
    for number, record in enumerate(data.records):
        code = REASON_REFUSED.get(record.status)
        if code is not None and has_text(record.reason):
            raise InvalidEvent(
                f"data.records.{number}.reason: member {record.member_id} {REASON_REFUSED_SAID[record.status]}",
                field=f"data.records.{number}.reason",
                refusal=Refusal(code=code, member_id=record.member_id),
            )


def _check_excused_with_reason(data: Any) -> None:
    """Reject a secretary's roster line marking a member excused without a reason (`data.records.N.reason`, blank by
    shared.text.has_text): DOMAIN.md "Meetings" has absent-excused come with a reason, and the minutes hold the
    reasons of those absent excused; the web form asks for one, the API took a line without it. Asked of the gateway's
    commands only (check_plausible_moments): an integration's roster is a fact of its record (CONTRACT.md makes
    `reason` optional), taken as sent. Judged on the event alone."""
    for number, record in enumerate(data.records):
        if record.status == "excused" and not has_text(record.reason):
            raise InvalidEvent(
                f"data.records.{number}.reason: member {record.member_id} is absent excused, and an excused absence"
                " comes with its reason",
                field=f"data.records.{number}.reason",
                refusal=Refusal(code=RefusalCode.EXCUSED_WITHOUT_REASON, member_id=record.member_id),
            )


NAMED_MISSING = NAMED_MEMBERS
"""How many members a refusal of an incomplete roster names (ROSTER_INCOMPLETE); the rest are counted."""


def named_missing(member_ids: Sequence[str], names: Mapping[str, str]) -> tuple[list[str], str]:
    """The first NAMED_MISSING of `member_ids` by their `names` (member id to full name), and the log text naming them
    (`Nguyễn Văn An (m1), Lê Thị Bình (m2) and 2 more`): what a roster refusal names and counts."""
    named = [names[member_id] for member_id in member_ids[:NAMED_MISSING]]
    shown = ", ".join(f"{name} ({member_id})" for name, member_id in zip(named, member_ids, strict=False))
    more = f" and {len(member_ids) - len(named)} more" if len(member_ids) > len(named) else ""
    return named, shown + more


def check_roster_complete(data: Any, *, members: Mapping[str, str], source: str) -> None:
    """Refuse a secretary's roster (`source` GATEWAY_SOURCE) that lists nobody or leaves out any of `members` (member
    id to full name, in the order to name them: the cell's members by the snapshots in force at the meeting's start,
    DOMAIN.md "How to read it"), naming `data.records`, coded ROSTER_INCOMPLETE with the first NAMED_MISSING names
    and how many are missing. CONTRACT.md: attendance.recorded.v1 is a full roster, the exempt and transferred listed
    with that status; a trial's roster of 2 of 14 members was taken and scored "1/2 present", and `[]` taken too.
    An integration's roster is not judged so: a member it leaves out neither extends nor breaks an excused run
    (DOMAIN.md), and its member snapshots may arrive after it (CONTRACT.md: order is not guaranteed)."""
    if not from_a_person(source):
        return
    missing = roster_missing(data, members=members)
    if data.records and not missing:
        return
    raise InvalidEvent(
        roster_incomplete_reason(missing, members=members),
        field="data.records",
        refusal=roster_incomplete(missing, members=members),
    )


def roster_missing(data: Any, *, members: Iterable[str]) -> list[str]:
    """The ids of `members` (member ids, or ids to full names, in the order to name them) that the roster `data`
    (attendance.recorded.v1) lists with no status: who a full roster (CONTRACT.md) leaves out, in that order."""
    return not_listed(members, {record.member_id for record in data.records})


def roster_incomplete(missing: Sequence[str], *, members: Mapping[str, str]) -> Refusal:
    """The ROSTER_INCOMPLETE refusal of a roster leaving out `missing` (roster_missing): the first NAMED_MISSING by
    name and how many, as the record page words it (gateway forms.roster_incomplete)."""
    names, _ = named_missing(missing, members)
    return Refusal(code=RefusalCode.ROSTER_INCOMPLETE, member_names=names, missing=len(missing))


def roster_incomplete_reason(missing: Sequence[str], *, members: Mapping[str, str]) -> str:
    """The English reason, naming `data.records`, of a roster leaving out `missing` (roster_missing; none: it lists
    nobody)."""
    _, shown = named_missing(missing, members)
    what = f"leaves out {len(missing)} of the cell's members: {shown}" if missing else "lists nobody"
    return (
        f"data.records: the roster {what}; a roster lists every member of the cell at the meeting's start (the"
        " exempt and transferred with that status)"
    )


def roster_lacks(data: Any, *, members: Mapping[str, str]) -> IngestWarning | None:
    """An integration's roster `data` leaving out any of `members` (the cell's at the meeting's start, as
    check_roster_complete judges a secretary's): the warning its answer carries, coded ROSTER_INCOMPLETE naming
    `data.records` with every member it lacks; None when it lists them all. It is still taken as sent (CONTRACT.md: a
    valid event; DOMAIN.md: a member not listed neither extends nor breaks a run), but not without a word: a check-in
    device's roster of those who came scored 100 % attendance silently."""
    missing = roster_missing(data, members=members)
    if not missing:
        return None
    refusal = roster_incomplete(missing, members=members)
    return IngestWarning(
        code=RefusalCode.ROSTER_INCOMPLETE.value,
        field="data.records",
        reason=roster_incomplete_reason(missing, members=members),
        member_ids=missing,
        member_names=list(refusal.member_names or []),
        missing=len(missing),
    )


def members_at(cell_id: str, at: datetime, histories: Mapping[str, Sequence[MemberVersion]]) -> list[str]:
    """The ids among `histories` that the snapshots in force at `at` put in `cell_id` (shared.membership.cell_on, an
    only later snapshot taken for true before it, as check_members_in_cell takes it), in the order given."""
    found = []
    for member_id, versions in histories.items():
        where = cell_on(versions, at)
        if where is not None and where.cell_id == cell_id:
            found.append(member_id)
    return found


def members_during(
    cell_id: str, since: datetime, until: datetime, histories: Mapping[str, Sequence[MemberVersion]]
) -> list[str]:
    """The ids among `histories` that the snapshots put in `cell_id` at some moment from `since` to `until`: at
    `since` (members_at) or from a version taking effect after it and not after `until`, in the order given (a
    period's members: one removed or moved away during it was a member of it)."""
    found = []
    for member_id, versions in histories.items():
        moments = [since, *(v.effective_at for v in versions if since < v.effective_at <= until)]
        if any((where := cell_on(versions, moment)) is not None and where.cell_id == cell_id for moment in moments):
            found.append(member_id)
    return found


def check_assessor_monitor(*, assigned: bool, person_id: str, cell_id: str, source: str) -> None:
    """An assessment as upper_monitor naming a person (`data.assessor.person_id`) needs that person assigned to follow
    the meeting's cell (`assigned`: a monitor.assigned.v1 of (person, cell) is stored): DOMAIN.md has the upper-level
    committee member assigned to a cell confirm its self-score, and those points win over the members' vote (a
    trial's commune feed assessed as upper_monitor in the name of an ordinary member and changed a closed month's
    score). An integration's is held for the assignment, which may arrive later (CONTRACT.md: order is not
    guaranteed; after the hold time it is rejected); a person's command is refused at once (the gateway lets only an
    assigned officer assess so)."""
    if assigned:
        return
    reason = f"data.assessor.person_id: {person_id} is not assigned to follow cell {cell_id} (monitor.assigned.v1)"
    refusal = Refusal(code=RefusalCode.MONITOR_NOT_ASSIGNED)
    held = Held(
        waiting_for=monitor_waiting_key(person_id, cell_id),
        reason=reason,
        field="data.assessor.person_id",
        refusal=refusal,
    )
    raise held_or_refused(held, source=source, refusal=refusal)


def monitor_waiting_key(person_id: str, cell_id: str) -> str:
    """The key an event held for the assignment of `person_id` to follow `cell_id` waits for (apply_monitor gives)."""
    return f"monitor:{person_id}:{cell_id}"


def check_votes_within_roster(data: Any, *, present: int | None, source: str, members: int | None = None) -> None:
    """Reject a secretary's votes (`source` GATEWAY_SOURCE) above the members present on the meeting's roster
    (`present`; None while no roster is known), or, while no roster is known, above the cell's members at the
    meeting's start (`members`; None: not judged): an adoption's votes for and against (`data.votes_for`,
    `data.votes_against`), or a minutes resolution's votes for, against and abstentions
    (`data.resolutions.N.votes_for`...), naming the count that passes it (shared.plausible.votes_over, the rule of
    every route). A trial's 50 votes in a cell of 14 and resolutions of 40 votes with 11 present were accepted, and a
    user's 99999 votes in a cell of 5 before any roster. A roster recorded later judges the minutes again from its
    side (roster_against_minutes). Judged as the meeting stands when the person sends it, as check_cancel: an
    integration's minutes and adoption are facts stored whatever arrived before them, since judging them against a
    roster or members that may come before or after would make the stored state depend on the arrival order
    (CONTRACT.md); evaluation scores such votes as no vote instead (`closing.resolution_adopted`)."""
    if not from_a_person(source):
        return
    voters, code, whom = present, RefusalCode.VOTES_OVER_PRESENT, "members present on the meeting's roster"
    if voters is None:
        voters, code, whom = members, RefusalCode.VOTES_OVER_MEMBERS, "members in the cell at the meeting's start"
    if voters is None:
        return
    counted: list[tuple[str, Any, tuple[str, ...]]]
    if hasattr(data, "resolutions"):
        counted = [
            (f"data.resolutions.{number}", resolution, ("votes_for", "votes_against", "abstentions"))
            for number, resolution in enumerate(data.resolutions)
        ]
    else:
        counted = [("data", data, ("votes_for", "votes_against"))]
    for prefix, votes, fields in counted:
        over = votes_over(((f"{prefix}.{field}", getattr(votes, field)) for field in fields), voters=voters)
        if over is not None:
            raise InvalidEvent(
                f"{over.field}: {over.cast} votes with {voters} {whom}",
                field=over.field,
                refusal=Refusal(code=code),
            )


def check_minutes_people_present(data: Any, *, statuses: Mapping[str, str] | None, source: str) -> None:
    """Reject a secretary's minutes (`source` GATEWAY_SOURCE) naming as chair, recorder or speaker (`data.chair_id`,
    `data.recorder_id`, `data.speakers.N`) a member the meeting's roster (`statuses`, member to status; None while no
    roster is known) lists as not present: who was away neither chaired, recorded nor spoke. A member not on the
    roster, or any member while no roster is known, cannot be judged. Judged as the meeting stands when the person
    sends it, as check_votes_within_roster, and for the same reason not for an integration's minutes."""
    if statuses is None or not from_a_person(source):
        return
    people = [("data.chair_id", data.chair_id), ("data.recorder_id", data.recorder_id)]
    people += [(f"data.speakers.{number}", speaker) for number, speaker in enumerate(data.speakers)]
    for field, member_id in people:
        status = statuses.get(member_id)
        if status is not None and status != "present":
            raise InvalidEvent(
                f"{field}: member {member_id} is {status} on the meeting's roster, not present",
                field=field,
                refusal=Refusal(code=RefusalCode.ABSENT_AT_MEETING, member_id=member_id),
            )


def check_adopted_minutes_unchanged(
    meeting: "MeetingState", data: Any, *, stored: Mapping[str, Any] | None, source: str
) -> bool:
    """A secretary cannot change minutes the cell has adopted (`approval_version` stored): they are the adopted
    record (DOMAIN.md "Meetings": minutes read and adopted), and a trial's edit after adoption kept the adoption over
    a text nobody voted on. The adopted minutes sent again unchanged (`stored`, as same_minutes reads them) are no
    change: True, to be taken as a no-op (a resent form or a client's retry is not refused). An integration's minutes
    are a snapshot of its own record and are stored whatever else is known (facts arrive in any order)."""
    if not from_a_person(source) or not meeting.adopted:
        return False
    if stored is not None and same_minutes(stored, data):
        return True
    raise InvalidEvent(
        f"data.meeting_id: the minutes of meeting {meeting.meeting_id} are adopted and can no longer be changed",
        field="data.meeting_id",
        refusal=Refusal(code=RefusalCode.MINUTES_ADOPTED),
    )


def check_adopted_roster_unchanged(
    meeting: "MeetingState", data: Any, *, stored: Mapping[str, Any] | None, source: str
) -> bool:
    """A secretary cannot change the roster of a meeting whose minutes the cell has adopted (`approval_version`
    stored), as check_adopted_minutes_unchanged: the adopted minutes record who was present (DOMAIN.md "Meetings":
    minutes hold the members present and absent with reasons), and a trial's roster saved after adoption changed the
    attendance score and made the official minutes name an absent chair. The adopted roster sent again unchanged
    (`stored`, as same_roster reads it) is no change: True, to be taken as a no-op. InvalidEvent naming
    `data.meeting_id`, coded MINUTES_ADOPTED, otherwise. An integration's roster (a check-in device's
    attendance.recorded.v1) is a snapshot stored whatever else is known: refusing it only when the adoption arrived
    first would make the stored roster depend on the arrival order, which CONTRACT.md rules out ("the system converges
    to the same state whatever order"). Minutes adopted while no roster was known (before adoption waited for one)
    take their first roster: False, judged by check_roster_against_adoption, so such a meeting is not left without
    attendance for good."""
    if not from_a_person(source) or not meeting.adopted or not meeting.has_roster:
        return False
    if stored is not None and same_roster(stored, data):
        return True
    raise InvalidEvent(
        f"data.meeting_id: the minutes of meeting {meeting.meeting_id} are adopted, so its roster (part of the adopted"
        " record) can no longer be changed",
        field="data.meeting_id",
        refusal=Refusal(code=RefusalCode.MINUTES_ADOPTED),
    )


def same_roster(stored: Mapping[str, Any], data: Any) -> bool:
    """Whether attendance.recorded.v1 data say what `stored` ({"records": [{member_id, status, reason}], "guests":
    [guest as model_dump(mode="json", exclude_none=True)]}) says: records in any order (the store keeps none)."""

    def lines(records: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, str | None]]:
        return sorted((str(r["member_id"]), str(r["status"]), r.get("reason")) for r in records)

    sent_records = [{"member_id": r.member_id, "status": r.status.value, "reason": r.reason} for r in data.records]
    sent_guests = [guest.model_dump(mode="json", exclude_none=True) for guest in data.guests]
    return lines(sent_records) == lines(stored["records"]) and sent_guests == list(stored["guests"])


def roster_against_minutes(records: Sequence[Any], minutes: Mapping[str, Any]) -> list[tuple[str, str, Refusal]]:
    """Every way a roster (`records`: lines with member_id and status) contradicts recorded minutes (`minutes`, as
    stored_minutes reads them), as (field, English reason, refusal) in the roster's terms: a chair, recorder or
    speaker the roster lists as not present (`data.records.N.status`, ABSENT_AT_MEETING with the member), and a
    resolution whose votes (for, against, abstaining) are more than the members the roster lists present
    (`data.records`, VOTES_OVER_PRESENT). The rules of check_minutes_people_present and check_votes_within_roster,
    judged from the roster's side; a member the minutes name who is not on the roster is not judged, as there."""
    problems: list[tuple[str, str, Refusal]] = []
    row_of = {record.member_id: number for number, record in enumerate(records)}
    status_of = {record.member_id: _status_value(record.status) for record in records}
    roles = [("chair", minutes.get("chair_id")), ("recorder", minutes.get("recorder_id"))]
    roles += [("speaker", speaker) for speaker in minutes.get("speakers") or []]
    judged: set[str] = set()
    for role, member_id in roles:
        status = status_of.get(member_id) if member_id else None
        if member_id is None or status is None or status == "present" or member_id in judged:
            continue
        judged.add(member_id)
        problems.append(
            (
                f"data.records.{row_of[member_id]}.status",
                f"member {member_id} is the minutes' {role} but {status} on this roster, not present",
                Refusal(code=RefusalCode.ABSENT_AT_MEETING, member_id=member_id),
            )
        )
    present = sum(1 for status in status_of.values() if status == "present")
    for number, resolution in enumerate(minutes.get("resolutions") or []):
        counts = [(key, int(resolution.get(key) or 0)) for key in ("votes_for", "votes_against", "abstentions")]
        if votes_over(counts, voters=present) is not None:
            cast = sum(count for _, count in counts)
            problems.append(
                (
                    "data.records",
                    f"resolution {number} of the minutes has {cast} votes and this roster lists {present} members"
                    " present",
                    Refusal(code=RefusalCode.VOTES_OVER_PRESENT),
                )
            )
    return problems


def _status_value(status: Any) -> str:
    """An attendance status as its text (the contract's enum or a stored string)."""
    return str(getattr(status, "value", status))


def check_roster_against_adoption(data: Any, *, adoption: tuple[datetime, int | None, int | None] | None) -> None:
    """Reject the first roster of minutes adopted without one (`adoption`: approved_at, votes for, against, as
    stored_approval reads it) when it lists fewer members present than voted on the adoption (`data.records`,
    VOTES_OVER_PRESENT), as check_votes_within_roster judges an adoption against a known roster."""
    if adoption is None:
        return
    cast = (adoption[1] or 0) + (adoption[2] or 0)
    present = sum(1 for record in data.records if _status_value(record.status) == "present")
    if votes_over([("votes", cast)], voters=present) is not None:
        raise InvalidEvent(
            f"data.records: the minutes were adopted by {cast} votes and this roster lists {present} members present",
            field="data.records",
            refusal=Refusal(code=RefusalCode.VOTES_OVER_PRESENT),
        )


def check_roster_against_minutes(data: Any, *, minutes: Mapping[str, Any] | None, source: str) -> None:
    """Reject a secretary's roster (`source` GATEWAY_SOURCE) that contradicts the meeting's recorded minutes
    (`minutes`, as stored_minutes reads them; None without minutes): the minutes' rules against the roster
    (check_minutes_people_present, check_votes_within_roster) judged whichever of the two comes second, since a
    trial's roster saved after the minutes listed the chair and recorder absent and left 4 present under resolutions
    of 12 votes. InvalidEvent naming the first problem's field (roster_against_minutes) with its refusal, its
    reason saying every problem at once. An integration's roster is stored whatever else is known, as for those
    rules (the outcome would otherwise depend on the arrival order, CONTRACT.md)."""
    if minutes is None or not from_a_person(source):
        return
    problems = roster_against_minutes(data.records, minutes)
    if not problems:
        return
    field, _reason, refusal = problems[0]
    said = "; ".join(f"{where}: {reason}" for where, reason, _refusal in problems)
    raise InvalidEvent(f"{said} (the meeting's recorded minutes)", field=field, refusal=refusal)


def check_adoption_not_repeated(
    meeting: "MeetingState", data: Any, *, stored: tuple[datetime, int | None, int | None] | None, source: str
) -> bool:
    """A secretary cannot adopt minutes again once the cell adopted them (`approval_version` stored): DOMAIN.md
    "Meetings" has the cell adopt its minutes by one vote, and a second adoption moved `approved_at` (a trial's
    09:03:11 became 09:03:23), which can change the "published within 2 days" criterion. The very same adoption again
    (`stored`: approved_at, votes for, against) is no change: True, to be taken as a no-op. Another moment (`data.
    approved_at`; a tab opened before the adoption sends now) is refused as `minutes_adopted` naming it, rather than
    answered as accepted while it changes nothing; other votes are refused so too. An integration's approvals are
    snapshots of its own record, the latest one winning (CONTRACT.md)."""
    if not from_a_person(source) or not meeting.adopted:
        return False
    if stored is not None and stored == (data.approved_at, data.votes_for, data.votes_against):
        return True
    if stored is not None and stored[1:] == (data.votes_for, data.votes_against):
        raise InvalidEvent(
            f"data.approved_at: the minutes of meeting {meeting.meeting_id} were adopted at"
            f" {said_at(stored[0], like=data.approved_at)};"
            f" adopting them again at {data.approved_at.isoformat()} changes nothing",
            field="data.approved_at",
            refusal=Refusal(code=RefusalCode.MINUTES_ADOPTED),
        )
    raise InvalidEvent(
        f"data.meeting_id: the minutes of meeting {meeting.meeting_id} are adopted and can no longer be adopted again",
        field="data.meeting_id",
        refusal=Refusal(code=RefusalCode.MINUTES_ADOPTED),
    )


def same_minutes(stored: Mapping[str, Any], data: Any) -> bool:
    """Whether minutes.submitted.v1 data say what `stored` (its model_dump(), tasks in any order) says: moments
    compared as instants, tasks by their ids (the store keeps no order of tasks)."""
    sent = data.model_dump()

    def by_id(tasks: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        return sorted(tasks, key=lambda task: str(task["task_id"]))

    return {**sent, "tasks": by_id(sent["tasks"])} == {**stored, "tasks": by_id(stored["tasks"])}


def probation_ends_on(*, status: str, admitted_on: date | None) -> date | None:
    """Twelve months after admission while the member is probationary."""
    if status != "probationary" or admitted_on is None:
        return None
    return add_years(admitted_on, 1)


def check_members_in_cell(
    *,
    cell_id: str,
    at: datetime,
    references: Iterable[tuple[str, str]],
    histories: Mapping[str, Sequence[MemberVersion]],
    source: str,
) -> None:
    """Every (field, member id) must be in `cell_id` at `at`: reject when known otherwise, hold when unsure.

    A secretary's command (`source` GATEWAY_SOURCE) is never held for its members: it is judged at once against the
    cell's members as they stand (check_command_members_known), since a trial's roster naming an unknown id was held
    and a later member.upserted.v1 of that id made it replace the meeting's 19 lines with one. Only integrations'
    facts wait for members arriving later (CONTRACT.md: an event referring to something not yet known is held)."""
    for field, member_id in references:
        versions = histories.get(member_id, ())
        if from_a_person(source):
            if not in_cell_at(versions, cell_id=cell_id, at=at):
                raise not_a_member_of_cell(field, member_id, cell_id=cell_id, at=at)
            continue
        if len(versions) == 1 and not versions[0].removed and versions[0].cell_id == cell_id:
            continue  # its only snapshot puts the member in the cell, taken for true before it too (cell_on)
        where = cell_on(versions, at)
        if where is None:
            raise Held(
                waiting_for=f"member:{member_id}",
                reason=f"{field}: member {member_id} is unknown",
                field=field,
                refusal=Refusal(code=RefusalCode.MEMBER_UNKNOWN, member_id=member_id),
            )
        if where.cell_id == cell_id:
            continue
        if where.certain:
            raise InvalidEvent(
                f"{field}: member {member_id} is not in cell {cell_id} on {local_date(at)}",
                field=field,
                refusal=Refusal(code=RefusalCode.MEMBER_NOT_IN_CELL, member_id=member_id),
            )
        raise Held(
            waiting_for=f"member:{member_id}",
            reason=f"{field}: no record puts member {member_id} in cell {cell_id} on the meeting's date",
            field=field,
            refusal=Refusal(code=RefusalCode.MEMBER_NOT_PLACED, member_id=member_id),
        )


def in_cell_at(versions: Sequence[MemberVersion], *, cell_id: str, at: datetime) -> bool:
    """Whether a secretary may name the member as one of `cell_id`'s at `at` (check_members_in_cell): some record puts
    them there then (shared.membership.cell_on, certain or not), or their only snapshot puts them in it (taken for
    true before it too)."""
    if len(versions) == 1 and not versions[0].removed and versions[0].cell_id == cell_id:
        return True
    where = cell_on(versions, at)
    return where is not None and where.cell_id == cell_id


def check_roster_fits_start(
    *,
    cell_id: str,
    starts_at: datetime,
    listed: Mapping[str, str],
    histories: Mapping[str, Sequence[MemberVersion]],
    source: str,
) -> None:
    """A secretary's move (`source` GATEWAY_SOURCE) of a meeting whose attendance is recorded, to `starts_at`: every
    member its roster lists other than as transferred (`listed`: member id to full name, in the order to name them)
    must be a member of `cell_id` at the new start, as a secretary's roster is judged when recorded
    (check_members_in_cell, in_cell_at; DOMAIN.md "How to read it": every fact about members from the snapshots in
    force at the meeting's start). Else InvalidEvent naming `data.starts_at`, coded ROSTER_NOT_IN_CELL_AT_START with
    the first NAMED_MISSING names and how many: a correction of when a meeting took place left members who joined
    after the new date, or left before it, recorded as present. An integration's move is stored as sent (its rosters
    follow the facts as they arrive, CONTRACT.md)."""
    if not from_a_person(source):
        return
    outside = [
        member_id for member_id in listed if not in_cell_at(histories.get(member_id, ()), cell_id=cell_id, at=starts_at)
    ]
    if not outside:
        return
    names, shown = named_missing(outside, listed)
    raise InvalidEvent(
        f"data.starts_at: the meeting's recorded roster lists {len(outside)} members not in cell {cell_id} on"
        f" {local_date(starts_at)}: {shown}; the attendance of a meeting lists the cell's members at its start",
        field="data.starts_at",
        refusal=Refusal(code=RefusalCode.ROSTER_NOT_IN_CELL_AT_START, member_names=names, missing=len(outside)),
    )


def check_roster_covers_start(
    *,
    cell_id: str,
    starts_at: datetime,
    members: Mapping[str, str],
    recorded: Collection[str],
    left_out_before: Collection[str] = (),
    source: str,
) -> None:
    """A secretary's move (`source` GATEWAY_SOURCE) of a meeting whose attendance is recorded, to `starts_at`: every
    member of `cell_id` at the new start (`members`: member id to full name, in the order to name them, by the
    snapshots in force then) is on its roster with some status (`recorded`: every member id it lists, the exempt and
    transferred too), as a secretary's roster is judged when recorded (check_roster_complete, ROSTER_INCOMPLETE;
    DOMAIN.md "How to read it"). Else InvalidEvent naming `data.starts_at`, coded ROSTER_MISSING_AT_START with the
    first NAMED_MISSING names and how many: a correction of when a meeting took place to a day a member who has
    left the cell since was still in it left them off the attendance, neither present nor absent, and the meeting
    scored on a roster a secretary could not have recorded. Members the roster left out at the start it had
    (`left_out_before`: an integration's roster, taken as sent) are not the correction's doing and not asked again.
    An integration's move is stored as sent (its rosters follow the facts as they arrive, CONTRACT.md)."""
    if not from_a_person(source):
        return
    skipped = set(recorded) | set(left_out_before)
    missing = [member_id for member_id in members if member_id not in skipped]
    if not missing:
        return
    names, shown = named_missing(missing, members)
    raise InvalidEvent(
        f"data.starts_at: the meeting's recorded roster leaves out {len(missing)} members of cell {cell_id} on"
        f" {local_date(starts_at)}: {shown}; the attendance of a meeting lists every member of the cell at its"
        " start",
        field="data.starts_at",
        refusal=Refusal(code=RefusalCode.ROSTER_MISSING_AT_START, member_names=names, missing=len(missing)),
    )


def not_a_member_of_cell(field: str, member_id: str, *, cell_id: str, at: datetime) -> InvalidEvent:
    """The refusal of a secretary's command naming (`field`) a member no record puts in `cell_id` at `at`: unknown,
    of another cell, or not placed yet are one answer (`member_not_in_cell`), so a secretary scoped to the cell
    learns nothing of ids elsewhere (handlers/scope.py hides them as unknown)."""
    return InvalidEvent(
        f"{field}: member {member_id} is not a member of cell {cell_id} on {local_date(at)}; a secretary names only"
        " the cell's own members",
        field=field,
        refusal=Refusal(code=RefusalCode.MEMBER_NOT_IN_CELL, member_id=member_id),
    )


def check_transferred_members(
    *,
    cell_id: str,
    references: Iterable[tuple[str, str]],
    histories: Mapping[str, Sequence[MemberVersion]],
    source: str,
    at: datetime,
) -> None:
    """A secretary's roster line marking a member transferred (`field`, member id) names someone some record put in
    `cell_id` (the transferred are the cell's, moved away); any other id is refused at once as not_a_member_of_cell.
    An integration's transferred line is judged by handlers/scope.py and held when the member is unknown."""
    if not from_a_person(source):
        return
    for field, member_id in references:
        if not any(version.cell_id == cell_id for version in histories.get(member_id, ())):
            raise not_a_member_of_cell(field, member_id, cell_id=cell_id, at=at)


@dataclass(frozen=True)
class UnitRef:
    """What the rules need to know about an existing org unit."""

    id: str
    kind: str
    parent_id: str | None


def check_unit_placement(
    *, unit_id: str, parent_id: str | None, parent: UnitRef | None, ancestors: Sequence[str]
) -> None:
    """A unit hangs under a known committee, never under itself or its own descendant."""
    if parent_id is None:
        return
    if parent is None:
        raise Held(
            waiting_for=f"unit:{parent_id}",
            reason=f"data.parent_id: unit {parent_id} is unknown",
            field="data.parent_id",
        )
    if parent.kind != "committee":
        raise InvalidEvent(under_a_cell_reason(parent_id), field="data.parent_id")
    if unit_id in ancestors:
        raise InvalidEvent(
            f"data.parent_id: unit {parent_id} lies under {unit_id}, which would make a cycle", field="data.parent_id"
        )


ROOT_KIND = "committee"
"""The only kind of unit that may be a root of the tree (`parent_id` null): the province committee at its top
(DOMAIN.md "Organization tree"; CONTRACT.md: `parent_id` null for the root). A cell always hangs under a committee."""


def check_unit_root(*, kind: str, parent_id: str | None) -> None:
    """A unit of any kind but ROOT_KIND (a cell) names its parent: one sent with `parent_id` null would be a second
    root of the tree, scored and published but under no committee, so no officer would see it (a user trial's
    cell). InvalidEvent naming `data.parent_id`, coded UNIT_WITHOUT_PARENT; judged on the event alone."""
    if parent_id is None and kind != ROOT_KIND:
        raise InvalidEvent(
            f"data.parent_id: {with_article(kind)} needs a parent committee; only a committee (the province committee"
            " at the top of the tree) may have no parent",
            field="data.parent_id",
            refusal=Refusal(code=RefusalCode.UNIT_WITHOUT_PARENT),
        )


def check_unit_kind(existing: UnitRef | None, *, unit_id: str, kind: str) -> None:
    """A unit keeps the kind it was first known by (cell or committee): its meetings, members and units under it
    belong to that kind; InvalidEvent naming data.kind otherwise."""
    if existing is not None and existing.kind != kind:
        raise InvalidEvent(kind_change_reason(unit_id=unit_id, stored=existing.kind, sent=kind), field="data.kind")


def under_a_cell_reason(parent_id: str) -> str:
    """Why a unit whose parent is a cell is refused."""
    return f"data.parent_id: unit {parent_id} is a cell and cannot contain units"


def kind_change_reason(*, unit_id: str, stored: str, sent: str) -> str:
    """Why a snapshot that changes a unit's kind is refused."""
    return (
        f"data.kind: unit {unit_id} is {with_article(stored)}; a unit never changes kind (a new {sent} needs an id of"
        " its own)"
    )


def require_unit(unit: UnitRef | None, *, unit_id: str, kind: str, field: str) -> None:
    """The referred unit must exist (else hold) and be of `kind` (else reject)."""
    if unit is None:
        raise Held(waiting_for=f"unit:{unit_id}", reason=f"{field}: unit {unit_id} is unknown", field=field)
    if unit.kind != kind:
        raise InvalidEvent(
            f"{field}: unit {unit_id} is {with_article(unit.kind)}, not {with_article(kind)}", field=field
        )


def check_monitor_committee(*, committee_id: str, cell_id: str, path: list[str]) -> None:
    """The monitor's committee must be above the cell (DOMAIN.md "Who uses the product": an upper-level committee
    member follows a cell): on the cell's `path` (root first, ending with the cell; a unit is placed only under a
    known parent, so a known cell's path is whole), else rejected naming `data.committee_id`."""
    if committee_id not in path[:-1]:
        raise InvalidEvent(
            f"data.committee_id: committee {committee_id} is not above cell {cell_id}; a monitor follows cells of"
            " the committees they sit on",
            field="data.committee_id",
            refusal=Refusal(code=RefusalCode.MONITOR_COMMITTEE_NOT_ABOVE),
        )


@dataclass(frozen=True)
class MeetingState:
    """What the lifecycle rules need to know about a stored meeting."""

    meeting_id: str
    cell_id: str
    kind: str
    starts_at: datetime
    cancel_version: Version | None
    """The version of its earliest cancellation, None while it is not cancelled (first_cancellation)."""
    has_roster: bool
    has_minutes: bool
    minutes_version: Version | None = None
    roster_version: Version | None = None
    approval_version: Version | None = None
    """The version of the stored adoption of the minutes, None while they are not adopted."""
    minutes_ended_at: datetime | None = None
    """When the stored minutes say the meeting ended (`data.ended_at`), None without minutes."""
    minutes_started_at: datetime | None = None
    """When the stored minutes say the meeting started (`data.started_at`), None without minutes or not known."""
    start_version: Version | None = None
    """The version of the schedule or move that set `starts_at` (None when not known to the reader)."""
    held_recorded_at: datetime | None = None
    """When a secretary recorded the meeting as already held (held_recorded_at: the earliest such schedule's time),
    None for a meeting scheduled beforehand or by an integration."""
    notified_at: datetime | None = None
    """When its members were notified as its schedule in force says (`data.notified_at`, else that schedule's `time`),
    None when not known to the reader."""
    minutes_key: str | None = None
    """The content key of its stored minutes (shared.minutes.minutes_content_key), None without one known."""
    adopted_key: str | None = None
    """The content key of the minutes its adoption adopted (shared.minutes.adopted_version), None if none."""
    roster_key: str | None = None
    """The content key of its stored roster (shared.minutes.roster_content_key), None without one known."""
    adopted_roster_key: str | None = None
    """The content key of the roster its adoption adopted (shared.minutes.adopted_version), None if none."""
    last_cancel_version: Version | None = None
    """The version of its latest cancellation, whose reason stands (None when not cancelled or not known)."""

    @property
    def adopted(self) -> bool:
        """Whether its stored minutes are adopted (adoption_in_force)."""
        same = self.minutes_key is not None and self.minutes_key == self.adopted_key
        same_roster = self.roster_key is not None and self.roster_key == self.adopted_roster_key
        return adoption_in_force(
            approval=self.approval_version,
            minutes=self.minutes_version,
            same_content=same,
            roster=self.roster_version,
            same_roster=same_roster,
        )


def adoption_in_force(
    *,
    approval: Version | None,
    minutes: Version | None,
    same_content: bool = False,
    roster: Version | None = None,
    same_roster: bool = False,
) -> bool:
    """Whether the stored adoption (`approval`, its version) adopts the stored minutes (`minutes`, theirs): adopted,
    and the stored text the one it adopted (shared.minutes): minutes issued not after it (its second counted whole,
    shared.minutes.adopted_until), or saying what the text it adopted said (`same_content`: their content keys
    equal, a feed's resend). DOMAIN.md "Meetings": the minutes are read and adopted, so another text stored after
    the adoption is a text nobody voted on; CONTRACT.md makes minutes a snapshot whose latest `time` wins whatever
    the arrival order, so an integration's correction issued after the adoption is stored (before or after the
    adoption arrives) and voids it until a newer adoption, the same in either order; no clock allowance keeps a
    correction sent 25 seconds after it adopted. A secretary cannot send such a correction
    (check_adopted_minutes_unchanged). The one reading of "adopted" for the rules, the meeting's status and its page;
    shared.minutes.adoption_in_force_sql is this rule in SQL, for the pages and evaluation. The stored roster
    (`roster`, `same_roster`) is judged the same way (shared.minutes.part_stands): an integration's roster issued
    after the adoption saying otherwise voids it, as a secretary's is refused (check_adopted_roster_unchanged)."""
    if approval is None:
        return False
    return part_stands(minutes, approval_time=approval[0], same_content=same_content) and part_stands(
        roster, approval_time=approval[0], same_content=same_roster
    )


def require_meeting(meeting: MeetingState | None, *, meeting_id: str, source: str) -> MeetingState:
    """The meeting must be scheduled already, else an integration's event waits for it and a person's command is
    refused at once (held_or_refused, MEETING_UNKNOWN): the secretary acts on a meeting the gateway showed them."""
    if meeting is None:
        reason = f"data.meeting_id: meeting {meeting_id} is not scheduled"
        held = Held(waiting_for=f"meeting:{meeting_id}", reason=reason, field="data.meeting_id")
        raise held_or_refused(held, source=source, refusal=Refusal(code=RefusalCode.MEETING_UNKNOWN))
    return meeting


def held_or_refused(held: Held, *, source: str, refusal: Refusal, reason: str | None = None) -> Exception:
    """What to raise for a referent meetings does not know (yet): `held` for an integration's fact, which waits for
    it (CONTRACT.md: order is not guaranteed, held up to the hold time, then rejected); for a person's command
    (`source` GATEWAY_SOURCE, from_a_person) an InvalidEvent naming the same field with `refusal` and `reason` (the
    held reason when None). A secretary's command is judged against what meetings knows when it is sent: a trial's
    roster guest of an unknown committee and a completion of a task not in the minutes were answered 202 "held",
    the earlier roster staying in force until the hold expired a day later (check_assessor_monitor does so too)."""
    if not from_a_person(source):
        return held
    return InvalidEvent(reason or held.reason, field=held.field, refusal=refusal)


def check_approval_moment(meeting: MeetingState, approved_at: datetime) -> None:
    """Reject minutes adopted before the meeting began (`data.approved_at` earlier than its start): they are adopted
    at or after the meeting (DOMAIN.md "Meetings": minutes read and adopted)."""
    if approved_at < meeting.starts_at:
        raise InvalidEvent(
            f"data.approved_at: {approved_at.isoformat()} is before meeting {meeting.meeting_id} began"
            f" ({said_at(meeting.starts_at, like=approved_at)}): minutes are adopted at or after the meeting",
            field="data.approved_at",
            refusal=Refusal(code=RefusalCode.APPROVED_BEFORE_MEETING),
        )


def check_adopted_on_meeting_day(meeting: MeetingState, *, source: str) -> None:
    """Refuse a secretary's adoption (`source` from_a_person) of minutes whose start (`data.started_at`) is on another
    local (+07:00) day than the meeting's start: InvalidEvent naming `data.meeting_id`, coded
    MINUTES_OFF_MEETING_DAY. DOMAIN.md "How to read it, exactly": the start is the scheduled start after any
    rescheduling and the minutes' own times give the duration, so neither is rewritten by the other; the form refuses
    minutes on another day than the meeting's, and a held time corrected after the minutes were saved (README: "Sửa
    thời điểm đã diễn ra", then the minutes saved again dated that day) is taken, so adoption, which freezes both
    (check_adopted_minutes_unchanged), waits until they agree: a trial's meeting corrected to 04/12 was adopted with
    minutes of 05/12 and could never be mended. Minutes and start stored before this rule are judged alike.
    An integration's minutes may start up to MINUTES_START_WINDOW from the start (check_minutes_start), its
    adoption is not judged here."""
    started = meeting.minutes_started_at
    if not from_a_person(source) or started is None or local_date(started) == local_date(meeting.starts_at):
        return
    raise InvalidEvent(
        f"data.meeting_id: the minutes of meeting {meeting.meeting_id} are dated {local_date(started).isoformat()}"
        f" (data.started_at {started.isoformat()}), another day than its start ({said_at(meeting.starts_at)}):"
        " save the minutes again dated the meeting's day, then adopt them",
        field="data.meeting_id",
        refusal=Refusal(code=RefusalCode.MINUTES_OFF_MEETING_DAY),
    )


def check_minutes_start(meeting: MeetingState, started_at: datetime) -> None:
    """Reject minutes starting more than a week (shared.plausible.MINUTES_START_WINDOW) from the meeting's scheduled
    start (`data.started_at`): a trial's minutes dated 2020-12-20 for a meeting of 2026-12-20 were accepted. Judged
    against the stored meeting, which minutes always find (they wait for it otherwise): the outcome depends on arrival
    order only for a meeting stored before its schedules and moves were kept: an integration's move issued after the
    meeting ended and arriving before its minutes is undone by them (moves_undone_by_minutes), which are judged
    against the start in force before it (docs/integrations.md "A move after the meeting"); the rejection is kept and
    can be replayed once the move is corrected, as check_approval_moment's."""
    if abs(started_at - meeting.starts_at) > MINUTES_START_WINDOW:
        raise InvalidEvent(
            f"data.started_at: {started_at.isoformat()} is more than {MINUTES_START_WINDOW.days} days from the"
            f" scheduled start of meeting {meeting.meeting_id} ({said_at(meeting.starts_at, like=started_at)}): a moved"
            " meeting is rescheduled first",
            field="data.started_at",
            refusal=Refusal(code=RefusalCode.MINUTES_FAR_FROM_SCHEDULE),
        )


def check_completion_day(meeting: MeetingState, completed_on: date) -> None:
    """Reject a task completed before the day of the meeting that assigned it (`data.completed_on`): a trial's
    completion of 2020-01-01 for a task of a meeting on 2026-12-01 counted as done on time. Judged against the stored
    meeting, which a completion always finds (it waits for the task's minutes otherwise); as check_minutes_start, only
    a meeting moved later by an integration after the completion arrived could change the outcome, and evaluation
    never counts such a completion as on time anyway (TaskOutcome.on_time)."""
    assigned_on = local_date(meeting.starts_at)
    if completed_on < assigned_on:
        raise InvalidEvent(
            f"data.completed_on: {completed_on.isoformat()} is before meeting {meeting.meeting_id}, which assigned the"
            f" task, began ({said_at(meeting.starts_at)})",
            field="data.completed_on",
            refusal=Refusal(code=RefusalCode.COMPLETED_BEFORE_MEETING),
        )


def held_recorded_at(*, source: str, already_held: bool, time: datetime) -> datetime | None:
    """When an accepted meeting.scheduled.v1 records its meeting as already held: its `time` when a secretary sent it
    (`source` GATEWAY_SOURCE, the envelope's HELD_EXTENSION `true`), else None (scheduled beforehand, or by an
    integration). The meeting keeps the earliest such time (meeting.held_recorded_at, check_documents_moment)."""
    return time if source == GATEWAY_SOURCE and already_held else None


def check_documents_moment(
    *, source: str, published_at: datetime, time: datetime, recorded_at: datetime | None
) -> None:
    """Reject a secretary's documents (`source` GATEWAY_SOURCE, `time` our clock) dated after their sending, CLOCK_SKEW
    aside, or, for a meeting recorded as already held at `recorded_at` (held_recorded_at), dated before it was recorded
    (`data.published_at`, coded PUBLISHED_IN_THE_FUTURE / PUBLISHED_BEFORE_RECORDED): a trial's documents dated two
    days before a meeting recorded afterwards scored the draft-resolution and early-documents items, and a date of the
    next year was taken. Nothing of such a meeting went to its members through chibo before it was recorded, so its
    documents count as published after the start (README, secretaries; DOMAIN.md criterion 3 and 8 read
    `published_at`). An integration's publication is a fact on the sender's clock (check_plausible_moments bounds
    it)."""
    if not from_a_person(source):
        return
    if published_at > time + CLOCK_SKEW:
        raise InvalidEvent(
            f"data.published_at: {published_at.isoformat()} is after the documents were sent"
            f" ({said_at(time, like=published_at)}): documents are published when they are sent, or were before",
            field="data.published_at",
            refusal=Refusal(code=RefusalCode.PUBLISHED_IN_THE_FUTURE),
        )
    if recorded_at is not None and published_at < recorded_at:
        raise InvalidEvent(
            f"data.published_at: {published_at.isoformat()} is before the meeting was recorded as already held"
            f" ({said_at(recorded_at, like=published_at)}); its documents are published from then on, after its start",
            field="data.published_at",
            refusal=Refusal(code=RefusalCode.PUBLISHED_BEFORE_RECORDED),
        )


def check_completion_not_ahead(*, source: str, completed_on: date, time: datetime) -> None:
    """Reject a secretary's task done (`source` GATEWAY_SOURCE, `time` our clock) on a day after today in Vietnam,
    CLOCK_SKEW aside (`data.completed_on`, coded COMPLETED_IN_THE_FUTURE): a trial's completion dated two months
    ahead showed as done and counted on time for the next meeting's `results`. An integration's completion is judged
    by check_plausible_moments' horizon only: CONTRACT.md names no bound against the event's `time` for it, and
    backfills send facts ahead."""
    today = local_date(time + CLOCK_SKEW)
    if from_a_person(source) and completed_on > today:
        raise InvalidEvent(
            f"data.completed_on: {completed_on.isoformat()} is after today ({today.isoformat()}, Vietnam):"
            " a task is marked done on the day it was done, or later",
            field="data.completed_on",
            refusal=Refusal(code=RefusalCode.COMPLETED_IN_THE_FUTURE),
        )


def check_command_after_start(meeting: MeetingState, *, source: str, time: datetime, what: str) -> None:
    """Reject a secretary's command (the gateway's, `source` GATEWAY_SOURCE, timed by our clock) that records `what`
    happens at a meeting before the meeting begins (CLOCK_SKEW aside): a trial's minutes and roster for a meeting
    nine days ahead made it count as held and scored, and mailed the cell committee absences that had not happened.
    Integrations' events are not judged so: their `time` is the sender's, and backfills and the benchmark's feeds
    send a meeting's facts ahead of it. `what` is the subject with its verb (`its minutes are`, `attendance is`), so
    the sentence agrees in number."""
    if from_a_person(source) and begins_later(meeting.starts_at, time):
        raise InvalidEvent(
            f"data.meeting_id: meeting {meeting.meeting_id} begins {said_at(meeting.starts_at)}; {what}"
            " recorded once it has begun",
            field="data.meeting_id",
            refusal=Refusal(code=RefusalCode.MEETING_NOT_STARTED),
        )


def from_a_person(source: str) -> bool:
    """True for a secretary's command (the gateway's, `source` GATEWAY_SOURCE), judged on the meeting as it stands
    when the person sends it; an integration's fact is a fact, accepted whatever arrived before it."""
    return source == GATEWAY_SOURCE


def check_schedule(
    existing: MeetingState | None,
    *,
    meeting_id: str,
    source: str,
    starts_at: datetime,
    time: datetime,
    already_held: bool = False,
) -> None:
    """A secretary's schedule command creates a meeting and never overwrites one (a trial's second schedule under a
    known id turned a thematic meeting into a regular one, dropped its topic and moved its date): a known id is
    refused naming `data.meeting_id` (moving a meeting is meeting.rescheduled.v1). Judged under the meeting's lock,
    so of two creates at the same moment one schedules and the other is refused. Nor does it set a new meeting at a
    start already past at `time` (check_start_ahead, as check_reschedule refuses a move into the past): a trial's
    meeting scheduled for an hour already past sent no notice and lost the notice item of its score unsaid. An
    integration's meeting.scheduled.v1 is a snapshot, the latest by (time, id) winning, as CONTRACT.md says, and
    may be a past meeting (a backfill of history). A secretary who says the meeting was `already_held`
    (shared.envelope.HELD_EXTENSION: they forgot to enter it beforehand) records it at a past start instead, within
    check_held_start's bounds."""
    if not from_a_person(source):
        return
    if existing is not None:
        raise InvalidEvent(
            f"data.meeting_id: meeting {meeting_id} is already scheduled; scheduling never overwrites a meeting, to"
            " move it reschedule it",
            field="data.meeting_id",
            refusal=Refusal(code=RefusalCode.MEETING_EXISTS),
        )
    if already_held:
        check_held_start(starts_at=starts_at, time=time)
        return
    check_start_ahead(
        starts_at=starts_at,
        time=time,
        rule="a new meeting is scheduled at a start still ahead; a meeting already held is recorded with already_held",
        code=RefusalCode.SCHEDULED_IN_THE_PAST,
    )


def check_same_start(
    others: Sequence[Mapping[str, Any]], *, meeting_id: str, source: str, starts_at: datetime, confirmed: bool
) -> None:
    """A secretary's schedule (`source` GATEWAY_SOURCE) starting less than shared.plausible.SAME_START_WINDOW (1 h)
    from another meeting of the cell not cancelled (`others`: {meeting_id, starts_at, location}, earliest first, as
    the repository's starting_near reads them) is refused naming `data.starts_at`, coded MEETING_AT_SAME_TIME, unless
    the secretary `confirmed` it is another meeting (shared.envelope.SAME_TIME_EXTENSION): a user trial scheduled one
    meeting twice by two submissions of the form, and every member got two notices. Judged under the cell's lock
    (handlers/locks.py: such a schedule holds its cell exclusively, every schedule holds it shared), so of two such
    schedules sent at the same moment, by two gateway replicas or two deliveries, the second sees the first. An
    integration's schedule is a fact and is not judged so."""
    if confirmed or not from_a_person(source) or not others:
        return
    other = others[0]
    place = other.get("location") or "no place given"
    raise InvalidEvent(
        f"data.starts_at: meeting {other['meeting_id']} of the cell starts at"
        f" {said_at(other['starts_at'], like=starts_at)} ({place}), less than {SAME_START_WINDOW} from"
        f" {starts_at.isoformat()}; if meeting {meeting_id} is another meeting, send it again with confirm_same_time"
        " true",
        field="data.starts_at",
        refusal=Refusal(code=RefusalCode.MEETING_AT_SAME_TIME),
    )


def check_schedule_keeps_held_start(
    existing: MeetingState | None, *, starts_at: datetime, version: Version, source: str, time: datetime
) -> None:
    """An integration's meeting.scheduled.v1 sent again for a known meeting with another start (`data.starts_at`),
    newer than the schedule or move that set the stored start (`version` against MeetingState.start_version, None
    read as older), moves the meeting as a meeting.rescheduled.v1 would: refused as one by check_not_moved_when_held,
    naming `data.starts_at`. The same start, or an older snapshot (which leaves the start as it is), is not a move.
    A secretary's schedule never reaches a known meeting (check_schedule)."""
    if existing is None or starts_at == existing.starts_at:
        return
    if existing.start_version is not None and not existing.start_version < version:
        return
    check_not_moved_when_held(existing, source=source, time=time, field="data.starts_at")


def check_held_start(*, starts_at: datetime, time: datetime) -> None:
    """A meeting a secretary records at `time` as already held has begun (begins_later, CLOCK_SKEW aside: its roster
    and minutes are recorded next, which check_command_after_start takes only then) and began at most
    shared.plausible.HELD_RECORD_WINDOW (7 days, the minutes' window MINUTES_START_WINDOW) before `time`; InvalidEvent
    naming `data.starts_at`, coded HELD_START_AHEAD or HELD_TOO_LONG_AGO, otherwise."""
    if begins_later(starts_at, time):
        raise InvalidEvent(
            f"data.starts_at: {starts_at.isoformat()} has not come yet; a meeting recorded as already held has begun"
            " (a meeting still ahead is scheduled without already_held, and its members are notified)",
            field="data.starts_at",
            refusal=Refusal(code=RefusalCode.HELD_START_AHEAD),
        )
    if held_too_long_ago(starts_at, time):
        days = HELD_RECORD_WINDOW.days
        raise InvalidEvent(
            f"data.starts_at: {starts_at.isoformat()} is more than {days} days before"
            f" {said_at(time, like=starts_at)}; a meeting already held is recorded within {days} days of its start",
            field="data.starts_at",
            refusal=Refusal(code=RefusalCode.HELD_TOO_LONG_AGO),
        )


def check_start_ahead(
    *,
    starts_at: datetime,
    time: datetime,
    rule: str,
    code: RefusalCode,
    passed: Callable[[datetime, datetime], bool] = already_past,
) -> None:
    """The one rule by which a secretary's schedule (check_schedule) and move (check_reschedule) are refused: a start
    `starts_at` already past at the command's `time` by `passed` (shared.plausible.already_past, CLOCK_SKEW aside, for
    a new meeting; shared.plausible.moved_into_the_past, no allowance, for a move), naming `data.starts_at` with
    `code` and saying `rule`."""
    if passed(starts_at, time):
        raise InvalidEvent(
            f"data.starts_at: {starts_at.isoformat()} is already past; {rule}",
            field="data.starts_at",
            refusal=Refusal(code=code),
        )


def require_not_cancelled(meeting: MeetingState, *, source: str, what: str) -> None:
    """A person (`source` GATEWAY_SOURCE) records nothing more for a cancelled meeting: every meeting fact (move,
    documents, roster, minutes, adoption, assessment, task done) is refused alike, naming `data.meeting_id`, coded
    MEETING_CANCELLED (a trial's documents were accepted while its roster was refused). An integration's fact of a
    cancelled meeting is stored all the same: facts arrive in any order and the state converges whatever the order
    (CONTRACT.md), and a cancelled meeting is never held nor scored whatever else is known of it (DOMAIN.md "How to
    read it")."""
    if from_a_person(source) and meeting.cancel_version is not None:
        raise InvalidEvent(
            f"data.meeting_id: meeting {meeting.meeting_id} is cancelled; {what} is impossible",
            field="data.meeting_id",
            refusal=Refusal(code=RefusalCode.MEETING_CANCELLED),
        )


def check_cancel(meeting: MeetingState, *, source: str, time: datetime) -> None:
    """A secretary cannot cancel a held meeting, one whose minutes are recorded (the form says so), nor one that took
    place at `time` (begun, its attendance recorded: check_not_taken_place); a roster alone does not make it held
    (DOMAIN.md "How to read it": minutes and not cancelled), so a meeting still ahead with a roster (an integration's,
    sent early) may be cancelled. An integration's cancellation is stored whatever
    else is known: a cancelled meeting is not held, and its earlier score is withdrawn (DOMAIN.md), so minutes then
    cancellation ends as cancellation then minutes."""
    if from_a_person(source) and meeting.has_minutes:
        raise InvalidEvent(
            f"data.meeting_id: meeting {meeting.meeting_id} was already held and cannot be cancelled",
            field="data.meeting_id",
            refusal=Refusal(code=RefusalCode.MEETING_ALREADY_HELD),
        )
    check_not_taken_place(meeting, source=source, time=time, what="cancelled")


def check_not_taken_place(
    meeting: MeetingState, *, source: str, time: datetime, what: str, starts_at: datetime | None = None
) -> None:
    """A secretary (`source` GATEWAY_SOURCE) neither cancels nor moves to a start still ahead (`what`: cancelled,
    rescheduled to `starts_at`) a meeting that took place at `time` (shared.plausible.took_place: begun, its attendance
    recorded, its minutes still to come): InvalidEvent coded MEETING_TOOK_PLACE, naming `data.meeting_id` for a
    cancellation and `data.starts_at` for a move to a start after `time`. A trial's meeting recorded as held on 05/12,
    all 14 present, was moved to 28/12 and every member mailed the new date. A move to a start already past
    (shared.plausible.moved_into_the_past) corrects when it took place and is taken: held a week late without being
    moved, its minutes are refused as far from the schedule until it is (check_minutes_start), so refusing it left the
    meeting with neither minutes nor a way to fix its start. Judged on the meeting as it stands, as check_cancel after
    the minutes; an integration's move or cancellation is stored whatever else is known (facts converge in any order,
    CONTRACT.md; docs/architecture.md "Ordering"). A meeting its secretary recorded as already held
    (`meeting.held_recorded_at`), its roster not yet taken, is moved only to a start already past too (a trial's
    meeting recorded as held on 04/12 was moved to 20/12 and its members mailed a "move" of a meeting they were never
    told of): if it did not take place it is cancelled, which such a meeting still may be."""
    taken = took_place(starts_at=meeting.starts_at, attendance_recorded=meeting.has_roster, now=time)
    recorded = starts_at is not None and meeting.held_recorded_at is not None
    if not from_a_person(source) or not (taken or recorded):
        return
    if starts_at is None:
        raise InvalidEvent(
            f"data.meeting_id: meeting {meeting.meeting_id} took place ({meeting.starts_at.isoformat()}, attendance"
            f" recorded) and cannot be {what}",
            field="data.meeting_id",
            refusal=Refusal(code=RefusalCode.MEETING_TOOK_PLACE),
        )
    if not taken and not moved_into_the_past(starts_at, time):
        raise InvalidEvent(
            f"data.starts_at: {starts_at.isoformat()} is not past; meeting {meeting.meeting_id} was recorded as already"
            f" held ({meeting.starts_at.isoformat()}) and is only moved to correct when it took place; if it did not"
            " take place, cancel it",
            field="data.starts_at",
            refusal=Refusal(code=RefusalCode.MEETING_TOOK_PLACE),
        )
    if not moved_into_the_past(starts_at, time):
        raise InvalidEvent(
            f"data.starts_at: {starts_at.isoformat()} is not past; meeting {meeting.meeting_id} took place"
            f" ({meeting.starts_at.isoformat()}, attendance recorded) and is only moved to correct when it took place",
            field="data.starts_at",
            refusal=Refusal(code=RefusalCode.MEETING_TOOK_PLACE),
        )


def check_reschedule(
    meeting: MeetingState, *, source: str, starts_at: datetime, time: datetime, version: Version | None = None
) -> None:
    """A secretary cannot move a cancelled meeting, one whose minutes are recorded (the form says so) or one that took
    place (begun, its attendance recorded) to a start still ahead (check_not_taken_place), nor move a
    meeting still ahead at `time` to a start already past (shared.plausible.moved_into_the_past: no CLOCK_SKEW, a move
    is a plan for the future; naming `data.starts_at`): a trial's move of a December meeting to November made it
    leave the members' upcoming meetings, count in a past month and have the secretary at once told its minutes
    were late, and another's move to a few minutes before now was taken and mailed (trial 19 #2). A meeting whose
    start has passed may be moved to another past start, its attendance recorded or not: that corrects the
    record of when it took place (held a week late without being moved, its minutes are refused as far from the
    schedule until it is). An integration's move
    is judged by event time: refused when issued after the cancellation (check_not_moved_when_cancelled) or after the
    meeting was held (check_not_moved_when_held). `version` is the move's (time, ns, id), its `time` alone when not
    given."""
    check_not_moved_when_cancelled(meeting, source=source, version=version or (time, 0, ""))
    check_not_moved_when_held(meeting, source=source, time=time, starts_at=starts_at)
    check_not_taken_place(meeting, source=source, time=time, what="rescheduled", starts_at=starts_at)
    if from_a_person(source) and meeting.starts_at > time:
        check_start_ahead(
            starts_at=starts_at,
            time=time,
            rule="a meeting still ahead is moved to a start still ahead",
            code=RefusalCode.MOVED_INTO_THE_PAST,
            passed=moved_into_the_past,
        )
    check_move_keeps_notice(meeting, source=source, starts_at=starts_at)


def first_cancellation(meeting: MeetingState, version: Version) -> tuple[Version, Version]:
    """The (earliest, latest) cancellation versions of `meeting` once a cancellation of `version` is stored. A
    meeting is cancelled from its earliest cancellation on: a later one restates it with its own reason (the latest
    wins, CONTRACT.md snapshots) but does not make a move issued in between a move of a meeting going ahead
    (check_not_moved_when_cancelled judges by the earliest), whatever order they arrive in."""
    first, last = meeting.cancel_version, meeting.last_cancel_version or meeting.cancel_version
    return (version if first is None or version < first else first), (
        version if last is None or last < version else last
    )


def check_not_moved_when_cancelled(meeting: MeetingState, *, source: str, version: Version) -> None:
    """The one rule refusing a move of a cancelled meeting, for a secretary's reschedule and an integration's
    meeting.rescheduled.v1 alike: InvalidEvent naming `data.meeting_id`, coded MEETING_CANCELLED. A secretary's move
    (sent now, after anything stored) is refused once the meeting is cancelled. An integration's is refused when it was
    issued after the meeting was cancelled (its `version`, (time, ns, id), newer than `meeting.cancel_version`, the
    earliest cancellation: first_cancellation): a trial's move
    of a cancelled meeting was answered `accepted` and moved its start unsaid. A move issued before the cancellation
    is a fact that arrived late and is stored as any (CONTRACT.md: "Order is not guaranteed ... the latest `time`
    wins"); one issued after it arriving first is undone when the cancellation arrives (moves_undone_by_cancellation),
    so either arrival order ends with the same start and the move rejected (CONTRACT.md: "The system converges to the
    same state whatever order"; "A rejection is never silent")."""
    cancelled = meeting.cancel_version
    if cancelled is None or (not from_a_person(source) and not cancelled < version):
        return
    raise InvalidEvent(
        f"data.meeting_id: meeting {meeting.meeting_id} is cancelled and cannot be rescheduled",
        field="data.meeting_id",
        refusal=Refusal(code=RefusalCode.MEETING_CANCELLED),
    )


def check_not_rescheduled_when_cancelled(existing: MeetingState | None, *, source: str, version: Version) -> None:
    """An integration's meeting.scheduled.v1 of a known meeting issued after its earliest cancellation (`version`
    newer than `existing.cancel_version`, first_cancellation) is refused naming `data.meeting_id`, coded
    MEETING_CANCELLED, as a move so issued is (check_not_moved_when_cancelled): it was stored silently, the meeting
    still cancelled while its start, place, kind and agenda took the new schedule's. DOMAIN.md and CONTRACT.md know no
    reopening (a meeting is held when it has minutes "and is not cancelled"; "once cancelled" its score is withdrawn),
    so a meeting held after all is scheduled under a new id. One issued before the cancellation is a late fact, stored;
    one issued after it arriving first is undone when the cancellation arrives (moves_undone_by_cancellation), so
    either order ends alike. A secretary's schedule never reaches a known meeting (check_schedule)."""
    cancelled = existing.cancel_version if existing is not None else None
    if existing is None or cancelled is None or from_a_person(source) or not cancelled < version:
        return
    raise InvalidEvent(
        f"data.meeting_id: meeting {existing.meeting_id} is cancelled ({said_at(cancelled[0], like=version[0])})"
        " and a schedule issued after that neither reopens nor changes it; a meeting held after all is scheduled"
        " under a new meeting_id",
        field="data.meeting_id",
        refusal=Refusal(code=RefusalCode.MEETING_CANCELLED),
    )


def check_move_keeps_notice(meeting: MeetingState, *, source: str, starts_at: datetime) -> None:
    """Refuse a secretary's move (`source` GATEWAY_SOURCE) of a meeting whose members were notified before its start
    (`meeting.notified_at`) to a start `starts_at` at or before that notice, naming `data.starts_at`, coded
    MOVED_BEFORE_NOTICE: the notice would read as given after the meeting began and score `preparation.notified` 0
    unsaid (DOMAIN.md "Before" and "How to read it": the start after any rescheduling, "before" strict), which a
    secretary's own schedule is refused for (notified_after_start; shared.plausible.notified_before_start is the rule
    of both). A notice already not before the start (a meeting recorded as already held without one, an
    integration's late notice) is not made late by a move, which is taken. An integration's move is a fact of its
    record, taken and scored as not notified, as its late `notified_at` is."""
    notified_at = meeting.notified_at
    if not from_a_person(source) or notified_at is None:
        return
    if notified_before_start(notified_at, meeting.starts_at) and not notified_before_start(notified_at, starts_at):
        told = notified_at.astimezone(starts_at.tzinfo)
        raise InvalidEvent(
            f"data.starts_at: {starts_at.isoformat()} is not after the members were notified of meeting"
            f" {meeting.meeting_id} ({told.isoformat()}): a meeting is moved to a start after its notice",
            field="data.starts_at",
            refusal=Refusal(code=RefusalCode.MOVED_BEFORE_NOTICE),
        )


HELD_START_CORRECTION = (
    "a move made before the meeting was held is sent with the `time` it was made in your system (at or before the"
    " minutes' data.ended_at); a meeting recorded on the wrong day is cancelled (meeting.cancelled.v1) and scheduled"
    " again under a new meeting_id at its real start, with its roster and minutes"
)
"""What an integration whose move of a held meeting is refused does instead (docs/integrations.md "A move after the
meeting"): its start is not moved after it was held, as a secretary's is not."""


def check_not_moved_when_held(
    meeting: MeetingState,
    *,
    source: str,
    time: datetime,
    field: str | None = None,
    starts_at: datetime | None = None,
) -> None:
    """The one rule refusing a move of a meeting already held, for a secretary's reschedule and any source's
    meeting.rescheduled.v1 or re-sent meeting.scheduled.v1 with another start: InvalidEvent coded
    MEETING_MINUTES_RECORDED, naming `field` (by default `data.meeting_id` for a secretary, whose form says the
    meeting's state, and `data.starts_at` for an integration, told what to do instead: HELD_START_CORRECTION; a
    trial's integrator, told only `data.meeting_id`, could not see how to correct a held meeting's date). A
    secretary's move is refused once the meeting's minutes are recorded (the form says so). An integration's is
    refused when minutes are recorded and the move was issued (its CloudEvents `time`) after the meeting ended by
    those minutes (`data.ended_at`): a trial's move of a meeting held on 02/12, issued on 03/12, set it to 20/12 and
    mailed every member about a meeting held the day before. A move issued before the meeting ended is a fact that
    arrived late and is stored as any (the latest by (time, id) setting the start), so a normal stream (moved, then
    held) ends alike in any arrival order. The move issued after the end arriving before the minutes is undone by them
    (moves_undone_by_minutes), so it ends rejected in either order. A secretary's correction of when a held meeting
    took place, its minutes not adopted, to a start `starts_at` already past at `time` (shared.plausible.
    moved_into_the_past; members are not notified of it) is taken: minutes saved on a wrong day could not be
    corrected otherwise, the form refusing minutes on another day than the meeting's (a trial's minutes of 04/12
    resent for 03/12 were told to use "Đổi lịch", which a held meeting's page did not show); a person's move is never
    undone by minutes (moves_undone_by_minutes undoes integrations' only)."""
    if not meeting.has_minutes:
        return
    person = from_a_person(source)
    if person and starts_at is not None and moved_into_the_past(starts_at, time) and not meeting.adopted:
        return
    ended = meeting.minutes_ended_at
    if not person and (ended is None or time <= ended):
        return
    named = field or ("data.meeting_id" if person else "data.starts_at")
    after = (
        "" if ended is None or time <= ended else f" (it ended {said_at(ended, like=time)}, before {time.isoformat()})"
    )
    instead = "" if person else f": {HELD_START_CORRECTION}"
    raise InvalidEvent(
        f"{named}: meeting {meeting.meeting_id} was already held and cannot be rescheduled{after}{instead}",
        field=named,
        refusal=Refusal(code=RefusalCode.MEETING_MINUTES_RECORDED),
    )


@dataclass(frozen=True)
class StartFact:
    """A schedule (`kind` schedule) or move (`kind` move) of a meeting as stored beside its current start: its
    version, source, start, place and reason (a move's), the event's text (for its rejection when undone)."""

    version: Version
    kind: str
    source: str
    starts_at: datetime
    location: str | None
    reason: str | None
    raw: str
    sender: str | None = None
    """The account that sent it (meetings 0038; None: not known, or kept before), its rejection's when undone."""


@dataclass(frozen=True)
class UndoneMoves:
    """What minutes ending at some moment make of a meeting's start facts (moves_undone_by_minutes): the moves they
    undo, oldest first, the fact whose start is then in force, and the latest place given by a fact kept."""

    undone: list[StartFact]
    start: StartFact
    location: StartFact | None
    schedule: StartFact | None = None
    """The latest schedule kept, when a schedule is among the undone facts (its fields are then restored from it)."""


def scheduled_from_fact(fact: StartFact) -> tuple[contract.MeetingScheduled, datetime]:
    """The schedule a kept schedule fact's event text says, and when its members count as notified (its
    `data.notified_at`, else the event's `time`, as apply_scheduled takes them)."""
    data = contract.MeetingScheduled.model_validate_json(json.dumps(json.loads(fact.raw)["data"]))
    return data, data.notified_at or fact.version[0]


def moves_undone_by_minutes(facts: Sequence[StartFact], *, ended_at: datetime) -> UndoneMoves | None:
    """The integrations' moves (not from a person) issued after `ended_at`, the end the minutes give: the moves
    check_not_moved_when_held refuses when they arrive after those minutes, which the minutes undo when they arrive
    after the moves, so that either order ends with the meeting held at the start in force before them and the moves
    rejected (CONTRACT.md: the same state whatever the arrival order). None when there is nothing to undo or no fact
    is left to take the start from (a meeting stored before its facts were kept: judged as it stands)."""
    return _moves_undone(facts, after=lambda fact: fact.version[0] > ended_at)


def moves_undone_by_cancellation(facts: Sequence[StartFact], *, cancelled: Version) -> UndoneMoves | None:
    """The integrations' moves (not from a person) issued after the cancellation of version `cancelled`: the moves
    check_not_moved_when_cancelled refuses when they arrive after it, which the cancellation undoes when it arrives
    after them, so either order ends with the start in force before them and the moves rejected (CONTRACT.md). None
    when there is nothing to undo or no fact is left to take the start from."""
    return _moves_undone(facts, after=lambda fact: cancelled < fact.version, kinds=("move", "schedule"))


def _moves_undone(
    facts: Sequence[StartFact], *, after: Callable[[StartFact], bool], kinds: tuple[str, ...] = ("move",)
) -> UndoneMoves | None:
    """The integrations' facts of `kinds` among `facts` that `after` selects, the fact then in force, the place kept
    and, when a schedule is undone, the latest schedule kept (a schedule is undone only while an earlier one is kept:
    the one that created the meeting stands, as nothing else says what the meeting is)."""
    ordered = sorted(facts, key=lambda fact: fact.version)
    undone = [f for f in ordered if f.kind in kinds and not from_a_person(f.source) and after(f)]
    schedules = [fact for fact in ordered if fact.kind == "schedule" and fact not in undone]
    if not schedules:
        undone = [fact for fact in undone if fact.kind != "schedule"]
    kept = [fact for fact in ordered if fact not in undone]
    if not undone or not kept:
        return None
    placed = [fact for fact in kept if fact.location is not None]
    schedule = schedules[-1] if any(fact.kind == "schedule" for fact in undone) else None
    return UndoneMoves(undone=undone, start=kept[-1], location=placed[-1] if placed else None, schedule=schedule)


def undone_move_refusal(meeting: MeetingState, fact: StartFact, *, ended_at: datetime) -> InvalidEvent:
    """The rejection an undone move gets: the one check_not_moved_when_held gives it arriving after the minutes."""
    held = replace(meeting, has_minutes=True, minutes_ended_at=ended_at)
    try:
        check_not_moved_when_held(held, source=fact.source, time=fact.version[0])
    except InvalidEvent as exc:
        return exc
    raise ValueError(f"move {fact.version[2]} is not undone by minutes ending {ended_at.isoformat()}")


def cancelled_move_refusal(meeting: MeetingState, fact: StartFact, *, cancelled: Version) -> InvalidEvent:
    """The rejection a move undone by the cancellation `cancelled` gets: the one check_not_moved_when_cancelled gives
    it arriving after that cancellation."""
    try:
        then = replace(meeting, cancel_version=cancelled)
        if fact.kind == "schedule":
            check_not_rescheduled_when_cancelled(then, source=fact.source, version=fact.version)
        check_not_moved_when_cancelled(then, source=fact.source, version=fact.version)
    except InvalidEvent as exc:
        return exc
    raise ValueError(f"move {fact.version[2]} is not undone by the cancellation {cancelled[2]}")


def is_held(*, cancelled: bool, has_minutes: bool) -> bool:
    """Whether a meeting is held: it has minutes and is not cancelled (DOMAIN.md "How to read it, exactly"); a
    roster alone does not make it held."""
    return has_minutes and not cancelled


def meeting_status(*, cancelled: bool, has_minutes: bool, approved: bool) -> str:
    """scheduled | cancelled | minutes_submitted | minutes_approved: `scheduled` until the meeting is held
    (is_held), a roster recorded or not (the API's `attendance` says whether one is)."""
    if cancelled:
        return "cancelled"
    if not is_held(cancelled=cancelled, has_minutes=has_minutes):
        return "scheduled"
    return "minutes_approved" if approved else "minutes_submitted"


@dataclass(frozen=True)
class AttendanceEntry:
    """One member's status on one meeting's roster; `held` when the meeting has minutes and is not cancelled."""

    meeting_id: str
    starts_at: datetime
    status: str
    held: bool = True


@dataclass(frozen=True)
class AttendanceHistory:
    """Runs and counts derived from a member's rosters."""

    consecutive_absences: int
    consecutive_excused_absences: int
    unexcused_months_last_year: int


def attendance_history(entries: Iterable[AttendanceEntry]) -> AttendanceHistory:
    """Absence runs up to the latest held meeting and unexcused months in the 12 months before it; a roster of a
    meeting not held (no minutes yet, or cancelled) counts for nothing (DOMAIN.md "How to read it, exactly")."""
    counted = sorted(
        (e for e in entries if e.held and e.status in COUNTED_STATUSES), key=lambda e: (e.starts_at, e.meeting_id)
    )
    absences = 0
    for entry in reversed(counted):
        if entry.status not in ABSENT_STATUSES:
            break
        absences += 1
    excused = 0
    for entry in reversed(counted):
        if entry.status != "excused":
            break
        excused += 1
    months: set[str] = set()
    if counted:
        latest = counted[-1].starts_at
        since = latest - timedelta(days=365)
        months = {month_of(e.starts_at) for e in counted if e.status == "absent" and e.starts_at > since}
    return AttendanceHistory(
        consecutive_absences=absences,
        consecutive_excused_absences=excused,
        unexcused_months_last_year=len(months),
    )


def parse_period(period: str) -> tuple[datetime, datetime]:
    """`YYYY-MM`, `YYYY-Qn`, `YYYY-Hn` (a report's half-year) or `YYYY` → [start, end) in Vietnam time; InvalidEvent
    naming `period` otherwise."""
    try:
        return period_bounds(period)
    except ValueError:
        raise InvalidEvent(f"period: {period!r} is not YYYY-MM, YYYY-Qn, YYYY-Hn or YYYY", field="period") from None
