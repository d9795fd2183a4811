"""Why a quarter or year is rated below its score's band (domain.periods.RatingReason): a trial read a quarter "Kém"
at 100 and another "Trung bình" at 85 with no word why; the rule that set it is evaluation's, so the reason is too."""

from dataclasses import replace

from services.evaluation.domain.periods import CellSpan, PeriodResult, evaluate_period
from tests.evaluation.builders import framework
from tests.evaluation.test_periods import meeting


def rated(period: str, meetings: list, through: str = "2027-01") -> PeriodResult:
    """The period's result under the default framework, with its bands, read after it closed."""
    rules = framework()
    result = evaluate_period(
        cell_id="c1",
        period=period,
        meetings=meetings,
        rules=rules.period_rules,
        through_month=through,
        band_of=rules.rating_for,
    )
    assert result is not None
    return result


def test_a_quarter_without_its_thematic_meeting_says_so_whatever_its_score() -> None:
    result = rated("2026-Q2", [meeting(4, "good"), meeting(5, "good"), meeting(6, "good")])
    assert result.rating == "poor" and result.rating_reason is not None
    assert result.rating_reason.data() == {"code": "no_thematic_meeting", "band": "good"}


def test_a_running_quarter_without_its_thematic_meeting_is_not_poor_for_it_yet() -> None:
    result = rated("2026-Q2", [meeting(4, "good"), meeting(5, "good")], through="2026-05")
    assert result.rating == "good" and result.rating_reason is None


def test_a_quarter_with_a_month_without_its_meeting_is_lowered_by_its_months_and_says_which() -> None:
    # 95, 95 and 0: a mean of 63.3 (Trung bình) but a Poor month, and Average needs none
    meetings = [meeting(4, "good"), meeting(5, "good"), meeting(5, "good", kind="thematic", day=20)]
    result = rated("2026-Q2", meetings)
    assert (result.rating, round(result.score, 1)) == ("poor", 63.3)
    assert result.rating_reason is not None
    assert result.rating_reason.data() == {
        "code": "month_ratings",
        "band": "average",
        "missed": "average",
        "condition": "max_poor",
        "months": ["2026-06"],
        "count": 1,
        "needed": 0,
    }


def test_a_year_good_by_its_mean_with_an_average_month_is_fair_and_names_the_month() -> None:
    ratings = ["good"] * 12
    ratings[2] = "average"
    meetings = [
        replace(meeting(month, rating), score=100.0 if rating == "good" else 65.0)
        for month, rating in enumerate(ratings, start=1)
    ]
    meetings += [meeting(month, "good", kind="thematic", day=20) for month in (2, 5, 8, 11)]
    result = rated("2026", meetings)
    assert result.score >= 90 and result.rating == "fair"
    assert result.rating_reason is not None
    assert result.rating_reason.data() == {
        "code": "month_ratings",
        "band": "good",
        "missed": "good",
        "condition": "all_at_least",
        "floor": "fair",
        "months": ["2026-03"],
        "count": 1,
    }


def test_a_year_good_by_its_mean_with_only_six_good_months_is_fair_and_says_how_many() -> None:
    ratings = ["good"] * 6 + ["fair"] * 6
    # six Good months at 95 and six Fair at 88 (a meeting's gate keeps it Fair): a mean of 91.5, the Good band
    meetings = [
        replace(meeting(month, rating), score=95.0 if rating == "good" else 88.0)
        for month, rating in enumerate(ratings, start=1)
    ]
    meetings += [meeting(month, "good", kind="thematic", day=20) for month in (2, 5, 8, 11)]
    result = rated("2026", meetings)
    assert result.score >= 90 and result.rating == "fair"
    assert result.rating_reason is not None
    assert result.rating_reason.data() == {
        "code": "month_ratings",
        "band": "good",
        "missed": "good",
        "condition": "count_at_least",
        "floor": "good",
        "count": 6,
        "needed": 7,
    }


def test_a_period_rated_at_its_band_has_no_reason() -> None:
    meetings = [meeting(4, "good"), meeting(5, "good"), meeting(6, "fair"), meeting(5, "good", kind="thematic", day=20)]
    assert rated("2026-Q2", meetings).rating_reason is None


def test_a_month_its_meetings_gate_lowered_below_its_band_says_so() -> None:
    """A month takes its meeting's rating: a meeting at 92 points that a gate lowered to Khá left the month Khá at 92
    and the report's "Lý do xếp loại" blank; the month now says its rating is its meeting's, lowered."""
    result = rated("2026-10", [replace(meeting(10, "fair"), score=92.0)])
    assert (result.rating, result.score) == ("fair", 92.0)
    assert result.rating_reason is not None
    assert result.rating_reason.data() == {"code": "meeting_rating", "band": "good"}
    assert rated("2026-10", [replace(meeting(10, "fair"), score=80.0)]).rating_reason is None
    assert rated("2026-11", [meeting(10, "good")]).rating_reason is None  # no meeting: Poor at 0 is its band


def test_a_year_whose_only_quarter_is_poor_for_its_thematic_meeting_says_why_it_is_not() -> None:
    """DOMAIN.md "Periods" rates a year from its months only ("A year is Good when every month is Fair or better and
    at least 7 are Good; ..."), a quarter also on its thematic meeting: a cell set up in December 2025 with one Good
    regular meeting read Quý IV/2025 Kém and Năm 2025 Tốt over the same one month, the year with no reason."""
    rules = framework()
    span = CellSpan(first_month="2025-12")
    december = [meeting(12, "good", year=2025)]
    quarter, year = (
        evaluate_period(
            cell_id="c1",
            period=period,
            meetings=december,
            rules=rules.period_rules,
            through_month="2026-12",
            span=span,
            band_of=rules.rating_for,
        )
        for period in ("2025-Q4", "2025")
    )
    assert quarter is not None and year is not None
    assert (quarter.rating, year.rating, year.score) == ("poor", "good", quarter.score)
    assert quarter.rating_reason is not None and quarter.rating_reason.code == "no_thematic_meeting"
    assert year.rating_reason is not None
    assert year.rating_reason.data() == {"code": "quarters_without_thematic", "band": "good", "quarters": ["2025-Q4"]}


def test_a_full_year_names_each_ended_quarter_poor_for_its_thematic_meeting_and_no_running_one() -> None:
    meetings = [meeting(month, "good") for month in range(1, 13)]
    meetings += [meeting(month, "good", kind="thematic", day=20) for month in (5, 8)]  # Q1 and Q4 without one
    result = rated("2026", meetings)
    assert result.rating == "good" and result.rating_reason is not None
    assert result.rating_reason.data() == {
        "code": "quarters_without_thematic",
        "band": "good",
        "quarters": ["2026-Q1", "2026-Q4"],
    }
    # running in December: Q4 may still hold its thematic meeting, so only Q1 is named
    running = rated("2026", meetings, through="2026-12")
    assert running.rating_reason is not None and running.rating_reason.quarters == ("2026-Q1",)
    # a combined meeting is a thematic one too: every quarter held one, nothing to say
    combined = [replace(m, kind="combined") if m.month in ("2026-01", "2026-10") else m for m in meetings]
    assert rated("2026", combined).rating_reason is None


def test_a_poor_year_or_one_lowered_by_its_months_keeps_its_own_reason() -> None:
    assert rated("2026", [meeting(1, "good")]).rating_reason is None  # Poor at its band: nothing below it
    ratings = ["good"] * 12
    ratings[2] = "average"
    meetings = [
        replace(meeting(month, rating), score=100.0 if rating == "good" else 65.0)
        for month, rating in enumerate(ratings, start=1)
    ]
    result = rated("2026", meetings)  # no thematic meeting at all, but the months lowered it: that is why
    assert result.rating == "fair" and result.rating_reason is not None
    assert result.rating_reason.code == "month_ratings"
