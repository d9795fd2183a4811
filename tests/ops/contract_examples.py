"""One example event of every type CONTRACT.md names, written from its field lists (as a partner would)."""

from typing import Any

T = "2026-11-02T08:00:00+07:00"


def event(event_type: str, data: dict[str, Any], *, source: str = "urn:vn:hd:member-database") -> dict[str, Any]:
    """A structured-mode CloudEvent of `event_type` carrying `data`."""
    return {
        "specversion": "1.0",
        "id": f"ex-{event_type}",
        "source": source,
        "type": event_type,
        "time": T,
        "datacontenttype": "application/json",
        "subject": "example",
        "correlationid": "corr-example-1",
        "data": data,
    }


RESOLUTION = {"text": "Thông qua nghị quyết tháng 11", "votes_for": 12, "votes_against": 0, "abstentions": 1}
TASK = {"task_id": "t-1", "assignee_id": "mem-2", "description": "Thăm hỏi gia đình đảng viên", "due_on": "2026-11-20"}

EXAMPLES: dict[str, dict[str, Any]] = {
    "org.unit.upserted.v1": {
        "id": "cell-1",
        "name": "Chi bộ khu phố 3",
        "kind": "cell",
        "parent_id": "ward-1",
        "category": "residential",
        "contact_emails": ["chibo3@example.vn"],
        "active": True,
    },
    "member.upserted.v1": {
        "id": "mem-1",
        "full_name": "Nguyễn Văn Hùng",
        "cell_id": "cell-1",
        "status": "official",
        "role": "secretary",
        "gender": "male",
        "birth_year": 1975,
        "admitted_on": "2001-05-19",
        "exempt": False,
        "email": "hung@example.vn",
        "phone": "+84901234567",
    },
    "member.removed.v1": {"id": "mem-9", "reason": "transferred", "effective_on": "2026-10-31"},
    "monitor.assigned.v1": {
        "person_id": "mon-1",
        "full_name": "Phạm Quốc Sơn",
        "committee_id": "ward-1",
        "cell_id": "cell-1",
        "email": "son@example.vn",
        "yearly_quota": 6,
    },
    "meeting.scheduled.v1": {
        "meeting_id": "mtg-1",
        "cell_id": "cell-1",
        "kind": "thematic",
        "topic": "Học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh",
        "starts_at": "2026-11-05T19:30:00+07:00",
        "location": "Nhà văn hóa khu phố 3",
        "agenda": ["Sinh hoạt chuyên đề", "Kiểm điểm nhiệm vụ tháng"],
        "notified_at": T,
        "committee_prepared": True,
    },
    "meeting.rescheduled.v1": {
        "meeting_id": "mtg-1",
        "starts_at": "2026-11-06T19:30:00+07:00",
        "location": "Hội trường phường",
        "reason": "Trùng lịch họp phường",
    },
    "meeting.cancelled.v1": {"meeting_id": "mtg-2", "reason": "Mưa bão"},
    "documents.published.v1": {
        "meeting_id": "mtg-1",
        "published_at": T,
        "items": [{"title": "Dự thảo nghị quyết", "kind": "draft_resolution", "url": "https://example.vn/nq.pdf"}],
    },
    "attendance.recorded.v1": {
        "meeting_id": "mtg-1",
        "records": [
            {"member_id": "mem-1", "status": "present"},
            {"member_id": "mem-2", "status": "excused", "reason": "Ốm"},
        ],
        "guests": [{"name": "Phạm Quốc Sơn", "person_id": "mon-1", "committee_id": "ward-1"}],
    },
    "minutes.submitted.v1": {
        "meeting_id": "mtg-1",
        "started_at": "2026-11-06T19:30:00+07:00",
        "ended_at": "2026-11-06T21:00:00+07:00",
        "chair_id": "mem-1",
        "recorder_id": "mem-2",
        "speakers": ["mem-1", "mem-2"],
        "self_criticism_minutes": 20,
        "content": "Chi bộ đánh giá kết quả tháng 10.",
        "conclusions": "Hoàn thành nhiệm vụ.",
        "resolutions": [RESOLUTION],
        "tasks": [TASK],
    },
    "minutes.approved.v1": {"meeting_id": "mtg-1", "approved_at": T, "votes_for": 12, "votes_against": 0},
    "meeting.assessed.v1": {
        "meeting_id": "mtg-1",
        "assessor": {"role": "upper_monitor", "person_id": "mon-1"},
        "points": {"content.self_criticism": 3},
        "comment": "Sinh hoạt nề nếp.",
    },
    "task.completed.v1": {"task_id": "t-1", "meeting_id": "mtg-1", "completed_on": "2026-11-15"},
    "ingest.rejected.v1": {
        "source": "urn:vn:hd:member-database",
        "event_id": "evt-77",
        "type": "meeting.scheduled.v1",
        "reason": "data.starts_at: not an RFC 3339 time",
        "field": "data.starts_at",
        "received_at": T,
    },
    "score.meeting.updated.v1": {
        "meeting_id": "mtg-1",
        "cell_id": "cell-1",
        "framework": {"id": "hd42-2025", "version": "1"},
        "score": 5600 / 95,  # exact (58.94736842105263), as evaluation publishes it: 56 of 95 points
        "rating": "average",
        "provisional": False,
        "criteria": [
            {"code": "1", "points": 10, "max": 10, "applicable": True, "source": "auto", "reason": "Đúng lịch"}
        ],
    },
    "score.cell.updated.v1": {
        "cell_id": "cell-1",
        "period": "2026-Q4",
        "rating": "poor",
        "score": 5600 / 285,  # exact, as evaluation publishes it (a quarter's mean: one month at 56/95, two at 0)
        "regular_held": 2,
        "thematic_held": 1,
        "attendance_rate": 7 / 11,
        "speaking_rate": 5 / 7,
        "flags": ["in_progress"],
    },
    "score.meeting.withdrawn.v1": {"meeting_id": "mtg-2", "cell_id": "cell-1", "reason": "cancelled"},
    "notification.delivered.v1": {
        "notification_id": "ntf-1",
        "rule": "meeting_reminder",
        "recipient": "mem-1",
        "channel": "email",
        "subject_id": "mtg-1",
    },
    "notification.failed.v1": {
        "notification_id": "ntf-2",
        "rule": "minutes_late",
        "recipient": "mem-1",
        "channel": "webhook",
        "subject_id": "mtg-1",
    },
}


def example(event_type: str) -> dict[str, Any]:
    """The example event of a type."""
    return event(event_type, EXAMPLES[event_type])
