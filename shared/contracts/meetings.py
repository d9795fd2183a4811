"""Event types owned by the meetings service: the facts of CONTRACT.md's "types in"."""

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Protocol, TypeVar

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, field_validator

from shared.contracts.base import (
    Count,
    Day,
    EventData,
    Flag,
    Identifier,
    Items,
    MeetingTime,
    Name,
    Text,
    Timestamp,
    Whole,
)
from shared.text import require_text, with_article
from shared.web_address import mail_address, web_address


class UnitKind(StrEnum):
    COMMITTEE = "committee"
    CELL = "cell"


class CellCategory(StrEnum):
    RESIDENTIAL = "residential"
    AGENCY = "agency"
    PUBLIC_SERVICE = "public_service"
    STATE_ENTERPRISE = "state_enterprise"
    PRIVATE_ENTERPRISE = "private_enterprise"
    SCHOOL = "school"
    MILITARY = "military"
    POLICE = "police"
    OTHER = "other"


class MemberStatus(StrEnum):
    OFFICIAL = "official"
    PROBATIONARY = "probationary"


class MemberRole(StrEnum):
    SECRETARY = "secretary"
    DEPUTY_SECRETARY = "deputy_secretary"
    COMMITTEE_MEMBER = "committee_member"
    MEMBER = "member"


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"


class RemovalReason(StrEnum):
    TRANSFERRED = "transferred"
    DECEASED = "deceased"
    REMOVED = "removed"
    EXPELLED = "expelled"
    OTHER = "other"


class MeetingKind(StrEnum):
    REGULAR = "regular"
    THEMATIC = "thematic"
    COMBINED = "combined"
    EXTRAORDINARY = "extraordinary"


REGULAR_KINDS = (MeetingKind.REGULAR.value, MeetingKind.COMBINED.value)
"""The kinds of meeting a month is rated by (DOMAIN.md, Periods: its latest held regular or combined meeting)."""
THEMATIC_KINDS = (MeetingKind.THEMATIC.value, MeetingKind.COMBINED.value)
"""The kinds of meeting that count as a quarter's thematic meeting (DOMAIN.md, Periods)."""


class DocumentKind(StrEnum):
    CONTENT = "content"
    DRAFT_RESOLUTION = "draft_resolution"
    MINUTES = "minutes"
    RESOLUTION = "resolution"
    OTHER = "other"


class AttendanceStatus(StrEnum):
    PRESENT = "present"
    EXCUSED = "excused"
    ABSENT = "absent"
    EXEMPT = "exempt"
    TRANSFERRED = "transferred"


class AssessorRole(StrEnum):
    CELL_COMMITTEE = "cell_committee"
    MEMBERS_VOTE = "members_vote"
    UPPER_MONITOR = "upper_monitor"


Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254), BeforeValidator(mail_address)]
"""An e-mail address; its domain's IDNA dot equivalents (`ví-dụ。vn`) read as `.` (shared.web_address.mail_address)."""
Said = Annotated[Text, Field(min_length=1), AfterValidator(require_text)]
"""Free text that must say something: an agenda item, a reason, a resolution, a task (1-10,000 characters, some
visible: shared.text.has_text)."""
MAX_SCORED_ITEMS = 200
"""An assessment scores at most 200 items."""
MAX_POINTS = 100_000
"""An assessment's points for one item are at most 100,000 (the framework's item maximum is checked by meetings)."""
ITEM_CODE_PATTERN = r"^[a-z_]+(\.[a-z_]+)*$"
"""The form of a framework item's code (CONTRACT.md: lower-case letters and underscores, parts joined by dots)."""
ITEM_CODE_MAX = 64
"""The longest item code, in characters."""
NOT_IN_FRAMEWORK = "not an item of the framework in force"
"""How a point's code no item of the framework in force has is refused, whether its form already says so
(item_code) or the framework lacks it (shared.contracts.frameworks.check_points): one kind of reason, one wording."""
_ITEM_CODE = re.compile(ITEM_CODE_PATTERN)


def item_code(value: Any) -> Any:
    """`value` unchanged; ValueError saying it is no item of the framework in force when it is text out of the item
    codes' form (a trial's `ZZ9` was told only pydantic's regex, under `data.points.ZZ9.[key]`). The schema's
    pattern and length still apply after it: this only words the refusal."""
    if isinstance(value, str) and (len(value) > ITEM_CODE_MAX or not _ITEM_CODE.match(value)):
        raise ValueError(
            f"{NOT_IN_FRAMEWORK}: an item code is lower-case letters a-z and underscores, its parts separated by"
            f" dots (such as attendance.rate), at most {ITEM_CODE_MAX} characters"
        )
    return value


ItemCode = Annotated[str, Field(pattern=ITEM_CODE_PATTERN, max_length=ITEM_CODE_MAX), BeforeValidator(item_code)]
"""A framework item's code, such as `attendance.rate`."""
PointValue = Annotated[float, Field(strict=True, ge=0, le=MAX_POINTS, allow_inf_nan=False)]
"""Points given to one item: a finite JSON number (never text) from 0."""


class OrgUnitUpserted(EventData):
    """org.unit.upserted.v1: a snapshot of one committee or cell."""

    id: Identifier
    name: Name
    kind: UnitKind
    parent_id: Identifier | None
    category: CellCategory | None = None
    contact_emails: Annotated[list[Email], Items] = Field(default_factory=list)
    active: Flag = True

    @field_validator("parent_id")
    @classmethod
    def _not_own_parent(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and value == info.data.get("id"):
            raise ValueError("a unit cannot be its own parent")
        return value


class MemberUpserted(EventData):
    """member.upserted.v1: a snapshot of one party member."""

    id: Identifier
    full_name: Name
    cell_id: Identifier
    status: MemberStatus
    role: MemberRole = MemberRole.MEMBER
    gender: Gender | None = None
    birth_year: Annotated[Whole, Field(ge=1900, le=2100)] | None = None
    admitted_on: Day | None = None
    exempt: Flag = False
    email: Email | None = None
    phone: Annotated[str, Field(pattern=r"^\+?[0-9 .-]{6,20}$")] | None = None


class MemberRemoved(EventData):
    """member.removed.v1: a member leaves the cell's roll."""

    id: Identifier
    reason: RemovalReason
    effective_on: Day


class MonitorAssigned(EventData):
    """monitor.assigned.v1: an upper-level committee member follows a cell."""

    person_id: Identifier
    full_name: Name
    committee_id: Identifier
    cell_id: Identifier
    email: Email | None = None
    yearly_quota: Count | None = None


def topic_for_kind(topic: str | None, kind: Any) -> str | None:
    """The topic, or ValueError when a thematic or combined meeting has none (DOMAIN.md: a thematic meeting is on
    a planned topic); for the validators of meeting.scheduled.v1 and of the gateway's schedule command alike."""
    if topic is None and kind in (MeetingKind.THEMATIC, MeetingKind.COMBINED):
        raise ValueError(f"{with_article(MeetingKind(kind).value)} meeting needs a topic")
    return topic


class MeetingScheduled(EventData):
    """meeting.scheduled.v1: a cell schedules a meeting."""

    meeting_id: Identifier
    cell_id: Identifier
    kind: MeetingKind
    topic: Name | None = Field(default=None, validate_default=True)
    starts_at: MeetingTime
    location: Name
    agenda: Annotated[list[Said], Items]
    notified_at: Timestamp | None = None
    committee_prepared: Flag | None = None

    @field_validator("topic")
    @classmethod
    def _topic_for_thematic(cls, value: str | None, info: ValidationInfo) -> str | None:
        return topic_for_kind(value, info.data.get("kind"))


class MeetingRescheduled(EventData):
    """meeting.rescheduled.v1: a new start (and maybe place) for a scheduled meeting."""

    meeting_id: Identifier
    starts_at: MeetingTime
    location: Name | None = None
    reason: Text | None = None


class MeetingCancelled(EventData):
    """meeting.cancelled.v1: a scheduled meeting will not take place."""

    meeting_id: Identifier
    reason: Said


DocumentUrl = Annotated[str, Field(max_length=2048), AfterValidator(web_address)]
"""Where members open a document: an http(s) URI or IRI, kept as written (shared.web_address: a trial's
`javascript:alert(1)` and `ftp://x` were accepted, then `https://ví-dụ.vn/a.pdf` refused as not beginning with http)."""


class DocumentItem(EventData):
    title: Name
    kind: DocumentKind
    url: DocumentUrl | None = None


class DocumentsPublished(EventData):
    """documents.published.v1: documents of a meeting made available to members."""

    meeting_id: Identifier
    published_at: Timestamp
    items: Annotated[list[DocumentItem], Field(min_length=1), Items]


class AttendanceRecord(EventData):
    member_id: Identifier
    status: AttendanceStatus
    reason: Text | None = None


class Guest(EventData):
    name: Name
    person_id: Identifier | None = None
    committee_id: Identifier | None = None


class _Keyed(Protocol):
    @property
    def member_id(self) -> str: ...


_R = TypeVar("_R", bound=_Keyed)


def unique_members(records: list[_R]) -> list[_R]:
    """The roster records unchanged, each with a `member_id`; ValueError naming the member listed twice (a roster's
    rows are keyed by member, CONTRACT.md attendance.recorded.v1)."""
    seen: set[str] = set()
    for record in records:
        if record.member_id in seen:
            raise ValueError(f"member {record.member_id} is listed twice")
        seen.add(record.member_id)
    return records


class AttendanceRecorded(EventData):
    """attendance.recorded.v1: the full roster of one meeting; a later one replaces it."""

    meeting_id: Identifier
    records: Annotated[list[AttendanceRecord], Items]
    guests: Annotated[list[Guest], Items] = Field(default_factory=list)

    @field_validator("records")
    @classmethod
    def _unique_members(cls, value: list[AttendanceRecord]) -> list[AttendanceRecord]:
        return unique_members(value)


class Resolution(EventData):
    text: Said
    votes_for: Count
    votes_against: Count
    abstentions: Count


class Task(EventData):
    task_id: Identifier
    assignee_id: Identifier
    description: Said
    due_on: Day


class MinutesSubmitted(EventData):
    """minutes.submitted.v1: the minutes of a held meeting."""

    meeting_id: Identifier
    started_at: MeetingTime
    ended_at: Timestamp
    chair_id: Identifier
    recorder_id: Identifier
    speakers: Annotated[list[Identifier], Items]
    self_criticism_minutes: Count | None = None
    content: Text | None = None
    conclusions: Text | None = None
    resolutions: Annotated[list[Resolution], Items]
    tasks: Annotated[list[Task], Items]

    @field_validator("ended_at")
    @classmethod
    def _ends_after_start(cls, value: datetime, info: ValidationInfo) -> datetime:
        started = info.data.get("started_at")
        if started is not None and value <= started:
            raise ValueError("the meeting must end after it starts")
        return value

    @field_validator("tasks")
    @classmethod
    def _unique_tasks(cls, value: list[Task]) -> list[Task]:
        if len({task.task_id for task in value}) != len(value):
            raise ValueError("task ids must be unique")
        return value


class MinutesApproved(EventData):
    """minutes.approved.v1: the cell adopted the minutes."""

    meeting_id: Identifier
    approved_at: Timestamp
    votes_for: Count | None = None
    votes_against: Count | None = None


class Assessor(EventData):
    role: AssessorRole
    person_id: Identifier | None = None


class MeetingAssessed(EventData):
    """meeting.assessed.v1: manual points for items of the framework in force."""

    meeting_id: Identifier
    assessor: Assessor
    points: Annotated[dict[ItemCode, PointValue], Field(max_length=MAX_SCORED_ITEMS)]
    comment: Text | None = None

    @field_validator("points")
    @classmethod
    def _some_points(cls, value: dict[str, float]) -> dict[str, float]:
        if not value:
            raise ValueError("at least one item must be scored")
        return value


class TaskCompleted(EventData):
    """task.completed.v1: an assigned task is done."""

    task_id: Identifier
    meeting_id: Identifier
    completed_on: Day


class MemberAttendanceUpdated(EventData):
    """member.attendance.updated.v1: a member's attendance history after a roster changed."""

    member_id: Identifier
    cell_id: Identifier
    meeting_id: Identifier
    full_name: Name
    consecutive_absences: Count
    """Meetings in a row, up to the latest held one, the member missed (excused or not)."""
    consecutive_excused_absences: Count
    unexcused_months_last_year: Count
    """Distinct months of the last 12 with an unexcused absence."""
    probation_ends_on: Day | None = None
    sequence: Annotated[int, Field(strict=True, ge=1)] | None = None
    """The member's announcements numbered 1, 2, … in the order meetings published them (a re-delivery keeps its
    number): what orders two announcements of one time. None in those published before they were numbered."""


class RestoredRoster(EventData):
    """The roster an attendance.withdrawn.v1 brings back: its own event's `id`, `time` (with the nanoseconds below
    its microsecond) and records, so a listener orders it as that roster (the latest snapshot wins)."""

    roster_id: Identifier
    time: Timestamp
    time_ns: Count = 0
    records: Annotated[list[AttendanceRecord], Items]


class AttendanceWithdrawn(EventData):
    """attendance.withdrawn.v1: a stored roster no longer stands (a member snapshot arriving after it put a listed
    member in another cell at the meeting's start); the event's `time` and `originid` are the withdrawn roster's, so a
    listener drops exactly that roster (a newer one stays) and the meeting has the one `restored`, or none, as if it
    had been refused."""

    meeting_id: Identifier
    roster_id: Identifier
    """The `id` of the withdrawn attendance.recorded.v1."""
    restored: RestoredRoster | None = None
    """The earlier roster of the meeting now in force again (the latest still valid it had replaced), None for none:
    a listener stores it as if it had just arrived (it stands where the move arriving first would have left it)."""


TYPES: dict[str, type[EventData]] = {
    "org.unit.upserted.v1": OrgUnitUpserted,
    "member.upserted.v1": MemberUpserted,
    "member.removed.v1": MemberRemoved,
    "monitor.assigned.v1": MonitorAssigned,
    "meeting.scheduled.v1": MeetingScheduled,
    "meeting.rescheduled.v1": MeetingRescheduled,
    "meeting.cancelled.v1": MeetingCancelled,
    "documents.published.v1": DocumentsPublished,
    "attendance.recorded.v1": AttendanceRecorded,
    "minutes.submitted.v1": MinutesSubmitted,
    "minutes.approved.v1": MinutesApproved,
    "meeting.assessed.v1": MeetingAssessed,
    "task.completed.v1": TaskCompleted,
}
"""The public "types in" of CONTRACT.md; meetings re-publishes each in validated form."""

INGEST_TYPES = frozenset(TYPES)

TYPES_OUT: dict[str, type[EventData]] = {
    **TYPES,
    "member.attendance.updated.v1": MemberAttendanceUpdated,
    "attendance.withdrawn.v1": AttendanceWithdrawn,
}
"""Everything meetings publishes on chibo.events (besides ingest.rejected.v1)."""

INTERNAL_TYPES = frozenset({"attendance.withdrawn.v1"})
"""Meetings' types for evaluation alone, outside CONTRACT.md's public surface (a roster re-judged after a backdated
member snapshot: shared.contracts.registry.INTERNAL_TYPES)."""
