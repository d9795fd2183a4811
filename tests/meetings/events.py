"""Builders of raw CloudEvents for the meetings tests, with fresh ids."""

import uuid
from datetime import datetime, timedelta
from typing import Any

from shared.periods import VIETNAM_TZ

BASE_TIME = datetime(2026, 1, 1, 8, 0, tzinfo=VIETNAM_TZ)
SOURCE = "urn:test:feed"
TEST_ROOT = "test-province-committee"
"""The committee at the top of the tests' tree: a cell needs a parent (domain.check_unit_root), so `unit` puts a
cell given no parent under it; the meetings_pool fixture and FakeState hold it."""


def raw_event(
    event_type: str, data: dict[str, Any], *, time: datetime | str | None = None, **extra: Any
) -> dict[str, Any]:
    """A well-formed CloudEvent with a fresh id."""
    return {
        "specversion": "1.0",
        "id": extra.pop("id", None) or f"evt-{uuid.uuid4().hex[:16]}",
        "source": extra.pop("source", SOURCE),
        "type": event_type,
        "time": time if isinstance(time, str) else (time or BASE_TIME).isoformat(),
        "datacontenttype": "application/json",
        "data": data,
        **extra,
    }


def unit(
    unit_id: str, *, kind: str = "cell", parent_id: str | None = None, name: str = "Chi bộ thôn 1", **kw: Any
) -> dict[str, Any]:
    """org.unit.upserted.v1; a cell given no parent hangs under TEST_ROOT."""
    if kind == "cell" and parent_id is None:
        parent_id = TEST_ROOT
    return raw_event("org.unit.upserted.v1", {"id": unit_id, "name": name, "kind": kind, "parent_id": parent_id}, **kw)


def member(
    member_id: str, cell_id: str, *, status: str = "official", role: str = "member", **kw: Any
) -> dict[str, Any]:
    """member.upserted.v1."""
    data = {
        "id": member_id,
        "full_name": f"Nguyễn Văn {member_id[-4:]}",
        "cell_id": cell_id,
        "status": status,
        "role": role,
    }
    data |= kw.pop("data", {})
    return raw_event("member.upserted.v1", data, **kw)


def scheduled(
    meeting_id: str, cell_id: str, *, starts_at: datetime, kind: str = "regular", **kw: Any
) -> dict[str, Any]:
    """meeting.scheduled.v1."""
    data: dict[str, Any] = {
        "meeting_id": meeting_id,
        "cell_id": cell_id,
        "kind": kind,
        "starts_at": starts_at.isoformat(),
        "location": "Nhà văn hóa thôn 1",
        "agenda": ["Kiểm điểm nghị quyết tháng trước"],
    }
    if kind in ("thematic", "combined"):
        data["topic"] = "Học tập và làm theo tư tưởng Hồ Chí Minh"
    data |= kw.pop("data", {})
    return raw_event("meeting.scheduled.v1", data, **kw)


def attendance(meeting_id: str, records: dict[str, str], **kw: Any) -> dict[str, Any]:
    """attendance.recorded.v1 with {member_id: status}."""
    rows = [{"member_id": m, "status": s} | ({"reason": "ốm"} if s == "excused" else {}) for m, s in records.items()]
    return raw_event("attendance.recorded.v1", {"meeting_id": meeting_id, "records": rows}, **kw)


def minutes(
    meeting_id: str,
    *,
    chair_id: str,
    started_at: datetime,
    tasks: list[dict[str, Any]] | None = None,
    speakers: list[str] | None = None,
    **kw: Any,
) -> dict[str, Any]:
    """minutes.submitted.v1 lasting 100 minutes, its resolution adopted by one vote (a roster of one present member
    allows it: votes above those present are refused)."""
    data = {
        "meeting_id": meeting_id,
        "started_at": started_at.isoformat(),
        "ended_at": (started_at + timedelta(minutes=100)).isoformat(),
        "chair_id": chair_id,
        "recorder_id": chair_id,
        "speakers": speakers if speakers is not None else [chair_id],
        "content": "Đánh giá kết quả tháng",
        "resolutions": [{"text": "Thông qua nghị quyết", "votes_for": 1, "votes_against": 0, "abstentions": 0}],
        "tasks": tasks or [],
    }
    data |= kw.pop("data", {})
    return raw_event("minutes.submitted.v1", data, **kw)
