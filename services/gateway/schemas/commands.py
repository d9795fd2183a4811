"""API models of the secretary's commands; names, places and titles are the contract's `Name` (1-200 characters), so
the API refuses what meetings would, naming the same limit."""

from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field, ValidationInfo, field_validator

from services.gateway.schemas.common import CreateModel, Id, Text
from shared.contracts.base import Flag, Name
from shared.contracts.meetings import AssessorRole, AttendanceStatus, DocumentKind, MeetingKind, topic_for_kind


class CommandRead(BaseModel):
    """The event a command became, and what meetings did with it (accepted, duplicate or held)."""

    event_id: str
    type: str
    subject: str
    outcome: Literal["accepted", "duplicate", "held"]
    reason: str | None = None
    field: str | None = None
    """The field a held command's reason names."""
    waiting_for: str | None = None
    """What a held command waits for: `member:<id>`, `meeting:<id>`, `minutes:<m>` or `task:<m>:<t>`."""
    reason_code: str | None = None
    """Why a held command waits, machine-readably (`member_unknown`, `member_not_placed`; shared.refusals), when
    meetings gives a code; `reason` stays the English sentence."""


class MeetingScheduleCreate(CreateModel):
    """Schedule a meeting of the cell; `meeting_id` is generated when omitted."""

    meeting_id: Id | None = None
    kind: MeetingKind
    topic: Name | None = Field(default=None, validate_default=True)
    starts_at: AwareDatetime
    location: Name
    agenda: list[Text] = Field(max_length=100)
    notified_at: AwareDatetime | None = None
    committee_prepared: Flag | None = None

    @field_validator("topic")
    @classmethod
    def _topic_for_thematic(cls, value: str | None, info: ValidationInfo) -> str | None:
        return topic_for_kind(value, info.data.get("kind"))


class MeetingRescheduleCreate(CreateModel):
    """Move a scheduled meeting."""

    starts_at: AwareDatetime
    location: Name | None = None
    reason: Text | None = None


class MeetingCancelCreate(CreateModel):
    """Cancel a scheduled meeting, with the reason."""

    reason: Text


class DocumentItemCreate(CreateModel):
    """One published document."""

    title: Name
    kind: DocumentKind
    url: Annotated[str, Field(max_length=2000)] | None = None


class DocumentsCreate(CreateModel):
    """Publish documents of a meeting to its members; `published_at` defaults to now."""

    published_at: AwareDatetime | None = None
    items: list[DocumentItemCreate] = Field(min_length=1, max_length=100)


class AttendanceRecordCreate(CreateModel):
    """One member's attendance."""

    member_id: Id
    status: AttendanceStatus
    reason: Text | None = None


class GuestCreate(CreateModel):
    """An attendee from outside the cell (e.g. the upper-level monitor)."""

    name: Name
    person_id: Id | None = None
    committee_id: Id | None = None


class AttendanceCreate(CreateModel):
    """The full roster of a meeting; a later roster replaces an earlier one."""

    records: list[AttendanceRecordCreate] = Field(max_length=1000)
    guests: list[GuestCreate] = Field(default_factory=list, max_length=100)


class ResolutionCreate(CreateModel):
    """A resolution with its vote."""

    text: Text
    votes_for: Annotated[int, Field(ge=0, le=100_000)]
    votes_against: Annotated[int, Field(ge=0, le=100_000)]
    abstentions: Annotated[int, Field(ge=0, le=100_000)]


class TaskCreate(CreateModel):
    """A task assigned at the meeting."""

    task_id: Id
    assignee_id: Id
    description: Text
    due_on: date


class MinutesCreate(CreateModel):
    """The minutes of a held meeting."""

    started_at: AwareDatetime
    ended_at: AwareDatetime
    chair_id: Id
    recorder_id: Id
    speakers: list[Id] = Field(max_length=1000)
    self_criticism_minutes: Annotated[int, Field(ge=0, le=600)] | None = None
    content: Text | None = None
    conclusions: Text | None = None
    resolutions: list[ResolutionCreate] = Field(max_length=100)
    tasks: list[TaskCreate] = Field(max_length=200)


class MinutesApprovalCreate(CreateModel):
    """The cell adopted the minutes; `approved_at` defaults to now."""

    approved_at: AwareDatetime | None = None
    votes_for: Annotated[int, Field(ge=0, le=100_000)] | None = None
    votes_against: Annotated[int, Field(ge=0, le=100_000)] | None = None


class AssessmentCreate(CreateModel):
    """Manual points for items of the framework in force (item codes as in DOMAIN.md)."""

    role: AssessorRole
    points: dict[Annotated[str, Field(pattern=r"^[a-z_]+(\.[a-z_]+)*$")], Annotated[float, Field(ge=0, le=100)]] = (
        Field(min_length=1, max_length=100)
    )
    comment: Text | None = None


class TaskCompletionCreate(CreateModel):
    """A task is done; `completed_on` defaults to today (+07:00)."""

    completed_on: date | None = None
