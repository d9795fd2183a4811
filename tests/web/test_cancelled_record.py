"""The record page of a cancelled meeting says it is cancelled ("Đã hủy", with the reason) and offers no form: a
trial's secretary opened it after cancelling and found no status and every form (documents, attendance, minutes,
adoption), and a score evaluation had not withdrawn yet ("Điểm: 18,3 — Kém"). Meetings refuses a person's every fact
on a cancelled meeting (tests/meetings/test_cancelled_meeting_facts.py); the page offers none."""

import html
from types import SimpleNamespace
from typing import Any

import pytest

from services.gateway.auth import Role
from services.gateway.http import commands
from services.gateway.web.core import environment
from services.gateway.web.pages import secretary
from shared.refusals import Refusal, RefusalCode
from shared.rpc import RpcError
from tests.web.test_trial_wording import handled

FORMS = ("/reschedule", "/cancel", "/documents", "/attendance", "/minutes", "/approval", "/assessment", "/done")


def record_page(status: str, *, context: dict[str, Any] | None = None, **meeting: Any) -> str:
    """The secretary's record page of meeting m1 in `status`, with a stale provisional score and its manual item
    (`context`: values the page gets instead, e.g. another `score` and its `gate_note`)."""
    shown: dict[str, Any] = {
        "meeting_id": "m1",
        "approved_at": None,
        "minutes": None,
        "starts_at": "2026-11-20T19:30:00+07:00",
        "status": status,
        "location": "Nhà văn hóa",
        "tasks": [{"task_id": "t1", "description": "Vận động", "assignee_id": "a", "due_on": "2026-12-01"}],
        **meeting,
    }
    viewer = SimpleNamespace(role=Role.SECRETARY, account=SimpleNamespace(sub="thu-ky"), csrf="t", principal=None)
    score = {"score": 18.33, "rating": "poor", "provisional": True}
    manual = [{"code": "preparation.content", "name": "Chuẩn bị nội dung", "max": 3, "points": None}]
    return html.unescape(
        environment()
        .get_template("record.html")
        .render(
            {
                "viewer": viewer,
                "meeting": shown,
                "errors": {},
                "sent": {},
                "minutes": {"speakers": [], "resolutions": [], "tasks": [], "others": []},
                "members": {},
                "people": {},
                "unit": {"id": "c1", "name": "Chi bộ thôn 1"},
                "crumbs": [],
                "document_kinds": {},
                "roster": {},
                "rows": range(1, 2),
                "score": score,
                "manual": manual,
                # the record page's parts typed but not saved (secretary.unsaved_parts): none
                "unsaved": set(),
                "unsaved_tasks": {},
            }
            | (context or {})
        )
    )


def test_a_cancelled_meetings_record_page_says_cancelled_with_the_reason_and_offers_no_form() -> None:
    page = record_page("cancelled", cancel_reason="Mưa bão")
    assert 'id="meeting-cancelled"' in page
    assert '<strong id="meeting-status">Đã hủy</strong>' in page and "Lý do hủy: Mưa bão." in page
    assert "Buổi sinh hoạt đã hủy không được chấm điểm và không ghi nhận thêm" in page
    assert not [action for action in FORMS if f"/meetings/m1{action}" in page]
    assert page.count("<form") == 1  # the sign-out button only
    assert "18,3" not in page and 'id="record-score"' not in page


@pytest.mark.parametrize("status", ["scheduled", "minutes_submitted"])
def test_a_meeting_not_cancelled_keeps_its_forms(status: str) -> None:
    page = record_page(status, starts_at="2026-11-20T19:30:00+07:00")
    assert 'id="meeting-cancelled"' not in page
    assert "/meetings/m1/documents" in page and "/meetings/m1/attendance" in page and "/meetings/m1/assessment" in page


async def test_documents_sent_from_a_tab_opened_before_the_cancellation_are_refused_in_vietnamese(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The documents form sent after the meeting was cancelled (the page opened before) gets meetings' refusal,
    coded MEETING_CANCELLED and naming `data.meeting_id`, said as the cancellation it is."""

    async def refused(*_: Any) -> None:
        raise RpcError(
            "invalid",
            "data.meeting_id: meeting m-1 is cancelled; publishing documents is impossible",
            field="data.meeting_id",
            refusal=Refusal(code=RefusalCode.MEETING_CANCELLED),
        )

    monkeypatch.setattr(commands, "publish_documents", refused)
    handled(monkeypatch, {"title": "Nghị quyết tháng 12", "kind": "resolution"})
    errors: Any = await secretary.documents("m-1", None, SimpleNamespace(principal=None), None)  # type: ignore[arg-type]
    assert list(errors.values()) == ["Buổi sinh hoạt này đã bị hủy, nên không ghi nhận thêm nội dung nào cho buổi này."]
