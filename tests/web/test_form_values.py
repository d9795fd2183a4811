"""A user trial of the record page: a refused form shows again what was typed (never the stored values), a task is
marked done on the day it was done, text is counted as stored (NFC), and every message reads as natural Vietnamese
(each field under its Vietnamese name, no row number on a one-row form, no field named twice). Pure tests of the
forms' reading; tests/web/test_record_values.py sends the forms to the real services."""

import re
import unicodedata
from datetime import date
from pathlib import Path

import pytest
from starlette.datastructures import FormData

from services.gateway.schemas import DocumentsCreate, MeetingCancelCreate, MinutesCreate
from services.gateway.web import forms
from services.gateway.web.forms import FormErrors
from services.gateway.web.pages.secretary import _minutes_body, completion_problem, minutes_sent, roster_sent
from services.gateway.web.reasons import explain_rejection
from shared.refusals import Refusal, RefusalCode
from shared.rpc import RpcError

RECORD = Path(__file__).parents[2] / "services/gateway/web/templates/record.html"
LONG = "Đồng chí Nguyễn Văn Ánh phát biểu về việc triển khai nghị quyết của Đảng ủy xã. " * 110
"""9,130 characters composed (NFC): 11,600 or so decomposed (NFD)."""
MINUTES = {
    "day": "2026-11-20",
    "started": "19:30",
    "ended": "21:30",
    "chair_id": "m-1",
    "recorder_id": "m-2",
}


def test_the_attendance_form_is_shown_again_as_sent() -> None:
    form = FormData(
        [
            ("member", "m-1"),
            ("status-m-1", "excused"),
            ("reason-m-1", ""),
            ("member", "m-2"),
            ("status-m-2", "absent"),
            ("reason-m-2", "Đi làm ăn xa"),
        ]
    )
    assert roster_sent(form) == {
        "m-1": {"status": "excused", "reason": ""},
        "m-2": {"status": "absent", "reason": "Đi làm ăn xa"},
    }


def test_the_minutes_form_is_shown_again_as_sent_each_row_in_its_place() -> None:
    form = FormData(
        [
            *MINUTES.items(),
            ("ended", ""),
            ("speakers", "m-2"),
            ("speakers", "m-1"),
            ("speaker_order", "m-1 m-2"),
            ("self_criticism_minutes", "abc"),
            ("content", LONG.replace("\n", "\r\n")),
            ("conclusions", "Thống nhất"),
            ("resolution-1", ""),
            ("resolution-2", "Làm đường"),
            ("votes_for-2", "12"),
            ("task-1", "Sửa cầu"),
            ("task_id-1", "t-1"),
            ("assignee-1", "m-3"),
            ("due-1", "31/02/2026"),
            ("task-2", ""),
            ("assignee-2", ""),  # an untouched row chooses nobody (its list starts with an empty choice)
            ("due-2", ""),
        ]
    )
    sent = minutes_sent(form)
    assert (sent["ended"], sent["content"], sent["conclusions"]) == ("", LONG, "Thống nhất")
    assert sent["speakers"] == ["m-1", "m-2"]
    assert sent["self_criticism_minutes"] == "abc"
    assert sent["resolutions"] == [
        {"text": "", "votes_for": "", "votes_against": "", "abstentions": ""},
        {"text": "Làm đường", "votes_for": "12", "votes_against": "", "abstentions": ""},
    ]
    assert sent["tasks"] == [{"task_id": "t-1", "description": "Sửa cầu", "assignee_id": "m-3", "due_on": "31/02/2026"}]
    assert sent["others"] == ["m-1", "m-2", "m-3"]


def test_the_record_page_shows_every_refused_form_as_sent() -> None:
    """Each form of the record page takes its values from what was sent when it is the one refused."""
    page = RECORD.read_text()
    for form in ("reschedule", "cancel", "documents", "approval", "assessment", "tasks"):
        assert f'sent.get("{form}")' in page or f"sent.{form}" in page, form


def test_a_task_is_done_on_a_day_from_its_meeting_to_today() -> None:
    meeting = {"starts_at": "2026-11-20T19:30:00+07:00"}
    today = date(2026, 12, 2)
    assert completion_problem(date(2026, 11, 20), meeting, today=today) is None
    assert completion_problem(today, meeting, today=today) is None
    assert completion_problem(date(2026, 12, 3), meeting, today=today) == (
        "Ngày hoàn thành: ngày 03/12/2026 chưa tới; vui lòng nhập ngày đã hoàn thành nhiệm vụ "
        "(hôm nay, 02/12/2026, hoặc trước đó)."
    )
    assert completion_problem(date(2026, 11, 19), meeting, today=today) == (
        "Ngày hoàn thành: ngày 19/11/2026 sớm hơn buổi sinh hoạt giao nhiệm vụ này (20/11/2026); "
        "vui lòng nhập từ ngày đó trở về sau."
    )
    errors: dict[str, str] = {}
    assert forms.day({"completed_on": "31/02/2026"}, "completed_on", errors) is None
    said = "Ngày hoàn thành: ngày 31 không có trong tháng 2/2026 (tháng này có 28 ngày)."
    assert errors == {"completed_on": said}


def test_the_task_done_form_has_a_date_from_the_meeting_to_today() -> None:
    page = RECORD.read_text()
    # each task's own input on the record page's one form (`completed_on-TASK`: secretary.task_form)
    named = r'name="completed_on-\{\{ task.task_id \}\}" type="date" min="\{\{ meeting_day \}\}" max="\{\{ today \}\}"'
    assert re.search(named, page)


def test_decomposed_text_is_counted_as_stored() -> None:
    decomposed = unicodedata.normalize("NFD", LONG)
    assert len(decomposed) > 10_000 >= len(LONG)
    assert forms.text({"content": decomposed}, "content") == LONG.strip()
    body = _minutes_body(FormData([*MINUTES.items(), ("content", decomposed)]), "m")
    assert forms.build(MinutesCreate, body).content == LONG.strip()
    # the API's own bodies read text composed too, before any limit: names (200) as free text (10,000)
    assert MinutesCreate.model_validate({**_minutes_api(), "content": decomposed}).content == LONG
    title = unicodedata.normalize("NFD", "Nghị quyết đại hội " * 10)
    assert len(title) > 200
    items = DocumentsCreate.model_validate({"items": [{"title": title, "kind": "minutes"}]}).items
    assert items[0].title == unicodedata.normalize("NFC", title).strip()
    reason = MeetingCancelCreate.model_validate({"reason": unicodedata.normalize("NFD", "Bão")}).reason
    assert reason == "Bão"


def _minutes_api() -> dict[str, object]:
    return {
        "started_at": "2026-11-20T19:30:00+07:00",
        "ended_at": "2026-11-20T21:30:00+07:00",
        "chair_id": "m-1",
        "recorder_id": "m-2",
        "speakers": [],
        "resolutions": [],
        "tasks": [],
    }


def test_the_minutes_times_are_named_in_vietnamese() -> None:
    with pytest.raises(FormErrors) as caught:
        _minutes_body(FormData([*MINUTES.items(), ("ended", "")]), "m")
    assert caught.value.errors == {"ended_at": "Giờ kết thúc: không được để trống."}
    with pytest.raises(FormErrors) as caught:
        _minutes_body(FormData([*MINUTES.items(), ("started", ""), ("day", "")]), "m")
    assert caught.value.errors["started_at"] == (  # both inputs at once, never one sending for each
        "Ngày: không được để trống. Giờ bắt đầu: không được để trống."
    )


@pytest.mark.parametrize(
    "template", ["record.html", "schedule.html", "monitor_confirm.html", "_preferences.html", "rescore.html"]
)
def test_every_input_of_a_form_has_a_vietnamese_name(template: str) -> None:
    """Every input a person fills on the forms that send commands (not the hidden ones, nor the rows' own, which name
    their row or member) is named in Vietnamese by a refusal of it, never by its English name."""
    page = (RECORD.parent / template).read_text()
    names = set(re.findall(r'<(?:input|select|textarea)(?![^>]*type="hidden")[^>]*\bname="([a-z_]+)"', page))
    names |= set(re.findall(r'period_select\("[a-z_]+", "([a-z_]+)"', page))  # the period picker (_period_select.html)
    assert names
    if template == "record.html":
        # (a task's `completed_on-TASK` is a row's own, named per task: test_form_labels)
        assert {"start_date", "ended", "content", "cancel_reason", "comment", "title"} <= names
    unnamed = sorted(name for name in names if forms.label(name) == name)
    assert unnamed == []


def test_a_one_row_form_names_no_row() -> None:
    body = {"items": [{"title": "", "kind": "bien-ban"}]}
    with pytest.raises(FormErrors) as caught:
        forms.build(DocumentsCreate, body, names=forms.single_rows(body))
    assert caught.value.errors["items.0.title"] == "Tên tài liệu: không được để trống."
    assert caught.value.errors["items.0.kind"].startswith("Loại tài liệu: “bien-ban” không nằm trong")
    assert forms.single_rows(body)["data.items.0.title"] == "Tên tài liệu"  # a refusal by the shared contract too
    # several rows still say which
    with pytest.raises(FormErrors) as caught:
        forms.build(DocumentsCreate, {"items": [{"title": "a", "kind": "minutes"}, {"title": "", "kind": "minutes"}]})
    assert caught.value.errors == {"items.1.title": "Tên tài liệu, dòng 2: không được để trống."}


async def test_a_reason_that_begins_with_the_fields_name_is_not_prefixed_by_it() -> None:
    async def command() -> None:
        raise RpcError(
            "invalid", "not begun", field="meeting_id", refusal=Refusal(code=RefusalCode.MEETING_NOT_STARTED)
        )

    with pytest.raises(FormErrors) as caught:
        await forms.send(command())
    assert caught.value.errors == {
        "meeting_id": "Buổi sinh hoạt chưa diễn ra: điểm danh, biên bản và đánh giá chỉ được ghi nhận sau khi buổi "
        "sinh hoạt đã diễn ra."
    }
    said = explain_rejection("not begun", "data.meeting_id", {"code": RefusalCode.MEETING_NOT_STARTED})
    assert said.startswith("Buổi sinh hoạt chưa diễn ra:"), said
    # a reason about something else keeps its field
    said = explain_rejection("too long", "data.ended_at", {"code": RefusalCode.MEETING_TOO_LONG})
    assert said.startswith("Giờ kết thúc: "), said


def test_a_forms_text_keeps_no_character_that_only_steers_or_hides_text() -> None:
    """A trial's dismissal reason kept a right-to-left override (U+202E) as typed: every form's text leaves out the
    bidirectional controls and the zero-width characters, wherever they are, and keeps line breaks."""
    typed = "\u202eDữ liệu\u200b rác\u2066 thử\u2069 nghiệm\u200f\nDòng hai\u00ad"
    assert forms.text(FormData({"reason": typed}), "reason") == "Dữ liệu rác thử nghiệm\nDòng hai"
    assert forms.text(FormData({"reason": "\u202e\u202c\u200b"}), "reason") == ""  # nothing said: blank
