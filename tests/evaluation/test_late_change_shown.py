"""A late change is said when what a person was shown changes (the score at the page's one decimal, halves up, or the
rating), never by the cent the API gives: the months' notes evaluation reads back (queries._late_change) and the
re-score job's count of meetings whose score changed (handlers.scores._points_moved) judge it as the notes are left
(domain.periods.late_change) and said (gateway's i18n), by shared.numbers.shown_change."""

from datetime import UTC, datetime
from typing import Any

import pytest

from services.evaluation.handlers.scores import _points_moved
from services.evaluation.queries import _late_change
from shared.numbers import shown_change

AT = datetime(2026, 12, 4, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("old", "new", "changed"),
    [
        ((77.049, "fair"), (77.051, "fair"), True),  # 77,0 → 77,1
        ((77.01, "fair"), (77.04, "fair"), False),  # 77,0 both
        ((79.96, "fair"), (80.01, "good"), True),  # 80,0 both, Khá → Tốt at the band's boundary
        ((81.05, "fair"), (81.0499, "fair"), True),  # 81,1 → 81,0: halves up on the shortest decimal text
        ((None, None), (0.0, "poor"), True),  # nothing shown before
        ((None, None), (None, None), False),
    ],
)
def test_shown_change_compares_what_the_page_shows(
    old: tuple[float | None, str | None], new: tuple[float | None, str | None], changed: bool
) -> None:
    assert shown_change(old[0], old[1], new[0], new[1]) is changed


def row(old: float, now: float, rating: str = "fair") -> dict[str, Any]:
    """A LATE_CHANGES row of a month whose last note withdrew a meeting an earlier note had counted in late."""
    return {
        "cell_id": "c1",
        "period": "2026-11",
        "old_rating": "fair",
        "old_score": old,
        "new_rating": rating,
        "new_score": now,
        "now_rating": rating,
        "now_score": now,
        "first_kind": "result",
        "last_kind": "withdrawn",
        "withdrawn_was_late": True,
        "changes": 2,
        "changes_kept": 1,
        "meeting_id": "m-late",
        "month_meeting_id": "m-early",
        "meeting_starts_at": None,
        "meeting_cancelled": True,
        "changed_at": AT,
        "first_changed_at": AT,
    }


def test_a_month_back_at_what_it_showed_after_a_late_meeting_withdrawn_has_no_note() -> None:
    """A meeting recorded late and then withdrawn leaves no note when the month shows again what it closed with
    (77,0 and 77,0: the cents differ), and keeps it when the page shows another figure (77,0 then 77,1, the same
    cent rounded) or another rating."""
    assert _late_change(row(77.01, 77.04)) is None
    kept = _late_change(row(77.049, 77.051))
    assert kept is not None and (kept["old_score"], kept["new_score"]) == (77.049, 77.051)
    assert _late_change(row(79.96, 80.01, rating="good")) is not None


def meeting(score: float, rating: str = "fair") -> dict[str, Any]:
    return {"score": score, "rating": rating, "criteria": [{"code": "c1", "points": 4.0}]}


def test_a_rescored_meeting_counts_as_changed_when_its_shown_score_or_rating_changes() -> None:
    assert _points_moved(meeting(77.049), meeting(77.051))
    assert not _points_moved(meeting(77.01), meeting(77.04))
    assert _points_moved(meeting(79.96), meeting(80.01, "good"))
