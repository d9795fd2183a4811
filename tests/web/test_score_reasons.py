"""A score's reasons said in Vietnamese by their codes: every branch of the real scoring is coded and worded, the
same as the English reading said it before codes, and no English rewording changes what a person reads."""

from typing import Any

import pytest

from services.evaluation.domain.scoring import CriterionLine
from services.gateway.web.explain import (
    BY_CODE,
    explain_legacy_reason,
    explain_line,
    explained_lines,
)
from shared.contracts.evaluation_rpc import CriterionReply
from shared.reasons import ENGLISH, ReasonCode, ReasonPart, reason_text
from tests.evaluation.reason_cases import all_scores

SEE_FACTS = "Xem các dữ liệu đã ghi nhận của buổi sinh hoạt"
SCORES = all_scores()
LINES = [(f"{name} / {line.code}", line) for name, score in SCORES.items() for line in score.criteria]


def served(line: CriterionLine) -> dict[str, Any]:
    """The line as the web gets it: stored by evaluation, answered as a CriterionReply, dumped by the gateway."""
    return CriterionReply.model_validate(line.stored_dict()).model_dump()


def test_the_cases_take_every_reason_code_and_every_code_has_an_english_and_a_vietnamese_wording() -> None:
    used = {part.code for _, line in LINES for part in line.parts}
    assert used == set(ReasonCode)
    assert set(ENGLISH) == set(ReasonCode) == set(BY_CODE)
    assert any(score.provisional for score in SCORES.values())
    assert any(not line.applicable for _, line in LINES)


@pytest.mark.parametrize(("name", "line"), LINES, ids=[name for name, _ in LINES])
def test_every_line_is_coded_and_said_by_its_code_as_the_english_reading_said_it(
    name: str, line: CriterionLine
) -> None:
    assert line.parts, "a line without reason parts"
    assert line.reason == reason_text(line.parts)
    explanation = explain_line(served(line))
    assert SEE_FACTS.lower() not in explanation.lower()
    # the Vietnamese by code is exactly what the catalog said for the same line when it was read from the English
    assert explanation == explain_legacy_reason(line.reason)


@pytest.mark.parametrize(("name", "line"), LINES, ids=[name for name, _ in LINES])
def test_the_explanation_does_not_depend_on_the_english_wording(name: str, line: CriterionLine) -> None:
    reworded = served(line) | {"reason": "evaluation one day says this quite differently; or in another language"}
    assert explain_line(reworded) == explain_line(served(line))
    assert explain_legacy_reason(reworded["reason"]).startswith(SEE_FACTS)


def test_a_line_stored_before_codes_is_read_from_its_english_reason() -> None:
    old = {"code": "duration", "points": 3, "max": 5, "applicable": True, "source": "auto"}
    old["reason"] = "lasted 60 min of 90 required (30 min short)"
    assert explain_line(old) == "Sinh hoạt 60 phút so với 90 phút quy định (thiếu 30 phút)"
    assert explain_line(old | {"parts": []}) == explain_line(old)


def test_documents_published_early_say_how_early_and_what_was_required() -> None:
    """A tester read "trước giờ sinh hoạt 24 giờ" for documents put up 59.5 hours ahead, and "(thiếu 0 phút)" for a
    meeting that was not short: the lines now say the real lead and the rule's minimum, and that the time was met."""
    line = {"code": "preparation.content", "points": 3, "max": 3, "applicable": True, "source": "auto"}
    new = line | {
        "reason": "content published 2026-11-02T16:30:00+00:00, 59.5 h ahead of the start (at least 24 h required)"
    }
    said = explain_line(new)
    assert "59,5 giờ trước giờ sinh hoạt (yêu cầu ít nhất 24 giờ)" in said, said
    old = line | {"reason": "content published 2026-11-02T16:30:00+00:00, 24 h before the start"}
    assert "ít nhất 24 giờ trước giờ sinh hoạt" in explain_line(old)
    late = line | {
        "points": 0,
        "reason": "first content published 2026-11-12T02:30:00+00:00, only 10 h ahead of the start"
        " (at least 24 h required)",
    }
    assert "chỉ 10 giờ trước giờ sinh hoạt (yêu cầu ít nhất 24 giờ)" in explain_line(late)  # a trial's 10 hours
    met = line | {"code": "duration", "reason": "lasted 100 min of 90 required"}
    assert explain_line(met) == "Sinh hoạt 100 phút, đủ 90 phút quy định"
    assert explain_line(met | {"reason": "lasted 100 min of 90 required (0 min short)"}) == explain_line(met)


@pytest.mark.parametrize(
    ("ahead", "lead", "said"),
    [
        (10.0, 24.0, "đăng tải lần đầu lúc 10:00 thứ Năm, ngày 12/11/2026, chỉ 10 giờ trước giờ sinh hoạt (yêu cầu ít"),
        (-2.0, 24.0, "lúc 10:00 thứ Năm, ngày 12/11/2026, sau giờ bắt đầu sinh hoạt, không đủ 24 giờ trước buổi sinh"),
        (None, 24.0, "đăng tải lần đầu lúc 10:00 thứ Năm, ngày 12/11/2026, không đủ 24 giờ trước buổi sinh hoạt"),
        (-2.0, None, "đăng tải lần đầu lúc 10:00 thứ Năm, ngày 12/11/2026, sau giờ bắt đầu sinh hoạt"),
    ],
)
def test_documents_published_late_read_naturally_in_each_case(
    ahead: float | None, lead: float | None, said: str
) -> None:
    """The fresh-user trial read "đăng tải lần đầu lúc 10:00 …, không trước giờ sinh hoạt 24 giờ" for documents put
    up after the meeting began."""
    part = ReasonPart(
        code=ReasonCode.DOCUMENTS_PUBLISHED_LATE,
        kinds=["draft_resolution"],
        published_at="2026-11-12T03:00:00+00:00",
        ahead_hours=ahead,
        lead_hours=lead,
    )
    explanation = BY_CODE[ReasonCode.DOCUMENTS_PUBLISHED_LATE](part)
    assert said in explanation, explanation
    assert "không trước" not in explanation


def test_a_code_this_gateway_does_not_know_yet_reads_as_see_the_recorded_facts() -> None:
    line = {
        "code": "duration",
        "reason": "lasted 60 min of 90 required (30 min short); something new",
        "parts": [
            {"code": "duration_short", "lasted": 60.0, "required": 90, "short": 30.0},
            {"code": "something_new", "value": 1},
        ],
    }
    assert explain_line(line) == f"Sinh hoạt 60 phút so với 90 phút quy định (thiếu 30 phút); {SEE_FACTS.lower()}"
    assert ReasonPart.model_validate(line["parts"][1]).code == "something_new"


def test_the_score_page_lines_carry_the_explanation_by_code() -> None:
    score = SCORES["hd42-2025: absences and an excused run"]
    lines = explained_lines({"criteria": [served(line) for line in score.criteria]}, None)
    attendance = next(line for line in lines if line["code"] == "attendance")
    assert attendance["explanation"] == (
        "7/10 đảng viên có mặt (70%); 1 đảng viên vắng không có lý do; "
        "không được cộng điểm: có đảng viên vắng có lý do 4 buổi liên tiếp"
    )


def test_final_documents_still_due_read_as_not_published_yet_with_their_deadline_not_as_late() -> None:
    """While the 48 hours after the end run the documents are not late: the page says they are not published yet
    and by when they are due (the English reason says the same)."""
    score = SCORES["hd42-2025: final documents not due yet"]
    line = next(item for item in score.criteria if item.code == "closing.final_documents")
    assert (
        line.reason == "minutes, resolution not published yet: due within 48 h of the end, by 2026-03-07T20:30:00+07:00"
    )
    assert explain_line(served(line)) == (
        "Biên bản, nghị quyết chưa được đăng tải; cần đăng tải chậm nhất lúc 20:30 thứ Bảy, ngày 07/03/2026"
        " (trong 48 giờ sau khi kết thúc)"
    )


def test_counts_in_an_explanation_read_with_a_thousands_dot_as_every_figure_the_app_writes() -> None:
    """A count is said by shared.numbers as the rate beside it is: `1.050/1.200`, not `1050/1200` (str of an int)."""
    part = ReasonPart(code=ReasonCode.ATTENDANCE_RATE, present=1_050, counted=1_200, rate=0.875)
    said = explain_line({"parts": [part.model_dump()]})
    assert "1.050" in said and "1.200" in said and "87,5%" in said, said
    assert "1050" not in said and "1200" not in said, said


def test_minutes_adopted_without_a_recorded_vote_say_so_in_vietnamese() -> None:
    """An integration's adoption without votes earns nothing on `closing.minutes_and_tasks`: the line says the vote
    on the minutes was not recorded."""
    lines = {line.code: line for line in SCORES["hd42-2025: minutes adopted without a recorded vote"].criteria}
    assert explain_line(served(lines["closing.minutes_and_tasks"])) == (
        "Biên bản được báo đã thông qua nhưng không ghi nhận kết quả biểu quyết"
    )


def test_nobody_present_and_votes_beyond_them_are_said_plainly() -> None:
    """A roster of everyone absent with three speakers in the minutes, and 99999 votes with 10 present: each line
    says in Vietnamese why it earned nothing (DOMAIN.md "How to read it, exactly": no evidence, no points)."""
    absent = {line.code: line for line in SCORES["hd42-2025: everyone absent, speakers named"].criteria}
    over = {line.code: line for line in SCORES["hd42-2025: more votes than members present"].criteria}
    assert explain_line(served(absent["conduct.speakers"])) == (
        "Không có đảng viên nào có mặt nên không có tỉ lệ phát biểu để chấm (biên bản ghi 3 người phát biểu)"
    )
    assert explain_line(served(absent["closing.resolution_adopted"])) == (
        "Nghị quyết 1: có 9 phiếu biểu quyết trong khi không có đảng viên nào có mặt"
    )
    assert explain_line(served(over["closing.resolution_adopted"])) == (
        "Nghị quyết 1: 99.999 phiếu biểu quyết nhưng chỉ có 10 đảng viên có mặt, số phiếu nhiều hơn số người biểu quyết"
    )
