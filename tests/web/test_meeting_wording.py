"""What the meeting page says, rendered from its data: the score line read as text, and the documents' kinds."""

import html
import re
from types import SimpleNamespace
from typing import Any

from services.gateway.auth import Role
from services.gateway.schemas import DocumentsCreate
from services.gateway.web import forms
from services.gateway.web.core import environment
from services.gateway.web.forms import FormErrors

MEETING: dict[str, Any] = {
    "meeting_id": "m-1",
    "cell_id": "demo-cb-thon-1",
    "kind": "regular",
    "status": "minutes_submitted",
    "starts_at": "2026-11-10T19:30:00+07:00",
    "location": "Nhà văn hóa",
    "attendance_recorded": True,
    "agenda": [],
    "documents": [],
    "tasks": [],
    "minutes": None,
    "attendance": None,
}


def meeting_page(meeting: dict[str, Any], score: dict[str, Any] | None = None, **context: Any) -> str:
    """The meeting page's text (tags dropped, spaces folded), rendered as the meeting's page renders it (`context`:
    further values the page gets, e.g. `gate_note`)."""
    page = (
        environment()
        .get_template("meeting.html")
        .render(
            viewer=SimpleNamespace(role=Role.MEMBER, account=SimpleNamespace(sub="dv"), csrf="t", principal=None),
            unit={"id": "demo-cb-thon-1", "name": "Chi bộ thôn 1"},
            meeting=MEETING | meeting,
            score=score,
            upcoming=False,
            lines=[],
            members={},
            roster=[],
            speakers=[],
            crumbs=[],
            may_record=False,
            follows=False,
            **context,
        )
    )
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_the_score_line_reads_as_a_sentence() -> None:
    """The fresh-user trial read "83,3 điểm — Khá tạm tính: đang chờ…" (the badge run into the rating)."""
    score = {"score": 83.33, "rating": "fair", "provisional": True, "criteria": []}
    assert "83,3 điểm — Khá (tạm tính: đang chờ chấm các tiêu chí thủ công)" in meeting_page({}, score)


def test_a_documents_kind_is_bracketed_only_when_its_title_does_not_say_it() -> None:
    """The fresh-user trial read "Dự thảo nghị quyết (Dự thảo nghị quyết)"."""
    documents = [
        {"title": "Dự thảo nghị quyết", "kind": "draft_resolution", "published_at": "2026-11-08T08:00:00+07:00"},
        {"title": "Nghị quyết tháng 11", "kind": "draft_resolution", "published_at": "2026-11-08T08:00:00+07:00"},
    ]
    text = meeting_page({"documents": documents})
    assert "Dự thảo nghị quyết (Dự thảo nghị quyết)" not in text and "Dự thảo nghị quyết —" in text
    assert "Nghị quyết tháng 11 (Dự thảo nghị quyết) —" in text


def test_a_document_link_that_is_no_web_address_says_how_it_begins() -> None:
    """The fresh-user trial read "Đường dẫn tài liệu: giá trị không hợp lệ." for `tai-lieu.pdf`."""
    body = {"items": [{"title": "Nghị quyết", "kind": "resolution", "url": "tai-lieu.pdf"}]}
    try:
        forms.build(DocumentsCreate, body, names=forms.single_rows(body))
    except FormErrors as exc:
        assert list(exc.errors.values()) == ["Đường dẫn tài liệu phải bắt đầu bằng http:// hoặc https://."]
    else:
        raise AssertionError("a link that is no web address was taken")
