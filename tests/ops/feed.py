"""A small province to feed through the system: a committee, a cell, members with e-mail, a meeting ahead."""

import uuid
from datetime import datetime, timedelta
from typing import Any

from shared.envelope import VIETNAM_TZ
from tests.support.ids import random_id

SOURCE = "urn:test:ops"


def cloudevent(event_type: str, data: dict[str, Any], *, at: datetime | None = None) -> dict[str, Any]:
    """One CloudEvent as an external system would send it."""
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": SOURCE,
        "type": event_type,
        "time": (at or datetime.now(VIETNAM_TZ)).isoformat(),
        "datacontenttype": "application/json",
        "data": data,
    }


class Province:
    """Fresh ids for one committee, one cell, two members and one meeting."""

    def __init__(self) -> None:
        self.committee, self.cell = random_id("ward"), random_id("cell")
        self.members = [random_id("mem"), random_id("mem")]
        self.meeting = random_id("mtg")

    def facts(self) -> list[dict[str, Any]]:
        """Units and members, a month old."""
        at = datetime.now(VIETNAM_TZ) - timedelta(days=30)
        events = [
            cloudevent(
                "org.unit.upserted.v1",
                {"id": self.committee, "name": "Đảng ủy phường Bến Thành", "kind": "committee", "parent_id": None},
                at=at,
            ),
            cloudevent(
                "org.unit.upserted.v1",
                {"id": self.cell, "name": "Chi bộ khu phố 3", "kind": "cell", "parent_id": self.committee},
                at=at,
            ),
        ]
        for member_id, role in zip(self.members, ("secretary", "member"), strict=True):
            events.append(
                cloudevent(
                    "member.upserted.v1",
                    {
                        "id": member_id,
                        "full_name": "Nguyễn Thị Hoa",
                        "cell_id": self.cell,
                        "status": "official",
                        "role": role,
                        "email": f"{member_id}@example.vn",
                    },
                    at=at,
                )
            )
        return events

    def meeting_scheduled(self) -> dict[str, Any]:
        """A regular meeting two days ahead."""
        starts_at = datetime.now(VIETNAM_TZ).replace(microsecond=0) + timedelta(days=2)
        return cloudevent(
            "meeting.scheduled.v1",
            {
                "meeting_id": self.meeting,
                "cell_id": self.cell,
                "kind": "regular",
                "starts_at": starts_at.isoformat(),
                "location": "Nhà văn hóa khu phố 3",
                "agenda": ["Sinh hoạt thường kỳ tháng"],
            },
        )

    def invalid(self) -> dict[str, Any]:
        """A meeting whose start is not a time: rejected naming data.starts_at."""
        event = self.meeting_scheduled()
        event["data"] = {**event["data"], "meeting_id": random_id("mtg"), "starts_at": "tomorrow"}
        return event
