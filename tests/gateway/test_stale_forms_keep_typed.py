"""A stale record form (its page showed the meeting otherwise than it now is) is refused keeping what was typed: the
reschedule and task-done forms as the minutes and roster forms do (tests/web/test_stale_forms_keep_typed.py runs
those through the real services). A trial's refusals showed the stored values and lost what was typed."""

from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.datastructures import FormData

from services.gateway.web.pages.secretary import ChangedSinceShown, changed_completion, changed_since_shown
from shared.periods import VIETNAM_TZ

SHOWN = datetime(2026, 11, 20, 19, 30, tzinfo=VIETNAM_TZ)
NOW = datetime(2026, 11, 21, 19, 30, tzinfo=VIETNAM_TZ)


def meeting(starts: datetime, location: str) -> Any:
    """What the reschedule form reads of a MeetingReply: its start, place and dump."""
    dumped = {"starts_at": starts.isoformat(), "location": location}
    return SimpleNamespace(starts_at=starts, location=location, model_dump=lambda **_: dumped)


def reschedule(starts: datetime, **typed: str) -> FormData:
    """The reschedule form of a page that showed SHOWN at Nhà văn hóa, sent with `typed`."""
    return FormData(
        {
            "was.starts_at": SHOWN.isoformat(),
            "was.location": "Nhà văn hóa",
            "start_date": f"{starts:%Y-%m-%d}",
            "start_time": f"{starts:%H:%M}",
            "location": "Nhà văn hóa",
            "reason": "Trùng lịch",
        }
        | typed
    )


def test_a_stale_move_keeps_the_place_and_reason_typed_and_takes_the_start_it_did_not_change() -> None:
    with pytest.raises(ChangedSinceShown) as refused:
        changed_since_shown(reschedule(SHOWN, location="Hội trường"), meeting(NOW, "Nhà văn hóa"), SHOWN)
    values = refused.value.values
    assert (values["start_date"], values["start_time"]) == ("2026-11-21", "19:30")  # only the other page moved it
    assert (values["location"], values["reason"]) == ("Hội trường", "Trùng lịch")  # typed here: kept
    assert "Chưa có gì được lưu: biểu mẫu bên dưới giữ nguyên nội dung đồng chí đã nhập" in str(
        refused.value.errors["data.meeting_id"]
    )


def test_a_start_changed_on_both_pages_keeps_the_typed_one_and_names_the_stored_one() -> None:
    typed = datetime(2026, 11, 22, 8, 0, tzinfo=VIETNAM_TZ)
    with pytest.raises(ChangedSinceShown) as refused:
        changed_since_shown(reschedule(typed), meeting(NOW, "Hội trường"), typed)
    values = refused.value.values
    assert (values["start_date"], values["start_time"]) == ("2026-11-22", "08:00")
    assert values["location"] == "Hội trường"  # the place it sent as shown: now the stored one
    said = refused.value.errors["start_date"]
    assert "hiện đang lưu là “19:30 thứ Bảy, ngày 21/11/2026”" in said, said
    assert "đồng chí đã gửi “08:00 Chủ nhật, ngày 22/11/2026”" in said, said


def test_a_stale_task_done_form_keeps_the_day_typed_and_names_the_stored_one() -> None:
    stored = {"tasks": [{"task_id": "t1", "completed_on": "2026-11-25"}]}
    form = FormData({"task_id": "t1", "was.completed_on": "", "completed_on": "2026-11-26"})
    with pytest.raises(ChangedSinceShown) as refused:
        changed_completion(form, stored, "t1")
    said = refused.value.errors["completed_on"]
    assert "hiện đang lưu là “25/11/2026”; đồng chí đã gửi “26/11/2026”" in said, said
    assert "Chưa có gì được lưu" in str(refused.value.errors["data.meeting_id"])
