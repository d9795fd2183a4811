"""A score a mail gives reads as the page gives it: rounded once, from the exact value, to one decimal, halves up
(shared.numbers). evaluation published score.meeting.updated.v1 and score.cell.updated.v1 with the score rounded to
cents, which the mail then rounded again to one decimal: a regular meeting of 56 points out of 95 (58.947…) was
published as 58.95 and its mail read "59 điểm" where the meeting's page reads "58,9". The score is published exact
now, so everything on the way from points to the mail is checked here: evaluation's scoring and its published data,
the event as it travels (JSON), notifications' reading model, and the mail's text."""

import json
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from services.evaluation.domain.facts import Assessment, Document
from services.evaluation.domain.periods import MeetingSummary, evaluate_period
from services.evaluation.domain.scoring import MeetingScore, score_meeting
from services.gateway.web.data import score_text
from services.notifications.domain import settings as r
from services.notifications.domain.model import Alert, Recipient
from services.notifications.reading import READING_MODELS
from services.notifications.templates import render
from shared.contracts.evaluation import CellScoreUpdated, MeetingScoreUpdated
from shared.periods import VIETNAM_TZ
from tests.evaluation.builders import END, START, framework, full_manual_points, perfect

COMMITTEE = Recipient(id="ward", kind="committee", name="Đảng ủy phường An Hòa")


def received(event_type: str, data: dict[str, Any]) -> Any:
    """`data` as notifications reads it: validated by the contract's model (as evaluation publishes it), written as
    the event's JSON, and read back by notifications' reading model of the type."""
    model = MeetingScoreUpdated if event_type == "score.meeting.updated.v1" else CellScoreUpdated
    wire = json.loads(model.model_validate(data).model_dump_json())
    return READING_MODELS[event_type].model_validate(wire)


def meeting_mail(published: dict[str, Any]) -> str:
    """The body of meeting_rated_low's mail for a meeting whose score.meeting.updated.v1 carried `published`."""
    data = received("score.meeting.updated.v1", published)
    values = {
        "cell": "Chi bộ thôn 1",
        "starts_at": START,
        "meeting_kind": "regular",
        "rating": data.rating,
        "score": data.score,
    }
    alert = Alert(rule=r.MEETING_RATED_LOW, subject_id="m1", period="x", recipients=(COMMITTEE,), cell_id="c1",
                  values=values)  # fmt: skip
    return render(alert, COMMITTEE)[1]


def period_mail(published: dict[str, Any]) -> str:
    """The body of period_rated_low's mail for a period whose score.cell.updated.v1 carried `published`."""
    data = received("score.cell.updated.v1", published)
    values = {"cell": "Chi bộ thôn 1", "period_label": data.period, "rating": data.rating, "score": data.score}
    alert = Alert(rule=r.PERIOD_RATED_LOW, subject_id="c1", period="x", recipients=(COMMITTEE,), cell_id="c1",
                  values=values)  # fmt: skip
    return render(alert, COMMITTEE)[1]


def once(value: Fraction) -> str:
    """`value` (0..100) rounded once to one decimal, halves up, written with a decimal comma and no trailing ,0: the
    figure worked out by hand, apart from shared.numbers."""
    tenths = int(value * 10 + Fraction(1, 2))  # floor of value*10 + 1/2: half up, the value being positive
    whole, tenth = divmod(tenths, 10)
    return f"{whole},{tenth}" if tenth else str(whole)


def fifty_six_of_ninety_five() -> MeetingScore:
    """A regular meeting scored by evaluation at 56 of 95 points (58.947…, Average): every automatic item but the
    draft resolution (2) and the committee's preparation (2) at full points (60 - 4), each manual item (35) given 0 by
    the upper-level monitor; the thematic content item (5) does not apply to a regular meeting (100 - 5)."""
    zero = dict.fromkeys(full_manual_points(), 0.0)
    facts = perfect(
        committee_prepared=False,
        documents=(
            Document("content", START - timedelta(days=2)),
            Document("minutes", END + timedelta(hours=20)),
            Document("resolution", END + timedelta(hours=20)),
        ),
        assessments=(Assessment("upper_monitor", END + timedelta(days=1), "as1", zero),),
    )
    return score_meeting(framework(), facts)


def test_a_meetings_mail_reads_its_score_as_its_page_does() -> None:
    scored = fifty_six_of_ninety_five()
    applicable = [line for line in scored.criteria if line.applicable]
    assert (sum(line.points or 0.0 for line in applicable), sum(line.max for line in applicable)) == (56.0, 95.0)
    assert scored.rating == "average"
    # 5600/95 = 58.947…: once, 58,9; rounded to cents first (58.95) and then to one decimal, 59
    assert score_text(scored.score) == once(Fraction(5600, 95)) == "58,9"  # the meeting's page (gateway web)
    assert "được đánh giá 58,9 điểm, xếp loại Trung bình." in meeting_mail(scored.published_data())
    assert scored.published_data()["score"] == 5600 / 95  # exact, as published


def test_a_quarters_mail_reads_its_score_as_its_page_does() -> None:
    """The quarter's score is the mean of its months' (DOMAIN.md "Periods"): the 56-of-95 meeting in January and no
    meeting in February or March, (5600/95 + 0 + 0) / 3 = 19.649…, which read 19,7 from the published 19.65."""
    scored = fifty_six_of_ninety_five()
    january = MeetingSummary(
        meeting_id="m1",
        kind="regular",
        starts_at=datetime(2026, 1, 5, 19, tzinfo=VIETNAM_TZ),
        held=True,
        score=scored.score,
        rating=scored.rating,
        provisional=False,
        present=7,
        counted=11,
        speakers_present=5,
    )
    quarter = evaluate_period(
        cell_id="c1", period="2026-Q1", meetings=[january], rules=framework().period_rules, through_month="2026-05"
    )
    assert quarter is not None and quarter.rating == "poor"
    published = quarter.published_data()
    assert score_text(quarter.score) == once(Fraction(5600, 95 * 3)) == "19,6"
    assert "đạt 19,6 điểm, xếp loại Kém." in period_mail(published)
    # the rates as exact as the score: 7 of 11 present, 5 of the 7 spoke (a listener rounds each once)
    assert (published["attendance_rate"], published["speaking_rate"]) == (7 / 11, 5 / 7)


@given(
    earned=st.integers(min_value=0, max_value=400).map(lambda halves: Fraction(halves, 2)),
    maximum=st.integers(min_value=1, max_value=200),
)
def test_a_mails_score_is_the_exact_fraction_rounded_once(earned: Fraction, maximum: int) -> None:
    """Any points out of any applicable maximum (half points allowed, as an assessor may give them): the mail's figure
    is 100 × points ÷ maximum (DOMAIN.md "Scoring") rounded once, worked out on the exact fraction."""
    earned = min(earned, Fraction(maximum))
    exact = 100 * earned / maximum
    scored = MeetingScore(
        meeting_id="m1",
        cell_id="c1",
        framework_id="hd42-2025",
        framework_version="1",
        score=100 * float(earned) / maximum,  # score_meeting's computation of the score
        rating="poor",
        provisional=False,
        criteria=(),
    )
    assert f"được đánh giá {once(exact)} điểm," in meeting_mail(scored.published_data())


@given(
    months=st.lists(
        st.tuples(st.integers(min_value=0, max_value=95), st.integers(min_value=1, max_value=100)),
        min_size=3,
        max_size=3,
    )
)
def test_a_quarters_mail_is_the_exact_mean_rounded_once(months: list[tuple[int, int]]) -> None:
    """A quarter of three meetings, one a month, each of any points out of any maximum: the mail's figure is the exact
    mean of the three exact scores rounded once."""
    meetings = [
        MeetingSummary(
            meeting_id=f"m{month}",
            kind="regular",
            starts_at=datetime(2026, month, 5, 19, tzinfo=VIETNAM_TZ),
            held=True,
            score=100 * min(points, maximum) / maximum,
            rating="poor",
            provisional=False,
            present=1,
            counted=1,
            speakers_present=1,
        )
        for month, (points, maximum) in zip((1, 2, 3), months, strict=True)
    ]
    quarter = evaluate_period(
        cell_id="c1", period="2026-Q1", meetings=meetings, rules=framework().period_rules, through_month="2026-05"
    )
    assert quarter is not None
    exact = sum((Fraction(100 * min(points, maximum), maximum) for points, maximum in months), Fraction(0)) / 3
    assert f"đạt {once(exact)} điểm," in period_mail(quarter.published_data())
