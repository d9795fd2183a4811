"""A new user's trial of the secretary's forms (h179): minutes dated on another day than their meeting were accepted
(and at once raised a late-minutes escalation), a minutes day still ahead was said of the start time, rows with data
but no text vanished, an exempt speaker was called absent, the schedule form listed its errors out of its order, a
U+0000 in a text field was dropped without a word, and the API said "a extraordinary meeting"."""

from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.datastructures import FormData

from services.gateway.web import forms
from services.gateway.web.core import environment
from services.gateway.web.forms import FormErrors
from services.gateway.web.pages import secretary
from services.gateway.web.pages.secretary import _minutes_body
from shared.periods import VIETNAM_TZ
from shared.reading import ReadError, check_text
from tests.web.isolates import read_all
from tests.web.scheduling import a_day_ahead, stand_in_for_scheduling
from tests.web.test_trial_h292 import VIEWER, listed
from tests.web.test_trial_wording import handled

SCHEDULED = datetime(2026, 12, 1, 19, 30, tzinfo=VIETNAM_TZ)
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=VIETNAM_TZ)
MINUTES = {"started": "19:30", "ended": "21:30", "chair_id": "m-1", "recorder_id": "m-2", "content": "Nội dung"}


def _form(day: str, *rows: tuple[str, str], **values: str) -> FormData:
    return FormData([*{**MINUTES, "day": day, **values}.items(), *rows])


def test_minutes_dated_before_their_meetings_day_are_refused_on_the_day_naming_it() -> None:
    with pytest.raises(FormErrors) as caught:
        _minutes_body(_form("2026-11-25"), "m", scheduled=SCHEDULED, now=NOW)
    said = caught.value.errors["day"]
    assert said.startswith("Ngày: biên bản ghi ngày 25/11/2026"), said
    assert "01/12/2026" in said and "Đổi lịch" in said, said
    # a later day is another day too (the meeting is moved first)
    with pytest.raises(FormErrors) as caught:
        _minutes_body(_form("2026-12-02"), "m", scheduled=SCHEDULED, now=NOW)
    assert caught.value.errors["day"].startswith("Ngày:")
    # the meeting's own day goes through, also past midnight
    body = _minutes_body(_form("2026-12-01"), "m", scheduled=SCHEDULED, now=NOW)
    assert body["started_at"] == SCHEDULED.isoformat()
    assert _minutes_body(_form("2026-12-01", started="23:00", ended="00:30"), "m", scheduled=SCHEDULED, now=NOW)


async def test_the_minutes_handler_judges_the_day_by_the_meetings_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.gateway.web import data

    async def members_by_id(*_: Any, **__: Any) -> dict[str, dict[str, Any]]:
        return {}

    meeting = SimpleNamespace(cell_id="c", starts_at=SCHEDULED, attendance=None)

    async def recordable_meeting(*_: Any) -> Any:
        return meeting

    monkeypatch.setattr(data, "members_by_id", members_by_id)
    monkeypatch.setattr(secretary, "recordable_meeting", recordable_meeting)
    handled(monkeypatch, {**MINUTES, "day": "2026-11-25"})
    errors: Any = await secretary.minutes("m-1", None, SimpleNamespace(principal=None), None)  # type: ignore[arg-type]
    assert list(errors) == ["day"] and errors["day"].startswith("Ngày: biên bản ghi ngày 25/11/2026"), errors


def test_a_minutes_day_still_ahead_is_said_of_the_day_and_an_hour_ahead_today_of_the_start_time() -> None:
    with pytest.raises(FormErrors) as caught:
        _minutes_body(_form("2026-12-04"), "m", scheduled=SCHEDULED, now=NOW)
    assert list(caught.value.errors) == ["day"], caught.value.errors
    said = caught.value.errors["day"]
    assert said.startswith("Ngày: 19:30 thứ Sáu, ngày 04/12/2026 chưa tới"), said
    today = datetime(2026, 12, 1, 18, 0, tzinfo=VIETNAM_TZ)
    with pytest.raises(FormErrors) as caught:
        _minutes_body(_form("2026-12-01"), "m", scheduled=today, now=today)
    assert caught.value.errors["started"].startswith("Giờ bắt đầu: 19:30"), caught.value.errors


def test_a_row_with_votes_or_a_due_date_but_no_text_is_refused_naming_the_row() -> None:
    form = _form(
        "2026-12-01",
        ("resolution-1", ""),
        ("votes_for-1", "10"),
        ("resolution-2", "Thông qua kế hoạch"),
        ("votes_for-2", "3"),
        ("task-1", ""),
        ("assignee-1", "m-1"),
        ("due-1", "2026-12-20"),
    )
    with pytest.raises(FormErrors) as caught:
        _minutes_body(form, "m", scheduled=SCHEDULED, now=NOW)
    errors = caught.value.errors
    assert errors["resolution-1"] == "Nghị quyết 1: vui lòng nhập nội dung (hoặc để trống cả dòng).", errors
    assert errors["task-1"] == "Nhiệm vụ 1: vui lòng nhập nội dung công việc (hoặc để trống cả dòng).", errors
    assert len(errors) == 2, errors


def test_an_empty_row_is_still_ignored_its_assignee_list_aside() -> None:
    form = _form(
        "2026-12-01",
        ("resolution-1", ""),
        ("votes_for-1", ""),
        ("task-1", ""),
        ("assignee-1", "m-1"),  # the assignee list always sends its first member
        ("due-1", ""),
    )
    body = _minutes_body(form, "m", scheduled=SCHEDULED, now=NOW)
    assert body["resolutions"] == [] and body["tasks"] == []


def test_an_exempt_or_transferred_member_in_the_minutes_is_said_by_the_rosters_own_status() -> None:
    roster = {"m-1": "present", "m-2": "present", "m-3": "exempt", "m-4": "transferred", "m-5": "excused"}
    names = {"m-3": "Nguyễn Văn Cường", "m-4": "Phạm Thị Dung", "m-5": "Lê Văn Em"}
    form = _form("2026-12-01", ("speakers", "m-3"), ("speakers", "m-5"), chair_id="m-4")
    with pytest.raises(FormErrors) as caught:
        _minutes_body(form, "m", roster=roster, names=names, scheduled=SCHEDULED, now=NOW)
    errors = read_all(caught.value.errors)
    assert errors["speakers-m-3"] == (
        "Đồng chí Nguyễn Văn Cường được ghi “Miễn sinh hoạt” trong điểm danh nên không thể là người phát biểu."
    ), errors
    assert errors["chair_id"] == (
        "Đồng chí Phạm Thị Dung được ghi “Sinh hoạt tạm thời nơi khác” trong điểm danh nên không thể là người chủ trì."
    ), errors
    assert errors["speakers-m-5"] == "Đồng chí Lê Văn Em vắng mặt theo điểm danh nên không thể là người phát biểu."


@pytest.mark.parametrize("held", [False, True])
async def test_an_empty_schedule_form_lists_its_errors_in_the_forms_order(
    monkeypatch: pytest.MonkeyPatch, held: bool
) -> None:
    shown: dict[str, Any] = {}

    async def schedulable_cell(*_: Any) -> Any:
        return {"id": "c", "name": "Chi bộ 1"}

    async def form_of(_: Any, labels: forms.FormLabels) -> FormData:
        forms.FORM.set(labels)  # as the real one does: the refusals name the inputs as this form labels them
        return FormData({"kind": "", "topic": "", "start_date": "", "start_time": "", "location": "", "agenda": ""})

    def render(*_: Any, **context: Any) -> Any:
        shown.update(context)
        return context

    async def get(unit_id: str) -> Any:  # cell `c` alone: no longer unit id begins the ids it is offered
        return {"id": "c", "name": "Chi bộ 1"} if unit_id == "c" else None

    monkeypatch.setattr(secretary, "schedulable_cell", schedulable_cell)
    monkeypatch.setattr(forms, "form_of", form_of)
    monkeypatch.setattr(secretary, "render", render)
    state: Any = SimpleNamespace(directory=SimpleNamespace(get=get), secret="test-secret")
    handler = secretary.record_held if held else secretary.schedule
    await handler("c", None, SimpleNamespace(principal=None), state)  # type: ignore[arg-type]
    page = environment().get_template("schedule.html").render(**{**shown, "viewer": VIEWER})  # as the page lists them
    assert listed(page, "schedule") == ["Loại buổi sinh hoạt", "Ngày", "Địa điểm", "Chương trình"], shown["errors"]


def test_a_kind_named_after_an_article_takes_an_before_a_vowel() -> None:
    from services.gateway.web.explain import legacy_part
    from shared.reasons import ReasonCode, ReasonPart, english
    from shared.text import with_article

    assert english(ReasonPart(code=ReasonCode.NOT_APPLICABLE, kind="extraordinary")) == (
        "not applicable to an extraordinary meeting"
    )
    assert (
        english(ReasonPart(code=ReasonCode.NOT_APPLICABLE, kind="thematic")) == "not applicable to a thematic meeting"
    )
    assert [with_article(word) for word in ("cell", "committee", "extraordinary")] == [
        "a cell",
        "a committee",
        "an extraordinary",
    ]
    # the page reads a stored reason with either article (stored before this fix, or after)
    for said in ("not applicable to a extraordinary meeting", "not applicable to an extraordinary meeting"):
        assert legacy_part(said) == ReasonPart(code=ReasonCode.NOT_APPLICABLE, kind="extraordinary")


@pytest.mark.parametrize(
    ("location", "character"),
    [("a\x00b", "U+0000"), ("a\ud800b", "U+D800")],  # a surrogate no browser sends, but a decoded form may hold
)
async def test_a_forms_text_holding_an_unstorable_character_is_refused_naming_the_field_and_nothing_is_sent(
    monkeypatch: pytest.MonkeyPatch, location: str, character: str
) -> None:
    seen = stand_in_for_scheduling(monkeypatch)
    typed = FormData(
        {"kind": "regular", "start_date": a_day_ahead(), "start_time": "19:30", "location": location, "agenda": "x"}
    )

    async def form() -> FormData:
        return typed

    async def body() -> bytes:
        return b""

    request: Any = SimpleNamespace(
        form=form, body=body, headers={}, state=SimpleNamespace(), url=SimpleNamespace(path="/app/x")
    )
    await seen.schedule(request)
    assert seen.sent == []
    assert seen.shown["errors"] == {
        "location": f"Địa điểm: có một ký tự không lưu được ({character}); vui lòng nhập lại."
    }, seen.shown.get("errors")


def test_every_input_holding_u0000_is_named_rows_too() -> None:
    typed = FormData({"content": "x\x00", "task-2": "\x00", "resolution-1": "ok", "reason": "a\x00"})
    assert forms.unstorable_fields(typed) == {
        "content": "Nội dung: có một ký tự không lưu được (U+0000); vui lòng nhập lại.",
        "task-2": "Nhiệm vụ 2: có một ký tự không lưu được (U+0000); vui lòng nhập lại.",
        "reason": "Lý do: có một ký tự không lưu được (U+0000); vui lòng nhập lại.",
    }


@pytest.mark.parametrize(
    "value", ["ok", "Địa điểm", "a\x00", "\x00\ud800", "x\ud800", "\udfff", "\ud83d\ude00", "e\u0301", "\U0001f600"]
)
def test_a_form_refuses_exactly_the_text_the_apis_reading_refuses(value: str) -> None:
    """One rule of storable text (shared.reading.check_text): a form input is refused iff the API refuses it."""
    try:
        check_text(value, ("location",))
    except ReadError:
        refused = True
    else:
        refused = False
    found = forms.unstorable_fields(FormData({"location": value}))
    assert ("location" in found) is refused, (value, found)
    if refused:
        assert found["location"].startswith("Địa điểm: có một ký tự không lưu được (U+"), found
