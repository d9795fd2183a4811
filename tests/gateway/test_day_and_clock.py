"""forms.parse_day_and_clock, the one reading of a moment typed in a single input (the operations page's filtered
dismissal): a datetime-local value, or a day and an hour as a person writes them, in Vietnam time unless an offset
is said; anything else None, which the page refuses naming the field."""

from datetime import datetime, timedelta, timezone

import pytest

from services.gateway.web.forms import parse_day_and_clock
from shared.periods import VIETNAM_TZ


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-12-04T19:30", datetime(2026, 12, 4, 19, 30, tzinfo=VIETNAM_TZ)),
        ("04/12/2026 19:30", datetime(2026, 12, 4, 19, 30, tzinfo=VIETNAM_TZ)),
        ("04/12/2026 19:30:15", datetime(2026, 12, 4, 19, 30, 15, tzinfo=VIETNAM_TZ)),
        ("04/12/2026 19h30", datetime(2026, 12, 4, 19, 30, tzinfo=VIETNAM_TZ)),
        ("04/12/2026", datetime(2026, 12, 4, tzinfo=VIETNAM_TZ)),
        ("2026-12-04T19:30+00:00", datetime(2026, 12, 4, 19, 30, tzinfo=timezone(timedelta(0)))),
    ],
)
def test_a_moment_as_sent_or_typed_is_read_in_vietnam_time(raw: str, expected: datetime) -> None:
    """The picker's value and a typed day with or without its hour are the same moment."""
    moment = parse_day_and_clock(raw, VIETNAM_TZ)
    assert moment == expected and moment.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("raw", ["", "abc", "04/12/2026 25:00", "31/02/2026 19:30", "１/12/2026", "04/12/2026 ngày"])
def test_anything_else_is_no_moment(raw: str) -> None:
    """No such day, no such hour, other digits than 0-9, words: None (the page names the field)."""
    assert parse_day_and_clock(raw, VIETNAM_TZ) is None
