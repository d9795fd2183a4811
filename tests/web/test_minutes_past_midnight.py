"""A meeting that ends after midnight (19:30-00:30) on the minutes form: the form has one date, so it takes an end
time before the start as the next day's while the meeting then lasts at most forms.MINUTES_FORM_LONGEST, and the page
says so under the times, as the refusal of a longer one does (a trial's secretary got only "Giờ kết thúc: phải sau
giờ bắt đầu." and could not tell the form would take 00:30)."""

from datetime import datetime, timedelta

import pytest
from starlette.datastructures import FormData

from services.gateway.web.forms import FormErrors
from services.gateway.web.pages.secretary import _minutes_body
from shared.periods import VIETNAM_TZ
from tests.web.test_cancelled_record import record_page

NOTE = (
    "Buổi sinh hoạt kết thúc sau nửa đêm: đồng chí nhập giờ kết thúc đúng như thực tế (ví dụ 00:30); giờ kết thúc sớm"
    " hơn giờ bắt đầu được hiểu là giờ của ngày hôm sau nếu khi đó buổi sinh hoạt kéo dài không quá 12 giờ."
)


def form(started: str, ended: str) -> FormData:
    return FormData({"day": "2026-11-30", "started": started, "ended": ended, "chair_id": "m1", "recorder_id": "m2"})


def test_the_minutes_form_says_an_end_time_before_the_start_is_the_next_days() -> None:
    page = record_page("scheduled")
    assert 'aria-describedby="m-ended-note"' in page
    assert f'<p class="note" id="m-ended-note">{NOTE}</p>' in page


@pytest.mark.parametrize(("started", "ended"), [("19:30", "00:30"), ("20:00", "01:45"), ("12:00", "00:00")])
def test_a_meeting_ending_after_midnight_is_taken_as_ending_the_next_day(started: str, ended: str) -> None:
    body = _minutes_body(form(started, ended), "meeting-1")
    start = datetime.fromisoformat(f"2026-11-30T{started}:00+07:00")
    end = datetime.fromisoformat(f"2026-12-01T{ended}:00+07:00")
    assert (body["started_at"], body["ended_at"]) == (start.isoformat(), end.isoformat())
    assert timedelta(0) < end - start <= timedelta(hours=12)
    assert end.tzinfo is not None and end.utcoffset() == VIETNAM_TZ.utcoffset(None)


def test_a_longer_one_is_refused_saying_when_an_earlier_end_time_is_taken_as_the_next_day() -> None:
    with pytest.raises(FormErrors) as refused:
        _minutes_body(form("09:00", "08:00"), "meeting-1")
    assert refused.value.errors["ended_at"] == (
        "Giờ kết thúc: phải sau giờ bắt đầu; giờ kết thúc sớm hơn giờ bắt đầu chỉ được hiểu là giờ của ngày hôm sau"
        " nếu khi đó buổi sinh hoạt kéo dài không quá 12 giờ."
    )
