"""The stored facts one meeting's score is computed from, as plain immutable values."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from shared.membership import version_in_force
from shared.periods import local_date

ASSESSOR_RANK = {"cell_committee": 0, "members_vote": 1, "upper_monitor": 2}
"""Higher wins: the upper-level monitor's confirmation over the members' vote over the committee's proposal."""


@dataclass(frozen=True)
class Document:
    kind: str
    published_at: datetime


@dataclass(frozen=True)
class Resolution:
    votes_for: int
    votes_against: int
    abstentions: int


@dataclass(frozen=True)
class Minutes:
    started_at: datetime
    ended_at: datetime
    speakers: frozenset[str]
    resolutions: tuple[Resolution, ...]
    task_count: int
    self_criticism_minutes: int | None = None
    content: str | None = None
    conclusions: str | None = None

    @property
    def duration_minutes(self) -> float:
        """The minutes' end minus their start, in minutes."""
        return (self.ended_at - self.started_at).total_seconds() / 60


@dataclass(frozen=True)
class Assessment:
    role: str
    time: datetime
    event_id: str
    points: Mapping[str, float]
    ns: int = 0
    """The nanoseconds of `time` below its microsecond: within a role the latest assessment wins."""


@dataclass(frozen=True)
class TaskOutcome:
    due_on: date
    completed_on: date | None
    assigned_on: date | None = None
    """The local day of the meeting that assigned the task, when known."""

    @property
    def on_time(self) -> bool:
        """Done no later than its due date, and not before the meeting that assigned it (a completion dated earlier
        cannot be true; meetings rejects it, and one stored before that rule never counts as on time)."""
        if self.completed_on is None or (self.assigned_on is not None and self.completed_on < self.assigned_on):
            return False
        return self.completed_on <= self.due_on


@dataclass(frozen=True)
class MeetingFacts:
    """Everything a meeting's score depends on, gathered from the projection."""

    meeting_id: str
    cell_id: str
    kind: str
    starts_at: datetime
    notified_at: datetime | None = None
    committee_prepared: bool | None = None
    cancelled: bool = False
    cell_has_committee: bool = False
    """Whether a member held the role committee_member in the cell at the meeting's start."""
    cell_members: int | None = None
    """Members the snapshots in force at the meeting's start put in the cell (members_in_cell_at); None when not
    read. With no roster the resolution's votes are judged against them."""
    """The ids of those members (cell_members); None when not read."""
    documents: tuple[Document, ...] = ()
    roster: Mapping[str, str] | None = None
    """member id → present | excused | absent | exempt | transferred, or None before any roster."""
    minutes: Minutes | None = None
    approved_at: datetime | None = None
    approval_voted: bool | None = None
    """Whether the adoption (`approved_at`) gives its votes for (minutes.approved.v1 `votes_for`, which meetings only
    takes as a majority of the votes cast): False for an integration's adoption without them (CONTRACT.md makes them
    optional); None when not known, an adoption stored before evaluation kept its votes (migration 0039), scored as
    adopted as it was then (docs/architecture.md "An adoption's votes")."""
    assessments: tuple[Assessment, ...] = ()
    previous_tasks: tuple[TaskOutcome, ...] | None = None
    """Tasks of the previous held regular/combined meeting; None when there is no such meeting."""
    previous_id: str | None = None
    """That previous meeting's id (None: none), named on the `results` line's reason."""
    previous_start: datetime | None = None
    """That previous meeting's start."""
    previous_recorded_late: bool = False
    """Whether that previous meeting had its minutes first recorded after this one's and so changed its `results`
    points (scoring.results_moved, against the previous meeting it had before): the line says its score was
    recalculated and why."""
    excused_runs: Mapping[str, int] = field(default_factory=dict)
    """Per member on the roster: excused absences in a row ending at this meeting."""
    absence_runs: Mapping[str, int] = field(default_factory=dict)
    """Per member on the roster: absences (excused or not) in a row ending at this meeting."""
    scored_at: datetime | None = None
    """The moment of scoring: a time limit not over at it (the final documents' hours after the end) is not missed
    yet. None: every limit is over (a score read as of any later time)."""

    @property
    def held(self) -> bool:
        """A meeting is held when it has minutes and is not cancelled."""
        return self.minutes is not None and not self.cancelled

    @property
    def local_date(self) -> date:
        """The meeting's date in Vietnam (+07:00)."""
        return local_date(self.starts_at)

    def count(self, status: str) -> int:
        """How many roster records have this status."""
        return sum(1 for value in (self.roster or {}).values() if value == status)

    @property
    def attendance_counted(self) -> int:
        """present + excused + absent: exempt and transferred members are out of the rate."""
        return self.count("present") + self.count("excused") + self.count("absent")

    @property
    def speakers_present(self) -> int:
        """Speakers in the minutes who were present on the roster."""
        if self.minutes is None or self.roster is None:
            return 0
        return sum(1 for member in self.minutes.speakers if self.roster.get(member) == "present")


def attendance_runs(rosters: Sequence[Mapping[str, str]]) -> tuple[dict[str, int], dict[str, int]]:
    """Excused and any-absence runs ending at the last roster, per member on it, over rosters oldest first.

    A meeting where a member is not listed, exempt or transferred neither breaks nor extends a run.
    """
    if not rosters:
        return {}, {}
    excused: dict[str, int] = {}
    absent: dict[str, int] = {}
    for member in rosters[-1]:
        excused_run = absence_run = 0
        excused_open = absence_open = True
        for roster in reversed(rosters):
            status = roster.get(member)
            if status == "excused":
                excused_run += excused_open
                absence_run += absence_open
            elif status == "absent":
                excused_open = False
                absence_run += absence_open
            elif status == "present":
                break
            if not excused_open and not absence_open:
                break
        excused[member] = excused_run
        absent[member] = absence_run
    return excused, absent


COMMITTEE_ROLE = "committee_member"


@dataclass(frozen=True)
class MemberSnapshot:
    """One member.upserted.v1 fact as stored: where the member was and in which role, from its time on."""

    member_id: str
    time: datetime
    event_id: str
    cell_id: str
    role: str
    ns: int = 0
    """The nanoseconds of `time` below its microsecond."""


@dataclass(frozen=True)
class MemberRemoval:
    """The latest member.removed.v1 fact of a member."""

    member_id: str
    effective_on: date
    time: datetime
    event_id: str
    ns: int = 0
    """The nanoseconds of `time` below its microsecond."""


def _snapshot_order(snapshot: MemberSnapshot) -> tuple[datetime, int, str]:
    return (snapshot.time, snapshot.ns, snapshot.event_id)


def snapshot_at(snapshots: Sequence[MemberSnapshot], moment: datetime) -> MemberSnapshot | None:
    """The latest snapshot not after `moment`; when none is that early, the earliest (feeds load members late)."""
    found = version_in_force(snapshots, moment, order=_snapshot_order)
    return found[0] if found else None


def members_in_cell_at(
    *,
    cell_id: str,
    moment: datetime,
    snapshots: Sequence[MemberSnapshot],
    removals: Mapping[str, MemberRemoval],
) -> list[MemberSnapshot]:
    """The snapshot in force at `moment` (snapshot_at) of each member it puts in the cell and not removed by then
    (a removal effective on or before the moment's local day, stated after that snapshot): the cell's members at
    `moment` (DOMAIN.md "How to read it": members judged by the snapshots in force at the meeting's start)."""
    by_member: dict[str, list[MemberSnapshot]] = {}
    for snapshot in snapshots:
        by_member.setdefault(snapshot.member_id, []).append(snapshot)
    local_day = local_date(moment)
    found = []
    for member_id, history in by_member.items():
        current = snapshot_at(history, moment)
        if current is None or current.cell_id != cell_id:
            continue
        removal = removals.get(member_id)
        if (
            removal is not None
            and removal.effective_on <= local_day
            and (removal.time, removal.ns, removal.event_id) > (current.time, current.ns, current.event_id)
        ):
            continue
        found.append(current)
    return found


def has_committee_at(
    *,
    cell_id: str,
    moment: datetime,
    snapshots: Sequence[MemberSnapshot],
    removals: Mapping[str, MemberRemoval],
) -> bool:
    """Whether some member was a committee_member of the cell at `moment` (and not removed by then)."""
    members = members_in_cell_at(cell_id=cell_id, moment=moment, snapshots=snapshots, removals=removals)
    return any(member.role == COMMITTEE_ROLE for member in members)
