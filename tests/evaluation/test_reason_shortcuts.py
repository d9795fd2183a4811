"""Reasons a scoring round builds once and shares (issue 12) are the ones it built for each line before."""

from datetime import datetime

from services.evaluation.domain.facts import Assessment
from services.evaluation.domain.rules import only
from services.evaluation.domain.scoring import manual_points, score_meeting
from shared.periods import VIETNAM_TZ
from shared.reasons import ReasonCode, ReasonPart
from tests.evaluation.builders import framework, perfect

AT = datetime(2026, 3, 5, 19, 0, tzinfo=VIETNAM_TZ)


def test_a_reason_naming_only_its_code_is_the_part_built_for_it() -> None:
    for code in ReasonCode:
        assert only(code) == (ReasonPart(code=code),)
        assert only(code) is only(code)


def test_manual_points_say_what_they_said_when_built_per_line() -> None:
    item = next(item for item in framework().items if item.manual)
    assert manual_points(item, ()) == (None, (ReasonPart(code=ReasonCode.AWAITING_ASSESSMENT),))
    for role in ("members_vote", "cell_committee", "upper_monitor"):
        given = Assessment(role=role, time=AT, event_id=f"e-{role}", points={item.code: item.max})
        assert manual_points(item, (given,)) == (item.max, (ReasonPart(code=ReasonCode.ASSESSED, role=role),))
        assert manual_points(item, (given,)) == (item.max, (ReasonPart(code=ReasonCode.ASSESSED, role=role),))


def test_an_item_not_applying_to_a_kind_says_the_kind_each_time() -> None:
    for kind in ("thematic", "regular", "thematic"):
        lines = score_meeting(framework(), perfect(kind=kind)).criteria
        skipped = [line for line in lines if not line.applicable and line.parts[0].code == ReasonCode.NOT_APPLICABLE]
        assert skipped or kind == "regular"
        assert all(line.parts == (ReasonPart(code=ReasonCode.NOT_APPLICABLE, kind=kind),) for line in skipped)
