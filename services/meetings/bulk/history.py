"""A generated year of meetings for every cell of a generated province: the facts a backfill carries.

Each cell meets once a month (a combined regular and thematic meeting in the last month of each quarter),
a few months are missed; each meeting has its notice, early documents, roster, minutes with tasks,
approval, final documents, the completion of the previous meeting's tasks and up to three assessments
(cell committee, members' vote, upper-level monitor), each event timed as it would happen.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.contracts.frameworks import default_manual_maxima
from shared.periods import VIETNAM_TZ

MISSED_SHARE = 0.03
"""The share of cell-months without any meeting (a month the cell is rated Poor for)."""

Write = Callable[..., None]


@dataclass
class CellPlan:
    """What the history needs to know about a generated cell: its members and its monitor."""

    cell_id: str
    monitor_id: str
    committee_id: str
    members: list[tuple[str, bool]] = field(default_factory=list)
    """(member id, exempt) in roster order: the first is the secretary, the second the deputy."""


def write_history(write: Write, plans: list[CellPlan], *, first_month: str, months: int, rng: random.Random) -> None:
    """Write every cell's meetings of `months` months from `first_month` (`YYYY-MM`) through `write`."""
    year, month = (int(part) for part in first_month.split("-"))
    calendar = []
    for _ in range(months):
        calendar.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    for plan in plans:
        quality = rng.uniform(0.6, 1.0)
        previous: list[dict[str, Any]] = []
        for year, month in calendar:
            if rng.random() < MISSED_SHARE:
                continue
            previous = _meeting(write, plan, year=year, month=month, quality=quality, previous=previous, rng=rng)


def _meeting(
    write: Write,
    plan: CellPlan,
    *,
    year: int,
    month: int,
    quality: float,
    previous: list[dict[str, Any]],
    rng: random.Random,
) -> list[dict[str, Any]]:
    """One held meeting with everything around it; return its tasks (the next meeting's results)."""
    meeting_id = f"{plan.cell_id}-{year}-{month:02d}"
    start = datetime(year, month, rng.randint(3, 5), 19, 30, tzinfo=VIETNAM_TZ)
    members = [member for member, _ in plan.members]
    kind = "combined" if month % 3 == 0 else "regular"
    scheduled: dict[str, Any] = {
        "meeting_id": meeting_id,
        "cell_id": plan.cell_id,
        "kind": kind,
        "starts_at": start.isoformat(),
        "location": "Hội trường nhà văn hóa",
        "agenda": ["Kiểm điểm việc thực hiện nghị quyết tháng trước", "Thảo luận nhiệm vụ tháng tới"],
        "committee_prepared": rng.random() < quality,
    }
    if kind == "combined":
        scheduled["topic"] = "Học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh"
    write("meeting.scheduled.v1", scheduled, at=start - timedelta(days=5))
    if rng.random() < 0.08:
        start += timedelta(days=1)
        write(
            "meeting.rescheduled.v1",
            {"meeting_id": meeting_id, "starts_at": start.isoformat(), "reason": "Trùng lịch họp của xã"},
            at=start - timedelta(days=3),
        )
    if rng.random() < 0.85:
        write(
            "documents.published.v1",
            {
                "meeting_id": meeting_id,
                "published_at": (start - timedelta(days=2)).isoformat(),
                "items": [
                    {"title": "Dự thảo nghị quyết", "kind": "draft_resolution"},
                    {"title": "Nội dung sinh hoạt", "kind": "content"},
                ],
            },
            at=start - timedelta(days=2),
        )
    records = []
    for index, (member_id, exempt) in enumerate(plan.members):
        record: dict[str, Any] = {"member_id": member_id, "status": "present"}
        draw = rng.random()
        if exempt:
            record = {"member_id": member_id, "status": "exempt", "reason": "Tuổi cao, sức yếu"}
        elif index > 1 and draw > 0.88:
            record = {"member_id": member_id, "status": "excused", "reason": "Đi công tác"}
            if draw > 0.97:
                record = {"member_id": member_id, "status": "absent"}
        records.append(record)
    if not any(record["status"] == "present" for record in records):
        # the secretary and deputy, always present unless exempt, are both exempt (or the only member is): the
        # secretary attends anyway, as a meeting nobody attends has no chair and its votes would be 0, refused
        records[0] = {"member_id": members[0], "status": "present"}
    guests = [
        {"name": "Đồng chí cấp ủy viên phụ trách", "person_id": plan.monitor_id, "committee_id": plan.committee_id}
    ]
    write(
        "attendance.recorded.v1",
        {"meeting_id": meeting_id, "records": records, "guests": guests if rng.random() < 0.5 else []},
        at=start + timedelta(minutes=10),
    )
    present = [r["member_id"] for r in records if r["status"] == "present"]
    minutes = rng.randint(85, 135) if kind == "combined" else rng.randint(80, 110)
    tasks = [
        {
            "task_id": f"{meeting_id}-t{n}",
            "assignee_id": members[n % len(members)],
            "description": description,
            "due_on": (start + timedelta(days=20)).date().isoformat(),
        }
        for n, description in enumerate(
            ["Vận động nhân dân vệ sinh môi trường", "Rà soát hộ nghèo trên địa bàn", "Thu đảng phí quý"]
        )
    ]
    ended = start + timedelta(minutes=minutes)
    write(
        "minutes.submitted.v1",
        {
            "meeting_id": meeting_id,
            "started_at": start.isoformat(),
            "ended_at": ended.isoformat(),
            # present chair and recorder: meetings refuses minutes naming an absent one (the secretary may be exempt)
            "chair_id": (present or members)[0],
            "recorder_id": (present or members)[1 % len(present or members)],
            "speakers": present[: max(1, int(len(present) * rng.uniform(0.3, 0.8)))],
            "self_criticism_minutes": rng.randint(10, 30),
            "content": "Đánh giá kết quả thực hiện nhiệm vụ tháng; thảo luận phương hướng tháng tới.",
            "conclusions": "Chi bộ thống nhất các chỉ tiêu nhiệm vụ tháng tới.",
            "resolutions": [
                {"text": "Nghị quyết chi bộ tháng", "votes_for": len(present), "votes_against": 0, "abstentions": 0}
            ],
            "tasks": tasks,
        },
        at=ended + timedelta(minutes=5),
    )
    if rng.random() < 0.9:
        write(
            "minutes.approved.v1",
            {"meeting_id": meeting_id, "approved_at": ended.isoformat(), "votes_for": len(present), "votes_against": 0},
            at=ended + timedelta(minutes=6),
        )
    if rng.random() < 0.85:
        write(
            "documents.published.v1",
            {
                "meeting_id": meeting_id,
                "published_at": (ended + timedelta(days=1)).isoformat(),
                "items": [
                    {"title": "Biên bản sinh hoạt chi bộ", "kind": "minutes"},
                    {"title": "Nghị quyết chi bộ", "kind": "resolution"},
                ],
            },
            at=ended + timedelta(days=1),
        )
    for task in previous:
        if rng.random() < quality:
            write(
                "task.completed.v1",
                {"task_id": task["task_id"], "meeting_id": task["meeting_id"], "completed_on": task["due_on"]},
                at=start - timedelta(days=1),
            )
    assessors: list[dict[str, Any]] = [{"role": "cell_committee", "person_id": members[0]}]
    if rng.random() < 0.5:
        assessors.append({"role": "members_vote"})
    if rng.random() < 0.6:
        assessors.append({"role": "upper_monitor", "person_id": plan.monitor_id})
    for offset, assessor in enumerate(assessors):
        points = {
            code: round(top * min(1.0, quality + rng.uniform(-0.1, 0.1)))
            for code, top in default_manual_maxima().items()
            if not (code == "conduct.thematic_content" and kind == "regular")
        }
        write(
            "meeting.assessed.v1",
            {"meeting_id": meeting_id, "assessor": assessor, "points": points},
            at=ended + timedelta(minutes=7, days=offset * 2),
        )
    return [{"task_id": t["task_id"], "meeting_id": meeting_id, "due_on": t["due_on"]} for t in tasks]
