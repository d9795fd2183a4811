"""The months a re-scoring may span (shared.plausible.span_range_problem), as the API, its form, evaluation's RPC,
its job and its command line all judge them: a trial's `0001-01`..`9999-12` was queued and failed the job with
"year 10000 is out of range", `9998-12` with "'1-02' is not a period"."""

from datetime import datetime

import pytest

from shared.periods import VIETNAM_TZ, next_period, previous_period, span_problem
from shared.plausible import rescore_month_bounds, span_range_problem, span_range_problems

NOW = datetime(2026, 12, 4, 21, 0, tzinfo=VIETNAM_TZ)


@pytest.mark.parametrize(
    ("first", "last", "field", "code"),
    [
        ("0001-01", "9999-12", "period_from", "before_earliest"),
        ("1999-12", None, "period_from", "before_earliest"),
        ("2025-01", "9999-12", "period_to", "too_far_ahead"),
        (None, "9998-12", "period_to", "too_far_ahead"),
        ("2025-01", "2029", "period_to", "too_far_ahead"),
        (None, "1999", "period_to", "before_earliest"),
        ("9999-12", None, "period_from", "not_begun"),
        ("2026-06", "2026-02", "period_to", "ends_before_start"),
        ("2026-13", None, "period_from", "not_a_period"),
        # a last period not begun: no page offers or shows it (h368's 2026-01..2027-06 was queued)
        ("2026-01", "2027-06", "period_to", "not_begun"),
        ("2025-01", "2028-12", "period_to", "not_begun"),
        (None, "2027", "period_to", "not_begun"),
    ],
)
def test_a_span_outside_history_is_refused_naming_its_field(
    first: str | None, last: str | None, field: str, code: str
) -> None:
    problem = span_range_problem(first, last, now=NOW)
    assert problem is not None and (problem.field, problem.code) == (field, code)
    assert problem.message.startswith(f"{field}: ") and "Error" not in problem.message


def test_a_span_of_history_within_the_bounds_is_taken() -> None:
    assert span_range_problem("2000-01", "2026-12", now=NOW) is None
    assert span_range_problem("2026-12", "2026-12", now=NOW) is None  # up to the running month
    assert span_range_problem("2025-01", "2026", now=NOW) is None  # the running year: it has begun
    assert span_range_problem("2025-01", "2026-Q4", now=NOW) is None
    assert span_range_problem(None, None, now=NOW) is None


def test_the_latest_month_a_span_may_reach_is_named() -> None:
    problem = span_range_problem("2025-01", "9999-12", now=NOW)
    assert problem is not None and problem.message == (
        "period_to: 9999-12 begins more than 2 years ahead: the latest period is 2028-12"
    )


def test_a_first_month_of_year_9999_is_not_begun_rather_than_a_crash() -> None:
    assert span_problem("9999-12", None, NOW) == (
        "period_from",
        "period_from: 9999-12 has not begun yet, so it holds no history to re-score",
    )


def test_periods_before_year_1000_keep_four_digits() -> None:
    assert next_period("0001-01") == "0001-02" and previous_period("0001-01") == "0000-12"
    assert next_period("0999") == "1000" and next_period("0001-Q4") == "0002-Q1"


@pytest.mark.parametrize(
    "now", [NOW, datetime(2026, 12, 31, 23, 30, tzinfo=VIETNAM_TZ), datetime(2027, 1, 1, tzinfo=VIETNAM_TZ)]
)
def test_the_forms_month_bounds_are_the_edges_of_what_the_rule_takes(now: datetime) -> None:
    """rescore_month_bounds, which the form's `min`/`max` give, is exactly span_range_problem's: each bound taken,
    the month beyond it refused for that field."""
    bounds = rescore_month_bounds(now)
    (first_min, first_max), (last_min, last_max) = bounds["period_from"], bounds["period_to"]
    assert span_range_problem(first_min, None, now=now) is None
    assert span_range_problem(first_max, None, now=now) is None
    assert span_range_problem(first_min, last_max, now=now) is None
    assert span_range_problem(None, last_min, now=now) is None
    for first, last, field in [
        (previous_period(first_min), None, "period_from"),
        (next_period(first_max), None, "period_from"),
        (None, previous_period(last_min), "period_to"),
        (first_min, next_period(last_max), "period_to"),
    ]:
        problem = span_range_problem(first, last, now=now)
        assert problem is not None and problem.field == field, (first, last, problem)


def test_a_span_ending_before_the_units_data_is_before_data_on_period_to() -> None:
    """Trial 22 #6: a committee's span before its first month of data queued a job re-scoring 0 meetings."""
    problem = span_range_problem("2000-01", "2025-03", now=NOW, first_month="2025-12")
    assert problem is not None and (problem.field, problem.code) == ("period_to", "before_data"), problem
    assert "2025-12" in problem.message and problem.message.startswith("period_to: "), problem
    assert span_range_problem("2000-01", "2025-Q4", now=NOW, first_month="2025-12") is None
    assert span_range_problem("2000-01", None, now=NOW, first_month="2025-12") is None
    assert span_range_problem("2000-01", "2025-03", now=NOW) is None


def test_every_fields_problem_is_found_at_once_the_first_as_the_api_says_it() -> None:
    """The re-score form said only one month's mistake a sending (a first month not begun, a last before it: only
    the last): span_range_problems gives each field's, and the API's single answer is still the first of them."""
    found = span_range_problems("2027-01", "2026-01", now=NOW)
    assert [(problem.field, problem.code) for problem in found] == [
        ("period_to", "ends_before_start"),
        ("period_from", "not_begun"),
    ]
    found = span_range_problems("2026-13", "9999-12", now=NOW)
    assert [(problem.field, problem.code) for problem in found] == [
        ("period_from", "not_a_period"),
        ("period_to", "too_far_ahead"),
    ]
    months = ["0001-01", "1999-12", "2025-01", "2026-02", "2026-06", "2026-13", "2027-01", "2029", "9999-12", None]
    for first in months:
        for last in months:
            problems = span_range_problems(first, last, now=NOW, first_month="2025-12")
            assert span_range_problem(first, last, now=NOW, first_month="2025-12") == (
                problems[0] if problems else None
            )
            assert len({problem.field for problem in problems}) == len(problems), problems
