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
