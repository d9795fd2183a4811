"""Plausible moments, defined once: the window a meeting's start may fall in and how far ahead of our clock an
event's `time` may be.

CONTRACT.md rejects "impossible values" naming the field but pins no window, so this is the product's choice:
nothing of a party cell's history predates 2000 (the national member database starts later), a cell plans its
meetings months, not years, ahead, and a sender's clock may run a little fast, never years. Both bounds only widen
as time passes, so an event accepted once is accepted again on replay or re-delivery. Pure: no I/O.
"""

from datetime import date, datetime, timedelta

from shared.periods import VIETNAM_TZ

EARLIEST_MEETING = datetime(2000, 1, 1, tzinfo=VIETNAM_TZ)
"""No meeting starts before 1 January 2000 (local)."""
MEETING_HORIZON = timedelta(days=731)
"""A meeting starts at most two years after now."""
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2199, 12, 31)
"""Every date and time an event carries falls in these days (its own date, at its own offset): a party member's
birth, admission or a meeting outside them is a typo, and beyond them dates stop adding up (year 10000 does not
exist for Python, 0001-01-01T00:00:00+07:00 is in year 0 in UTC)."""
CLOCK_SKEW = timedelta(minutes=15)
"""An event's `time` is at most this far ahead of the receiving clock."""


def meeting_start_problem(starts_at: datetime, *, now: datetime) -> str | None:
    """Why a meeting cannot start at `starts_at` (before 2000, or more than two years after `now`); None if it can."""
    if starts_at < EARLIEST_MEETING:
        return f"{starts_at.isoformat()} is before {EARLIEST_MEETING.date().isoformat()}"
    if starts_at > now + MEETING_HORIZON:
        return f"{starts_at.isoformat()} is more than 2 years ahead"
    return None


def event_time_problem(time: datetime, *, now: datetime) -> str | None:
    """Why an event cannot have been sent at `time` (more than CLOCK_SKEW in the future); None if it can."""
    if time > now + CLOCK_SKEW:
        minutes = int(CLOCK_SKEW.total_seconds() // 60)
        return f"{time.isoformat()} is in the future (more than {minutes} minutes ahead of the receiving clock)"
    return None


def day_problem(day: date) -> str | None:
    """Why no event may carry the date `day` (outside EARLIEST_DAY..LATEST_DAY); None if it may."""
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        return f"{day.isoformat()} is outside {EARLIEST_DAY.isoformat()} to {LATEST_DAY.isoformat()}"
    return None
