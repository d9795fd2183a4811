"""API models of the read endpoints: units, meetings, scores, ratings, roll-ups, inboxes.

A read forwarded from a service subclasses that service's RPC reply model, so each field is declared once (in
shared/contracts) and the API model only names itself for the OpenAPI document; a nested model is narrowed to
its API subclass for the same reason.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_serializer

from services.gateway.auth import Role
from services.gateway.schemas.common import Page, ReadModel
from shared.contracts import evaluation_rpc as evaluation
from shared.contracts import meetings_rpc as meetings
from shared.contracts.evaluation import Rating
from shared.reasons import ReasonPart


class UnitRead(meetings.UnitReply):
    """A committee or a cell, with the path from the root."""


class MemberRead(meetings.MemberReply):
    """A member of a cell."""


class MeetingSummaryRead(meetings.MeetingSummaryReply):
    """A meeting in a list."""


class AttendanceRead(meetings.AttendanceReply):
    """A roster: the records and the guests."""


class WaitingFactRead(meetings.WaitingFactReply):
    """Another system's fact about the meeting held until its secretary records what it waits for."""

    source_name: str | None = None
    """The integration account `source` is registered to, None when none is."""


class MeetingRead(meetings.MeetingReply):
    """A meeting with everything recorded about it, and the facts waiting for its secretary (`waiting`)."""

    attendance: AttendanceRead | None = None
    waiting: Sequence[WaitingFactRead] = Field(default_factory=list)


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


class TaskRead(meetings.TaskReply):
    """A task assigned at a meeting."""


class FrameworkRefRead(evaluation.FrameworkRef):
    """Which framework version scored the meeting: its `id`, `version` and Vietnamese `name`."""

    name: str | None = Field(
        None,
        description="The framework's name in Vietnamese (e.g. `Tiêu chí đánh giá chất lượng sinh hoạt chi bộ (Chỉ thị "
        "50-CT/TW, Hướng dẫn 42-HD/BTCTW)`), as the meeting page names it; null when its document is not stored",
    )


class CriterionRead(evaluation.CriterionReply):
    """One item of the score and why it got its points: `parts` says why machine-readably (each part's `code`, a
    shared.reasons.ReasonCode, with its values), `explanation` says it to a person in Vietnamese, worded from the
    parts by the same catalog the meeting page uses; `reason` is the older English text, kept for clients reading
    it (not for people: show `explanation`)."""

    reason: str = Field(
        description="The reason in English, kept for compatibility; show `explanation` to people, read `parts` in code"
    )
    parts: list[ReasonPart] = Field(
        default_factory=list,
        description="Why, machine-readably: each part's reason `code` (e.g. duration_short) with its parameters "
        "(e.g. lasted, required, short in minutes); empty for a line scored before reasons were coded",
    )
    explanation: str | None = Field(
        None,
        description="Why, in Vietnamese for people (e.g. `Sinh hoạt 95 phút so với 150 phút quy định …`): worded "
        "from `parts` (from `reason` for a line scored before codes) exactly as the meeting page says it",
    )


class GateRead(BaseModel):
    """The framework's gate on a meeting's rating (DOMAIN.md "Quality evaluation"; shared.gates): `applied` when
    gated items short of full points lowered the band's rating `rating_by_points` to the answered `rating`."""

    applied: bool
    items_short: list[str] = Field(description="The gated item codes below full points that lowered the rating")
    rating_by_points: Rating = Field(description="The rating of the score's band, before the gates")


SHARE_PLACES = 4
"""The API gives shares 0..1 (rates, regularity, coverage) to four places, as it always has."""
SCORE_PLACES = 2
"""The API gives scores (and their differences) to the cent, as it always has."""
SHARES = ("attendance_rate", "speaking_rate", "regularity", "thematic_coverage", "met_thematic_coverage")
SCORES = ("score", "met_score", "previous_score", "score_delta", "old_score", "new_score")


class ApiPrecision(BaseModel):
    """A read whose shares the API gives to SHARE_PLACES and scores to SCORE_PLACES: evaluation answers them
    unrounded, so that a page rounds each once as it shows it (6/11 is 54,5%; its 0.5455 rounded again read 54,6%),
    and the API keeps the precision it has always had."""

    @field_serializer(*SHARES, check_fields=False)
    def _share(self, value: float | None) -> float | None:
        return None if value is None else round(value, SHARE_PLACES)

    @field_serializer(*SCORES, check_fields=False)
    def _score(self, value: float | None) -> float | None:
        return None if value is None else round(value, SCORE_PLACES)


class LateChangeRead(ApiPrecision, evaluation.LateChangeReply):
    """A closed month whose result changed after it closed."""


class MeetingScoreRead(ApiPrecision, evaluation.MeetingScoreReply):
    """A meeting's score under the framework in force, with its explanation per item. Only a meeting that has begun
    (its minutes in, or its start come: shared.plausible.meeting_begun) is scored; one still ahead, like a cancelled
    one, has no score (404 saying why: reason_code meeting_not_started)."""

    framework: FrameworkRefRead
    criteria: Sequence[CriterionRead]
    rescored_at: datetime | None = Field(
        None,
        description="When a re-scoring job last scored the meeting again (UTC); null when it was never re-scored",
    )
    begun: bool = Field(
        description="Always true: a meeting not begun (scheduled, no minutes, start ahead) is not scored (404)"
    )
    gate: GateRead | None = Field(
        None,
        description="Whether a gate of the framework lowered the rating (Good needs full points on the gated items, "
        "else Fair); null when that cannot be told",
    )


class CellPeriodRead(ApiPrecision, evaluation.CellPeriodReply):
    """A cell's rating for a month, quarter or year; a month still waiting for the cell's regular meeting (not closed
    yet: shared.periods.awaiting_meeting) has no rating or score, only `not_met_yet` (services/gateway/rollups.py)."""

    late_change: LateChangeRead | None = None

    not_met_yet: bool | None = None


class ByRatingRead(evaluation.ByRatingReply):
    """How many cells got each rating."""


class TrendRead(ApiPrecision, evaluation.TrendReply):
    """The change from the previous period."""


class CellRankRead(ApiPrecision, evaluation.CellRankReply):
    """A cell with its score and rating for the period; in the month in progress a cell that has not met yet has no
    score or rating, only `not_met_yet` (services/gateway/rollups.py)."""

    not_met_yet: bool | None = None
    late_change: LateChangeRead | None = None


class CommitteeRollupRead(ApiPrecision, evaluation.CommitteeRollupReply):
    """A committee's subtree for one period; `in_progress` while the period has not ended. In the month in
    progress the cells that have not met yet are counted apart in `not_met_yet`, not among `by_rating.poor` (a
    month still without its meeting is Poor only once it has closed: DOMAIN.md, Periods); `score` and the trend are
    those of the cells that have met (None while none has) and `weakest` lists only cells that have met. In a
    quarter or year in progress `not_met_yet` counts the cells evaluation has not rated yet (`not_rated`: their only
    month so far is the running one, without a meeting), already out of every figure; null when there are none. A
    closed month, quarter or year reads as evaluation rated it, `not_met_yet` null. A half-year (`2026-H1`, computed
    from its two quarters) has no rating of its own (DOMAIN.md rates months, quarters and years only): `by_rating` is
    null and `quarters` gives each quarter's cells by rating; its cells' lines give `quarter_ratings`."""

    in_progress: bool = False
    no_data: bool = False
    """True when no cell of the subtree has a month scored up to the period's end (a committee just loaded, or a
    period before its first data): every count 0, every rate, score and trend null, not a page of Poor."""
    not_met_yet: int | None = None
    """In the month in progress: the cells that have not held its regular meeting yet (else null)."""
    regularity_months: list[str] | None = None
    """In a quarter, half-year or year in progress: the months ended so far (`YYYY-MM`, oldest first; empty in its
    first month) whose regular meetings `regularity` counts, the running month counting for a cell once it has met
    (DOMAIN.md "Periods": the share of cells that met every month); null for a month or a period ended."""
    by_rating: ByRatingRead | None
    trend: TrendRead | None = None
    weakest: Sequence[CellRankRead] = Field(default_factory=list)
    late_changes: Sequence[CellRankRead] = Field(default_factory=list)


class TreeStateRead(BaseModel):
    """What a read off the org tree says of it: evaluation answers from the tree as last applied while org-tree
    changes wait (evaluation_rpc.TreeRefreshReply), never waiting for them."""

    recalculating: bool = False
    """True while org-tree changes (a unit moved, closed or re-dated) are not applied yet: the figures are those of
    the tree as last applied; a read after the refresh gives the fresh ones."""
    pending_tree_changes: int = 0
    """How many noted org-tree changes are not applied yet (0 when `recalculating` is false)."""


class WeakestRead(TreeStateRead):
    """The weakest cells of a committee's subtree for one period; `recalculating` and `pending_tree_changes` as the
    roll-up's (read off the tree as last applied while org-tree changes wait)."""

    committee_id: str
    period: str
    items: list[CellRankRead]


class RankingRead(Page[CellRankRead], TreeStateRead):
    """A page of a committee's cells ranked by score; `recalculating` and `pending_tree_changes` as the roll-up's."""


class NotificationRead(ReadModel):
    """One item of an inbox."""

    notification_id: str
    rule: str | None = None
    subject_id: str | None = None
    title: str | None = None
    body: str | None = None
    created_at: datetime | None = None
    read_at: datetime | None = None
    void_at: datetime | None = None
    """When the alert stopped holding (its meeting was cancelled after it was raised, or a late-records alert that
    corrected minutes or a move of the meeting show is not late yet); None while it holds."""
    void_reason: str | None = None
    """`corrected` when a corrected record (a roster excusing an absence) showed the alert untrue; None otherwise."""


class MeRead(BaseModel):
    """Who the token says the caller is."""

    sub: str
    role: Role
    unit_id: str | None
    person_id: str | None
