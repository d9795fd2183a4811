"""A fact waiting for the secretary that is neither an adoption nor a task's completion is said in Vietnamese by
what it is about, never by its English event type (`meeting.assessed.v1` inside a Vietnamese sentence), and one of a
type the gateway does not name is "another fact"."""

import re

import pytest

from services.gateway.web.waiting import waiting_sentences

WAITING = {
    "source": "urn:test:so-tay",
    "source_name": "so-tay-dang-vien",
    "event_id": "so-tay-9",
    "waiting_for": "minutes",
    "task_id": None,
    "held_at": "2026-12-05T09:05:00+07:00",
    "expires_at": "2026-12-06T09:05:00+07:00",
}
EVENT_TYPE = re.compile(r"[a-z_]+\.[a-z_]+\.v\d")


@pytest.mark.parametrize(
    ("event_type", "begins"),
    [
        ("meeting.assessed.v1", "Dữ liệu về kết quả chấm điểm do hệ thống so-tay-dang-vien gửi đến lúc "),
        ("documents.published.v1", "Dữ liệu về tài liệu do hệ thống so-tay-dang-vien gửi đến lúc "),
        # a completion without its task's id is said without one
        ("task.completed.v1", "Dữ liệu về việc hoàn thành nhiệm vụ do hệ thống so-tay-dang-vien gửi đến lúc "),
        ("meeting.feedback.v1", "Một dữ liệu khác do hệ thống so-tay-dang-vien gửi đến lúc "),
    ],
)
def test_a_waiting_fact_is_named_in_vietnamese_without_its_event_type(event_type: str, begins: str) -> None:
    [said] = waiting_sentences([WAITING | {"type": event_type}], attendance_recorded=True)
    assert said.startswith(begins), said
    assert EVENT_TYPE.search(said) is None, said
    assert "đang chờ biên bản: dữ liệu này sẽ được ghi nhận ngay khi có biên bản." in said, said
    assert "Nếu đến 09:05 Chủ nhật, ngày 06/12/2026 mà vẫn chưa có biên bản" in said, said
