"""Wording of a trial (h468): a service that cannot be reached read "Hệ thống đang bận" (the system is busy) on every
page, the ranking and the CSV export; the minutes' end time said "khi buổi sinh hoạt khi đó"; a date was asked for
"theo dạng 04/12/2026" beside a date picker; an extraordinary meeting's form scored "Nội dung sinh hoạt thường kỳ";
the operations page called dead letters "thư lỗi" (read as e-mail) and parked outbox rows "dòng hộp thư đi"."""

import html
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from starlette.requests import Request

from services.gateway.web import data, forms
from services.gateway.web.core import WebRoute
from services.gateway.web.errors import status_page
from services.gateway.web.explain import explained_lines
from services.gateway.web.i18n import _
from services.gateway.web.pages.secretary import _minutes_body
from shared.rpc import ServiceUnavailable
from tests.web.test_minutes_past_midnight import form

ROOT = Path(__file__).parents[2]
CATALOG = ROOT / "services/gateway/web/locale/vi/LC_MESSAGES/messages.po"
FRAMEWORK = ROOT / "shared/contracts/framework_data/hd42-2025.v1.json"
TRY_AGAIN = "Đồng chí vui lòng thử lại sau ít phút."


async def test_a_service_that_cannot_be_reached_is_said_so_naming_it_never_busy() -> None:
    router = APIRouter(route_class=WebRoute)

    @router.get("/ranking")
    async def ranking() -> None:
        raise ServiceUnavailable("evaluation")

    @router.get("/export.csv")
    async def export() -> None:
        raise ServiceUnavailable("meetings")

    app = FastAPI()
    app.include_router(router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        pages = {path: await client.get(path) for path in ("/ranking", "/export.csv")}
    for path, service in (("/ranking", "dịch vụ chấm điểm"), ("/export.csv", "dịch vụ sinh hoạt chi bộ")):
        said = html.unescape(pages[path].text)
        assert pages[path].status_code == 503, said
        assert f"Tạm thời chưa kết nối được với {service}. {TRY_AGAIN}" in said, said[-2000:]
        assert "bận" not in said, said[-2000:]


def test_a_503_page_of_no_known_service_says_unreachable_not_busy() -> None:
    request = Request({"type": "http", "method": "GET", "path": "/app/x", "headers": [], "query_string": b""})
    page = status_page(request, 503)
    assert page is not None
    said = html.unescape(bytes(page.body).decode())
    assert f"Tạm thời chưa kết nối được với một dịch vụ của hệ thống. {TRY_AGAIN}" in said, said[-2000:]
    assert "bận" not in said


def test_the_form_not_sent_note_says_unreachable_not_busy() -> None:
    from services.gateway.web.core import NOT_SENT

    said = _(NOT_SENT)
    assert said.startswith("Chưa có gì được lưu: tạm thời chưa kết nối được với dịch vụ"), said
    assert "bận" not in said


def test_the_end_time_error_has_no_doubled_khi() -> None:
    with pytest.raises(forms.FormErrors) as refused:
        _minutes_body(form("09:00", "08:00"), "meeting-1")
    said = refused.value.errors["ended_at"]
    assert said.startswith("Giờ kết thúc: phải sau giờ bắt đầu;"), said
    assert len(re.findall(r"\bkhi\b", said)) <= 1, said


def test_a_date_not_read_asks_for_the_day_as_the_date_picker_shows_it() -> None:
    errors: dict[str, str] = {}
    forms.day({"start_date": "ngày mai"}, "start_date", errors)
    assert errors["start_date"] == (
        "Ngày: “ngày mai” không phải ngày hợp lệ; hãy chọn ngày trên lịch hoặc nhập theo dạng ngày/tháng/năm, ví dụ"
        " 04/12/2026, 04-12-2026 hoặc 04.12.2026."
    )
    assert forms.parse_day("04/12/2026") == forms.parse_day("2026-12-04")  # as typed, and as the picker sends it


async def test_an_extraordinary_meetings_content_item_is_not_named_regular(monkeypatch: pytest.MonkeyPatch) -> None:
    document = json.loads(FRAMEWORK.read_text(encoding="utf-8"))

    async def framework(_state: Any, _id: str, _version: str) -> dict[str, Any]:
        return dict(document)

    monkeypatch.setattr(data, "framework", framework)
    line = {"code": "conduct.regular_content", "max": 10, "points": None, "source": "manual", "applicable": True}
    score = {"framework": {"id": "hd42-2025", "version": "1"}, "criteria": [line]}
    extraordinary = await data.manual_items(None, score, "extraordinary")  # type: ignore[arg-type]
    regular = await data.manual_items(None, score, "regular")  # type: ignore[arg-type]
    assert [item["name"] for item in extraordinary] == ["Nội dung sinh hoạt bất thường"]
    assert [item["name"] for item in regular] == ["Nội dung sinh hoạt thường kỳ"]


def test_the_operations_words_read_as_operators_not_as_mail() -> None:
    assert _("Dead letters") == "Tin nhắn không xử lý được (dead letter)"
    assert _("Parked outbox rows") == "Sự kiện chờ gửi bị gác lại (outbox)"
    translated = re.findall(r'^msgstr "(.*)"$', CATALOG.read_text(encoding="utf-8"), flags=re.M)
    for said in translated:
        assert "thư lỗi" not in said.lower() and "hộp thư đi" not in said.lower(), said
    guide = (ROOT / "docs/operations.md").read_text(encoding="utf-8")
    assert '"sự kiện chờ gửi bị gác lại (outbox)"' in guide and '"tin nhắn không xử lý được (dead letter)"' in guide


def test_an_extraordinary_meetings_score_explanation_names_the_item_for_its_kind() -> None:
    document = json.loads(FRAMEWORK.read_text(encoding="utf-8"))
    line = {"code": "conduct.regular_content", "max": 10, "points": 8, "source": "manual", "applicable": True}
    score = {"criteria": [line]}
    assert [row["name"] for row in explained_lines(score, document, "extraordinary")] == [
        "Nội dung sinh hoạt bất thường"
    ]
    assert [row["name"] for row in explained_lines(score, document, "combined")] == ["Nội dung sinh hoạt thường kỳ"]
