"""Findings of a web trial (h565) on the gateway forms: a date typed "16-12-2026" was refused while "16/12/2026" was
read. Where there is no date picker a person in Vietnam types the day first with slashes, dashes or dots; each is
read as dd/mm/yyyy is, the picker's yyyy-mm-dd still by its four-digit first part, and a two-digit year is refused
asking for the year in four digits (16/12/26 could be 1926 or 2026: the system takes 1900-2199)."""

from datetime import date, datetime

import pytest

from services.gateway.web import forms
from services.gateway.web.forms import parse_day, parse_day_and_clock
from shared.periods import VIETNAM_TZ

NOW = datetime(2026, 12, 1, 20, 0, tzinfo=VIETNAM_TZ)

FOUR_DIGIT_YEAR = "Ngày: “{typed}” có năm chỉ hai chữ số; hãy nhập năm đủ bốn chữ số, ví dụ 04/12/2026."


@pytest.mark.parametrize(
    "typed",
    ["16/12/2026", "16-12-2026", "16.12.2026", "2026-12-16"],
)
def test_a_day_typed_with_slashes_dashes_or_dots_is_the_same_day(typed: str) -> None:
    assert parse_day(typed) == date(2026, 12, 16)
    errors: dict[str, str] = {}
    assert forms.meeting_start({"start_date": typed, "start_time": "19h30"}, errors, now=NOW) == datetime(
        2026, 12, 16, 19, 30, tzinfo=VIETNAM_TZ
    )
    assert errors == {}
    assert forms.day({"due_on": typed}, "due_on", errors) == date(2026, 12, 16) and errors == {}
    assert parse_day_and_clock(f"{typed} 19h30", VIETNAM_TZ) == datetime(2026, 12, 16, 19, 30, tzinfo=VIETNAM_TZ)


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("4-1-2026", date(2026, 1, 4)),
        ("4.1.2026", date(2026, 1, 4)),
        ("04-01-2026", date(2026, 1, 4)),
        ("4/1/2026", date(2026, 1, 4)),
        ("2026-01-04", date(2026, 1, 4)),  # a four-digit first part is the year: never the 20th of month 26
        ("01-04-2026", date(2026, 4, 1)),  # day first, as 01/04/2026 is
    ],
)
def test_a_typed_day_is_read_day_first_and_the_pickers_value_year_first(typed: str, day: date) -> None:
    assert parse_day(typed) == day


@pytest.mark.parametrize("typed", ["16/12/26", "16-12-26", "16.12.26", "1.1.26"])
def test_a_two_digit_year_is_refused_asking_for_four_digits(typed: str) -> None:
    assert parse_day(typed) is None
    errors: dict[str, str] = {}
    assert forms.meeting_start({"start_date": typed, "start_time": "19:30"}, errors, now=NOW) is None
    assert errors == {"starts_at": FOUR_DIGIT_YEAR.format(typed=typed)}


@pytest.mark.parametrize("typed", ["31/02/2026", "31-02-2026", "31.02.2026", "2026-02-31"])
def test_a_day_not_in_its_month_is_refused_naming_the_field_whatever_the_separator(typed: str) -> None:
    errors: dict[str, str] = {}
    assert forms.meeting_start({"start_date": typed, "start_time": "19:30"}, errors, now=NOW) is None
    assert errors == {"starts_at": "Ngày: ngày 31 không có trong tháng 2/2026 (tháng này có 28 ngày)."}


@pytest.mark.parametrize("typed", ["13-13-2026", "13.13.2026"])
def test_a_month_out_of_range_is_refused_naming_the_month(typed: str) -> None:
    errors: dict[str, str] = {}
    forms.day({"due_on": typed}, "due_on", errors)
    assert errors == {"due_on": "Hạn hoàn thành: tháng 13 không có thật; tháng chỉ từ 01 đến 12."}


@pytest.mark.parametrize("typed", ["01-01-0001", "31.12.1899", "01-01-2200"])
def test_a_dashed_or_dotted_day_outside_the_years_the_system_takes_is_refused(typed: str) -> None:
    errors: dict[str, str] = {}
    assert forms.meeting_start({"start_date": typed, "start_time": "19:30"}, errors, now=NOW) is None
    assert errors["starts_at"].startswith("Ngày: ngày "), errors
    assert "nằm ngoài khoảng ngày hệ thống nhận" in errors["starts_at"], errors


@pytest.mark.parametrize(
    "typed", ["16/12-2026", "16-12/2026", "16..12.2026", "1５-12-2026", "16-12-202６", "2026.12.16", "16 12 2026"]
)
def test_mixed_separators_or_other_digits_are_no_day_and_the_message_lists_the_ways_to_write_one(typed: str) -> None:
    assert parse_day(typed) is None
    errors: dict[str, str] = {}
    forms.day({"start_date": typed}, "start_date", errors)
    assert errors["start_date"] == (
        f"Ngày: “{typed}” không phải ngày hợp lệ; hãy chọn ngày trên lịch hoặc nhập theo dạng ngày/tháng/năm, ví dụ"
        " 04/12/2026, 04-12-2026 hoặc 04.12.2026."
    )
