"""The minutes' PDF holds what DOMAIN.md says minutes hold: a thematic meeting's topic and the agenda (a trial's
"Sinh hoạt chuyên đề, tháng 12/2026" never named its topic); and its signature block stays whole on one page (a
trial's signers' names printed alone on page 2, away from "THƯ KÝ / CHỦ TRÌ")."""

import importlib
import io
from typing import Any

from pypdf import PdfReader

exports = importlib.import_module("services.gateway.web.exports")
"""The exports module (the package's attribute `exports` is the pages' module of the same name)."""

MEMBERS = {"dv1": {"full_name": "Nguyễn Văn An"}, "dv2": {"full_name": "Trần Thị Bình"}}
UNIT = {"name": "Chi bộ thôn 2"}
SUPERIOR = {"name": "Đảng ủy xã Hòa Bình"}


def page_texts(content: bytes) -> list[str]:
    """The extracted text of each page, its whitespace made single spaces."""
    return [" ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(content)).pages]


def meeting(
    kind: str, *, topic: str | None = None, agenda: list[str] | None = None, content: str = ""
) -> dict[str, Any]:
    """A held meeting as the meetings service answers it, with its minutes recorded."""
    return {
        "meeting_id": "m",
        "kind": kind,
        "starts_at": "2026-11-04T19:30:00+07:00",
        "location": "Nhà văn hóa thôn 2",
        "topic": topic,
        "agenda": agenda or [],
        "minutes": {
            "ended_at": "2026-11-04T21:35:00+07:00",
            "chair_id": "dv1",
            "recorder_id": "dv2",
            "content": content,
        },
        "tasks": [],
    }


def test_the_minutes_of_a_thematic_meeting_name_its_topic_and_agenda() -> None:
    topic = "Học tập Nghị quyết Hội nghị Trung ương 10 khóa XIII"
    agenda = ["Quán triệt nội dung Nghị quyết", "Thảo luận, liên hệ thực tiễn ở thôn"]
    content = exports.minutes_document(meeting("thematic", topic=topic, agenda=agenda), UNIT, SUPERIOR, MEMBERS)
    text = " ".join(page_texts(content))
    assert f"Chủ đề: {topic}" in text, text
    assert "Chương trình" in text, text
    assert f"1. {agenda[0]}" in text and f"2. {agenda[1]}" in text, text
    order = [text.index(part) for part in ("Chủ đề:", "II. Nội dung", "1. Quán triệt", "2. Thảo luận")]
    assert order == sorted(order), order


def test_the_minutes_of_a_combined_meeting_name_its_topic_and_a_regular_ones_none() -> None:
    topic = "Nâng cao chất lượng sinh hoạt chi bộ"
    combined = " ".join(page_texts(exports.minutes_document(meeting("combined", topic=topic), UNIT, None, MEMBERS)))
    assert f"Chủ đề: {topic}" in combined, combined
    regular = " ".join(page_texts(exports.minutes_document(meeting("regular"), UNIT, None, MEMBERS)))
    assert "Chủ đề" not in regular and "Chương trình" not in regular, regular


def test_the_signature_block_stays_on_one_page_wherever_the_page_breaks() -> None:
    """Minutes of 0 to 70 lines of content: at some length the block reaches the foot of page 1 (or 2); its titles,
    the space to sign and the names then move to the next page together."""
    moved = False
    for lines in range(71):
        content = "\n".join(f"Dòng nội dung thứ {line + 1}." for line in range(lines))
        printed = page_texts(exports.minutes_document(meeting("regular", content=content), UNIT, SUPERIOR, MEMBERS))
        (page,) = [page for page in printed if "THƯ KÝ" in page]
        signed = page[page.index("THƯ KÝ") :]
        assert "CHỦ TRÌ" in signed and "Trần Thị Bình" in signed and "Nguyễn Văn An" in signed, (lines, printed)
        moved = moved or ("THƯ KÝ" in printed[-1] and "Dòng nội dung" not in printed[-1] and len(printed) > 1)
    assert moved, "no length put the block at a page break"


def scored(score: float, *, provisional: bool) -> dict[str, Any]:
    """A meeting's score as reads.meeting_score answers it: 30 points of applicable manual items (one not
    applicable, one automatic), rated Khá."""
    line = {"source": "manual", "applicable": True}
    return {
        "score": score,
        "rating": "fair",
        "provisional": provisional,
        "criteria": [
            line | {"code": "preparation.content", "max": 3, "points": 3},
            line | {"code": "conduct.procedure", "max": 5, "points": 4.5},
            line | {"code": "conduct.regular_content", "max": 10, "points": 10},
            line | {"code": "chairing.orientation", "max": 12, "points": 12},
            {"code": "conduct.thematic_content", "source": "manual", "applicable": False, "max": 5, "points": None},
            {"code": "duration", "source": "auto", "applicable": True, "max": 5, "points": 5},
        ],
    }


def self_scored(points: dict[str, float]) -> dict[str, Any]:
    """A held regular meeting with the cell committee's self-score of its manual items."""
    return meeting("regular") | {
        "assessments": [{"role": "cell_committee", "points": points, "comment": None}],
    }


def test_the_minutes_say_the_self_score_is_the_manual_items_out_of_their_maximum_beside_the_meetings_score() -> None:
    """A trial's minutes said "Chi ủy tự chấm điểm: 29,5 điểm" for a meeting scored 79,2: read as a total out of 100.
    The self-score is the manual items' points out of their maximum (30), and the meeting's score out of 100 is said
    with its rating, `tạm tính` while provisional."""
    points = {
        "preparation.content": 3,
        "conduct.procedure": 4.5,
        "conduct.regular_content": 10,
        "chairing.orientation": 12,
    }
    for provisional, rating in ((False, "Khá"), (True, "Khá (tạm tính)")):
        content = exports.minutes_document(
            self_scored(points), UNIT, SUPERIOR, MEMBERS, score=scored(79.16666666666667, provisional=provisional)
        )
        text = " ".join(page_texts(content))
        assert "Điểm chi ủy tự chấm (các tiêu chí chấm tay): 29,5/30 điểm." in text, text
        assert f"Điểm của buổi sinh hoạt: 79,2/100 điểm, xếp loại {rating}." in text, text
        assert "Chi ủy tự chấm điểm: 29,5 điểm" not in text, text


def test_the_minutes_without_a_known_score_still_say_the_self_score_covers_the_manual_items_only() -> None:
    text = " ".join(
        page_texts(exports.minutes_document(self_scored({"conduct.procedure": 4.5}), UNIT, SUPERIOR, MEMBERS))
    )
    assert "Điểm chi ủy tự chấm (các tiêu chí chấm tay): 4,5 điểm." in text, text
    assert "Điểm của buổi sinh hoạt" not in text, text
