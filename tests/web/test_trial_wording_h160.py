"""Wording a trial's committee, monitors, secretaries and operators read, checked without a running system: KPI cards
that read like the meeting kind, "chậm biên bản" beside "chưa công bố" where the app says "đăng tải", a monitoring
title in two halves, a member's status refused as "giá trị không hợp lệ", a cancelled meeting's roster refused as
"chưa diễn ra", an absent chair told "cannot chair, record or speak", a past year given the window's message, and the
operations page's mail words."""

from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest

from services.gateway.web import data, forms
from services.gateway.web.i18n import _
from services.gateway.web.pages import secretary
from services.gateway.web.reasons import explain_rejection
from shared.periods import VIETNAM_TZ
from tests.web.isolates import read
from tests.web.test_trial_wording import NAMES, handled


def test_the_committee_cards_say_shares_of_cells_and_late_records_say_published_as_elsewhere() -> None:
    assert _("Thematic coverage") == "Tỷ lệ chi bộ có sinh hoạt chuyên đề"
    assert _("Regularity") == "Tỷ lệ chi bộ sinh hoạt đều đặn hằng tháng"
    assert _("Meetings with late minutes") == "Các buổi sinh hoạt chậm đăng tải biên bản, nghị quyết"
    shown = data.late_minutes_shown(
        {"cell_id": "c", "kind": "regular", "starts_at": "2026-11-04T19:30:00+07:00", "missing": ["minutes"]}
    )
    assert shown["missing_text"] == "chưa đăng tải biên bản"
    assert _("Minutes published") == "Đã đăng tải biên bản"


def test_the_monitoring_title_and_the_operations_words() -> None:
    assert _("The cells you are assigned to follow") == "Các chi bộ đồng chí được phân công phụ trách"
    assert _("Reporting") == "Đang hoạt động"
    assert _("last report %(seconds)s s ago", seconds=3) == "tín hiệu gần nhất 3 giây trước"
    assert _("Queues: waiting messages, consumers") == "Hàng đợi: tin chờ xử lý · số tiến trình nhận"
    assert _("Parked outbox rows") == "Sự kiện chờ gửi bị gác lại (outbox)"
    assert _("Stop holding") == "Ngừng tạm giữ (chuyển thành từ chối)"
    assert _("Recorded. The page shows it within a few seconds.") == "Đã ghi nhận. Trang sẽ cập nhật sau giây lát."


def test_a_members_status_refused_names_the_field_and_its_values() -> None:
    said = explain_rejection("data.status: Input should be 'official' or 'probationary'", "data.status")
    assert said == "Trạng thái đảng viên: chỉ nhận official (chính thức) hoặc probationary (dự bị)."


@pytest.mark.parametrize(
    ("field", "role"),
    [("chair_id", "người chủ trì"), ("data.recorder_id", "thư ký"), ("speakers-m-3", "người phát biểu")],
)
def test_an_absent_member_is_told_the_one_role_at_fault(field: str, role: str) -> None:
    said = read(forms.absent_at_meeting(field, "Nguyễn Văn Cường"))
    assert said == f"Đồng chí Nguyễn Văn Cường vắng mặt theo điểm danh nên không thể là {role}."


def test_any_past_day_is_said_as_past_with_the_way_to_record_a_meeting_held() -> None:
    now = datetime(2026, 12, 2, 9, 0, tzinfo=VIETNAM_TZ)
    errors: dict[str, str] = {}
    sent = {"start_date": "1999-01-01", "start_time": "19:30"}
    assert forms.meeting_start(sent, errors, now=now, held_path=True) is None
    said = errors["starts_at"]
    assert said.startswith("Ngày: ngày 01/01/1999 đã qua; buổi sinh hoạt lên lịch ở đây phải từ hôm nay (02/12/2026)")
    assert "Ghi lại buổi sinh hoạt đã diễn ra" in said and "từ năm 2000" not in said
    errors = {}
    assert forms.meeting_start({"start_date": "2030-01-04", "start_time": "19:30"}, errors, now=now) is None
    assert "từ năm 2000 đến chậm nhất là 2 năm" in errors["starts_at"]


async def test_a_cancelled_meetings_roster_is_refused_as_cancelled(monkeypatch: pytest.MonkeyPatch) -> None:
    async def members_by_id(*_: Any, **__: Any) -> dict[str, dict[str, Any]]:
        return {member_id: {"full_name": name} for member_id, name in NAMES.items()}

    async def recordable_meeting(*_: Any) -> Any:  # cancelled before its day, which is still ahead
        return SimpleNamespace(
            cell_id="c",
            status="cancelled",
            starts_at=datetime(2099, 1, 1, tzinfo=VIETNAM_TZ),
            approved_at=None,
            minutes=None,
        )

    monkeypatch.setattr(data, "members_by_id", members_by_id)
    monkeypatch.setattr(secretary, "recordable_meeting", recordable_meeting)
    handled(monkeypatch, [("member", "m-1"), ("status-m-1", "present")])
    errors: Any = await secretary.attendance("m-1", None, SimpleNamespace(principal=None), None)  # type: ignore[arg-type]
    assert errors == {"data.meeting_id": "Buổi sinh hoạt đã bị hủy, không ghi nhận điểm danh."}
