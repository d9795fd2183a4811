"""Month, quarter and year ratings of a cell from its meetings' scores (DOMAIN.md, "Periods")."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from functools import cached_property
from typing import Any

from services.evaluation.domain.framework import RATING_ORDER, PeriodRule, PeriodRules
from shared.contracts.meetings import REGULAR_KINDS as REGULAR_KINDS
from shared.contracts.meetings import THEMATIC_KINDS as THEMATIC_KINDS
from shared.numbers import shown_change
from shared.periods import month_of, period_months


@dataclass(frozen=True)
class MeetingSummary:
    """What a period needs from one meeting of the cell."""

    meeting_id: str
    kind: str
    starts_at: datetime
    held: bool
    score: float
    rating: str
    provisional: bool
    present: int
    counted: int
    speakers_present: int

    @cached_property
    def month(self) -> str:
        """The local month of the start (computed once: every period of the cell's year asks for it)."""
        return month_of(self.starts_at)


@dataclass(frozen=True)
class RatingReason:
    """Why a period's rating is below its score's band (DOMAIN.md "Periods": a quarter or year is rated from its
    months, its score is only their mean), so that every page and export says it, worded by the gateway.

    `code` `no_thematic_meeting`: an ended quarter without a held thematic (or combined) meeting, Poor whatever its
    score. `meeting_rating`: a month (or a period with one month counted) takes its meeting's rating, which the
    framework's gates lowered below the score's band (a gated item short of full points). `month_ratings`: the
    month-by-month rule kept the period below `band` (its score's band): it missed the
    rating one step up (`missed`) on that tier's first failing `condition`: `all_at_least` (`months` rated below
    `floor`), `count_at_least` (`count` months at `floor` or better of the `needed`) or `max_poor` (`count` Poor
    `months`, `needed` allowed at most). `quarters_without_thematic`: a year rated above Poor at its band (or above
    it) whose ended `quarters` ("2025-Q4") are Poor for their missing thematic meeting: DOMAIN.md's year rule reads
    only its months, so the year is not lowered by them, and says so beside the quarters' Kém."""

    code: str
    band: str
    missed: str | None = None
    condition: str | None = None
    floor: str | None = None
    months: tuple[str, ...] = ()
    count: int | None = None
    needed: int | None = None
    quarters: tuple[str, ...] = ()

    def data(self) -> dict[str, Any]:
        """As stored and answered (evaluation_rpc.RatingReasonReply), unset values left out."""
        fields = asdict(self)
        return (
            {key: value for key, value in fields.items() if value is not None and value != ()}
            | ({"months": list(self.months)} if self.months else {})
            | ({"quarters": list(self.quarters)} if self.quarters else {})
        )


@dataclass(frozen=True)
class PeriodResult:
    """A cell's result for a month ("2026-11"), a quarter ("2026-Q4") or a year ("2026")."""

    cell_id: str
    period: str
    rating: str
    score: float
    regular_held: int
    thematic_held: int
    present: int
    counted: int
    speakers_present: int
    months_counted: int
    months_with_regular: int
    flags: tuple[str, ...]
    meetings_held: int = 0
    """Meetings of any kind (regular, thematic, combined, extraordinary) the cell held in the period: a month held
    some meeting but no regular one when it is above 0 with `regular_held` 0 (not published: read by the gateway)."""
    rating_reason: RatingReason | None = None
    """Why the rating is below the score's band, when a period rule set it (not published: read by the gateway)."""

    @property
    def attendance_rate(self) -> float | None:
        """Pooled over every held meeting of the period."""
        return self.present / self.counted if self.counted else None

    @property
    def speaking_rate(self) -> float | None:
        """Present speakers over present members, pooled over every held meeting."""
        return self.speakers_present / self.present if self.present else None

    def published_data(self) -> dict[str, Any]:
        """The `score.cell.updated.v1` data, its score and rates exact (MeetingScore.published_data: a reader rounds
        each once where a person reads it)."""
        return {
            "cell_id": self.cell_id,
            "period": self.period,
            "rating": self.rating,
            "score": self.score,
            "regular_held": self.regular_held,
            "thematic_held": self.thematic_held,
            "attendance_rate": self.attendance_rate,
            "speaking_rate": self.speaking_rate,
            "flags": list(self.flags),
        }


@dataclass(frozen=True)
class CellSpan:
    """The months a cell existed in: from `first_month` through `last_month` (None: it still exists)."""

    first_month: str
    last_month: str | None = None

    def covers(self, month: str) -> bool:
        """Whether the cell existed in (some of) the month."""
        return self.first_month <= month and (self.last_month is None or month <= self.last_month)


def cell_span(
    *,
    first_snapshot: datetime | None,
    ended_at: datetime | None,
    first_held: datetime | None,
    last_held: datetime | None,
    first_cancelled: datetime | None = None,
    last_cancelled: datetime | None = None,
) -> CellSpan | None:
    """The months a cell existed in, from the facts about it (docs/architecture.md, "When a cell exists").

    It begins in the local month of the earlier of its first unit snapshot (by event time, whatever the arrival
    order) and its first held meeting: a tree loaded today for a backfilled history still has that history. It ends
    in the month it was made inactive (`ended_at`: the first inactive snapshot after its last active one), or of its
    last held meeting if that is later. A cancelled meeting with minutes (`first_cancelled`, `last_cancelled`) counts
    as a held one here: its cancellation withdraws its score, not the month the cell met in, which stays rated (Poor
    without another regular meeting) and is published again instead of dropped unannounced. No snapshot and no such
    meeting: None, no bound is known."""
    starts = [moment for moment in (first_snapshot, first_held, first_cancelled) if moment is not None]
    if not starts:
        return None
    last_month = None
    if ended_at is not None:
        last_month = max(month_of(moment) for moment in (ended_at, last_held, last_cancelled) if moment is not None)
    return CellSpan(first_month=min(month_of(moment) for moment in starts), last_month=last_month)


def scale_rule(rule: PeriodRule, *, covered: int, full: int) -> PeriodRule:
    """The rule for a period the cell existed in for `covered` of its `full` months: counts needed scale up
    (ceil), poor months allowed scale down (floor), as DOMAIN.md scales the year's rule to a quarter (7 of 12 Good
    is 2 of 3; at most 2 of 12 Poor is none of 3)."""
    if covered >= full:
        return rule
    tiers = [
        tier.model_copy(
            update={
                "count_at_least": None
                if tier.count_at_least is None
                else (tier.count_at_least[0], -(-tier.count_at_least[1] * covered // full)),
                "max_poor": None if tier.max_poor is None else tier.max_poor * covered // full,
            }
        )
        for tier in rule.tiers
    ]
    return rule.model_copy(update={"tiers": tiers})


def _at_least(rating: str, floor: str) -> bool:
    return RATING_ORDER.index(rating) >= RATING_ORDER.index(floor)


def rate_months(ratings: Sequence[str], rule: PeriodRule) -> str:
    """The first tier whose conditions all hold, else poor."""
    for tier in rule.tiers:
        if tier.all_at_least and not all(_at_least(rating, tier.all_at_least) for rating in ratings):
            continue
        if tier.count_at_least:
            floor, needed = tier.count_at_least
            if sum(1 for rating in ratings if _at_least(rating, floor)) < needed:
                continue
        if tier.max_poor is not None and sum(1 for rating in ratings if rating == "poor") > tier.max_poor:
            continue
        return tier.rating
    return "poor"


def months_reason(
    months: Sequence[str], ratings: Sequence[str], rule: PeriodRule, *, rating: str, band: str
) -> RatingReason | None:
    """Why the month-by-month `rule` rated the months (`ratings`, one per month of `months`) `rating`, below the
    score's `band`: the first condition that fails on the tier one step above `rating` (rate_months' order); None
    when `rating` is not below `band`."""
    if RATING_ORDER.index(rating) >= RATING_ORDER.index(band):
        return None
    missed = RATING_ORDER[RATING_ORDER.index(rating) + 1]
    tier = next((tier for tier in rule.tiers if tier.rating == missed), None)
    if tier is None:
        return RatingReason(code="month_ratings", band=band, missed=missed)
    rated = list(zip(months, ratings, strict=True))
    if tier.all_at_least and not all(_at_least(r, tier.all_at_least) for r in ratings):
        below = tuple(month for month, r in rated if not _at_least(r, tier.all_at_least))
        return RatingReason(
            code="month_ratings",
            band=band,
            missed=missed,
            condition="all_at_least",
            floor=tier.all_at_least,
            months=below,
            count=len(below),
        )
    if tier.count_at_least:
        floor, needed = tier.count_at_least
        count = sum(1 for r in ratings if _at_least(r, floor))
        if count < needed:
            return RatingReason(
                code="month_ratings",
                band=band,
                missed=missed,
                condition="count_at_least",
                floor=floor,
                count=count,
                needed=needed,
            )
    poor = tuple(month for month, r in rated if r == "poor")
    if tier.max_poor is not None and len(poor) > tier.max_poor:
        return RatingReason(
            code="month_ratings",
            band=band,
            missed=missed,
            condition="max_poor",
            months=poor,
            count=len(poor),
            needed=tier.max_poor,
        )
    return RatingReason(code="month_ratings", band=band, missed=missed)


def evaluate_period(
    *,
    cell_id: str,
    period: str,
    meetings: Sequence[MeetingSummary],
    rules: PeriodRules,
    through_month: str,
    span: CellSpan | None = None,
    band_of: Callable[[float], str] | None = None,
) -> PeriodResult | None:
    """A cell's result for a period over its months up to `through_month` (the running month) that the cell existed
    in (`span`; None: every month); None if none of them has begun or the cell existed in none, or if the period is a
    running quarter or year with no month counted yet (not rated yet, not Poor).

    A running quarter or year reads what is known so far: the running month counts once it has a held regular
    meeting (until then it is not yet Poor, only not over; the same for every cell, one set up this month too, whose
    running quarter and year then have no month to rate), and a running quarter without its thematic meeting is not
    yet Poor for it nor flagged (`no_thematic_meeting` only once the quarter has ended, DOMAIN.md "Periods"). A
    running month on its own is Poor until its meeting (the gateway shows it as not met yet); once the month closes,
    every period holding it counts it, Poor without one.

    `band_of` (the framework's bands) lets the result say why its rating is below its score's band
    (`rating_reason`): the missing thematic meeting, or the month-by-month rule (months_reason)."""
    all_months = period_months(period)
    covered = [month for month in all_months if span is None or span.covers(month)]
    months = [month for month in covered if month <= through_month]
    if not months:
        return None
    running = covered[-1] >= through_month  # a month the cell exists in is not over yet
    if running and len(all_months) > 1 and months[-1] == through_month:
        running_held = any(m.held and m.month == through_month and m.kind in REGULAR_KINDS for m in meetings)
        if not running_held:
            months = months[:-1]
            if not months:
                return None  # only the running month so far, no meeting in it yet: not rated yet
    # the running month's meetings count for a running period it belongs to even while that month is left out of
    # `months` (a thematic meeting held this month counts for the quarter), never for a period it is not part of
    in_period = [
        meeting
        for meeting in meetings
        if meeting.month in months or (meeting.month == through_month and through_month in covered)
    ]
    held = [meeting for meeting in in_period if meeting.held]
    month_scores: list[float] = []
    month_ratings: list[str] = []
    provisional = False
    for month in months:
        regular = [m for m in held if m.month == month and m.kind in REGULAR_KINDS]
        if regular:
            latest = max(regular, key=lambda m: (m.starts_at, m.meeting_id))
            month_scores.append(latest.score)
            month_ratings.append(latest.rating)
            provisional = provisional or latest.provisional
        else:
            month_scores.append(0.0)
            month_ratings.append("poor")
    regular_held = sum(1 for m in held if m.kind in REGULAR_KINDS)
    thematic_held = sum(1 for m in held if m.kind in THEMATIC_KINDS)
    months_with_regular = len({m.month for m in held if m.kind in REGULAR_KINDS})
    flags: list[str] = []
    if months_with_regular < len(months):
        flags.append("no_regular_meeting" if len(months) == 1 else "months_without_regular_meeting")
    # a quarter needs its thematic meeting however few of its months count (DOMAIN.md "Periods"), the one month of a
    # cell set up in the quarter's last month too: judged before the one-month reading below, which would skip it
    # only once the quarter has ended: a running one may still hold it, so it is neither Poor nor flagged for it (the
    # API's flags, the pages and the PDF say one rule: a trial's December read Q4 flagged while the PDF said not Kém)
    no_thematic = "-Q" in period and rules.quarter.requires_thematic and thematic_held == 0 and not running
    if no_thematic:
        flags.append("no_thematic_meeting")
    score = sum(month_scores) / len(months)
    band = band_of(score) if band_of is not None else None
    reason = None
    if no_thematic:
        rating = "poor"
        reason = RatingReason(code="no_thematic_meeting", band=band) if band is not None else None
    elif len(months) == 1:
        rating = month_ratings[0]
        if band is not None and RATING_ORDER.index(rating) < RATING_ORDER.index(band) and months_with_regular:
            # the month takes its meeting's rating, which the meeting's gates lowered below its score's band
            reason = RatingReason(code="meeting_rating", band=band)
    else:
        rule = scale_rule(rules.quarter if "-Q" in period else rules.year, covered=len(covered), full=len(all_months))
        rating = rate_months(month_ratings, rule)
        if band is not None:
            reason = months_reason(months, month_ratings, rule, rating=rating, band=band)
    if band is not None and reason is None and rating != "poor" and len(all_months) == 12:
        reason = _quarters_reason(held, period, rules, span=span, through_month=through_month, band=band)
    if provisional:
        flags.append("provisional")
    if running:
        flags.append("in_progress")
    return PeriodResult(
        cell_id=cell_id,
        period=period,
        rating=rating,
        score=score,
        regular_held=regular_held,
        thematic_held=thematic_held,
        present=sum(m.present for m in held),
        counted=sum(m.counted for m in held),
        speakers_present=sum(m.speakers_present for m in held),
        months_counted=len(months),
        months_with_regular=months_with_regular,
        flags=tuple(flags),
        meetings_held=len(held),
        rating_reason=reason,
    )


def poor_for_thematic(
    meetings: Sequence[MeetingSummary], quarter: str, rules: PeriodRules, *, span: CellSpan | None, through_month: str
) -> bool:
    """Whether a quarter ("2026-Q2") is Poor for its missing thematic meeting (evaluate_period's rule, DOMAIN.md
    "Periods": an ended quarter without a held thematic or combined meeting): it has a month the cell existed in
    (`span`; None: every month) by `through_month`, its last such month is over, and no held thematic (or combined)
    meeting of `meetings` falls in its counted months."""
    covered = [month for month in period_months(quarter) if span is None or span.covers(month)]
    if not rules.quarter.requires_thematic or not covered or covered[-1] >= through_month:
        return False
    return not any(m.held and m.kind in THEMATIC_KINDS and m.month in covered for m in meetings)


def _quarters_reason(
    held: Sequence[MeetingSummary],
    year: str,
    rules: PeriodRules,
    *,
    span: CellSpan | None,
    through_month: str,
    band: str,
) -> RatingReason | None:
    """A year's note (`quarters_without_thematic`) naming its ended quarters Poor for their missing thematic meeting
    (poor_for_thematic), which DOMAIN.md's year rule does not read ("A year is Good when every month is Fair or better
    and at least 7 are Good; ..."): a trial read Quý IV/2025 Kém and Năm 2025 Tốt over the same one month with no
    word why. None when every such quarter held one."""
    quarters = tuple(
        quarter
        for quarter in (f"{year}-Q{number}" for number in range(1, 5))
        if poor_for_thematic(held, quarter, rules, span=span, through_month=through_month)
    )
    return RatingReason(code="quarters_without_thematic", band=band, quarters=quarters) if quarters else None


@dataclass(frozen=True)
class LateChange:
    """A closed month's result that changed after the month closed, because a fact about it came late (a meeting of
    30 November recorded on 4 December replaces November's result, DOMAIN.md "Periods"): the rule keeps the new
    result, and evaluation keeps this note so officers see that, and how, it changed."""

    cell_id: str
    period: str
    meeting_id: str | None
    """The meeting the month's result was its when the note was left (None: none held then); the pages read the
    month's meeting now instead (queries.LATE_CHANGES), but for a withdrawal, which names the meeting withdrawn."""
    old_rating: str | None
    """None for a cell that did not count in the month before (`kind` "unit_added")."""
    old_score: float | None
    new_rating: str | None
    """None for a cell that no longer counts in the month (`kind` "unit_closed")."""
    new_score: float | None
    changed_at: datetime
    kind: str = "result"
    """"result" (a late fact changed the month's result), "withdrawn" (a held meeting's score was withdrawn after the
    month closed, cancelled or not held, so the month counts it no more: `meeting_id` the withdrawn one, filled in by
    the caller), "rescored" (an operator's re-score job rated the month again under the framework in force,
    `framework_id`/`framework_version`: no fact came late, DOMAIN.md "re-scoring history ... is an explicit job"),
    "unit_added" (a cell set up late with an effective time in the month counts in it from then on:
    unit_added_change) or "unit_closed" (a cell closed late with an effective time before the month no longer counts
    in it: unit_closed_change)."""
    framework_id: str | None = None
    framework_version: str | None = None


def month_meeting(meetings: Sequence[MeetingSummary], month: str) -> MeetingSummary | None:
    """The meeting a month's result is its: the latest held regular (or combined) meeting of the month."""
    regular = [m for m in meetings if m.held and m.month == month and m.kind in REGULAR_KINDS]
    return max(regular, key=lambda m: (m.starts_at, m.meeting_id)) if regular else None


def late_change(
    *,
    before: Mapping[str, Any],
    after: PeriodResult,
    meetings: Sequence[MeetingSummary],
    through_month: str,
    at: datetime,
    today: date | None = None,
    recorded_at: datetime | None = None,
) -> LateChange | None:
    """The note a fact received in `through_month` (on `today`, the service's day; the latest of them happened at
    `recorded_at`, their `time`) leaves when it changes the result of an earlier, closed month (`before`: its stored
    row, as last published, whether the month close has rated it yet or not) in its rating or its score as the pages
    show it (_result_moved; the note and the event carry it exact). None for a month still running, a quarter or
    a year (they follow their months), a result that did not change, or a month whose row was first stored after it
    ended (`rated_from`: a history loaded later rates its months for the first time) by a fact that happened before that
    first rating (`rated_at`, migration 0046: the load's own facts, all of which happened before it ran, in whatever
    batch, order or hour they arrive; a row without that moment, rated before 0046, by the day, `rated_on` of 0045; a
    row without either, on any day), unless the change withdraws a held meeting it showed (kind "withdrawn": cancelled
    or not held, whatever the reason; the caller names the meeting). A month first rated late is shown from that moment
    on, so a fact that happened after it and changes it is late, the load's own day too (docs/architecture.md: a meeting
    of 30 November recorded on 4 December, whatever loaded November)."""
    month = after.period
    if len(period_months(month)) != 1 or month >= through_month:
        return None
    withdrawn = (before.get("meetings_held") or before.get("regular_held") or 0) > after.meetings_held
    rated_from = before.get("rated_from")
    # a month first stored late that showed a held meeting was seen once that meeting was: its withdrawal is noted
    # (a history loaded later whose later meetings replace earlier ones, all in one load, still leaves none)
    if rated_from is not None and rated_from > month and not withdrawn and not _seen_before(before, today, recorded_at):
        return None
    if not _result_moved(before, after):
        return None
    found = month_meeting(meetings, month)
    return LateChange(
        **_month_figures(before, after),
        meeting_id=None if withdrawn or found is None else found.meeting_id,
        changed_at=at,
        kind="withdrawn" if withdrawn else "result",
    )


def _seen_before(before: Mapping[str, Any], today: date | None, recorded_at: datetime | None) -> bool:
    """Whether a fact (received `today`, happened at `recorded_at`) came after a month first rated late was shown:
    it happened after the month's first rating (`rated_at`, migration 0046: a late recording the load's own day), or
    it was received on a later day than that rating (`rated_on`, migration 0045: a partner's backfill sent days
    later with the facts' own past times, which happened before the rating but was not part of the load); never for
    an older row."""
    rated_at = before.get("rated_at")
    if rated_at is not None and recorded_at is not None and recorded_at > rated_at:
        return True
    rated_on = before.get("rated_on")
    return rated_on is not None and today is not None and today > rated_on


def _result_moved(before: Mapping[str, Any], after: PeriodResult) -> bool:
    """Whether a stored month (`before`) and its new result read differently to a person: in rating or in the score
    as the pages show it (shared.numbers.shown_change, one decimal: not the API's cent, which noted 77.01 → 77.04,
    both 77,0, and missed 77.049 → 77.051, 77,0 → 77,1)."""
    return shown_change(before["score"], before["rating"], after.score, after.rating)


def _month_figures(before: Mapping[str, Any], after: PeriodResult) -> dict[str, Any]:
    """A month's note fields that a result change carries: the cell, the month, and the figures before and after
    (scores unrounded: a page rounds each once as it shows it)."""
    return {
        "cell_id": after.cell_id,
        "period": after.period,
        "old_rating": before["rating"],
        "old_score": before["score"],
        "new_rating": after.rating,
        "new_score": after.score,
    }


def month_shown(before: Mapping[str, Any], month: str) -> bool:
    """Whether officers saw a month's stored row (`before`) as a result: it was stored while the month ran or before
    (`rated_from`; None, a row older than migration 0018, counts as seen), or it held a meeting (a meeting recorded
    late that the pages then showed: its later withdrawal or re-score changes what they showed). A quiet month first
    rated after it ended (a history loaded later) was not."""
    rated_from = before.get("rated_from")
    return bool(rated_from is None or rated_from <= month or before.get("regular_held") or before.get("meetings_held"))


def rescored_change(
    *,
    before: Mapping[str, Any],
    after: PeriodResult,
    meetings: Sequence[MeetingSummary],
    through_month: str,
    at: datetime,
    framework_id: str,
    framework_version: str,
) -> LateChange | None:
    """The note a re-score job (handlers/rescoring.py) leaves when it changes a closed month officers were shown
    (month_shown) in its rating or its score as the pages show it (_result_moved): kind "rescored", under the framework
    (`framework_id`, `framework_version`) in force for the month now. Not a fact recorded late but an operator's
    decision (DOMAIN.md "re-scoring history under a corrected framework is an explicit job"), so it is its own kind.
    None for a month still running (`through_month` the current month), a quarter or a year, or no change."""
    month = after.period
    if len(period_months(month)) != 1 or month >= through_month or not month_shown(before, month):
        return None
    if not _result_moved(before, after):
        return None
    found = month_meeting(meetings, month)
    return LateChange(
        **_month_figures(before, after),
        meeting_id=found.meeting_id if found is not None else None,
        changed_at=at,
        kind="rescored",
        framework_id=framework_id,
        framework_version=framework_version,
    )


def unit_added_change(
    *,
    after: PeriodResult,
    meetings: Sequence[MeetingSummary],
    through_month: str,
    at: datetime,
    set_up_in: str | None = None,
) -> LateChange | None:
    """The note a closed month first rated for a cell after it ended leaves when the cell's committee already showed
    that month (the caller's judgement: another cell under the same parent had a stored month with a held meeting):
    the cell was set up (`org.unit.upserted.v1`) with an effective time in that month, received in `through_month`,
    and counts in it from then on (docs/architecture.md "When a cell exists"), so its committees' figures of a
    finished month change. A month before `set_up_in` (the month of the cell's earliest snapshot, YYYY-MM) counts
    the cell only because a held meeting of it was recorded late (its start moved earlier): the cell already
    existed, so the note is kind "result", a result first recorded (`old_*` None). None for a month still running,
    a quarter or a year."""
    month = after.period
    if len(period_months(month)) != 1 or month >= through_month:
        return None
    found = month_meeting(meetings, month)
    by_meeting = set_up_in is not None and month < set_up_in
    return LateChange(
        cell_id=after.cell_id,
        period=month,
        meeting_id=found.meeting_id if found is not None else None,
        old_rating=None,
        old_score=None,
        new_rating=after.rating,
        new_score=after.score,
        changed_at=at,
        kind="result" if by_meeting else "unit_added",
    )


def unit_closed_change(*, before: Mapping[str, Any], through_month: str, at: datetime) -> LateChange | None:
    """The note a closed month's row dropped because the cell was made inactive (`org.unit.upserted.v1` with `active:
    false`) with an effective time before that month, received in `through_month`, leaves: the month no longer counts
    the cell (docs/architecture.md "When a cell exists"), so its committees' figures of a finished month change.
    `before`: the dropped row. None for a month still running, a quarter or a year, or a month nobody was shown: its
    row held no meeting and was first stored after the month ended (a history loaded later)."""
    month = before["period"]
    if len(period_months(month)) != 1 or month >= through_month:
        return None
    if not month_shown(before, month):
        return None
    return LateChange(
        cell_id=before["cell_id"],
        period=month,
        meeting_id=None,
        old_rating=before["rating"],
        old_score=before["score"],
        new_rating=None,
        new_score=None,
        changed_at=at,
        kind="unit_closed",
    )


@dataclass(frozen=True)
class QuarterFigures:
    """What a half-year reads of one of its quarters for a cell: the quarter's stored row (PeriodResult's figures),
    or a closed quarter without one read as Poor at 0 over the months the cell existed in (as its roll-up reads it)."""

    period: str
    rating: str | None
    score: float
    months_counted: int
    months_with_regular: int
    regular_held: int = 0
    thematic_held: int = 0
    meetings_held: int = 0
    present: int = 0
    counted: int = 0
    speakers_present: int = 0
    flags: tuple[str, ...] = ()


HALF_YEAR_FLAGS = ("in_progress", "provisional")
"""The flags of its counted quarters a cell's half-year line keeps (half_year_line), in the order it lists them."""


def half_year_line(cell_id: str, half: str, quarters: Sequence[QuarterFigures]) -> dict[str, Any]:
    """A cell's half-year (`2026-H1`) off its quarters counted so far (a quarter not begun, or running and not rated
    yet, is left out): its score is the mean of its months' scores, a month without a meeting counting 0 (DOMAIN.md
    "Periods"; a quarter's score is the mean of its counted months, so weighted by them), its meetings and pooled
    rates summed; `met_every_month` whether every counted month held its regular meeting (regularity). No rating:
    DOMAIN.md defines ratings for months, quarters and years only, so `rating` is None and `quarter_ratings` gives
    each quarter's ({period: rating or None}) and `quarter_provisional` whether each is provisional (its `provisional`
    flag); `not_rated` while no month is counted."""
    months = sum(quarter.months_counted for quarter in quarters)
    total = {
        name: sum(int(getattr(quarter, name)) for quarter in quarters)
        for name in ("regular_held", "thematic_held", "meetings_held", "present", "counted", "speakers_present")
    }
    flags = sorted({flag for quarter in quarters for flag in quarter.flags if flag in HALF_YEAR_FLAGS})
    met_every_month = months > 0 and sum(quarter.months_with_regular for quarter in quarters) >= months
    if months and not met_every_month:
        flags.insert(0, "months_without_regular_meeting")
    return {
        "cell_id": cell_id,
        "period": half,
        "rating": None,
        "score": sum(quarter.score * quarter.months_counted for quarter in quarters) / months if months else None,
        **total,
        "attendance_rate": total["present"] / total["counted"] if total["counted"] else None,
        "speaking_rate": total["speakers_present"] / total["present"] if total["present"] else None,
        "flags": flags,
        "not_rated": months == 0,
        "met_every_month": met_every_month,
        "months_counted": months,
        "quarter_ratings": {quarter.period: quarter.rating for quarter in quarters},
        "quarter_provisional": {quarter.period: "provisional" in quarter.flags for quarter in quarters},
    }


def half_year_figures(lines: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A subtree's half-year figures off its cells' half_year_line: the cells, those not rated yet apart
    (`not_rated`), regularity (share of the rated cells that met every month), thematic coverage (share that held a
    thematic meeting), attendance and speaking rates pooled over all held meetings, and the mean score (DOMAIN.md
    "Periods", "How to read it"), as SubtreeSums.figures gives a quarter's; `irregular`: rated cells that missed a
    month's regular meeting; `fewest_months_counted` and `most_months_counted` over the rated cells' months counted,
    `fewest_months_gone` and `most_months_gone` over their months gone by (the lines' `months_gone`, when nonzero).
    No `by_rating`: a half-year has no rating (the caller gives its quarters')."""
    rated = [line for line in lines if not line["not_rated"]]

    def total(name: str) -> int:
        return sum(int(line[name]) for line in rated)

    counts = [int(line["months_counted"]) for line in rated]
    gone = [int(line["months_gone"]) for line in rated if line.get("months_gone")]
    return half_year_figures_of(
        HalfYearTotals(
            cells=len(lines),
            met_every_month=sum(1 for line in rated if line["met_every_month"]),
            thematic=sum(1 for line in rated if line["thematic_held"]),
            present=total("present"),
            counted=total("counted"),
            speakers_present=total("speakers_present"),
            fewest_months_counted=min(counts) if counts else None,
            most_months_counted=max(counts) if counts else None,
            scores=tuple(float(line["score"]) for line in rated),
            fewest_months_gone=min(gone) if gone else None,
            most_months_gone=max(gone) if gone else None,
        )
    )


@dataclass(frozen=True)
class HalfYearTotals:
    """What a subtree's half-year figures are made of, summed over its cells' half_year_line (half_year_figures) or
    read in one statement off the quarters' stored rows (evaluation's queries.HALF_YEAR_TOTALS)."""

    cells: int
    met_every_month: int
    """Rated cells whose every counted month held its regular meeting."""
    thematic: int
    """Rated cells that held a thematic meeting."""
    present: int
    counted: int
    speakers_present: int
    fewest_months_counted: int | None
    most_months_counted: int | None
    scores: tuple[float, ...]
    """The rated cells' half-year scores, in cell id order (their sum, so their mean, depends on the order)."""
    fewest_months_gone: int | None = None
    most_months_gone: int | None = None
    """The fewest and the most months of the half-year before the running one that a rated cell existed in (those
    with any: queries.months_gone); a running half-year's note says them (a cell set up partway counts fewer)."""


def half_year_figures_of(totals: HalfYearTotals) -> dict[str, Any]:
    """A subtree's half-year figures (as half_year_figures describes them) off its totals."""
    rated = len(totals.scores)

    def share(part: float, whole: float) -> float | None:
        return part / whole if whole else None

    return {
        "cells": totals.cells,
        # a cell set up (or closed) partway through counts fewer than six: the page says how many were counted
        "fewest_months_counted": totals.fewest_months_counted,
        "most_months_counted": totals.most_months_counted,
        "fewest_months_gone": totals.fewest_months_gone,
        "most_months_gone": totals.most_months_gone,
        "regularity": share(totals.met_every_month, rated),
        "attendance_rate": share(totals.present, totals.counted),
        "speaking_rate": share(totals.speakers_present, totals.present),
        "thematic_coverage": share(totals.thematic, rated),
        "score": sum(totals.scores) / rated if rated else None,
        "irregular": rated - totals.met_every_month,
        "met_score": None,
        "met_thematic_coverage": None,
        "not_rated": totals.cells - rated,
    }
