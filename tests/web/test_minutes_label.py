"""A meeting's minutes read the same everywhere (i18n.minutes_label), from what meetings' replies carry: no minutes,
minutes recorded and not published, a minutes document published, minutes adopted by the cell."""

from typing import Any

import pytest

from services.gateway.web import data
from services.gateway.web.i18n import meeting_status_label, minutes_label, minutes_state
from shared.contracts.meetings_rpc import MeetingReply, MeetingSummaryReply

BASE: dict[str, Any] = {"meeting_id": "mtg-1", "cell_id": "cell-1", "kind": "regular"}
MINUTES = {"started_at": "2026-11-03T19:00:00+07:00", "chair_id": "m1"}
MINUTES_DOCUMENT = {"title": "Biên bản", "kind": "minutes", "published_at": "2026-11-04T08:00:00+07:00"}


@pytest.mark.parametrize(
    ("meeting", "said"),
    [
        (BASE | {"status": "scheduled"}, "Chưa có biên bản"),
        (BASE | {"status": "scheduled", "attendance_recorded": True, "minutes_published": False}, "Chưa có biên bản"),
        (BASE | {"status": "cancelled"}, "Chưa có biên bản"),
        (BASE | {"status": "minutes_submitted", "minutes_published": False}, "Đã ghi biên bản (chưa đăng tải)"),
        (BASE | {"status": "minutes_submitted", "minutes_published": True}, "Đã đăng tải biên bản"),
        (BASE | {"status": "minutes_approved", "minutes_published": False}, "Biên bản đã được thông qua"),
        (BASE | {"status": "minutes_approved", "minutes_published": True}, "Biên bản đã được thông qua"),
        # a whole meeting from a meetings service that does not say: its documents do
        (
            BASE | {"status": "minutes_submitted", "minutes": MINUTES, "documents": []},
            "Đã ghi biên bản (chưa đăng tải)",
        ),
        (
            BASE | {"status": "minutes_submitted", "minutes": MINUTES, "documents": [MINUTES_DOCUMENT]},
            "Đã đăng tải biên bản",
        ),
        # a list's summary from such a service cannot tell: minutes recorded, no more said
        (BASE | {"status": "minutes_submitted"}, "Đã ghi biên bản"),
    ],
)
def test_the_minutes_label_says_the_state_of_a_meetings_minutes(meeting: dict[str, Any], said: str) -> None:
    assert minutes_label(meeting) == said


def test_the_minutes_label_reads_the_rpc_replies_themselves() -> None:
    listed = MeetingSummaryReply.model_validate(BASE | {"status": "minutes_submitted", "minutes_published": True})
    assert minutes_label(listed) == "Đã đăng tải biên bản"
    whole = MeetingReply.model_validate(BASE | {"status": "minutes_submitted", "minutes": MINUTES})
    assert minutes_state(whole) == "unpublished"  # no minutes_published, and no document published
    assert minutes_label(MeetingReply.model_validate(BASE | {"status": "scheduled"})) == "Chưa có biên bản"
    old = MeetingSummaryReply.model_validate(BASE | {"status": "minutes_approved"})
    assert old.minutes_published is None and minutes_label(old) == "Biên bản đã được thông qua"


def test_a_held_meetings_status_is_the_state_of_its_minutes() -> None:
    held = BASE | {"status": "minutes_submitted", "minutes_published": False, "attendance_recorded": True}
    assert meeting_status_label(held) == minutes_label(held) == "Đã ghi biên bản (chưa đăng tải)"
    assert meeting_status_label(BASE | {"status": "scheduled", "attendance_recorded": True}) == (
        "Đã lên lịch (đã điểm danh, đang chờ biên bản)"
    )


def test_the_late_minutes_list_says_missing_minutes_as_the_pages_do() -> None:
    item = {"cell_id": "cell-1", "kind": "regular", "starts_at": "2026-11-03T19:00:00+07:00"}
    shown = data.late_minutes_shown(item | {"missing": ["minutes_submitted", "minutes", "resolution"]})
    assert shown["missing_text"] == "chưa có biên bản, chưa đăng tải biên bản, chưa đăng tải nghị quyết"
