"""Findings of a web trial (h557) on the gateway forms: a time typed the Vietnamese way ("19h30") was refused, and a
date of year 0001 was said as "ngày 01/01/1 đã qua" instead of a mistyped year."""

from datetime import date, datetime, time

import pytest
from starlette.datastructures import FormData

from services.gateway.web import forms
from services.gateway.web.i18n import format_day, format_short_date
from services.gateway.web.pages.secretary import _minutes_body
from shared.periods import VIETNAM_TZ
from shared.text import has_text, said_or_blank

NOW = datetime(2026, 12, 1, 20, 0, tzinfo=VIETNAM_TZ)


@pytest.mark.parametrize(
    ("typed", "hour"),
    [
        ("19h30", time(19, 30)),
        ("19h", time(19, 0)),
        ("19g30", time(19, 30)),
        ("19 giờ 30", time(19, 30)),
        ("19 giờ 30 phút", time(19, 30)),
        ("19 giờ", time(19, 0)),
        ("7h05", time(7, 5)),
        ("19H30", time(19, 30)),
        ("7:05", time(7, 5)),
        ("19:30", time(19, 30)),
        ("00h00", time(0, 0)),
    ],
)
def test_a_time_written_the_vietnamese_way_is_read(typed: str, hour: time) -> None:
    errors: dict[str, str] = {}
    form = {"start_date": "2026-12-04", "start_time": typed}
    assert forms.meeting_start(form, errors, now=NOW) == datetime.combine(date(2026, 12, 4), hour, tzinfo=VIETNAM_TZ)
    assert errors == {}


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("24h00", "Giờ: giờ 24 không hợp lệ; giờ chỉ từ 00 đến 23 (nửa đêm là 00:00 của ngày hôm sau)."),
        ("19h60", "Giờ: phút 60 không hợp lệ; phút chỉ từ 00 đến 59."),
        ("１９h３０", "Giờ: “１９h３０” không phải giờ hợp lệ; nhập theo dạng 19:30."),
        ("١٩h٣٠", "Giờ: “١٩h٣٠” không phải giờ hợp lệ; nhập theo dạng 19:30."),
        ("19h3", "Giờ: “19h3” không phải giờ hợp lệ; nhập theo dạng 19:30."),
        ("h30", "Giờ: “h30” không phải giờ hợp lệ; nhập theo dạng 19:30."),
        ("7 rưỡi", "Giờ: “7 rưỡi” không phải giờ hợp lệ; nhập theo dạng 19:30."),
    ],
)
def test_a_time_that_is_no_time_is_still_refused_naming_why(typed: str, said: str) -> None:
    errors: dict[str, str] = {}
    form = {"start_date": "2026-12-04", "start_time": typed}
    assert forms.meeting_start(form, errors, now=NOW) is None
    assert errors == {"starts_at": said}


@pytest.mark.parametrize("typed", ["0001-01-01", "01/01/0001", "1899-12-31", "2200-01-01"])
def test_a_date_outside_the_years_the_system_takes_is_refused_naming_the_field(typed: str) -> None:
    errors: dict[str, str] = {}
    assert forms.meeting_start({"start_date": typed, "start_time": "19:30"}, errors, now=NOW) is None
    assert errors["starts_at"].startswith("Ngày: ngày ")
    assert (
        "nằm ngoài khoảng ngày hệ thống nhận (từ 01/01/1900 đến 31/12/2199); vui lòng kiểm tra lại năm."
        in (errors["starts_at"])
    )
    assert "đã qua" not in errors["starts_at"]
    errors = {}
    assert forms.day({"due_on": typed}, "due_on", errors) is None
    assert "nằm ngoài khoảng ngày hệ thống nhận" in errors["due_on"]


def test_a_date_is_written_with_a_four_digit_year() -> None:
    assert format_short_date(date(1, 1, 1)) == "01/01/0001"
    assert format_day(date(1, 1, 1)).endswith("ngày 01/01/0001")
    assert format_short_date(date(2026, 12, 4)) == "04/12/2026"


@pytest.mark.parametrize("blank", ["   ", " \r\n \r\n ", "\u3000\u00a0", "\u2800\u2800", "\u2800 \u3164"])
def test_minutes_content_of_only_spaces_is_stored_as_none_and_a_blank_required_text_is_refused(blank: str) -> None:
    """Trial h557: minutes whose content was only spaces were saved as said. Every blank text reads as empty
    (shared.text.has_text): the optional content and conclusions are left out; a reason the form needs is refused."""
    form = FormData(
        {
            "day": "2026-11-30",
            "started": "19:30",
            "ended": "21:00",
            "chair_id": "m1",
            "recorder_id": "m2",
            "content": blank,
            "conclusions": f"Kết luận{blank}",
        }
    )
    body = _minutes_body(form, "meeting-1")
    assert "content" not in body and body["conclusions"] == "Kết luận"
    assert not has_text(blank) and said_or_blank(f"{blank}Nội dung{blank}") == "Nội dung"
