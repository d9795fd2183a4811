"""A refused stale record form keeps the typed value of an input both pages changed, naming the stored one beside it;
a trial's secretary could take the stored value only by typing it again. The "Dùng nội dung đang lưu" button beside
such an input shows the form again with the stored value there and every other input as typed, nothing sent
(stored_taken); the inputs still kept as typed keep their note and button."""

from datetime import datetime
from types import SimpleNamespace
from typing import Any

from starlette.datastructures import FormData

from services.gateway.web.pages.alerts import stored_taken as alert_stored_taken
from services.gateway.web.pages.secretary import (
    ChangedSinceShown,
    changed_completion,
    changed_part,
    input_digest,
    roster_row_text,
    shown_minutes_inputs,
    stored_taken,
)
from shared.periods import VIETNAM_TZ

STARTS = datetime(2026, 11, 20, 19, 30, tzinfo=VIETNAM_TZ)
NAMES = {"m1": "Nguyễn Văn An", "m2": "Trần Thị Bình"}


def with_minutes(content: str, conclusions: str) -> Any:
    """What the minutes form reads of a MeetingReply whose stored minutes hold `content` and `conclusions`."""
    stored = {
        "started_at": STARTS.isoformat(),
        "ended_at": STARTS.replace(hour=21).isoformat(),
        "chair_id": "m1",
        "recorder_id": "m2",
        "speakers": [],
        "self_criticism_minutes": 10,
        "content": content,
        "conclusions": conclusions,
        "resolutions": [],
    }
    dumped = {"starts_at": STARTS.isoformat(), "minutes": stored, "tasks": []}
    return SimpleNamespace(starts_at=STARTS, minutes=stored, attendance=None, model_dump=lambda **_: dumped)


def minutes_form(shown: Any, **typed: str) -> FormData:
    """The minutes form of a page that showed the meeting `shown`, sent with `typed` (and its other inputs as shown)."""
    fields = {f"was.minutes.{name}": digest for name, digest in shown_minutes_inputs(shown).items()}
    fields |= {"was.minutes": "stale", "day": "2026-11-20", "started": "19:30", "ended": "21:00"}
    fields |= {"chair_id": "m1", "recorder_id": "m2", "self_criticism_minutes": "10"}
    fields |= {"content": shown.minutes["content"], "conclusions": shown.minutes["conclusions"]}
    return FormData(list((fields | typed).items()))


def test_a_minutes_part_both_pages_changed_can_be_taken_as_stored_keeping_the_rest_typed() -> None:
    opened, now = with_minutes("Nội dung", "Kết luận"), with_minutes("Nội dung B", "Kết luận B")
    sent = minutes_form(opened, content="Nội dung A", conclusions="Kết luận A", ended="21:15")
    try:
        changed_part(sent, now, "minutes", NAMES)
        raise AssertionError("a stale form was taken")
    except ChangedSinceShown as refused:
        assert refused.kept == {"content": "Nội dung", "conclusions": "Kết luận"}  # each offered the button
        assert refused.values["content"] == "Nội dung A"
    # the refused page (its `was.*` now the stored minutes) sent with the button beside the content
    again = minutes_form(now, content="Nội dung A", conclusions="Kết luận A", ended="21:15")
    again = FormData([*again.multi_items(), ("kept", "content"), ("kept", "conclusions"), ("take_stored", "content")])
    shown = stored_taken("minutes", again, now, NAMES, "content")
    assert shown.values["content"] == "Nội dung B"  # taken as stored
    assert (shown.values["conclusions"], shown.values["ended"]) == ("Kết luận A", "21:15")  # typed, kept
    assert shown.kept == {"conclusions": "Kết luận"}
    assert set(shown.errors) == {"conclusions"}
    assert "Kết luận: hiện đang lưu là “Kết luận B”; đồng chí đã gửi “Kết luận A”." in shown.errors["conclusions"]
    assert "đồng chí bấm “Dùng nội dung đang lưu” bên cạnh mục này" in shown.errors["conclusions"]
    assert shown.took.startswith("Mục “Nội dung” nay hiển thị nội dung đang lưu. Chưa có gì được lưu")


def test_a_roster_row_both_pages_changed_can_be_taken_as_stored() -> None:
    rows = [
        {"member_id": "m1", "status": "excused", "reason": "Ốm"},
        {"member_id": "m2", "status": "present", "reason": ""},
    ]
    meeting = SimpleNamespace(attendance=SimpleNamespace(records=rows))
    form = FormData(
        [
            ("member", "m1"),
            ("member", "m2"),
            ("status-m1", "absent"),
            ("status-m2", "absent"),
            ("was.attendance.m1", input_digest("excused\nỐm")),
            ("was.attendance.m2", input_digest(roster_row_text({"status": "present", "reason": ""}))),
            ("kept", "status-m1"),
            ("kept", "status-m2"),
            ("take_stored", "status-m1"),
        ]
    )
    shown = stored_taken("attendance", form, meeting, NAMES, "status-m1")
    assert shown.values["m1"] == {"status": "excused", "reason": "Ốm"}
    assert shown.values["m2"] == {"status": "absent", "reason": ""}
    assert shown.kept == {"status-m2": "Điểm danh đồng chí Trần Thị Bình"}
    assert "hiện đang lưu là “Có mặt”; đồng chí đã gửi “Vắng không lý do”" in shown.errors["status-m2"]
    assert shown.took.startswith("Mục “Điểm danh đồng chí Nguyễn Văn An” nay hiển thị nội dung đang lưu.")


def test_a_start_or_place_both_pages_changed_can_be_taken_as_stored() -> None:
    now = STARTS.replace(day=21)
    dumped = {"starts_at": now.isoformat(), "location": "Hội trường"}
    meeting = SimpleNamespace(starts_at=now, location="Hội trường", model_dump=lambda **_: dumped)
    form = FormData(
        [
            ("was.starts_at", now.isoformat()),
            ("was.location", "Hội trường"),
            ("start_date", "2026-11-22"),
            ("start_time", "08:00"),
            ("location", "Nhà văn hóa"),
            ("reason", "Trùng lịch"),
            ("kept", "start_date"),
            ("kept", "location"),
        ]
    )
    shown = stored_taken("reschedule", form, meeting, NAMES, "start_date")
    assert (shown.values["start_date"], shown.values["start_time"]) == ("2026-11-21", "19:30")
    assert (shown.values["location"], shown.values["reason"]) == ("Nhà văn hóa", "Trùng lịch")
    assert set(shown.kept) == {"location"}
    assert "hiện đang lưu là “Hội trường”; đồng chí đã gửi “Nhà văn hóa”" in shown.errors["location"]
    place = stored_taken("reschedule", form, meeting, NAMES, "location")
    assert (place.values["start_date"], place.values["location"]) == ("2026-11-22", "Hội trường")
    assert set(place.kept) == {"start_date"}


def test_a_task_done_day_both_pages_changed_can_be_taken_as_stored() -> None:
    dumped = {"tasks": [{"task_id": "t1", "completed_on": "2026-11-25"}]}
    form = FormData({"task_id": "t1", "was.completed_on": "", "completed_on": "2026-11-26"})
    try:
        changed_completion(form, dumped, "t1")
        raise AssertionError("a stale form was taken")
    except ChangedSinceShown as refused:
        assert set(refused.kept) == {"completed_on"}
    meeting = SimpleNamespace(model_dump=lambda **_: dumped)
    again = FormData({"task_id": "t1", "was.completed_on": "2026-11-25", "completed_on": "2026-11-26"})
    shown = stored_taken("tasks", again, meeting, NAMES, "completed_on")
    assert (shown.values["completed_on"], shown.values["task_id"]) == ("2026-11-25", "t1")
    assert (shown.errors, shown.kept) == ({}, {})


def test_an_alert_value_both_tabs_changed_can_be_taken_as_stored() -> None:
    rule = {"rule": "meeting_reminder", "enabled": True, "params": {"hours_before": 5, "ratings": ["poor"]}}
    form = FormData(
        [
            ("enabled", "on"),
            ("hours_before", "7"),
            ("ratings", "average"),
            ("kept", "hours_before"),
            ("kept", "ratings"),
        ]
    )
    shown = alert_stored_taken(form, rule, "hours_before")
    assert shown["typed"]["hours_before"] == 5  # taken as stored
    assert shown["typed"]["ratings"] == ["average"]  # typed, kept
    assert set(shown["kept"]) == {"ratings"}
    assert "Chưa có gì được lưu" in shown["errors"]["form"]
    assert "Dùng nội dung đang lưu" in shown["errors"]["form"]
    assert shown["took"].startswith("Mục “")
    assert alert_stored_taken(form, rule, "ratings")["kept"].keys() == {"hours_before"}
