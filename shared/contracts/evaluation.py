"""Event types owned by the evaluation service: meeting scores and period ratings."""

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from shared.contracts.base import EventData
from shared.envelope import Identifier
from shared.periods import Period


class Rating(StrEnum):
    GOOD = "good"
    FAIR = "fair"
    AVERAGE = "average"
    POOR = "poor"


class PointsSource(StrEnum):
    AUTO = "auto"
    MANUAL = "manual"


class FrameworkRef(EventData):
    id: str
    version: str


class CriterionLine(EventData):
    code: str
    points: float | None
    max: float
    applicable: bool
    source: PointsSource
    reason: str


Score = Annotated[float, Field(ge=0, le=100)]


class MeetingScoreUpdated(EventData):
    """score.meeting.updated.v1: a meeting's score changed."""

    meeting_id: Identifier
    cell_id: Identifier
    framework: FrameworkRef
    score: Score
    rating: Rating
    provisional: bool
    criteria: list[CriterionLine]


class CellScoreUpdated(EventData):
    """score.cell.updated.v1: a cell's rating for a month, quarter or year changed."""

    cell_id: Identifier
    period: Period
    rating: Rating
    score: Score
    regular_held: int
    thematic_held: int
    attendance_rate: Annotated[float, Field(ge=0, le=1)] | None
    speaking_rate: Annotated[float, Field(ge=0, le=1)] | None
    flags: list[str] = Field(default_factory=list)


class WithdrawalReason(StrEnum):
    """Why a meeting's score no longer stands (CONTRACT.md: it was cancelled; the event is "a meeting no longer
    scored")."""

    CANCELLED = "cancelled"
    NOT_HELD = "not_held"
    """The meeting was moved to a start ahead with nothing recorded (it was scored as its old start passed): it has
    not taken place, so it is not scored (DOMAIN.md "How to read it, exactly": the start after any rescheduling; a
    meeting is held when it has minutes) until it begins. A product extension of CONTRACT.md's one reason."""


class MeetingScoreWithdrawn(EventData):
    """score.meeting.withdrawn.v1: a meeting is no longer scored (its earlier score no longer stands)."""

    meeting_id: Identifier
    cell_id: Identifier
    reason: WithdrawalReason


TYPES: dict[str, type[EventData]] = {
    "score.meeting.updated.v1": MeetingScoreUpdated,
    "score.cell.updated.v1": CellScoreUpdated,
    "score.meeting.withdrawn.v1": MeetingScoreWithdrawn,
}
