"""A small feed covering every type in (CONTRACT.md "Types in"), with fresh ids, in an order that applies cleanly."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.contracts.meetings import INGEST_TYPES
from shared.envelope import VIETNAM_TZ
from tests.support.ids import random_id

SOURCE = "urn:test:partner-feed"


def attributes(event_type: str, *, at: datetime, subject: str | None = None) -> dict[str, Any]:
    """The CloudEvents attributes of one event in, with a fresh id."""
    attrs: dict[str, Any] = {
        "specversion": "1.0",
        "id": f"evt-{uuid.uuid4().hex[:16]}",
        "source": SOURCE,
        "type": event_type,
        "time": at.isoformat(),
        "datacontenttype": "application/json",
    }
    if subject:
        attrs["subject"] = subject
    return attrs


@dataclass
class Scenario:
    """A ward, a cell, four members (one removed), a monitor, a meeting run start to end, one cancelled."""

    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    def __post_init__(self) -> None:
        self.ward = f"ward-{self.tag}"
        self.cell = f"cell-{self.tag}"
        self.members = [f"mem-{self.tag}-{n}" for n in range(4)]
        self.monitor = f"mon-{self.tag}"
        self.meeting = random_id("mtg")
        self.cancelled = random_id("mtg")
        self.task = f"task-{self.tag}"
        # one clock per scenario: events() called twice gives the same times (fresh ids), however slow the machine
        self.epoch = datetime.now(VIETNAM_TZ).replace(microsecond=0) - timedelta(days=20)

    def events(self) -> list[dict[str, Any]]:
        """Every type in at least once (structured form), times increasing."""
        clock = [self.epoch]

        def event(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
            clock[0] += timedelta(minutes=1)
            return {**attributes(event_type, at=clock[0]), "data": data}

        starts = (clock[0] + timedelta(days=2)).replace(hour=19, minute=30, second=0)
        moved = starts + timedelta(hours=1)
        secretary, deputy, member, leaving = self.members
        roles = {secretary: "secretary", deputy: "deputy_secretary", member: "member", leaving: "member"}
        names = ["Nguyễn Văn Hùng", "Trần Thị Lan", "Lê Hữu Phúc", "Phạm Thị Mai"]
        feed = [
            event(
                "org.unit.upserted.v1",
                {"id": self.ward, "name": "Đảng ủy phường Hòa Thuận", "kind": "committee", "parent_id": None},
            ),
            event(
                "org.unit.upserted.v1",
                {
                    "id": self.cell,
                    "name": "Chi bộ khu phố 3",
                    "kind": "cell",
                    "parent_id": self.ward,
                    "category": "residential",
                },
            ),
            *[
                event(
                    "member.upserted.v1",
                    {
                        "id": m,
                        "full_name": name,
                        "cell_id": self.cell,
                        "status": "official",
                        "role": roles[m],
                        "email": f"{m}@example.vn",
                        # a phone too, so the SMS gateway (the webhook) has someone to reach
                        "phone": f"+84 91 {index:03d} {index:04d}",
                        "admitted_on": "2010-05-19",
                    },
                )
                for index, (m, name) in enumerate(zip(self.members, names, strict=True))
            ],
            event(
                "member.removed.v1",
                {
                    "id": leaving,
                    "reason": "transferred",
                    "effective_on": (clock[0] - timedelta(days=1)).date().isoformat(),
                },
            ),
            event(
                "monitor.assigned.v1",
                {
                    "person_id": self.monitor,
                    "full_name": "Võ Quốc Sơn",
                    "committee_id": self.ward,
                    "cell_id": self.cell,
                    "yearly_quota": 4,
                },
            ),
            event(
                "meeting.scheduled.v1",
                {
                    "meeting_id": self.meeting,
                    "cell_id": self.cell,
                    "kind": "thematic",
                    "topic": "Học tập và làm theo tư tưởng Hồ Chí Minh",
                    "starts_at": starts.isoformat(),
                    "location": "Nhà văn hóa khu phố 3",
                    "agenda": ["Quán triệt chuyên đề"],
                    "committee_prepared": True,
                },
            ),
            event(
                "meeting.rescheduled.v1",
                {"meeting_id": self.meeting, "starts_at": moved.isoformat(), "reason": "Trùng lịch họp tổ dân phố"},
            ),
            event(
                "documents.published.v1",
                {
                    "meeting_id": self.meeting,
                    "published_at": clock[0].isoformat(),
                    "items": [{"title": "Dự thảo nghị quyết", "kind": "draft_resolution"}],
                },
            ),
            event(
                "attendance.recorded.v1",
                {
                    "meeting_id": self.meeting,
                    "records": [
                        {"member_id": secretary, "status": "present"},
                        {"member_id": deputy, "status": "present"},
                        {"member_id": member, "status": "excused", "reason": "ốm"},
                    ],
                },
            ),
            event(
                "minutes.submitted.v1",
                {
                    "meeting_id": self.meeting,
                    "started_at": moved.isoformat(),
                    "ended_at": (moved + timedelta(minutes=95)).isoformat(),
                    "chair_id": secretary,
                    "recorder_id": deputy,
                    "speakers": [secretary, deputy],
                    "content": "Quán triệt chuyên đề năm",
                    "resolutions": [
                        {"text": "Thông qua nghị quyết", "votes_for": 2, "votes_against": 0, "abstentions": 0}
                    ],
                    "tasks": [
                        {
                            "task_id": self.task,
                            "assignee_id": deputy,
                            "description": "Báo cáo kết quả học tập",
                            "due_on": (moved + timedelta(days=30)).date().isoformat(),
                        }
                    ],
                },
            ),
            event(
                "minutes.approved.v1",
                {"meeting_id": self.meeting, "approved_at": (moved + timedelta(hours=2)).isoformat(), "votes_for": 2},
            ),
            event(
                "meeting.assessed.v1",
                {
                    "meeting_id": self.meeting,
                    "assessor": {"role": "cell_committee"},
                    "points": {"preparation.content": 3, "conduct.procedure": 4},
                },
            ),
            event(
                "task.completed.v1",
                {
                    "task_id": self.task,
                    "meeting_id": self.meeting,
                    "completed_on": (moved + timedelta(days=3)).date().isoformat(),
                },
            ),
            event(
                "meeting.scheduled.v1",
                {
                    "meeting_id": self.cancelled,
                    "cell_id": self.cell,
                    "kind": "regular",
                    "starts_at": (starts + timedelta(days=5)).isoformat(),
                    "location": "Nhà văn hóa khu phố 3",
                    "agenda": ["Sinh hoạt thường kỳ"],
                },
            ),
            event("meeting.cancelled.v1", {"meeting_id": self.cancelled, "reason": "Bão số 9"}),
        ]
        assert {e["type"] for e in feed} == INGEST_TYPES, "the scenario covers every type in"
        return feed
