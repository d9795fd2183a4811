"""A trial's two form edges (h297): a points field given "NaN", "inf" or "Infinity" is told it is not a number (not
"between 0 and 3 points"), and a meeting starting at 19:30 on the last day the schedule form names ("at most two
years from today") is taken, as the API takes it, while the day after is refused by both."""

from datetime import datetime

import pytest
from pydantic import TypeAdapter, ValidationError

from services.gateway.schemas.commands import AssessmentCreate
from services.gateway.web import forms
from services.gateway.web.forms import FormErrors, assessment_points
from shared.periods import VIETNAM_TZ
from shared.plausible import meeting_start_problem

ITEM = {"code": "content.self_criticism", "name": "Tự phê bình", "max": 3}


@pytest.mark.parametrize("value", ["NaN", "nan", "inf", "-inf", "Infinity", "-Infinity", "1e400"])
def test_a_non_finite_point_is_told_it_is_not_a_number(value: str) -> None:
    with pytest.raises(FormErrors) as refused:
        assessment_points({"point-content.self_criticism": value}, [ITEM])
    assert refused.value.errors == {"point-content.self_criticism": "Tự phê bình: vui lòng nhập số."}


def test_a_finite_point_is_still_read_and_one_out_of_range_said_as_the_range() -> None:
    assert assessment_points({"point-content.self_criticism": "2,5"}, [ITEM]) == {"content.self_criticism": 2.5}
    with pytest.raises(FormErrors) as refused:
        assessment_points({"point-content.self_criticism": "4"}, [ITEM])
    assert "từ 0 đến 3 điểm" in refused.value.errors["point-content.self_criticism"]


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_the_api_refuses_non_finite_points_in_json(value: str) -> None:
    def body(points: str) -> str:
        return '{"role": "upper_monitor", "points": {"content.self_criticism": ' + points + "}}"

    assert TypeAdapter(AssessmentCreate).validate_json(body("2.5")).points  # the same body with a number is taken
    with pytest.raises(ValidationError) as refused:
        TypeAdapter(AssessmentCreate).validate_json(body(value))
    assert [error["loc"][:2] for error in refused.value.errors()] == [("points", "content.self_criticism")]


NOW = datetime(2026, 12, 5, 14, 0, tzinfo=VIETNAM_TZ)


def test_a_meeting_on_the_last_day_the_form_names_is_taken_by_form_and_api() -> None:
    errors: dict[str, str] = {}
    starts = forms.meeting_start({"start_date": "2028-12-05", "start_time": "23:59"}, errors, now=NOW)
    assert errors == {} and starts == datetime(2028, 12, 5, 23, 59, tzinfo=VIETNAM_TZ)
    assert forms.meeting_start({"start_date": "2028-12-05", "start_time": "19:30"}, errors, now=NOW) is not None
    assert meeting_start_problem(datetime(2028, 12, 5, 19, 30, tzinfo=VIETNAM_TZ), now=NOW) is None


def test_the_day_after_the_last_is_refused_by_form_and_api_naming_the_last_day() -> None:
    errors: dict[str, str] = {}
    assert forms.meeting_start({"start_date": "2028-12-06", "start_time": "00:00"}, errors, now=NOW) is None
    assert "chậm nhất là 2 năm kể từ hôm nay" in errors["starts_at"]
    problem = meeting_start_problem(datetime(2028, 12, 6, 0, 0, tzinfo=VIETNAM_TZ), now=NOW)
    assert problem is not None and "more than 2 years ahead" in problem and "2028-12-05" in problem


def test_a_leap_day_counts_two_years_to_the_first_of_march() -> None:
    leap = datetime(2028, 2, 29, 9, 0, tzinfo=VIETNAM_TZ)
    assert meeting_start_problem(datetime(2030, 3, 1, 23, 0, tzinfo=VIETNAM_TZ), now=leap) is None
    assert meeting_start_problem(datetime(2030, 3, 2, 0, 0, tzinfo=VIETNAM_TZ), now=leap) is not None
