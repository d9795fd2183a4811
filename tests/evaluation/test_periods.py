"""Month, quarter and year ratings of a cell (pure domain)."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from services.evaluation.domain.periods import (
    CellSpan,
    LateChange,
    MeetingSummary,
    PeriodResult,
    cell_span,
    evaluate_period,
    late_change,
    rescored_change,
    scale_rule,
)
from services.evaluation.handlers.scores import framework_day, local_year
from shared.periods import VIETNAM_TZ, period_months, periods_of_month, previous_period
from tests.evaluation.builders import framework

SCORE = {"good": 95.0, "fair": 80.0, "average": 60.0, "poor": 30.0}


def meeting(
    month: int,
    rating: str,
    *,
    kind: str = "regular",
    day: int = 5,
    held: bool = True,
    year: int = 2026,
    present: int = 9,
    counted: int = 10,
    speakers: int = 5,
) -> MeetingSummary:
    """A scored meeting of the cell."""
    return MeetingSummary(
        meeting_id=f"m-{year}-{month}-{day}-{kind}",
        kind=kind,
        starts_at=datetime(year, month, day, 19, tzinfo=VIETNAM_TZ),
        held=held,
        score=SCORE[rating],
        rating=rating,
        provisional=False,
        present=present,
        counted=counted,
        speakers_present=speakers,
    )


def evaluate(period: str, meetings: list[MeetingSummary], through: str = "2027-01") -> PeriodResult:
    """The period result under the default framework's rules, read after it closed unless `through` says otherwise."""
    result = evaluate_period(
        cell_id="c1", period=period, meetings=meetings, rules=framework().period_rules, through_month=through
    )
    assert result is not None
    return result


def year_of(ratings: list[str], *, thematic_each_quarter: bool = True) -> list[MeetingSummary]:
    """Twelve monthly meetings with these ratings ('none' for a month without one)."""
    meetings = [meeting(month, rating) for month, rating in enumerate(ratings, start=1) if rating != "none"]
    if thematic_each_quarter:
        meetings += [meeting(month, "good", kind="thematic", day=20) for month in (2, 5, 8, 11)]
    return meetings


def test_a_month_is_its_latest_held_regular_meeting() -> None:
    result = evaluate(
        "2026-03", [meeting(3, "poor", day=2), meeting(3, "good", day=20), meeting(3, "fair", day=25, held=False)]
    )
    assert (result.rating, result.score, result.regular_held) == ("good", 95.0, 2)


def test_a_combined_meeting_counts_as_regular_and_thematic() -> None:
    result = evaluate("2026-03", [meeting(3, "fair", kind="combined")])
    assert (result.rating, result.regular_held, result.thematic_held) == ("fair", 1, 1)


def test_a_month_without_a_held_regular_meeting_is_poor_with_score_zero() -> None:
    result = evaluate("2026-03", [meeting(3, "good", kind="thematic"), meeting(3, "good", held=False)])
    assert (result.rating, result.score) == ("poor", 0.0)
    assert "no_regular_meeting" in result.flags


def test_rates_are_pooled_over_every_held_meeting() -> None:
    result = evaluate(
        "2026-03",
        [
            meeting(3, "good", present=9, counted=10, speakers=3),
            meeting(3, "good", kind="thematic", day=9, present=1, counted=10, speakers=1),
        ],
    )
    assert result.attendance_rate == pytest.approx(10 / 20)
    assert result.speaking_rate == pytest.approx(4 / 10)


@pytest.mark.parametrize(
    ("ratings", "expected"),
    [
        (["good"] * 7 + ["fair"] * 5, "good"),
        (["good"] * 6 + ["fair"] * 6, "fair"),
        (["good"] * 11 + ["average"], "fair"),
        (["fair"] * 7 + ["average"] * 5, "fair"),
        (["fair"] * 6 + ["average"] * 6, "average"),
        (["good"] * 10 + ["poor"] * 2, "average"),
        (["good"] * 10 + ["poor", "none"], "average"),
        (["good"] * 9 + ["poor"] * 3, "poor"),
        (["good"] * 9 + ["none"] * 3, "poor"),
    ],
)
def test_year_rules(ratings: list[str], expected: str) -> None:
    assert evaluate("2026", year_of(ratings)).rating == expected


def test_a_year_score_is_the_mean_of_its_months_with_missing_months_zero() -> None:
    result = evaluate("2026", year_of(["good"] * 6 + ["none"] * 6))
    assert result.score == pytest.approx(95 * 6 / 12)
    assert result.months_with_regular == 6


@pytest.mark.parametrize(
    ("ratings", "expected"),
    [
        (["good", "good", "fair"], "good"),
        (["good", "good", "average"], "fair"),
        (["good", "fair", "fair"], "fair"),
        (["fair", "fair", "average"], "fair"),
        (["fair", "average", "average"], "average"),
        (["good", "good", "poor"], "poor"),
        (["good", "good", "none"], "poor"),
    ],
)
def test_quarter_rules_scaled_to_three_months(ratings: list[str], expected: str) -> None:
    meetings = [meeting(month, rating) for month, rating in zip((4, 5, 6), ratings, strict=True) if rating != "none"]
    meetings.append(meeting(5, "good", kind="thematic", day=20))
    assert evaluate("2026-Q2", meetings).rating == expected


def test_a_quarter_without_a_held_thematic_meeting_is_poor() -> None:
    meetings = [meeting(month, "good") for month in (4, 5, 6)] + [meeting(6, "good", kind="thematic", held=False)]
    result = evaluate("2026-Q2", meetings)
    assert result.rating == "poor"
    assert "no_thematic_meeting" in result.flags
    assert result.score == 95.0


def test_a_period_is_assessed_through_the_current_month() -> None:
    result = evaluate("2026-Q4", [meeting(10, "good"), meeting(11, "good", kind="combined")], through="2026-11")
    assert result.months_counted == 2
    assert result.rating == "good"
    assert "in_progress" in result.flags
    future = evaluate_period(
        cell_id="c1", period="2027", meetings=[], rules=framework().period_rules, through_month="2026-11"
    )
    assert future is None


def test_period_arithmetic() -> None:
    assert period_months("2026-Q4") == ["2026-10", "2026-11", "2026-12"]
    assert len(period_months("2026")) == 12
    assert periods_of_month("2026-11") == ["2026-11", "2026-Q4", "2026"]
    assert [previous_period(p) for p in ("2026-01", "2026-Q1", "2026", "2026-07")] == [
        "2025-12",
        "2025-Q4",
        "2025",
        "2026-06",
    ]


@pytest.mark.parametrize(
    ("period", "through", "day"),
    [
        ("2026-05", "2026-11", date(2026, 5, 1)),
        ("2026-Q2", "2026-11", date(2026, 6, 1)),
        ("2026-Q4", "2026-11", date(2026, 11, 1)),  # running: the current month's framework
        ("2026", "2026-11", date(2026, 11, 1)),
        ("2025", "2026-11", date(2025, 12, 1)),
        ("2025-Q1", "2026-11", date(2025, 3, 1)),
    ],
)
def test_a_period_is_rated_under_the_framework_of_its_last_month_begun(period: str, through: str, day: date) -> None:
    assert framework_day(period, through=through) == day


def test_a_summary_month_is_local_so_its_year_is_the_periods_year() -> None:
    new_years_eve_utc = replace(meeting(12, "good"), starts_at=datetime(2026, 12, 31, 18, tzinfo=UTC))
    assert new_years_eve_utc.month == "2027-01"  # 01:00 on 1 January in Vietnam
    assert int(new_years_eve_utc.month[:4]) == local_year(new_years_eve_utc.starts_at) == 2027


def test_cells_created_2025_11_01_have_no_rating_before_november_and_a_year_of_two_months() -> None:
    # cells whose unit snapshots are of 2025-11-01, meetings from November on
    span = cell_span(
        first_snapshot=datetime(2025, 11, 1, 8, tzinfo=VIETNAM_TZ), ended_at=None, first_held=None, last_held=None
    )
    assert span == CellSpan("2025-11")
    meetings = [meeting(11, "good", year=2025), meeting(12, "good", year=2025)]
    rules = framework().period_rules
    for period in [f"2025-{month:02d}" for month in range(1, 11)] + ["2025-Q1", "2025-Q2", "2025-Q3"]:
        assert (
            evaluate_period(
                cell_id="c", period=period, meetings=meetings, rules=rules, through_month="2026-11", span=span
            )
            is None
        ), period
    year = evaluate_period(
        cell_id="c", period="2025", meetings=meetings, rules=rules, through_month="2026-11", span=span
    )
    assert year is not None and year.months_counted == 2 and year.score == 95.0 and year.rating == "good"
    assert year.flags == ()
    # without a span (the old reading) the ten months before count Poor at 0
    old = evaluate_period(cell_id="c", period="2025", meetings=meetings, rules=rules, through_month="2026-11")
    assert old is not None and old.rating == "poor" and old.months_counted == 12


def test_the_year_rule_scales_to_the_months_a_cell_existed_as_domain_scales_it_to_a_quarter() -> None:
    year = framework().period_rules.year
    scaled = scale_rule(year, covered=3, full=12)
    quarter = framework().period_rules.quarter
    assert [(t.rating, t.all_at_least, t.count_at_least, t.max_poor) for t in scaled.tiers] == [
        (t.rating, t.all_at_least, t.count_at_least, t.max_poor) for t in quarter.tiers
    ]
    assert scale_rule(year, covered=12, full=12) is year


def test_a_span_starts_at_the_earlier_of_the_first_snapshot_and_the_first_held_meeting_and_ends_when_inactive() -> None:
    snapshot = datetime(2026, 10, 20, 9, tzinfo=VIETNAM_TZ)
    backfilled = datetime(2025, 3, 5, 19, tzinfo=VIETNAM_TZ)
    assert cell_span(first_snapshot=snapshot, ended_at=None, first_held=backfilled, last_held=backfilled) == (
        CellSpan("2025-03")
    )
    # 30 Sep 18:00 UTC is 1 Oct in Vietnam
    utc = datetime(2026, 9, 30, 18, tzinfo=UTC)
    assert cell_span(first_snapshot=utc, ended_at=None, first_held=None, last_held=None) == CellSpan("2026-10")
    ended = datetime(2026, 11, 20, tzinfo=VIETNAM_TZ)
    assert cell_span(first_snapshot=snapshot, ended_at=ended, first_held=None, last_held=None) == (
        CellSpan("2026-10", "2026-11")
    )
    assert cell_span(first_snapshot=None, ended_at=None, first_held=None, last_held=None) is None
    quarter = evaluate_period(
        cell_id="c",
        period="2026-Q4",
        meetings=[meeting(10, "good"), meeting(11, "good", kind="combined")],
        rules=framework().period_rules,
        through_month="2027-01",
        span=CellSpan("2026-10", "2026-11"),
    )
    assert quarter is not None and quarter.months_counted == 2 and quarter.rating == "good"
    assert "in_progress" not in quarter.flags


def test_a_cancelled_meeting_with_minutes_keeps_its_month_in_the_span_as_a_held_one_does() -> None:
    """A meeting's cancellation withdraws its score, not the month the cell met in (docs/architecture.md)."""
    loaded = datetime(2026, 12, 1, 9, tzinfo=VIETNAM_TZ)
    november = datetime(2026, 11, 5, 19, tzinfo=VIETNAM_TZ)
    assert cell_span(first_snapshot=loaded, ended_at=None, first_held=None, last_held=None) == CellSpan("2026-12")
    assert cell_span(
        first_snapshot=loaded, ended_at=None, first_held=None, last_held=None, first_cancelled=november
    ) == CellSpan("2026-11")
    ended = datetime(2026, 10, 15, tzinfo=VIETNAM_TZ)
    assert cell_span(
        first_snapshot=ended - timedelta(days=300),
        ended_at=ended,
        first_held=None,
        last_held=None,
        first_cancelled=november,
        last_cancelled=november,
    ) == CellSpan("2025-12", "2026-11")
    assert cell_span(
        first_snapshot=None, ended_at=None, first_held=None, last_held=None, first_cancelled=november
    ) == CellSpan("2026-11")


def test_a_running_year_leaves_out_its_running_month_until_that_month_has_its_meeting() -> None:
    """On 1 December, eleven Good months made the running year Average: December, not over, counted Poor 0."""
    eleven = year_of(["good"] * 11 + ["none"])
    running = evaluate("2026", eleven, through="2026-12")
    assert (running.rating, running.months_counted) == ("good", 11) and running.score == pytest.approx(95.0)
    assert "in_progress" in running.flags and "months_without_regular_meeting" not in running.flags
    held = evaluate("2026", [*eleven, meeting(12, "good")], through="2026-12")
    assert (held.rating, held.months_counted, "in_progress" in held.flags) == ("good", 12, True)
    closed = evaluate("2026", eleven)  # once December is over without a meeting, it is Poor
    assert (closed.rating, closed.months_counted, "in_progress" in closed.flags) == ("average", 12, False)
    assert closed.score == pytest.approx(95.0 * 11 / 12)
    # the running month on its own is Poor until its meeting (published in progress)
    month = evaluate("2026-12", eleven, through="2026-12")
    assert (month.rating, month.score, "in_progress" in month.flags) == ("poor", 0.0, True)


def test_a_running_quarter_is_not_poor_for_a_thematic_meeting_it_may_still_hold() -> None:
    regular = [meeting(10, "good"), meeting(11, "good")]
    running = evaluate("2026-Q4", regular, through="2026-12")
    assert (running.rating, running.months_counted) == ("good", 2)
    assert "in_progress" in running.flags and "no_thematic_meeting" not in running.flags  # flagged once ended
    closed = evaluate("2026-Q4", [*regular, meeting(12, "good")])
    assert (closed.rating, "no_thematic_meeting" in closed.flags) == ("poor", True)
    # a thematic meeting held in the running month counts for the quarter before the month's regular one
    thematic = evaluate("2026-Q4", [*regular, meeting(12, "good", kind="thematic")], through="2026-12")
    assert (thematic.rating, thematic.thematic_held, thematic.months_counted) == ("good", 1, 2)


def test_a_quarter_a_cell_existed_in_for_one_month_still_needs_its_thematic_meeting() -> None:
    """The demo cells, set up on 1 December 2025, had 2025-Q4 rated Good with thematic_held 0 and no flag: a quarter
    of one covered month was read as that month. DOMAIN.md: a quarter without a held thematic meeting is Poor."""
    span = CellSpan("2025-12")
    rules = framework().period_rules

    def quarter(meetings: list[MeetingSummary], *, through: str = "2026-11") -> PeriodResult:
        found = evaluate_period(
            cell_id="c", period="2025-Q4", meetings=meetings, rules=rules, through_month=through, span=span
        )
        assert found is not None
        return found

    regular_only = quarter([meeting(12, "good", year=2025)])
    assert (regular_only.rating, regular_only.months_counted, regular_only.thematic_held) == ("poor", 1, 0)
    assert "no_thematic_meeting" in regular_only.flags
    assert regular_only.score == 95.0  # the score is still the month's
    combined = quarter([meeting(12, "good", year=2025, kind="combined")])
    assert (combined.rating, combined.flags) == ("good", ())
    # while that month runs the quarter is not yet Poor for it, nor flagged (DOMAIN.md: a quarter that has ended)
    running = quarter([meeting(12, "good", year=2025)], through="2025-12")
    assert running.rating == "good" and "in_progress" in running.flags and "no_thematic_meeting" not in running.flags


def test_a_closed_month_recomputed_later_counts_only_its_own_meetings() -> None:
    """A trial: October recomputed in December (an October meeting came in late) counted December's held meetings
    too: 2 regular meetings held, attendance 95.1 % instead of 100 %, and the committee's October regularity fell
    from 5 of 6 cells to 4 of 6. A period counts the running month's meetings only if that month is one of its own."""
    october = meeting(10, "good", present=10, counted=10)
    december = meeting(12, "fair", present=5, counted=10)
    for period in ("2026-10", "2026-Q3", "2025"):
        result = evaluate_period(
            cell_id="c1",
            period=period,
            meetings=[october, december] if period == "2026-10" else [december],
            rules=framework().period_rules,
            through_month="2026-12",
        )
        assert result is not None
        if period == "2026-10":
            assert (result.regular_held, result.months_with_regular, result.present, result.counted) == (1, 1, 10, 10)
        else:
            assert (result.regular_held, result.present) == (0, 0)
    # a running quarter still counts its running month's thematic meeting before that month's regular one
    thematic = meeting(12, "good", kind="thematic", day=3)
    quarter = evaluate("2026-Q4", [meeting(10, "good"), meeting(11, "good"), thematic], through="2026-12")
    assert quarter.thematic_held == 1 and "no_thematic_meeting" not in quarter.flags


def test_a_cell_set_up_in_the_running_month_has_its_running_quarter_and_year_not_rated_until_it_meets() -> None:
    """User trial: a cell created on 1 December read 2026-Q4 and 2026 Poor at 0, while an older cell's running
    December was left out (its Q4 the mean of October and November). One rule for both: a running month without its
    meeting is not counted, so a running period with no other month is not rated yet (None), never Poor at 0."""
    span = CellSpan("2026-12")
    rules = framework().period_rules

    def rated(period: str, meetings: list[MeetingSummary], *, through: str = "2026-12") -> PeriodResult | None:
        return evaluate_period(
            cell_id="k1", period=period, meetings=meetings, rules=rules, through_month=through, span=span
        )

    assert rated("2026-Q4", []) is None and rated("2026", []) is None
    # a thematic meeting alone does not make the running month counted (its regular meeting does)
    assert rated("2026-Q4", [meeting(12, "good", kind="thematic")]) is None
    # the running month on its own stays as before: Poor until its meeting, in progress (the pages: not met yet)
    month = rated("2026-12", [])
    assert month is not None and (month.rating, month.score, "in_progress" in month.flags) == ("poor", 0.0, True)
    # the older cell, same day: December left out, October and November counted
    older = evaluate("2026-Q4", [meeting(11, "good")], through="2026-12")
    assert older.months_counted == 2 and older.score == pytest.approx(95.0 / 2)
    # once it meets in December, December counts: the quarter and year are rated from that meeting
    quarter = rated("2026-Q4", [meeting(12, "fair")])
    year = rated("2026", [meeting(12, "fair")])
    assert quarter is not None and year is not None
    assert (quarter.rating, quarter.score, quarter.months_counted) == ("fair", 80.0, 1)
    assert (year.rating, year.score, year.months_counted) == ("fair", 80.0, 1)
    assert "in_progress" in quarter.flags and "no_thematic_meeting" not in quarter.flags
    # once December closes without a meeting, the quarter and year are Poor at 0 as every closed period (issue 12)
    closed = rated("2026-Q4", [], through="2027-01")
    assert closed is not None and (closed.rating, closed.score, closed.months_counted) == ("poor", 0.0, 1)
    assert "in_progress" not in closed.flags


def test_a_month_counts_every_meeting_it_held_so_one_without_its_regular_meeting_tells_if_it_met_at_all() -> None:
    """A month whose only meeting so far was extraordinary held a meeting but not its regular one: the pages say
    "chưa sinh hoạt thường kỳ" by `meetings_held`, not "chưa sinh hoạt" (its regular and thematic counts are 0)."""
    extraordinary = evaluate("2026-12", [meeting(12, "good", kind="extraordinary")], through="2026-12")
    assert (extraordinary.regular_held, extraordinary.thematic_held, extraordinary.meetings_held) == (0, 0, 1)
    assert "in_progress" in extraordinary.flags and "no_regular_meeting" in extraordinary.flags
    none = evaluate("2026-12", [meeting(12, "good", kind="extraordinary", held=False)], through="2026-12")
    assert (none.regular_held, none.meetings_held) == (0, 0)  # scheduled, not held: no meeting yet
    every = [
        meeting(12, "good"),
        meeting(12, "fair", kind="thematic", day=9),
        meeting(12, "poor", kind="extraordinary"),
    ]
    assert evaluate("2026-12", every).meetings_held == 3
    assert "meetings_held" not in evaluate("2026-12", every).published_data()  # score.cell.updated.v1 is unchanged


NOTED_AT = datetime(2026, 12, 4, 9, tzinfo=VIETNAM_TZ)


def stored(result: PeriodResult, *, rated_from: str | None = "2026-11") -> dict:
    """A period row as stored (what `late_change` compares the new result with), first stored in `rated_from`."""
    return {"rating": result.rating, "score": result.score, "flags": list(result.flags), "rated_from": rated_from}


def note(
    before: dict, meetings: list[MeetingSummary], *, period: str = "2026-11", through: str = "2026-12"
) -> LateChange | None:
    after = evaluate(period, meetings, through=through)
    return late_change(before=before, after=after, meetings=meetings, through_month=through, at=NOTED_AT)


def test_a_late_meeting_that_changes_a_closed_month_is_noted_with_the_figures_before_and_after() -> None:
    early, late = meeting(11, "fair"), meeting(11, "good", day=30)
    for before in (
        stored(evaluate("2026-11", [early], through="2026-12")),  # rated by the month close
        stored(evaluate("2026-11", [early], through="2026-11")),  # last rated while November ran, not closed yet
        stored(evaluate("2026-11", [early], through="2026-12"), rated_from=None),  # stored before rows said when
    ):
        found = note(before, [early, late])
        assert found is not None
        assert (found.period, found.meeting_id, found.changed_at) == ("2026-11", late.meeting_id, NOTED_AT)
        assert (found.old_rating, found.old_score, found.new_rating, found.new_score) == ("fair", 80.0, "good", 95.0)


def test_no_note_for_a_running_month_a_quarter_an_unchanged_result_or_a_month_first_rated_after_it_ended() -> None:
    early, late = meeting(11, "fair"), meeting(11, "good", day=30)
    closed = stored(evaluate("2026-11", [early], through="2026-12"))
    assert note(stored(evaluate("2026-11", [early], through="2026-11")), [early, late], through="2026-11") is None
    quarter = stored(evaluate("2026-Q4", [early], through="2027-01"), rated_from="2026-10")
    assert note(quarter, [early, late], period="2026-Q4", through="2027-01") is None
    assert note(closed, [early, meeting(11, "fair", day=30)]) is None  # same figures: nothing changed
    assert note({**closed, "rated_from": "2026-12"}, [early, late]) is None  # a history loaded after the month


def scored(month: int, score: float, rating: str, *, day: int = 5) -> MeetingSummary:
    """A held regular meeting of the cell with this exact score and rating (a month's result is its latest one's)."""
    return replace(meeting(month, rating, day=day), score=score)


@pytest.mark.parametrize(
    ("old", "new", "noted"),
    [
        ((77.049, "fair"), (77.051, "fair"), True),  # 77,0 → 77,1: what the page shows changed, though not the cent
        ((77.01, "fair"), (77.04, "fair"), False),  # 77,0 → 77,0: the cents moved, the page did not
        ((79.96, "fair"), (80.01, "good"), True),  # 80,0 both, but the band crossed its boundary: Khá → Tốt
        ((84.951, "fair"), (85.049, "fair"), False),  # 85,0 both, either side of the cent and of 85
    ],
)
def test_a_late_change_is_noted_exactly_when_what_the_page_shows_changes(
    old: tuple[float, str], new: tuple[float, str], noted: bool
) -> None:
    """A closed month's note follows what officers were shown, the score at the page's one decimal (halves up,
    shared.numbers.format_number) or the rating, not the score to the cent the API gives."""
    before = stored(evaluate("2026-11", [scored(11, *old)], through="2026-12"))
    late = [scored(11, *old), scored(11, *new, day=30)]
    found = note(before, late)
    assert (found is not None) is noted
    if found is not None:  # the note keeps the exact figures: each page rounds them once where it shows them
        assert (found.old_score, found.old_rating, found.new_score, found.new_rating) == (*old, *new)
    rescored = rescored_change(
        before=before,
        after=evaluate("2026-11", late, through="2026-12"),
        meetings=late,
        through_month="2026-12",
        at=NOTED_AT,
        framework_id="f1",
        framework_version="2",
    )
    assert (rescored is not None) is noted
