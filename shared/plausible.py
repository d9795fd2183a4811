"""Plausible moments, defined once: the window a meeting's start may fall in and how far ahead of our clock an
event's `time` may be.

CONTRACT.md rejects "impossible values" naming the field but pins no window, so this is the product's choice:
nothing of a party cell's history predates 2000 (the national member database starts later), a cell plans its
meetings months, not years, ahead, and a sender's clock may run a little fast, never years. Both bounds only widen
as time passes, so an event accepted once is accepted again on replay or re-delivery. Pure: no I/O.
"""

from datetime import datetime, timedelta

from shared.periods import VIETNAM_TZ

EARLIEST_MEETING = datetime(2000, 1, 1, tzinfo=VIETNAM_TZ)
"""No meeting starts before 1 January 2000 (local)."""
MEETING_HORIZON = timedelta(days=731)
"""A meeting starts at most two years after now."""
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
