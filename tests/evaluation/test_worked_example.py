"""The worked example of services/evaluation/README.md, asserted line by line."""

from datetime import date, datetime, timedelta

from services.evaluation.domain.facts import (
    Assessment,
    Document,
    MeetingFacts,
    Minutes,
    Resolution,
    TaskOutcome,
)
from services.evaluation.domain.scoring import score_meeting
from shared.periods import VIETNAM_TZ
from tests.evaluation.builders import framework

START = datetime(2026, 3, 5, 19, 0, tzinfo=VIETNAM_TZ)
END = datetime(2026, 3, 5, 20, 20, tzinfo=VIETNAM_TZ)
MONITOR_POINTS = {
    "preparation.content": 3,
    "conduct.procedure": 4,
    "conduct.regular_content": 8,
    "conduct.praise_criticism": 2,
    "chairing.flexible": 2,
    "chairing.orientation": 3,
    "chairing.atmosphere": 2,
    "chairing.synthesis": 1,
    "principles.democratic_centralism": 1,
    "principles.self_criticism": 2,
    "principles.leadership": 1,
    "principles.informing": 1,
}


def example() -> MeetingFacts:
    """Chi bộ khu phố 3, regular meeting of March 2026 (the README's facts)."""
    roster = {f"p{i}": "present" for i in range(1, 9)} | {"e1": "excused", "a1": "absent", "x1": "exempt"}
    due = date(2026, 2, 25)
    return MeetingFacts(
        meeting_id="kp3-2026-03",
        cell_id="kp3",
        kind="regular",
        starts_at=START,
        notified_at=datetime(2026, 3, 1, 8, 0, tzinfo=VIETNAM_TZ),
        committee_prepared=True,
        cell_has_committee=True,
        documents=(
            Document("draft_resolution", datetime(2026, 3, 4, 20, 0, tzinfo=VIETNAM_TZ)),
            Document("minutes", datetime(2026, 3, 6, 9, 0, tzinfo=VIETNAM_TZ)),
            Document("resolution", datetime(2026, 3, 6, 9, 0, tzinfo=VIETNAM_TZ)),
        ),
        roster=roster,
        minutes=Minutes(
            started_at=START,
            ended_at=END,
            speakers=frozenset({"p1", "p2", "p3", "p4"}),
            resolutions=(Resolution(7, 1, 0),),
            task_count=2,
            self_criticism_minutes=20,
            content="Kiểm điểm nghị quyết tháng 2",
            conclusions="Giao 2 nhiệm vụ",
        ),
        approved_at=END,
        approval_voted=True,
        assessments=(
            Assessment("cell_committee", datetime(2026, 3, 6, tzinfo=VIETNAM_TZ), "a1", {"conduct.procedure": 5}),
            Assessment("upper_monitor", datetime(2026, 3, 8, tzinfo=VIETNAM_TZ), "a2", MONITOR_POINTS),
        ),
        previous_tasks=(TaskOutcome(due, due - timedelta(days=1)),) * 4 + (TaskOutcome(due, None),),
        excused_runs={"e1": 1},
    )


def test_the_worked_example_of_the_readme() -> None:
    result = score_meeting(framework(), example())
    lines = {line.code: (line.points, line.max, line.applicable) for line in result.criteria}
    assert lines == {
        "duration": (4, 5, True),
        "attendance": (2, 5, True),
        "preparation.content": (3, 3, True),
        "preparation.draft_resolution": (2, 2, True),
        "preparation.committee_met": (2, 2, True),
        "preparation.notified": (1, 1, True),
        "preparation.documents_early": (0, 2, True),
        "conduct.procedure": (4, 5, True),
        "conduct.regular_content": (8, 10, True),
        "conduct.thematic_content": (None, 5, False),
        "conduct.praise_criticism": (2, 2, True),
        "conduct.speakers": (4, 5, True),
        "conduct.minutes_complete": (1, 1, True),
        "conduct.self_criticism": (1, 1, True),
        "conduct.documents_published": (1, 1, True),
        "chairing.flexible": (2, 2, True),
        "chairing.orientation": (3, 4, True),
        "chairing.atmosphere": (2, 3, True),
        "chairing.synthesis": (1, 1, True),
        "principles.democratic_centralism": (1, 1, True),
        "principles.self_criticism": (2, 2, True),
        "principles.leadership": (1, 1, True),
        "principles.informing": (1, 1, True),
        "results": (27, 30, True),
        "closing.resolution_adopted": (2, 2, True),
        "closing.minutes_and_tasks": (2, 2, True),
        "closing.final_documents": (1, 1, True),
    }
    data = result.published_data()
    assert (data["score"], data["rating"], data["provisional"]) == (8000 / 95, "fair", False)  # exact: 84.2105…
    reasons = {line.code: line.reason for line in result.criteria}
    assert reasons["attendance"].startswith("8/10 present (80.0%); 1 absent without excuse")
    assert reasons["conduct.procedure"] == "assessed by the upper-level monitor"
