"""A rate a score's reason gives (the English `reason` of score.meeting.updated.v1's criteria and the API's) reads as
the meeting's page gives it: the exact share rounded once to one decimal, halves up (shared.numbers). The reason
wrote it with a float's `.1f`, which rounds 6.25 to even: "1/16 present (6.2%)" where the page reads 6,3%."""

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from services.evaluation.domain.scoring import score_meeting
from services.gateway.web.i18n import format_share
from tests.evaluation.builders import framework, perfect, roster


def attendance_reason(present: int, excused: int) -> str:
    """The `attendance` line's reason of a meeting of `present` members present and `excused` excused."""
    scored = score_meeting(framework(), perfect(roster=roster(present, excused)))
    return next(line.as_dict()["reason"] for line in scored.criteria if line.code == "attendance")


def once(share: Fraction) -> str:
    """`share` as a percentage rounded once to one decimal, halves up, worked out by hand: `6.3`."""
    tenths = int(share * 1000 + Fraction(1, 2))
    return f"{tenths // 10}.{tenths % 10}"


def test_one_of_sixteen_present_reads_as_on_the_meetings_page() -> None:
    assert attendance_reason(1, 15).startswith("1/16 present (6.3%)")
    assert format_share(1 / 16) == "6,3%"  # the meeting's page


@given(counted=st.integers(min_value=1, max_value=400), data=st.data())
def test_the_reasons_rate_is_the_exact_share_rounded_once(counted: int, data: st.DataObject) -> None:
    present = data.draw(st.integers(min_value=1, max_value=counted))
    reason = attendance_reason(present, counted - present)
    assert reason.startswith(f"{present}/{counted} present ({once(Fraction(present, counted))}%)"), reason
