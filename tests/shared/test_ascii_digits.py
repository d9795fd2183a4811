"""Numbers, periods, dates and times are written in the ASCII digits 0-9 only (CONTRACT.md: `YYYY-MM-DD`, RFC 3339,
"2026-11"); a digit of another script is refused naming the field, never read.

The defect: `GET /v1/committees/{c}/rollup?period=２０２６` (fullwidth) or `٢٠٢٦-Q4` (Arabic-Indic) answered 200 with
every cell not_met_yet, the CSV export printed "Năm ２０２６" and `POST /v1/rescore` took `period_from: "２０２６"`:
`\\d` matches every Unicode digit, in Python's re and in the Rust regex pydantic runs `pattern=` with, and so does
str.isdigit (which also takes "²", on which int() then fails). The scan below keeps both out of the code.
"""

import json
import re
from pathlib import Path
from typing import Any

import pytest

from services.gateway.web import forms
from services.gateway.web.core import BadPeriod
from services.gateway.web.forms import FormErrors, assessment_points, whole_number
from services.gateway.web.i18n import format_period
from services.gateway.web.pages.operations import _count
from services.gateway.web.periods import checked, checked_year
from shared.contracts.registry import read_event
from shared.envelope import InvalidEvent, parse_envelope
from shared.periods import is_period
from shared.text import is_ascii_number
from tests.ops.contract_examples import EXAMPLES, event

ROOT = Path(__file__).resolve().parents[2]
NOT_ASCII = ["２０２６", "٢٠٢٦-Q4", "۲۰۲۶-11", "２０２６-Q4", "2026-１1", "٢٠٢٦"]
"""Periods in fullwidth, Arabic-Indic and Extended Arabic-Indic digits, whole or in part."""

UNICODE_DIGIT = re.compile(r"\\d")
DIGIT_TEST = re.compile(r"\.is(digit|decimal|numeric)\(")
HELPER = ROOT / "shared" / "text.py"


def _sources() -> list[Path]:
    return [
        path
        for top in ("shared", "services")
        for path in sorted((ROOT / top).rglob("*.py"))
        if "node_modules" not in path.parts
    ]


def test_no_code_reads_a_digit_of_another_script() -> None:
    """`\\d` (re and pydantic `pattern=` alike) and str.isdigit/isdecimal/isnumeric take ٢ and ２: write [0-9], or
    shared.text.is_ascii_number."""
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _sources()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if UNICODE_DIGIT.search(line) or (DIGIT_TEST.search(line) and path != HELPER)
    ]
    assert not found, "\n".join(found)


def test_the_scan_sees_the_code() -> None:
    assert len(_sources()) > 100 and HELPER in _sources()


@pytest.mark.parametrize("period", NOT_ASCII)
def test_a_period_in_other_digits_is_no_period(period: str) -> None:
    assert not is_period(period)
    with pytest.raises(BadPeriod):
        checked(period)
    assert format_period(period) == period  # never "Năm ２０２６"


@pytest.mark.parametrize("year", ["２０２６", "٢٠٢٦", "²⁰²⁶"])
def test_a_year_in_other_digits_is_no_year(year: str) -> None:
    with pytest.raises(BadPeriod):
        checked_year(year)


def _read(event_type: str, **data: Any) -> None:
    read_event(parse_envelope(json.dumps(event(event_type, {**EXAMPLES[event_type], **data}))))


@pytest.mark.parametrize(
    ("event_type", "field", "value"),
    [
        ("member.upserted.v1", "admitted_on", "２００１-05-19"),
        ("member.upserted.v1", "admitted_on", "٢٠٠١-٠٥-١٩"),
        ("task.completed.v1", "completed_on", "2026-11-１5"),
        ("minutes.approved.v1", "approved_at", "２０２６-11-02T08:00:00+07:00"),
        ("minutes.approved.v1", "approved_at", "2026-11-02T08:00:00+٠٧:00"),
    ],
)
def test_a_date_or_time_in_other_digits_is_refused_naming_the_field(event_type: str, field: str, value: str) -> None:
    with pytest.raises(InvalidEvent) as refused:
        _read(event_type, **{field: value})
    assert refused.value.field == f"data.{field}"
    assert "YYYY-MM-DD" in str(refused.value) or "RFC 3339" in str(refused.value)


def test_an_envelope_time_in_other_digits_is_refused_naming_it() -> None:
    raw = event("task.completed.v1", EXAMPLES["task.completed.v1"])
    raw["time"] = "２０２６-11-02T08:00:00+07:00"
    with pytest.raises(InvalidEvent) as refused:
        read_event(parse_envelope(json.dumps(raw)))
    assert refused.value.field == "time"


@pytest.mark.parametrize("text", ["٥", "５", "²", "1²", "", "-1", "1.0"])
def test_only_ascii_digits_are_a_number(text: str) -> None:
    assert not is_ascii_number(text)
    assert not is_ascii_number(text.encode())
    assert is_ascii_number("2026") and is_ascii_number(b"2026")


def test_a_notice_count_in_other_digits_reads_as_zero_not_a_crash() -> None:
    # `?dropped=²` passed str.isdigit and int("²") raised: a 500 from an address anyone can write
    assert _count("²") == "0" and _count("５") == "0" and _count("12") == "12"


@pytest.mark.parametrize("value", ["５", "٥", "1５"])
def test_a_form_number_in_other_digits_is_refused_naming_the_field(value: str) -> None:
    errors: dict[str, str] = {}
    assert whole_number({"votes_for": value}, "votes_for", errors) is None
    assert "votes_for" in errors
    with pytest.raises(FormErrors) as refused:
        item = {"code": "content.self_criticism", "name": "Tự phê bình", "max": 5}
        assessment_points({"point-content.self_criticism": value}, [item])
    assert "point-content.self_criticism" in refused.value.errors
    assert forms.parse_day(value + "/12/2026") is None  # strptime read `1５/12/2026` as the 15th


def test_a_bulk_csv_year_in_other_digits_stays_text_for_the_model_to_refuse() -> None:
    # `١٩٧٥`.isdigit() made the CSV loader write the integer 1975 into birth_year
    from services.meetings.bulk.csv_input import _cell_value

    assert _cell_value("١٩٧٥", int) == "١٩٧٥" and _cell_value("1975", int) == 1975 and _cell_value("-3", int) == -3
