"""Generated meeting histories for the order-independence property: plans drawn by hypothesis, made concrete per run."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from tests.meetings import events as ev

STATUSES = ["present", "present", "present", "excused", "absent", "exempt"]


@dataclass
class MeetingPlan:
    kind: str
    reschedules: int
    cancelled: bool
    cancel_at: int
    """Where the cancellation comes among the meeting's records (rosters, minutes, adoption, assessment, completions):
    before the first of them at 0, after all of them past their count. An integration sends both, in any order."""
    late_move: bool
    """A move issued after the records (just before the cancellation of a cancelled meeting, as a move issued after it
    is refused): the latest move sets the start whatever else is known."""
    rosters: list[list[str]]
    minutes_versions: int
    approved: bool
    documents: int
    assessed: bool
    tasks: int
    completed: list[bool]


@dataclass
class CellPlan:
    members: int
    member_versions: list[int]
    meetings: list[MeetingPlan] = field(default_factory=list)


@dataclass
class HistoryPlan:
    cells: list[CellPlan]
    unit_versions: int
    move_first_member: bool
    remove_last_member: bool


@st.composite
def meeting_plans(draw: Any, members: int) -> MeetingPlan:
    """One meeting: scheduled, maybe moved, recorded, maybe cancelled before, among or after its records."""
    cancelled = draw(st.booleans()) and draw(st.booleans())
    rosters = draw(st.lists(st.lists(st.sampled_from(STATUSES), min_size=members, max_size=members), max_size=2))
    minutes_versions = draw(st.integers(0, 2))
    tasks = draw(st.integers(0, 2)) if minutes_versions else 0
    return MeetingPlan(
        kind=draw(st.sampled_from(["regular", "thematic", "combined", "extraordinary"])),
        reschedules=draw(st.integers(0, 2)),
        cancelled=cancelled,
        cancel_at=draw(st.integers(0, 8)),
        late_move=draw(st.booleans()),
        rosters=rosters,
        minutes_versions=minutes_versions,
        # an adoption waits for the minutes and a roster (apply_approved): a valid history has both before it
        approved=bool(minutes_versions) and bool(rosters) and draw(st.booleans()),
        documents=draw(st.integers(0, 2)),
        assessed=draw(st.booleans()),
        tasks=tasks,
        completed=draw(st.lists(st.booleans(), min_size=tasks, max_size=tasks)),
    )


@st.composite
def history_plans(draw: Any) -> HistoryPlan:
    """A committee with one or two cells, their members and meetings."""
    cells = []
    for _ in range(draw(st.integers(1, 2))):
        members = draw(st.integers(2, 4))
        plan = CellPlan(
            members=members, member_versions=draw(st.lists(st.integers(1, 2), min_size=members, max_size=members))
        )
        plan.meetings = draw(st.lists(meeting_plans(members), min_size=1, max_size=3))
        cells.append(plan)
    return HistoryPlan(
        cells=cells,
        unit_versions=draw(st.integers(1, 2)),
        move_first_member=len(cells) > 1 and draw(st.booleans()),
        remove_last_member=draw(st.booleans()),
    )


class Clock:
    """Strictly increasing event times, so the list order is the time order."""

    def __init__(self) -> None:
        self.now = ev.BASE_TIME

    def tick(self) -> datetime:
        self.now += timedelta(minutes=7)
        return self.now


def materialize(plan: HistoryPlan, prefix: str) -> list[dict[str, Any]]:
    """The plan's events in causal (and time) order, every id starting with `prefix`."""
    clock = Clock()
    out: list[dict[str, Any]] = []

    def emit(raw: dict[str, Any]) -> None:
        raw["id"] = f"{prefix}e{len(out)}"
        out.append(raw)

    root = f"{prefix}root"
    for version in range(plan.unit_versions):
        emit(ev.unit(root, kind="committee", name=f"Đảng ủy xã {version}", time=clock.tick()))
    members_of: list[list[str]] = []
    for c, cell in enumerate(plan.cells):
        cell_id = f"{prefix}c{c}"
        emit(ev.unit(cell_id, parent_id=root, name=f"Chi bộ {c}", time=clock.tick()))
        emit(
            ev.raw_event(
                "monitor.assigned.v1",
                {
                    "person_id": f"{prefix}mon{c}",
                    "full_name": "Trần Thị Giám Sát",
                    "committee_id": root,
                    "cell_id": cell_id,
                },
                time=clock.tick(),
            )
        )
        ids = [f"{prefix}c{c}m{m}" for m in range(cell.members)]
        members_of.append(ids)
        for m, versions in enumerate(cell.member_versions):
            for v in range(versions):
                status = "probationary" if v == 0 else "official"
                emit(ev.member(ids[m], cell_id, status=status, data={"admitted_on": "2025-03-01"}, time=clock.tick()))
    for c, cell in enumerate(plan.cells):
        cell_id, ids = f"{prefix}c{c}", members_of[c]
        for k, meeting in enumerate(cell.meetings):
            materialize_meeting(
                meeting, meeting_id=f"{prefix}c{c}g{k}", cell_id=cell_id, members=ids, month=k, clock=clock, emit=emit
            )
    # after every meeting of the plan (at most three months), yet in the past: a `time` ahead of the clock is refused
    late = ev.BASE_TIME + timedelta(days=200)
    if plan.move_first_member:
        emit(ev.member(members_of[0][0], f"{prefix}c1", time=late))
    if plan.remove_last_member:
        removal = {
            "id": members_of[-1][-1],
            "reason": "transferred",
            "effective_on": (late + timedelta(days=100)).date().isoformat(),
        }
        emit(ev.raw_event("member.removed.v1", removal, time=late + timedelta(days=1)))
    return out


def materialize_meeting(
    meeting: MeetingPlan, *, meeting_id: str, cell_id: str, members: list[str], month: int, clock: Clock, emit: Any
) -> None:
    """The events of one meeting, in causal order."""
    starts = ev.BASE_TIME + timedelta(days=10 + 30 * month)
    emit(ev.scheduled(meeting_id, cell_id, starts_at=starts, kind=meeting.kind, time=clock.tick()))
    for r in range(meeting.reschedules):
        moved = {
            "meeting_id": meeting_id,
            "starts_at": (starts + timedelta(hours=r + 1)).isoformat(),
            "location": f"Hội trường {r}",
        }
        emit(ev.raw_event("meeting.rescheduled.v1", moved, time=clock.tick()))
    for d in range(meeting.documents):
        items = [{"title": f"Tài liệu {d}", "kind": "content"}]
        emit(
            ev.raw_event(
                "documents.published.v1",
                {"meeting_id": meeting_id, "published_at": clock.now.isoformat(), "items": items},
                time=clock.tick(),
            )
        )
    records = 0

    def late_move() -> None:  # an hour before the first start: the adoption (3 h after it) stays after the start
        moved = {"meeting_id": meeting_id, "starts_at": (starts - timedelta(hours=1)).isoformat()}
        emit(ev.raw_event("meeting.rescheduled.v1", moved, time=clock.tick()))

    def cancel() -> None:
        if meeting.late_move:  # issued before the cancellation: one issued after it is refused (test_cancelled_move)
            late_move()
        emit(ev.raw_event("meeting.cancelled.v1", {"meeting_id": meeting_id, "reason": "Mưa bão"}, time=clock.tick()))

    def record(raw: dict[str, Any]) -> None:
        nonlocal records
        emit(raw)
        records += 1
        if meeting.cancelled and records == meeting.cancel_at:
            cancel()

    if meeting.cancelled and meeting.cancel_at == 0:
        cancel()
    for roster in meeting.rosters:
        record(ev.attendance(meeting_id, dict(zip(members, roster, strict=True)), time=clock.tick()))
    tasks = [
        {
            "task_id": f"t{t}",
            "assignee_id": members[t % len(members)],
            "description": "Vận động hội viên",
            "due_on": "2026-12-31",
        }
        for t in range(meeting.tasks)
    ]
    for v in range(meeting.minutes_versions):
        record(
            ev.minutes(
                meeting_id,
                chair_id=members[v % len(members)],
                started_at=starts,
                tasks=tasks,
                speakers=members[: v + 1],
                time=clock.tick(),
            )
        )
    if meeting.approved:
        record(
            ev.raw_event(
                "minutes.approved.v1",
                {"meeting_id": meeting_id, "approved_at": (starts + timedelta(hours=3)).isoformat()},
                time=clock.tick(),
            )
        )
    if meeting.assessed:
        points = {"preparation.content": 3, "conduct.procedure": 4}
        record(
            ev.raw_event(
                "meeting.assessed.v1",
                {"meeting_id": meeting_id, "assessor": {"role": "cell_committee"}, "points": points},
                time=clock.tick(),
            )
        )
    for t, done in enumerate(meeting.completed):
        if done:
            record(
                ev.raw_event(
                    "task.completed.v1",
                    {"task_id": f"t{t}", "meeting_id": meeting_id, "completed_on": "2026-06-01"},
                    time=clock.tick(),
                )
            )
    if meeting.cancelled and records < meeting.cancel_at:
        cancel()
    if meeting.late_move and not meeting.cancelled:
        late_move()
