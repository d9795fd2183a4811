"""Facts of a model meeting that earns every point, to vary one thing at a time."""

from dataclasses import replace
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from services.evaluation.domain.facts import (
    Assessment,
    Document,
    MeetingFacts,
    Minutes,
    Resolution,
    TaskOutcome,
)
from services.evaluation.domain.framework import Framework
from services.evaluation.handlers import shipped_frameworks
from shared.periods import VIETNAM_TZ

START = datetime(2026, 3, 5, 19, 0, tzinfo=VIETNAM_TZ)
END = START + timedelta(minutes=90)


@cache
def framework(framework_id: str = "hd42-2025") -> Framework:
    """A shipped framework by id."""
    return next(f for f in shipped_frameworks() if f.id == framework_id)


def full_manual_points(fw: Framework | None = None) -> dict[str, float]:
    """Every manual item at its maximum."""
    return {item.code: item.max for item in (fw or framework()).items if item.manual}


def roster(present: int, excused: int = 0, absent: int = 0, **others: int) -> dict[str, str]:
    """A roster with numbered members: p1.., e1.., a1.. and any other status by keyword."""
    records = {f"p{i}": "present" for i in range(1, present + 1)}
    records |= {f"e{i}": "excused" for i in range(1, excused + 1)}
    records |= {f"a{i}": "absent" for i in range(1, absent + 1)}
    for status, count in others.items():
        records |= {f"{status[0]}x{i}": status for i in range(1, count + 1)}
    return records


def minutes(**overrides: Any) -> Minutes:
    """Complete minutes of a 90-minute meeting where p1..p6 spoke."""
    values: dict[str, Any] = {
        "started_at": START,
        "ended_at": END,
        "speakers": frozenset(f"p{i}" for i in range(1, 7)),
        "resolutions": (Resolution(7, 1, 1),),  # nine votes: within any roster of nine present or more (votes_over)
        "task_count": 2,
        "self_criticism_minutes": 20,
        "content": "Kiểm điểm nghị quyết tháng trước",
        "conclusions": "Thống nhất nhiệm vụ tháng tới",
    }
    return Minutes(**(values | overrides))


def perfect(**overrides: Any) -> MeetingFacts:
    """A regular meeting that earns every point of the default framework."""
    values: dict[str, Any] = {
        "meeting_id": "m1",
        "cell_id": "c1",
        "kind": "regular",
        "starts_at": START,
        "notified_at": START - timedelta(days=4),
        "committee_prepared": True,
        "cell_has_committee": True,
        "documents": (
            Document("content", START - timedelta(days=2)),
            Document("draft_resolution", START - timedelta(days=2)),
            Document("minutes", END + timedelta(hours=20)),
            Document("resolution", END + timedelta(hours=20)),
        ),
        "roster": roster(10),
        "minutes": minutes(),
        "approved_at": END,
        "assessments": (Assessment("upper_monitor", END + timedelta(days=1), "as1", full_manual_points()),),
        "previous_tasks": tuple(TaskOutcome(date(2026, 2, 20), date(2026, 2, 19)) for _ in range(10)),
    }
    return MeetingFacts(**(values | overrides))


def with_minutes(facts: MeetingFacts, **overrides: Any) -> MeetingFacts:
    """The facts with some minutes fields changed."""
    assert facts.minutes is not None
    return replace(facts, minutes=replace(facts.minutes, **overrides))


def tasks(on_time: int, late: int = 0, open_: int = 0) -> tuple[TaskOutcome, ...]:
    """Previous tasks: done on time, done late, not done."""
    due = date(2026, 2, 20)
    return (
        tuple(TaskOutcome(due, due) for _ in range(on_time))
        + tuple(TaskOutcome(due, due + timedelta(days=1)) for _ in range(late))
        + tuple(TaskOutcome(due, None) for _ in range(open_))
    )
