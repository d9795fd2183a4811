"""API models of the read endpoints: units, meetings, scores, ratings, roll-ups, inboxes."""

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.gateway.auth import Role
from services.gateway.schemas.common import ReadModel
from shared.contracts.evaluation import Rating


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
    """A roster: the records and the guests."""

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
    """Which framework version scored the meeting."""

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
    """How many cells got each rating."""

    good: int = 0
    fair: int = 0
    average: int = 0
    poor: int = 0


class TrendRead(ReadModel):
    """The change from the previous period."""

    previous_period: str | None = None
    score_delta: float | None = None


class CellRankRead(ReadModel):
    """A cell with its score and rating for the period."""

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
