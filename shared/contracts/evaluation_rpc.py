"""The evaluation.rpc catalog: one request model per method (service, method, reply) and the reply models."""

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import Field

from shared.contracts import ops_rpc as ops
from shared.contracts.evaluation import Rating
from shared.envelope import ID_PATTERN
from shared.periods import HalfYear, ReportPeriod
from shared.reasons import ReasonPart
from shared.rpc import Page, Reply, Request

ReplyT = TypeVar("ReplyT", bound=Reply)

Offset = Annotated[int, Field(ge=0)]


class EvaluationRequest(Request[ReplyT], Generic[ReplyT]):
    """A request answered by the evaluation service."""

    service = "evaluation"


# ---- replies -----------------------------------------------------------------------------------


class FrameworkRef(Reply):
    """Which framework version scored a meeting."""

    id: str
    version: str
    name: str | None = None
    """The framework's Vietnamese name, as its stored document gives it (the meeting page's "bộ tiêu chí “…”"); None
    when the document is not stored (additive: `score.meeting.updated.v1`'s `framework` stays `id`, `version`)."""


class CriterionReply(Reply):
    """One item of a score and why it got its points."""

    code: str
    points: float | None = None
    max: float
    applicable: bool
    source: Literal["auto", "manual"]
    reason: str
    parts: list[ReasonPart] = Field(default_factory=list)
    """Why, machine-readably: the reason's parts with their codes and values (shared.reasons); `reason` stays
    English. Empty for lines scored before evaluation coded its reasons."""


class MeetingScoreReply(Reply):
    """A meeting's score under the framework in force, with its explanation per item."""

    meeting_id: str
    cell_id: str
    framework: FrameworkRef
    score: float
    rating: Rating
    provisional: bool
    criteria: Sequence[CriterionReply]
    computed_at: datetime | None = None
    rescored_at: datetime | None = None
    """When a re-scoring job (an administrator's or an officer's re-score) last scored the meeting again, UTC; None
    when none did since it was first scored."""


class LateMoveReply(Reply):
    """One move behind a "unit_moved" late change: the unit that moved (`unit_id`, the cell itself or a committee above
    it that took it along; `unit_name` its name now, None when unknown), the parent it left (None: it was a root) and
    the one it joined (None: made a root), their names now, and when the move was recorded."""

    unit_id: str
    unit_name: str | None = None
    moved_from_id: str | None = None
    moved_from_name: str | None = None
    moved_to_id: str | None = None
    moved_to_name: str | None = None
    changed_at: datetime


class LateChangeReply(Reply):
    """A closed month whose result changed after it closed, because a fact about it was recorded late: its first
    figures before (`old_*`, as the month stood when it closed) and its figures now (`new_*`), when it last changed
    and because of which meeting (the one the month's result is now its; None when it has none any more)."""

    meeting_id: str | None = None
    kind: Literal["result", "withdrawn", "rescored", "unit_added", "unit_closed", "unit_moved"] = "result"
    """"result": a fact recorded late changed the month's result (`old_*` None: a held meeting recorded late first
    counted the existing cell in the month, its start moved earlier); "unit_added": the cell was set up late with an
    effective time in the month and counts in it from then on (no figures before: `old_*` None); "unit_closed": the
    cell was made inactive late with an effective time before the month and no longer counts in it (`new_*` None);
    "withdrawn": a held meeting's score was withdrawn after the month closed (cancelled, or not held), `meeting_id`
    that meeting, `meeting_starts_at` its start, `meeting_cancelled` whether it was cancelled; "rescored": an
    operator's re-score job rated the month again under `framework_*` (no fact came late);
    "unit_moved": the cell moved to another committee after the month closed and its month, whose figures (`old_*`
    equal to `new_*`) did not change, now counts under `moved_to_*`, no longer under `moved_from_*`."""
    old_rating: Rating | None = None
    old_score: float | None = None
    new_rating: Rating | None = None
    new_score: float | None = None
    changed_at: datetime
    """When the last late change was recorded."""
    first_changed_at: datetime
    changes: int = 1
    """How many late facts changed the month's result."""
    meeting_starts_at: datetime | None = None
    meeting_cancelled: bool | None = None
    """Kind "withdrawn": the withdrawn meeting's start and whether it was cancelled (else it was not held)."""
    framework_id: str | None = None
    framework_version: str | None = None
    framework_name: str | None = None
    """Kind "rescored": the framework the month was re-scored under (its name as stored)."""
    moved_from_id: str | None = None
    moved_from_name: str | None = None
    moved_to_id: str | None = None
    moved_to_name: str | None = None
    """Kind "unit_moved": the committee the cell left (None: it was under a root put under a committee) and the one it
    joined (None: made a root), their names now; netted over its moves (from where the month was shown to where it
    counts now)."""
    moves: Sequence[LateMoveReply] = ()
    """Kind "unit_moved": each move behind the note, in the order recorded: a cell moved to commune B and then B moved
    to another district are two moves of two units, each said on its own (the netted `moved_*` read as one)."""


class RatingReasonReply(Reply):
    """Why a period's rating is below its score's band, as evaluation rated it (services/evaluation/domain/periods.py
    RatingReason; DOMAIN.md "Periods"): `no_thematic_meeting` (an ended quarter without its thematic meeting, Poor
    whatever its score), `meeting_rating` (a month takes its meeting's rating, which the framework's gates lowered
    below its score's band) or `month_ratings` (the month-by-month rule: the rating one step up, `missed`, failed its
    `condition`: `all_at_least` with `months` below `floor`; `count_at_least` with `count` of `needed` months at
    `floor` or better; `max_poor` with `count` Poor `months`, `needed` allowed at most) or, for a year not below its
    band, `quarters_without_thematic` (its ended `quarters` are Poor for their missing thematic meeting, which the
    year's rule does not read). `band` is the score's."""

    code: Literal["no_thematic_meeting", "meeting_rating", "month_ratings", "quarters_without_thematic"]
    band: Rating
    missed: Rating | None = None
    condition: Literal["all_at_least", "count_at_least", "max_poor"] | None = None
    floor: Rating | None = None
    months: list[str] = Field(default_factory=list)
    count: int | None = None
    needed: int | None = None
    quarters: list[str] = Field(default_factory=list)


class TreeRefreshReply(Reply):
    """What a reply read off the org tree says of it (queries.tree_refresh_state): a read never waits for a tree
    refresh, so while noted changes wait its figures are those of the tree as last applied."""

    recalculating: bool = False
    """True while org-tree changes (a unit moved, closed or re-dated) are noted but not applied to the roll-ups yet:
    the figures are those of the tree as last applied (a read never waits for the refresh); the next read after it
    gives the fresh ones."""
    pending_tree_changes: int = 0
    """How many noted org-tree changes are not applied yet (0 when `recalculating` is false)."""


class CellPeriodReply(Reply):
    """A cell's rating for a month, quarter or year; a quarter or year still running that is not rated yet (its only
    month so far the running one, without the cell's regular meeting) is listed `not_rated`, without rating, score
    or counts."""

    cell_id: str
    period: str
    rating: Rating | None = None
    score: float | None = None
    regular_held: int | None = None
    thematic_held: int | None = None
    meetings_held: int | None = None
    """Meetings of any kind the cell held in the period (regular, thematic, combined, extraordinary): with
    `regular_held` 0, a month that held some meeting but not its regular one; None for a row rated before it was
    kept."""
    attendance_rate: float | None = None
    speaking_rate: float | None = None
    flags: list[str] = Field(default_factory=list)
    not_rated: bool = False
    """A running quarter or year not rated yet (as a committee roll-up's `not_rated` counts such cells)."""
    late_change: LateChangeReply | None = None
    """A month whose result changed after it closed (a meeting recorded late), or a month, quarter, half-year or year
    the cell's move to another committee after a month of it closed recounted (kind "unit_moved": the period's own
    figures, none for a half-year or a period not rated yet, as its committees' roll-ups give it); None otherwise."""
    rating_reason: RatingReasonReply | None = None
    """Why the rating is below the score's band (a period rule set it), None when the score's band is the reason."""
    quarter_ratings: dict[str, Rating | None] | None = None
    """For a half-year (`2026-H1`): DOMAIN.md defines ratings for months, quarters and years only, so `rating` is
    None and this gives each of its two quarters' rating (None for one not rated yet); None for any other period."""
    quarter_provisional: dict[str, bool] | None = None
    """For a half-year: for each quarter of `quarter_ratings`, whether its rating is provisional (that quarter's own
    row flagged `provisional`: a meeting's manual items not assessed yet, so it may still change); None for any other
    period."""
    quarter_reasons: dict[str, RatingReasonReply | None] | None = None
    """For a half-year: for each quarter of `quarter_ratings`, why that quarter's rating is below its score's band
    (the quarter's own `rating_reason`, None when its band is the reason or it is not rated); the half-year's reason
    is its quarters' (it has no rating of its own). None for any other period."""
    months_counted: int | None = None
    """For a half-year: the months its score is the mean of (six, fewer for a cell set up or closed partway through
    it, or while it runs); None for any other period."""
    months_gone: int | None = None
    """For a half-year: its months before the running one that the cell existed in (a cell set up partway through
    counts from the month it was set up); None for any other period."""


class CellPeriodsReply(Reply):
    """Every stored period of a cell (of one year when asked), and the months it existed in."""

    cell_id: str
    periods: list[CellPeriodReply]
    first_month: str | None = None
    """The cell's first month (`2025-12`: that of its first unit snapshot or held meeting), None while unknown."""
    last_month: str | None = None
    """The month it was made inactive, None while it exists (or nothing is known of it)."""


class CellRankReply(Reply):
    """A cell with its score and rating for a period."""

    cell_id: str
    name: str | None = None
    score: float | None = None
    rating: Rating | None = None
    regular_held: int | None = None
    """Regular (or combined) meetings the cell held in the period: 0 in a month it has not met."""
    meetings_held: int | None = None
    """Meetings of any kind the cell held in the period (CellPeriodReply.meetings_held)."""
    thematic_held: int | None = None
    """Thematic and combined meetings the cell held in the period (CellPeriodReply.thematic_held): 0 for a cell
    without a stored period."""
    attendance_rate: float | None = None
    """Its held meetings' attendance pooled over the period, 0..1 unrounded (CellPeriodReply.attendance_rate, off the
    same stored counts; the gateway's API gives it to four places, its pages round it once): None without anyone
    counted."""
    speaking_rate: float | None = None
    """The share of the present who spoke, pooled over the period (CellPeriodReply.speaking_rate): None without
    anyone present."""
    late_change: LateChangeReply | None = None
    """A month whose result changed after it closed (CellPeriodReply.late_change)."""
    rating_reason: RatingReasonReply | None = None
    """Why the rating is below the score's band (CellPeriodReply.rating_reason)."""
    provisional: bool = False
    """Whether the rating is provisional: a meeting's manual items not assessed yet (the period's `provisional` flag,
    CellPeriodReply.flags), so the score may still change."""
    quarter_ratings: dict[str, Rating | None] | None = None
    """For a half-year (`2026-H1`, which has no rating of its own): each of its quarters' rating, None for one not
    rated (yet); None for any other period (CellPeriodReply.quarter_ratings)."""
    quarter_provisional: dict[str, bool] | None = None
    """For a half-year: for each quarter of `quarter_ratings`, whether its rating is provisional; None for any other
    period (CellPeriodReply.quarter_provisional)."""
    quarter_reasons: dict[str, RatingReasonReply | None] | None = None
    """For a half-year: for each quarter of `quarter_ratings`, its own rating reason; None for any other period
    (CellPeriodReply.quarter_reasons)."""
    rank: int | None = None
    """In a ranking (GetCommitteeRanking, not its weakest cells): the cell's place, from 1, among the cells with a
    score in the order asked, counted by evaluation over the whole subtree (a page past the first ranks right whatever
    cells before it had none); None for a cell without one: not rated yet, or in a month still waiting for its
    meetings one that has not held its regular meeting (read as not met yet); None in other replies."""


class ReportRowReply(CellPeriodReply):
    """A cell's line of its committee's report: its figures for the period (CellPeriodReply), name and parent."""

    name: str | None = None
    parent_id: str | None = None


class RankingPageReply(Page[CellRankReply], TreeRefreshReply):
    """A page of a committee's ranking (GetCommitteeRanking), with the tree's state (TreeRefreshReply)."""


class CellHalfYearReply(CellPeriodReply, TreeRefreshReply):
    """A cell's half-year line (GetCellHalfYear), with the tree's state (TreeRefreshReply): a cell re-dated is
    counted over its span as last applied while the change waits."""


class ReportCursor(Reply):
    """Where the next page of a committee's report starts: after this cell, at this raw score (None: not rated)."""

    after_score: float | None = None
    after_cell: str


class CommitteeReportReply(TreeRefreshReply):
    """A page of a committee's report; `next` reads the following page, None after the last."""

    items: list[ReportRowReply]
    next: ReportCursor | None = None


class ByRatingReply(Reply):
    """How many cells got each rating."""

    good: int = 0
    fair: int = 0
    average: int = 0
    poor: int = 0


class TrendReply(Reply):
    """The change from the previous period."""

    previous_period: str | None = None
    previous_score: float | None = None
    """The previous period's score (None when the subtree has no data then)."""
    score_delta: float | None = None


class QuarterRatingsReply(Reply):
    """One quarter of a half-year's roll-up: its cells by rating, and those not rated yet (a running quarter)."""

    period: str
    by_rating: ByRatingReply
    not_rated: int = 0


class RollupFiguresReply(Reply):
    """A unit's subtree for one period, its figures only (by_rating, rates, score, trend): a committee's roll-up
    without its weakest cells and late changes."""

    committee_id: str
    period: str
    cells: int
    by_rating: ByRatingReply | None
    """None for a half-year, which has no rating (DOMAIN.md rates months, quarters and years): see `quarters`."""
    regularity: float | None = None
    attendance_rate: float | None = None
    speaking_rate: float | None = None
    thematic_coverage: float | None = None
    score: float | None = None
    trend: TrendReply | None = None
    irregular: int | None = None
    """Cells that missed the regular meeting of a month counted (for a month: those that have not held it; they are
    among `by_rating.poor`)."""
    met_score: float | None = None
    """For a month: the mean score of the cells that held its regular meeting (None for a quarter or year)."""
    met_thematic_coverage: float | None = None
    """For a month: the share of the cells that held its regular meeting that held a thematic one too (None for a
    quarter or year, and while no cell has held it)."""
    not_rated: int | None = None
    """In a quarter or year still running: the cells with no month counted yet (set up in the running month and not
    met yet), not rated, so out of `by_rating`, the rates, `score` and `weakest` (0 otherwise)."""
    quarters: list[QuarterRatingsReply] | None = None
    """For a half-year (`2026-H1`): its quarters begun so far, each with its cells by rating (a half-year has no
    rating of its own); None for any other period."""
    first_month: str | None = None
    """The subtree's first month with data (a cell's month stored, `2025-12`): the periods its pages offer begin
    there, and its trend draws no month before it."""
    fewest_months_counted: int | None = None
    most_months_counted: int | None = None
    """For a half-year: the fewest and the most months a rated cell of the subtree counted (six, unless a cell was set
    up or closed partway through it, or it is still running); None for any other period or without a rated cell."""
    fewest_months_gone: int | None = None
    most_months_gone: int | None = None
    """For a half-year: the fewest and the most of its months before the running one that a rated cell of the subtree
    existed in (the months gone by a running half-year's score counts for each cell); None for any other period or
    without such a cell."""


class CommitteeRollupReply(RollupFiguresReply, TreeRefreshReply):
    """A committee's subtree for one period (by_rating, rates, trend and the weakest cells)."""

    weakest: Sequence[CellRankReply] = Field(default_factory=list)
    late_changes: Sequence[CellRankReply] = Field(default_factory=list)
    """For a month: the subtree's cells whose result changed after the month closed (a meeting recorded late, a cell
    moved in or out); for a quarter, half-year or year: its cells moved in or out after a month of it closed (kind
    "unit_moved", the period's own figures); the latest change first, each with its `late_change`; at most the
    configured number (`late_changes_total` all)."""
    late_changes_total: int = 0


class UnitRollupsReply(TreeRefreshReply):
    """The figures of each unit asked for (GetUnitRollups) that has data up to the period's end, in the order asked."""

    items: list[RollupFiguresReply]


class DirectCellsReply(Reply):
    """How many cells directly under a committee count in a period (CountDirectCells)."""

    cells: int


class FrameworkReply(Reply):
    """A framework: in lists its id, version and adoptions; alone the whole document and its versions."""

    id: str


class RescoreJobReply(Reply):
    """A rescoring job: queued at once, its progress readable until it is done."""

    job_id: str
    status: Literal["queued", "running", "done", "failed"]
    cells_total: int | None = None
    cells_done: int | None = None
    meetings_rescored: int | None = None
    """Meetings scored again."""
    meetings_changed: int | None = None
    """Meetings whose score, rating or a criterion's points changed (a first score and a cancelled meeting's score
    withdrawn included); one only republished under a new framework version, rated the same, is not counted."""
    periods_changed: int | None = None
    """A cell's month, quarter and year rows that changed (their rating, score or figures)."""
    changed: int | None = None
    """Everything the job changed: `meetings_changed` + `periods_changed` (a re-rated quarter counts)."""
    error: str | None = None
    """Why a failed job stopped, in English: the field at fault first (`period_to: ...`), or that it met an internal
    error (its details are in evaluation's log only)."""
    error_field: str | None = None
    """The field a failed job's months were refused by (`period_from`|`period_to`); None for an internal error."""
    error_code: str | None = None
    """Why, machine-readably: `internal`, or the span's problem (shared.plausible.SpanProblem: `before_earliest`,
    `too_far_ahead`, `not_begun`, `ends_before_start`, `not_a_period`)."""
    unit_id: str | None = None
    """The subtree re-scored (None: every cell with meetings)."""
    period_from: str | None = None
    period_to: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


# ---- requests ----------------------------------------------------------------------------------


class GetMeetingScore(EvaluationRequest[MeetingScoreReply]):
    """A meeting's score with its explanation."""

    method = "meeting_score"
    meeting_id: str


class GetCellPeriods(EvaluationRequest[CellPeriodsReply]):
    """A cell's month, quarter and year ratings (one year's when `year` is given)."""

    method = "cell_periods"
    cell_id: str
    year: int | None = None


class GetCellHalfYear(EvaluationRequest[CellHalfYearReply]):
    """A cell's half-year (`2026-H1`, a report's period): computed from its two quarters as a committee's half-year
    line is (the mean of its months' scores, a month without a meeting 0; meetings and pooled rates summed), no rating
    of its own (`quarter_ratings` instead); `not_found` naming `period` when the cell did not exist in it."""

    method = "cell_half_year"
    cell_id: str
    period: HalfYear


LATE_CHANGES_PAGE = 50
"""How many cells whose closed month changed late a committee's roll-up lists at a time (GetCommitteeRollup's
`late_changes_offset` pages the rest; the committee page pages them alike)."""


class GetCommitteeRollup(EvaluationRequest[CommitteeRollupReply]):
    """A committee's subtree for one period: a month, quarter or year, or a half-year (`2026-H1`, a report's period,
    computed from its two quarters: no rating of its own, `quarters` instead of `by_rating`). The other report reads
    (GetUnitRollups, CountDirectCells, GetCommitteeRanking, GetCommitteeReport, GetWeakestCells) take a half-year
    too."""

    method = "committee_rollup"
    committee_id: str
    period: ReportPeriod
    late_changes_offset: Offset = 0
    """Where its `late_changes` start among all of them (`late_changes_total`), a page of the configured number at a
    time: a page lists every cell whose month changed late, page by page."""


UNIT_ROLLUPS_MAX = 1000
"""The most units one GetUnitRollups asks for: more than any committee's direct children (a province's ~100
communes, a commune's 100–500 cells), each item about 0.5 kB of JSON."""


class GetUnitRollups(EvaluationRequest[UnitRollupsReply]):
    """The roll-up figures of each of `unit_ids` (committees or cells: a large committee's report PDF asks for its
    direct children's at once, not one GetCommitteeRollup each) for one period, as GetCommitteeRollup gives them
    without their weakest cells and late changes; a unit evaluation does not know, or whose subtree has no data up
    to the period's end, is left out (GetCommitteeRollup's not_found); invalid (`period`) before it begins."""

    method = "unit_rollups"
    unit_ids: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1, max_length=UNIT_ROLLUPS_MAX)]
    period: ReportPeriod


class CountDirectCells(EvaluationRequest[DirectCellsReply]):
    """How many cells directly under `committee_id` (not under its sub-committees) existed in the period and have a
    month stored up to its end: those GetUnitRollups would list, with cells, if asked for each (a large committee's
    summary PDF counts them, never tabling them, so it asks for no cell's figures); 0 for a unit evaluation does not
    know; invalid (`period`) before it begins."""

    method = "direct_cells"
    committee_id: str
    period: ReportPeriod


class GetCommitteeRanking(EvaluationRequest[RankingPageReply]):
    """The subtree's cells ranked by score for the period (`limit` at most the service's configured maximum);
    `weak_only`: only the cells rated Poor or Average, worst rating first, then lowest score (in a half-year, which
    has no rating, those rated so in one of its quarters, as its roll-up's `weakest`); with it, for a month,
    `met_only`: only the cells that held its regular meeting (in the month in progress the others have not met yet:
    not weak, only not over)."""

    method = "committee_ranking"
    committee_id: str
    period: ReportPeriod
    order: Literal["asc", "desc"] = "desc"
    limit: Annotated[int, Field(ge=1)] = 50
    offset: Offset = 0
    weak_only: bool = False
    met_only: bool = False


class ListFrameworks(EvaluationRequest[Page[FrameworkReply]]):
    """Every stored framework version with where and from when it is in force."""

    method = "list_frameworks"


class GetFramework(EvaluationRequest[FrameworkReply]):
    """A framework document (the latest stored version unless one is named)."""

    method = "get_framework"
    framework_id: str
    version: str | None = None


class AdoptFramework(EvaluationRequest[FrameworkReply]):
    """Store and adopt a framework document, for the province or one committee's subtree."""

    method = "adopt_framework"
    document: Any
    committee_id: str | None = None


class Rescore(EvaluationRequest[RescoreJobReply]):
    """Queue a rescoring job over a subtree (or everything) and a span of periods."""

    method = "rescore"
    unit_id: str | None = None
    period_from: ReportPeriod | None = None
    period_to: ReportPeriod | None = None
    job_id: Annotated[str, Field(pattern=ID_PATTERN)] | None = None
    """The job's id when the caller chose it (the gateway derives one from a web form's one-time key): a job by
    that id over the same subtree and months is answered as it stands, not queued again; None: a new job."""


class GetRescoreStatus(EvaluationRequest[RescoreJobReply]):
    """A rescoring job's state and progress."""

    method = "rescore_status"
    job_id: str


OPS = ops.ops_catalog("evaluation")
"""The operator methods (dead letters, parked outbox rows) as this service's own requests (see ops_rpc.py)."""


REPORT_PAGE_MAX = 5000
"""The most cells one page of a committee's report holds: about 1.5 MB of JSON, far below RabbitMQ's
`max_message_size` (128 MiB by default), so a province's 35,000 cells come in 7 replies, never in one huge one (each
page reads the whole subtree again to rank it: 35 pages of 1,000 cost a province's CSV seconds of database time)."""


class GetCommitteeReport(EvaluationRequest[CommitteeReportReply]):
    """A page of the subtree's cells with every figure of the period, best first (the ranking's order), read after
    the cursor of the previous page (`after_cell` None: the first); the period's errors as for the roll-up."""

    method = "committee_report"
    committee_id: str
    period: ReportPeriod
    after_score: float | None = None
    after_cell: str | None = None
    limit: Annotated[int, Field(ge=1, le=REPORT_PAGE_MAX)] = 1000


WEAKEST_MAX = REPORT_PAGE_MAX
"""The most weakest cells one GetWeakestCells asks for (a page of the report at most)."""


class WeakestCellsReply(TreeRefreshReply):
    """A committee's weakest cells of a period, worst first, each with every figure of its report line."""

    items: list[ReportRowReply]


class GetWeakestCells(EvaluationRequest[WeakestCellsReply]):
    """The subtree's `limit` weakest cells of the period (rated Average or Poor: Poor first, then the lower score
    rounded to the cent as the report gives it, then the cell id in code point order), each as its report line
    (GetCommitteeReport's items): what a large committee's report PDF lists, without reading every cell.
    `met_only`: leave out the cells without the month's regular meeting (`regular_held` 0 or flagged
    `no_regular_meeting`), as the gateway shows a month still waiting for it; the period's errors as for the
    roll-up."""

    method = "weakest_cells"
    committee_id: str
    period: ReportPeriod
    limit: Annotated[int, Field(ge=1, le=WEAKEST_MAX)] = 50
    met_only: bool = False
