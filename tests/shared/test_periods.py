"""The contract's periods and local time, defined once in shared.periods."""

from datetime import UTC, date, datetime

import pytest

from shared.periods import (
    VIETNAM_TZ,
    add_years,
    is_period,
    is_running,
    month_of,
    months_between,
    next_period,
    period_bounds,
    period_months,
    periods_of_month,
    previous_period,
    quarter_of,
)


@pytest.mark.parametrize("text", ["2026-11", "2026-01", "2026-Q1", "2026-Q4", "2026"])
def test_accepts_months_quarters_and_years(text: str) -> None:
    assert is_period(text)


@pytest.mark.parametrize(
    "text", ["2026-13", "2026-00", "2026-1", "2026-Q5", "2026-Q0", "26", "2026-11-01", "", None, 2026]
)
def test_refuses_anything_else(text: object) -> None:
    assert not is_period(text)


def test_a_moment_belongs_to_the_local_month_and_quarter() -> None:
    moment = datetime(2026, 12, 31, 17, 30, tzinfo=UTC)  # 00:30 on 1 January 2027 in Vietnam
    assert month_of(moment) == "2027-01" and quarter_of(moment) == "2027-Q1"


def test_period_bounds_are_local_midnights() -> None:
    assert period_bounds("2026-Q4") == (
        datetime(2026, 10, 1, tzinfo=VIETNAM_TZ),
        datetime(2027, 1, 1, tzinfo=VIETNAM_TZ),
    )
    assert period_bounds("2026-12")[1] == datetime(2027, 1, 1, tzinfo=VIETNAM_TZ)
    assert period_bounds("2026") == (datetime(2026, 1, 1, tzinfo=VIETNAM_TZ), datetime(2027, 1, 1, tzinfo=VIETNAM_TZ))
    with pytest.raises(ValueError):
        period_bounds("2026-Q5")


def test_neighbouring_periods_keep_their_length() -> None:
    assert [previous_period(p) for p in ("2026-01", "2026-Q1", "2026")] == ["2025-12", "2025-Q4", "2025"]
    assert [next_period(p) for p in ("2026-12", "2026-Q4", "2026")] == ["2027-01", "2027-Q1", "2027"]


def test_months_of_periods() -> None:
    assert period_months("2026-Q2") == ["2026-04", "2026-05", "2026-06"]
    assert len(period_months("2026")) == 12
    assert periods_of_month("2026-11") == ["2026-11", "2026-Q4", "2026"]
    assert months_between("2026-11", "2027-02") == ["2026-11", "2026-12", "2027-01", "2027-02"]


def test_a_year_after_29_february_is_28_february() -> None:
    assert add_years(date(2024, 2, 29), 1) == date(2025, 2, 28)


def test_a_period_runs_until_its_local_end() -> None:
    """Running until the local midnight that ends it: 2026-12 (its quarter, its year) on 31 December at 23:59
    Vietnam time, not a minute later; 2026-11 no longer on 1 December at 00:00 local (still 30 November in UTC)."""
    last_minute = datetime(2026, 12, 31, 23, 59, tzinfo=VIETNAM_TZ)
    assert all(is_running(period, last_minute) for period in ("2026-12", "2026-Q4", "2026"))
    assert not any(is_running(period, datetime(2027, 1, 1, tzinfo=VIETNAM_TZ)) for period in ("2026-12", "2026"))
    first_of_december = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # 00:00 on 1 December in Vietnam
    assert not is_running("2026-11", first_of_december) and is_running("2026-Q4", first_of_december)
    assert is_running("2027-01", first_of_december)  # not begun yet: not ended either
