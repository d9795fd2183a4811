"""Meeting scores around the gate (DOMAIN.md: Good also needs full points on attendance, duration, speakers and
minutes), scored by evaluation's real rules under the shipped default framework and served as the gateway gets them."""

import json
from typing import Any

from services.evaluation.domain.scoring import MeetingScore, score_meeting
from shared.contracts.evaluation_rpc import MeetingScoreReply
from shared.contracts.frameworks import FRAMEWORKS_DIR
from tests.evaluation.builders import END, framework, full_manual_points, perfect, roster
from tests.evaluation.test_scoring import assessed


def document() -> dict[str, Any]:
    """The default framework's document as evaluation answers GetFramework (its stored JSON and its versions)."""
    found: dict[str, Any] = json.loads((FRAMEWORKS_DIR / "hd42-2025.v1.json").read_text(encoding="utf-8"))
    return found | {"versions": [found["version"]]}


def served(result: MeetingScore) -> dict[str, Any]:
    """A score as the gateway gets it from evaluation (GetMeetingScore's reply, dumped)."""
    reply = {
        "meeting_id": result.meeting_id,
        "cell_id": result.cell_id,
        "framework": {"id": result.framework_id, "version": result.framework_version},
        "score": result.score,
        "rating": result.rating,
        "provisional": result.provisional,
        "criteria": [line.stored_dict() for line in result.criteria],
        "computed_at": END.isoformat(),
    }
    return MeetingScoreReply.model_validate(reply).model_dump(mode="json")


def attendance_short() -> dict[str, Any]:
    """9 present and 1 absent without excuse (attendance 2 of 5), every other point earned: 96,8, Good by points,
    Fair by the gate (the trial's meeting: 95,8 with attendance 2/5)."""
    return served(score_meeting(framework(), perfect(roster=roster(9, 0, 1))))


def gate_items_full() -> dict[str, Any]:
    """Every gated item at full points, two manual points short elsewhere: 97,9, Good."""
    points = full_manual_points() | {"conduct.procedure": 3}
    return served(score_meeting(framework(), perfect(assessments=assessed(("upper_monitor", 0, points)))))


def fair_by_points() -> dict[str, Any]:
    """Attendance short too, but Fair by its points already (81,1): the gate changes nothing."""
    points = full_manual_points() | {"conduct.regular_content": 0, "conduct.procedure": 0}
    return served(
        score_meeting(framework(), perfect(roster=roster(9, 0, 1), assessments=assessed(("upper_monitor", 0, points))))
    )


def provisional_attendance_short() -> dict[str, Any]:
    """No manual assessment yet and attendance 2 of 5: the provisional score over the automatic items is Good by
    points, Fair by the gate."""
    return served(score_meeting(framework(), perfect(roster=roster(9, 0, 1), assessments=())))
