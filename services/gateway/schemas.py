"""API models of the gateway: `XCreate` for what clients send, `XRead` for what they get back."""

from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.gateway.auth import Role
from shared.contracts.evaluation import Rating
from shared.contracts.meetings import AssessorRole, AttendanceStatus, DocumentKind, MeetingKind

Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
Period = Annotated[str, Field(pattern=r"^\d{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$", examples=["2026-11", "2026-Q4", "2026"])]
Text = Annotated[str, Field(min_length=1, max_length=10_000)]

T = TypeVar("T")


class ReadModel(BaseModel):
    """Answers forwarded from a service: the known fields typed, further ones passed through."""

    model_config = ConfigDict(extra="allow")


class CreateModel(BaseModel):
    """Bodies clients send: unknown fields are refused, so a typo is not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class ErrorRead(BaseModel):
    """Every error answer: a code, a message a person can act on, and the field or service at fault."""

    code: str
    message: str
    field: str | None = None
    service: str | None = None


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    total: int
    limit: int
    offset: int


# ---- ingestion -------------------------------------------------------------------------------


class IngestOutcomeRead(ReadModel):
    """What happened to one event of the body."""

    index: int
    id: str | None = None
    source: str | None = None
    type: str | None = None
    outcome: Literal["accepted", "duplicate", "held", "rejected"]
    reason: str | None = None
    field: str | None = None


class IngestRead(BaseModel):
    """Each event's outcome, in the body's order, and the counts."""

    results: list[IngestOutcomeRead]
    accepted: int
    duplicate: int
    held: int
    rejected: int


class CloudEventCreate(BaseModel):
    """A structured-mode CloudEvent (CONTRACT.md); `data` is checked against the type's model by meetings."""

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"]
    id: Annotated[str, Field(min_length=1, max_length=256)]
    source: Annotated[str, Field(min_length=1, max_length=512)]
    type: Annotated[str, Field(min_length=1, max_length=128)]
    time: AwareDatetime
    datacontenttype: Literal["application/json"] = "application/json"
    subject: str | None = None
    data: dict[str, Any]


# ---- the secretary's commands ----------------------------------------------------------------


class CommandRead(BaseModel):
    """The event a command became, and what meetings did with it (accepted, duplicate or held)."""

    event_id: str
    type: str
    subject: str
    outcome: Literal["accepted", "duplicate", "held"]
    reason: str | None = None


class MeetingScheduleCreate(CreateModel):
    """Schedule a meeting of the cell; `meeting_id` is generated when omitted."""

    meeting_id: Id | None = None
    kind: MeetingKind
    topic: Text | None = None
    starts_at: AwareDatetime
    location: Text
    agenda: list[Text] = Field(max_length=100)
    notified_at: AwareDatetime | None = None
    committee_prepared: bool | None = None


class MeetingRescheduleCreate(CreateModel):
    """Move a scheduled meeting."""

    starts_at: AwareDatetime
    location: Text | None = None
    reason: Text | None = None


class MeetingCancelCreate(CreateModel):
    """Cancel a scheduled meeting, with the reason."""

    reason: Text


class DocumentItemCreate(CreateModel):
    title: Text
    kind: DocumentKind
    url: Annotated[str, Field(max_length=2000)] | None = None


class DocumentsCreate(CreateModel):
    """Publish documents of a meeting to its members; `published_at` defaults to now."""

    published_at: AwareDatetime | None = None
    items: list[DocumentItemCreate] = Field(min_length=1, max_length=100)


class AttendanceRecordCreate(CreateModel):
    member_id: Id
    status: AttendanceStatus
    reason: Text | None = None


class GuestCreate(CreateModel):
    name: Text
    person_id: Id | None = None
    committee_id: Id | None = None


class AttendanceCreate(CreateModel):
    """The full roster of a meeting; a later roster replaces an earlier one."""

    records: list[AttendanceRecordCreate] = Field(max_length=1000)
    guests: list[GuestCreate] = Field(default_factory=list, max_length=100)


class ResolutionCreate(CreateModel):
    text: Text
    votes_for: Annotated[int, Field(ge=0, le=100_000)]
    votes_against: Annotated[int, Field(ge=0, le=100_000)]
    abstentions: Annotated[int, Field(ge=0, le=100_000)]


class TaskCreate(CreateModel):
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


# ---- reads -----------------------------------------------------------------------------------


class UnitRead(ReadModel):
    """A committee or a cell, with the path from the root."""

    id: str
    name: str
    kind: Literal["committee", "cell"]
    parent_id: str | None = None
    category: str | None = None
    active: bool = True
    contact_emails: list[str] = Field(default_factory=list)
    ancestors: list[str] = Field(default_factory=list)


class MemberRead(ReadModel):
    """A member of a cell."""

    id: str
    full_name: str
    status: str
    role: str | None = None
    exempt: bool = False
    email: str | None = None
    admitted_on: date | None = None
    probation_ends_on: date | None = None


class MeetingSummaryRead(ReadModel):
    """A meeting in a list."""

    meeting_id: str
    cell_id: str
    kind: str | None = None
    status: str | None = None
    starts_at: datetime | None = None
    topic: str | None = None
    location: str | None = None


class AttendanceRead(ReadModel):
    records: list[dict[str, Any]] = Field(default_factory=list)
    guests: list[dict[str, Any]] = Field(default_factory=list)


class MeetingRead(ReadModel):
    """A meeting with everything recorded about it."""

    meeting_id: str
    cell_id: str
    kind: str | None = None
    topic: str | None = None
    status: Literal["scheduled", "cancelled", "held", "minutes_submitted", "minutes_approved"] | None = None
    starts_at: datetime | None = None
    location: str | None = None
    agenda: list[str] = Field(default_factory=list)
    notified_at: datetime | None = None
    committee_prepared: bool | None = None
    cancel_reason: str | None = None
    attendance: AttendanceRead | None = None
    minutes: dict[str, Any] | None = None
    approved_at: datetime | None = None
    documents: list[dict[str, Any]] = Field(default_factory=list)
    assessments: list[dict[str, Any]] = Field(default_factory=list)
    tasks: list[dict[str, Any]] = Field(default_factory=list)


class MeetingAttendanceRead(BaseModel):
    """The roster of one meeting (null when none was recorded yet)."""

    meeting_id: str
    cell_id: str
    attendance: AttendanceRead | None


class MeetingMinutesRead(BaseModel):
    """The minutes of one meeting, their approval and the published documents."""

    meeting_id: str
    cell_id: str
    minutes: dict[str, Any] | None
    approved_at: datetime | None = None
    documents: list[dict[str, Any]] = Field(default_factory=list)


class TaskRead(ReadModel):
    """A task assigned at a meeting."""

    task_id: str
    meeting_id: str | None = None
    assignee_id: str | None = None
    description: str | None = None
    due_on: date | None = None
    completed_on: date | None = None


class FrameworkRefRead(ReadModel):
    id: str
    version: str


class CriterionRead(ReadModel):
    """One item of the score and why it got its points."""

    code: str
    points: float | None = None
    max: float
    applicable: bool
    source: Literal["auto", "manual"]
    reason: str


class MeetingScoreRead(ReadModel):
    """A meeting's score under the framework in force, with its explanation per item."""

    meeting_id: str
    cell_id: str
    framework: FrameworkRefRead
    score: float
    rating: Rating
    provisional: bool
    criteria: list[CriterionRead]
    computed_at: datetime | None = None


class CellPeriodRead(ReadModel):
    """A cell's rating for a month, quarter or year."""

    cell_id: str
    period: str
    rating: Rating
    score: float
    regular_held: int
    thematic_held: int
    attendance_rate: float | None = None
    speaking_rate: float | None = None
    flags: list[str] = Field(default_factory=list)


class ByRatingRead(ReadModel):
    good: int = 0
    fair: int = 0
    average: int = 0
    poor: int = 0


class TrendRead(ReadModel):
    previous_period: str | None = None
    score_delta: float | None = None


class CellRankRead(ReadModel):
    cell_id: str
    name: str | None = None
    score: float | None = None
    rating: Rating | None = None


class CommitteeRollupRead(ReadModel):
    """A committee's subtree for one period."""

    committee_id: str
    period: str
    cells: int
    by_rating: ByRatingRead
    regularity: float | None = None
    attendance_rate: float | None = None
    speaking_rate: float | None = None
    thematic_coverage: float | None = None
    score: float | None = None
    trend: TrendRead | None = None
    weakest: list[CellRankRead] = Field(default_factory=list)


class WeakestRead(BaseModel):
    """The weakest cells of a committee's subtree for one period."""

    committee_id: str
    period: str
    items: list[CellRankRead]


class NotificationRead(ReadModel):
    """One item of an inbox."""

    notification_id: str
    rule: str | None = None
    subject_id: str | None = None
    title: str | None = None
    body: str | None = None
    created_at: datetime | None = None
    read_at: datetime | None = None


class MeRead(BaseModel):
    """Who the token says the caller is."""

    sub: str
    role: Role
    unit_id: str | None
    person_id: str | None


# ---- operators -------------------------------------------------------------------------------


class RejectionRead(ReadModel):
    """An event meetings refused, with the reason and the field at fault."""

    rejection_id: str
    source: str | None = None
    event_id: str | None = None
    type: str | None = None
    reason: str
    field: str | None = None
    received_at: datetime | None = None
    status: Literal["open", "replayed"] | None = None


class ReplayCreate(CreateModel):
    """Replay a rejection as it was, or with a corrected event."""

    event: CloudEventCreate | None = None


class DeadLetterQueueRead(BaseModel):
    queue: str
    dead_letter_queue: str
    messages: int | None
    consumers: int | None
    error: str | None = None


class DeadLettersRead(BaseModel):
    """Depth of every consumer queue's dead letters."""

    queues: list[DeadLetterQueueRead]
    total: int


class ServiceHealthRead(BaseModel):
    status: Literal["ok", "degraded", "down"]
    detail: dict[str, Any] | str | None = None


class SystemHealthRead(BaseModel):
    """Each service's own health page, and the broker as the gateway sees it."""

    status: Literal["ok", "degraded"]
    broker: str
    services: dict[str, ServiceHealthRead]


class HealthRead(BaseModel):
    """The gateway's liveness, and which services have a consumer on their RPC queue."""

    service: Literal["gateway"]
    status: Literal["ok", "degraded"]
    database: str
    broker: str
    services: dict[str, str]


class FailedDeliveryRead(ReadModel):
    """A notification that could not be delivered."""

    delivery_id: int


# ---- administration --------------------------------------------------------------------------


class FrameworkRead(ReadModel):
    """A scoring framework (criteria, bands, gates, period rules) as evaluation stores it."""

    id: str


class FrameworkListRead(BaseModel):
    items: list[FrameworkRead]


class FrameworkCreate(CreateModel):
    """Adopt a framework document, for the whole province or one committee's subtree."""

    document: dict[str, Any]
    committee_id: Id | None = None


class RescoreCreate(CreateModel):
    """Re-score history under the frameworks now in force."""

    unit_id: Id | None = None
    period_from: Period | None = None
    period_to: Period | None = None


class RescoreRead(ReadModel):
    meetings_rescored: int
    changed: int


class AccountCreate(CreateModel):
    """A local account; its token is returned once."""

    sub: Id | None = None
    role: Role
    unit_id: Id | None = None
    person_id: Id | None = None
    days: Annotated[int, Field(ge=1, le=3650)] | None = None


class AccountRead(BaseModel):
    sub: str
    role: Role
    unit_id: str | None
    person_id: str | None
    active: bool
    created_at: datetime
    updated_at: datetime


class AccountTokenRead(BaseModel):
    account: AccountRead
    token: str


class AuditEntryRead(BaseModel):
    id: int
    at: datetime
    sub: str | None
    role: str | None
    method: str
    path: str
    status: int
    client_ip: str | None
    detail: dict[str, Any] | None
