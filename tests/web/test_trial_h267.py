"""Findings of a new user's trial (h267): the documents form refused `https://example.vn/biên-bản.pdf` and
`https://ví-dụ.vn/a.pdf` as "Đường dẫn tài liệu phải bắt đầu bằng http:// hoặc https://" (both do), and said so of
every refused address whatever was wrong with it; a name of only spaces read "Tên: giá trị không hợp lệ", not that
it is empty."""

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from starlette.datastructures import FormData

from services.gateway.schemas import DocumentsCreate, MeetingCancelCreate
from services.gateway.web import forms
from services.gateway.web.core import WebRoute
from services.gateway.web.forms import FormErrors
from services.gateway.web.pages.secretary import _minutes_body
from services.gateway.web.reasons import explain_rejection
from shared.contracts.registry import read_event
from shared.envelope import InvalidEvent, parse_envelope
from shared.rpc import ServiceUnavailable
from tests.shared.test_web_address import IRIS, published


def form_errors(address: str) -> list[str]:
    """The documents form's messages for one document at `address` ([] when it is taken)."""
    body = {"items": [{"title": "Biên bản", "kind": "minutes", "url": address}]}
    try:
        forms.build(DocumentsCreate, body, names=forms.single_rows(body))
    except FormErrors as exc:
        return list(exc.errors.values())
    return []


@pytest.mark.parametrize("address", IRIS)
def test_the_documents_form_takes_an_internationalized_address(address: str) -> None:
    assert form_errors(address) == []


@pytest.mark.parametrize(
    ("address", "said"),
    [
        ("tai-lieu.pdf", "Đường dẫn tài liệu phải bắt đầu bằng http:// hoặc https://."),
        ("https://", "Đường dẫn tài liệu: thiếu tên miền sau http:// hoặc https://"),
        ("https://ví_dụ.vn/a.pdf", "Đường dẫn tài liệu: tên miền “ví_dụ.vn” không hợp lệ"),
        ("https://ví-dụ.vn:70000/a.pdf", "Đường dẫn tài liệu: cổng “70000” không hợp lệ"),
        ("https://ví-dụ.vn/biên bản.pdf", "Đường dẫn tài liệu: có dấu cách hoặc ký tự không nhìn thấy (U+0020"),
        ("https://ví-dụ.vn/<a>.pdf", "Đường dẫn tài liệu: có ký tự “<” (ký tự thứ 18)"),
        ("https://ví-dụ.vn/50%.pdf", "Đường dẫn tài liệu: dấu “%” ở ký tự thứ 20"),
    ],
)
def test_a_refused_address_says_its_true_reason_naming_the_field(address: str, said: str) -> None:
    errors = form_errors(address)
    assert len(errors) == 1 and errors[0].startswith(said), errors
    # the operator's page says the event route's rejection alike, by the field's label
    with pytest.raises(InvalidEvent) as caught:
        read_event(parse_envelope(published(address)))
    explained = explain_rejection(caught.value.reason, caught.value.field)
    assert "không hợp lệ." != explained.partition(": ")[2] and "giá trị không hợp lệ" not in explained, explained


@pytest.mark.parametrize("blank", ["   ", "\u3000", " \u200b ", "\t\n"])
def test_a_field_of_only_blank_characters_is_said_empty(blank: str) -> None:
    """`Lý do: giá trị không hợp lệ.` for a reason of spaces; U+200B alone already read `không được để trống`."""
    with pytest.raises(FormErrors) as caught:
        forms.build(MeetingCancelCreate, {"reason": blank})
    assert caught.value.errors == {"reason": "Lý do: không được để trống."}


def test_a_rejected_blank_name_is_said_empty_on_the_operators_page() -> None:
    """A unit of name "   " was explained `Tên: giá trị không hợp lệ.`."""
    for reason in (
        "data.name: must hold visible text, not only spaces or invisible characters",
        "data.name: String should have at least 1 character",  # a name sent as ""
    ):
        said = explain_rejection(reason, "data.name")
        assert said.startswith("Tên: ") and "để trống" in said, said


LONG = "Ý kiến " * 1500  # 10,500 characters: over the 10,000 of a free text


def test_the_assessment_form_says_a_comment_too_long_with_the_points_wrong() -> None:
    """The monitor's confirmation (and the cell's assessment) said a comment over 10,000 characters only once the
    points' errors were fixed: one sending says every mistake."""
    items = [{"code": "prep", "name": "Chuẩn bị nội dung", "max": 10}]
    with pytest.raises(FormErrors) as caught:
        forms.assessment_model(FormData({"point-prep": "mười", "comment": LONG}), items, role="upper_monitor")
    errors = caught.value.errors
    assert errors["point-prep"] == "Chuẩn bị nội dung: vui lòng nhập số.", errors
    assert errors["comment"].startswith("Nhận xét: tối đa 10.000 ký tự"), errors
    # nothing wrong but the comment: said alone, as before
    with pytest.raises(FormErrors) as alone:
        forms.assessment_model(FormData({"point-prep": "8", "comment": LONG}), items, role="upper_monitor")
    assert list(alone.value.errors) == ["comment"]


def test_the_minutes_form_says_its_free_text_too_long_with_its_times_wrong() -> None:
    """The minutes form said content over 10,000 characters only once its times were right."""
    form = FormData(
        {"day": "2026-11-30", "started": "25:00", "ended": "21:00", "chair_id": "m1", "recorder_id": "m2"}
        | {"content": LONG, "conclusions": "Kết luận"}
    )
    with pytest.raises(FormErrors) as caught:
        _minutes_body(form, "meeting-1")
    assert "started_at" in caught.value.errors and caught.value.errors["content"].startswith("Nội dung"), (
        caught.value.errors
    )


async def test_a_form_whose_record_meetings_did_not_answer_says_it_may_be_saved() -> None:
    """A record form whose command meetings did not answer read "Hệ thống đang bận. Vui lòng thử lại": the record may
    have been stored, and a form shown again sends a new event, so trying again could record it twice."""
    router = APIRouter(route_class=WebRoute)

    @router.post("/sent")
    async def sent() -> None:
        raise ServiceUnavailable("meetings").explained("the command may already have been recorded")

    @router.get("/read")
    async def read() -> None:
        raise ServiceUnavailable("meetings")

    app = FastAPI()
    app.include_router(router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        posted, got = await client.post("/sent"), await client.get("/read")
    assert posted.status_code == 503 and "chưa rõ đã lưu hay chưa" in posted.text, posted.text
    assert "mở lại trang của buổi sinh hoạt" in posted.text and "thử lại" not in posted.text
    assert got.status_code == 503 and "Đồng chí vui lòng thử lại sau ít phút" in got.text  # a read changed nothing
