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


Score = Annotated[
    float,
    Field(
        ge=0,
        le=100,
        description="the score 0..100, exact, not rounded (a meeting of 56 of 95 points: 58.94736842105263; a "
        "period's is the mean of its months'); a reader rounds it once where a person reads it, as chibo's pages do "
        "(one decimal, halves up: 58,9)",
    ),
]
"""A meeting's or a period's score (DOMAIN.md "Scoring", "Periods"), published exact: rounded to cents
here, a reader that rounded it again to one decimal said 59 of a score the pages read 58,9."""
Share = Annotated[
    float,
    Field(
        ge=0,
        le=1,
        description="a share 0..1, exact (7 of 11 present is 0.6363636363636364); a reader rounds it once where a "
        "person reads it (63,6%)",
    ),
]
"""A pooled rate of a period, published exact (Score)."""


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
    attendance_rate: Share | None
    speaking_rate: Share | None
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
