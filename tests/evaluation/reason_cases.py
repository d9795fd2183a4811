"""Meetings that, between them, take every branch of every rule's reason (and of the manual and not-applicable
lines), under both shipped frameworks: for tests that every reason part is coded and said in Vietnamese."""

from dataclasses import replace
from datetime import timedelta

from services.evaluation.domain.facts import Assessment, Document, MeetingFacts, Resolution
from services.evaluation.domain.framework import Framework
from services.evaluation.domain.scoring import MeetingScore, score_meeting
from tests.evaluation.builders import END, START, framework, full_manual_points, perfect, roster, tasks, with_minutes


def _assessed(role: str, points: dict[str, float]) -> tuple[Assessment, ...]:
    return (Assessment(role, END + timedelta(days=1), f"as-{role}", points),)


def hd42_cases() -> dict[str, MeetingFacts]:
    """Named meetings under hd42-2025 (the default framework), each varying the model meeting."""
    model = perfect()
    late_docs = (
        Document("content", START - timedelta(hours=2)),
        Document("draft_resolution", START + timedelta(minutes=5)),
        Document("minutes", END + timedelta(hours=72)),
    )
    return {
        "model": model,
        "duration short": with_minutes(model, ended_at=START + timedelta(minutes=75)),
        "duration at least half": with_minutes(model, ended_at=START + timedelta(minutes=50)),
        "duration below half": with_minutes(model, ended_at=START + timedelta(minutes=30)),
        "no minutes": replace(model, minutes=None, approved_at=None),
        "no roster": replace(model, roster=None),
        "nobody on the roster": replace(model, roster={}),
        "absences and an excused run": replace(
            model, roster=roster(7, excused=2, absent=1), excused_runs={"e1": 4}, absence_runs={"e1": 4, "a1": 1}
        ),
        "documents late": replace(model, documents=late_docs),
        "no documents": replace(model, documents=()),
        "final documents not due yet": replace(model, documents=late_docs[:2], scored_at=END + timedelta(hours=11)),
        "no committee": replace(model, cell_has_committee=False),
        "committee did not meet": replace(model, committee_prepared=False),
        "not notified": replace(model, notified_at=None),
        "nobody spoke, minutes bare": with_minutes(
            model, speakers=frozenset(), content=" ", conclusions="", resolutions=(), task_count=0
        ),
        "minutes without roster": replace(model, roster={}, minutes=model.minutes),
        "self-criticism unrecorded": with_minutes(model, self_criticism_minutes=None),
        "self-criticism too long": with_minutes(model, self_criticism_minutes=45),
        "tasks partly late": replace(model, previous_tasks=tasks(7, late=2, open_=1)),
        "no previous meeting": replace(model, previous_tasks=None),
        "previous meeting without tasks": replace(model, previous_tasks=()),
        "previous meeting recorded late": replace(
            model,
            previous_tasks=tasks(7, late=2, open_=1),
            previous_id="m-late",
            previous_start=START - timedelta(days=5),
            previous_recorded_late=True,
        ),
        "resolution not adopted": with_minutes(model, resolutions=(Resolution(8, 1, 1), Resolution(3, 4, 1))),
        "minutes not approved": replace(model, approved_at=None),
        "minutes adopted without a recorded vote": replace(model, approval_voted=False),
        "everyone absent, speakers named": with_minutes(
            replace(model, roster=roster(0, absent=5)), speakers=frozenset({"a1", "a2", "a3"})
        ),
        "more votes than members present": with_minutes(model, resolutions=(Resolution(99999, 0, 0),)),
        "no roster, more votes than the cell's members": with_minutes(
            replace(model, roster=None, cell_members=12), resolutions=(Resolution(99999, 0, 0),)
        ),
        "awaiting assessment (provisional)": replace(model, assessments=()),
        "assessed above the maximum": replace(
            model, assessments=_assessed("upper_monitor", full_manual_points() | {"conduct.procedure": 9})
        ),
        "assessed by the committee": replace(model, assessments=_assessed("cell_committee", full_manual_points())),
        "assessed by the members' vote": replace(model, assessments=_assessed("members_vote", full_manual_points())),
        "thematic": replace(model, kind="thematic"),
        "extraordinary": replace(model, kind="extraordinary"),
        "combined": replace(model, kind="combined"),
    }


def hd12_cases() -> dict[str, MeetingFacts]:
    """Named meetings under hd12-2018 (attendance checked, not banded)."""
    model = perfect(assessments=_assessed("upper_monitor", full_manual_points(framework("hd12-2018"))))
    return {
        "model": model,
        "attendance too low, unexcused, a long absence run": replace(
            model, roster=roster(7, absent=3), absence_runs={"a1": 5}
        ),
        "duration short of the requirement": with_minutes(model, ended_at=START + timedelta(minutes=80)),
        "duration below half": with_minutes(model, ended_at=START + timedelta(minutes=20)),
        "no roster": replace(model, roster=None),
    }


def all_scores() -> dict[str, MeetingScore]:
    """Every case scored by the real scoring, named `framework: case`."""
    frameworks: list[tuple[Framework, dict[str, MeetingFacts]]] = [
        (framework("hd42-2025"), hd42_cases()),
        (framework("hd12-2018"), hd12_cases()),
    ]
    return {f"{fw.id}: {name}": score_meeting(fw, facts) for fw, cases in frameworks for name, facts in cases.items()}
