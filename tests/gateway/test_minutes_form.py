"""The minutes form's times: one date, so an end time before the start is past midnight when that makes a meeting
of at most LONGEST_MEETING (the e2e form test failed every evening from 22:20 Vietnam time: 100 minutes after its
start the end time read as the same day's, before the start)."""

from datetime import datetime, timedelta

import pytest
from starlette.datastructures import FormData

from services.gateway.web.forms import FormErrors
from services.gateway.web.pages.secretary import _minutes_body
from shared.periods import VIETNAM_TZ


def _form(started: str, ended: str) -> FormData:
    return FormData(
        {
            "day": "2026-11-30",
            "started": started,
            "ended": ended,
            "chair_id": "m1",
            "recorder_id": "m2",
            "content": "Nội dung",
            "conclusion": "Kết luận",
        }
    )


def test_an_end_time_after_the_start_is_the_same_day() -> None:
    body = _minutes_body(_form("19:30", "21:10"), "meeting-1")
    assert body["ended_at"] == datetime(2026, 11, 30, 21, 10, tzinfo=VIETNAM_TZ).isoformat()


@pytest.mark.parametrize(
    ("started", "ended", "day"), [("22:40", "00:20", 1), ("23:59", "00:00", 1), ("13:00", "01:00", 1)]
)
def test_an_end_time_before_the_start_is_past_midnight(started: str, ended: str, day: int) -> None:
    body = _minutes_body(_form(started, ended), "meeting-1")
    hour, minute = map(int, ended.split(":"))
    start_hour, start_minute = map(int, started.split(":"))
    assert body["started_at"] == datetime(2026, 11, 30, start_hour, start_minute, tzinfo=VIETNAM_TZ).isoformat()
    ends = datetime(2026, 11, 30, hour, minute, tzinfo=VIETNAM_TZ) + timedelta(days=day)
    assert body["ended_at"] == ends.isoformat()


@pytest.mark.parametrize(("started", "ended"), [("09:00", "09:00"), ("09:00", "08:00"), ("12:59", "01:00")])
def test_an_end_time_that_would_make_a_meeting_over_twelve_hours_or_none_is_refused(started: str, ended: str) -> None:
    with pytest.raises(FormErrors) as refused:
        _minutes_body(_form(started, ended), "meeting-1")
    assert "ended_at" in refused.value.errors
    assert "phải sau giờ bắt đầu" in refused.value.errors["ended_at"]


def test_a_task_without_assignee_or_with_a_date_that_is_no_date_gets_one_true_message_each() -> None:
    """A task with no assignee chosen is told it is empty (not "characters not allowed"); a due date that is no
    date is told so, without a second, false "please fill in"; an empty due date is told to be filled."""
    form = FormData(
        {
            **dict(_form("19:30", "21:10")),
            "task-1": "Rà soát danh sách hộ nghèo",
            "due-1": "ngày mai",  # 30/11/2026 is a date a person types, read as one
            "task-2": "Sửa đường liên thôn",
            "assignee-2": "m1",
        }
    )
    with pytest.raises(FormErrors) as refused:
        _minutes_body(form, "meeting-1")
    errors = refused.value.errors
    assert errors["assignee-1"] == "Người được giao nhiệm vụ 1: không được để trống."
    assert "tasks.0.due_on" in errors and "due-1" not in errors  # one message about the date given, not two
    assert errors["due-2"] == "Hạn hoàn thành nhiệm vụ 2: không được để trống."
    assert "assignee-2" not in errors
