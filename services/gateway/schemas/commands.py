"""API models of the secretary's commands, built from the contract's own field types (shared/contracts): times and
dates read as strictly as an event's (a number is not a time; RFC 3339 with seconds and an offset; dates YYYY-MM-DD),
counts are strict integers from 0 to 100,000, names 1-200 characters, lists at most 1,000 items. One source, so the
API refuses exactly what meetings would, naming the same field and limit, and accepts what the contract accepts. Free
text (Name, Text) is read as the web forms read it: without the characters that only steer or hide text
(common.typed_text)."""

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, ValidationInfo, field_validator

from services.gateway.schemas.common import CreateModel, Id, Name, NotNull, Text
from shared.contracts.base import Count, Day, Flag, Items, MeetingTime, Timestamp
from shared.contracts.meetings import (
    MAX_SCORED_ITEMS,
    AssessorRole,
    AttendanceStatus,
    DocumentKind,
    DocumentUrl,
    ItemCode,
    MeetingKind,
    PointValue,
    topic_for_kind,
)
from shared.text import BLANK_SAID


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


def some_agenda(items: list[str]) -> list[str]:
    """A pydantic AfterValidator of a new meeting's agenda: ValueError saying it is blank (BLANK_SAID) when it has no
    item. CONTRACT.md's meeting.scheduled.v1 requires `agenda` and DOMAIN.md's members are told a meeting's content
    beforehand: a trial's `"agenda": []` (a form's agenda left empty) scheduled a meeting with none. The event route
    still reads an empty one (history an integration backfills), and a notice then says the content will follow."""
    if not items:
        raise ValueError(BLANK_SAID)
    return items


class MeetingScheduleCreate(CreateModel):
    """Schedule a meeting of the cell; `meeting_id` is generated when omitted (`mtg-…`), and a chosen one begins with
    the cell's id and a separator (`{cell_id}-…`) and no longer unit's id, or is one the gateway generated for the
    cell, else 422 `meeting_id_not_cells`. `already_held`: record a meeting that already took place (its start within
    the last 7 days) instead of scheduling one ahead. `agenda` holds at least one item (some_agenda)."""

    meeting_id: Id | None = None
    kind: MeetingKind
    topic: Name | None = Field(default=None, validate_default=True)
    starts_at: MeetingTime
    location: Name
    agenda: Annotated[list[Text], Items, AfterValidator(some_agenda)]
    notified_at: Timestamp | None = None
    committee_prepared: Flag | None = None
    already_held: Flag = Field(
        default=False,
        description=(
            "true: the meeting already took place and is recorded after the fact (a secretary who forgot to enter it"
            " beforehand): its start must have begun and be at most 7 days ago (refused naming data.starts_at with"
            " held_start_ahead or held_too_long_ago); no invitation or reminder is sent, and `preparation.notified`"
            " is met only if `notified_at` says members were told before the start. false (default): a start already"
            " past is refused (scheduled_in_the_past)."
        ),
    )

    confirm_same_time: Flag = Field(
        default=False,
        description=(
            "true: schedule it even though another meeting of the cell, not cancelled, starts within an hour of"
            " `starts_at`. false (default): such a schedule is refused with 409, reason_code meeting_at_same_time,"
            " naming data.starts_at (most likely the same meeting entered twice, whose members would be notified"
            " twice)."
        ),
    )

    @field_validator("topic")
    @classmethod
    def _topic_for_thematic(cls, value: str | None, info: ValidationInfo) -> str | None:
        return topic_for_kind(value, info.data.get("kind"))


class MeetingRescheduleCreate(CreateModel):
    """Move a scheduled meeting; `location` left out keeps its place (null is refused naming it: a meeting always has
    a place, so null would mean nothing)."""

    starts_at: MeetingTime
    location: Annotated[
        Name | None, NotNull("a meeting always has a place: give the new one, or leave location out to keep it")
    ] = None
    reason: Text | None = None


class MeetingCancelCreate(CreateModel):
    """Cancel a scheduled meeting, with the reason."""

    reason: Text


class DocumentItemCreate(CreateModel):
    """One published document."""

    title: Name
    kind: DocumentKind
    url: DocumentUrl | None = None


class DocumentsCreate(CreateModel):
    """Publish documents of a meeting to its members; `published_at` defaults to now."""

    published_at: Timestamp | None = None
    items: Annotated[list[DocumentItemCreate], Field(min_length=1), Items]


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

    records: Annotated[list[AttendanceRecordCreate], Items]
    guests: Annotated[list[GuestCreate], Items] = Field(default_factory=list)


class ResolutionCreate(CreateModel):
    """A resolution with its vote."""

    text: Text
    votes_for: Count
    votes_against: Count
    abstentions: Count


class TaskCreate(CreateModel):
    """A task assigned at the meeting."""

    task_id: Id
    assignee_id: Id
    description: Text
    due_on: Day


class MinutesCreate(CreateModel):
    """The minutes of a held meeting."""

    started_at: MeetingTime
    ended_at: Timestamp
    chair_id: Id
    recorder_id: Id
    speakers: Annotated[list[Id], Items]
    self_criticism_minutes: Count | None = None
    content: Text | None = None
    conclusions: Text | None = None
    resolutions: Annotated[list[ResolutionCreate], Items]
    tasks: Annotated[list[TaskCreate], Items]


class MinutesApprovalCreate(CreateModel):
    """The cell adopted the minutes; `approved_at` defaults to now."""

    approved_at: Timestamp | None = None
    votes_for: Count | None = None
    votes_against: Count | None = None


class AssessmentCreate(CreateModel):
    """Manual points for items of the framework in force (item codes as in DOMAIN.md)."""

    role: AssessorRole
    points: Annotated[dict[ItemCode, PointValue], Field(min_length=1, max_length=MAX_SCORED_ITEMS)]
    comment: Text | None = None


class TaskCompletionCreate(CreateModel):
    """A task is done; `completed_on` defaults to today (+07:00)."""

    completed_on: Day | None = None
