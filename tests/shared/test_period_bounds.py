"""The two rules every reader of a period uses: a month without its regular meeting waits for it until it has closed
(by the clock), and a `?period=` reads from 2000-01 to two years ahead, answered as text so year 0 cannot crash."""

from datetime import datetime

import pytest

from shared.periods import VIETNAM_TZ, awaiting_meeting, has_begun
from shared.plausible import latest_period_month, period_range_problem

DECEMBER_FIRST = datetime(2026, 12, 1, 0, 30, tzinfo=VIETNAM_TZ)
"""Half past midnight on 1 December in Vietnam: still 30 November in UTC."""


def test_a_month_waits_for_its_meeting_until_it_has_closed_by_vietnams_clock() -> None:
    assert awaiting_meeting("2026-12", DECEMBER_FIRST)
    assert not awaiting_meeting("2026-11", DECEMBER_FIRST)  # closed at local midnight, whatever UTC says
    assert awaiting_meeting("2027-01", DECEMBER_FIRST)  # not begun: no verdict either
    assert not awaiting_meeting("2026-Q4", DECEMBER_FIRST) and not awaiting_meeting("2026", DECEMBER_FIRST)


def test_a_period_has_begun_from_its_first_month() -> None:
    assert (
        has_begun("2026-12", DECEMBER_FIRST)
        and has_begun("2026-Q4", DECEMBER_FIRST)
        and has_begun("0000-01", DECEMBER_FIRST)
    )
    assert not has_begun("2027-01", DECEMBER_FIRST) and not has_begun("2027", DECEMBER_FIRST)


@pytest.mark.parametrize("period", ["2000-01", "2000-Q1", "2000", "2026-12", "2028-12", "2028-Q4", "2028"])
def test_a_period_from_2000_to_two_years_ahead_is_read(period: str) -> None:
    assert period_range_problem(period, now=DECEMBER_FIRST) is None


@pytest.mark.parametrize("period", ["0000-01", "0000", "1999-12", "1999-Q4", "2029-01", "2029", "9999-12", "9999-Q4"])
def test_a_period_outside_is_named_without_building_a_date(period: str) -> None:
    problem = period_range_problem(period, now=DECEMBER_FIRST)
    assert problem is not None and problem.startswith(f"period: {period} ")


def test_the_latest_month_is_two_years_ahead() -> None:
    assert latest_period_month(DECEMBER_FIRST) == "2028-12"


@pytest.mark.parametrize("period", ["2027-01", "2027", "2028-12", "2029-01", "9999-12"])
def test_a_read_of_ratings_names_this_month_in_vietnam_as_the_latest_period(period: str) -> None:
    """The fresh-user trial: a roll-up refused 9999-12 saying "the latest period is 2028-12", then refused 2027-01 as
    not begun. A read of ratings says the real latest period, the month in progress in Vietnam's time (2026-12 at
    half past midnight on 1 December there, though UTC still reads November), never two years ahead."""
    problem = period_range_problem(period, now=DECEMBER_FIRST, rated=True)
    assert problem is not None and problem.startswith(f"period: {period} has not begun yet"), problem
    assert "the latest period is 2026-12" in problem and "2028-12" not in problem.removeprefix(f"period: {period}")
    early = period_range_problem("1999-12", now=DECEMBER_FIRST, rated=True)
    assert early is not None and "(the latest is 2026-12)" in early
    assert period_range_problem("2026-12", now=DECEMBER_FIRST, rated=True) is None
