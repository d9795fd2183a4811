"""One Vietnamese term for a rejected event on the operations page: "sự kiện bị từ chối", as its list ("Sự kiện bị
từ chối gần đây"), its overview and every action on one rejection say. The filtered dismissal box (h527's "Đóng nhiều
lỗi từ chối theo bộ lọc") called them "lỗi từ chối" ("refusal errors"), so an operator read two kinds of thing on one
page: its summary, counts, buttons, hint, the refusals and the unanswered notice of its form now say it as the page
does, and no string of the catalog calls a rejected event "lỗi từ chối"."""

import re

from babel.messages.pofile import read_po

from services.gateway.web import forms
from services.gateway.web.i18n import CATALOG, LOCALE, _
from services.gateway.web.pages.operations import EMPTY_FILTER_SAID, MATCHING_FORM
from tests.web.operations_render import operations_html

TERM = "sự kiện bị từ chối"
OTHER = "lỗi từ chối"


def box(page: str) -> str:
    """The text of the page's filtered dismissal box (`#dismiss-matching`), tags dropped."""
    [found] = re.findall(r'<details class="dismiss-matching".*?</details>', page, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found))


def test_no_string_of_the_catalog_calls_a_rejected_event_loi_tu_choi() -> None:
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle, locale=LOCALE)
    said = {message.id: message.string for message in catalog if message.id and OTHER in str(message.string).lower()}
    assert not said, said


def test_the_filtered_dismissal_box_says_rejected_events_as_the_rest_of_the_page() -> None:
    values = {"code": "source_not_registered", "reason": "Gửi nhầm"}
    done = {"matched": 3, "dismissed": 2, "remaining": 1, "dry_run": False, "filter": {}}
    states = {
        "fresh": operations_html(rejections={"items": [], "total": 0}),
        "counted": operations_html(rejections={"items": [], "total": 0}, matching={"values": values, "counted": 3}),
        "none": operations_html(rejections={"items": [], "total": 0}, matching={"values": values, "counted": 0}),
        "done": operations_html(rejections={"items": [], "total": 0}, matching={"values": values, "done": done}),
    }
    for state, page in states.items():
        assert "Sự kiện bị từ chối gần đây" in page, state  # the page's own term, which the box must share
        assert OTHER not in box(page).lower(), (state, box(page))
    assert "Đóng nhiều sự kiện bị từ chối theo bộ lọc" in box(states["fresh"])
    assert "Đếm số sự kiện bị từ chối khớp bộ lọc" in box(states["fresh"])
    assert "Lần gửi đầu chỉ đếm số sự kiện bị từ chối đang mở khớp bộ lọc" in box(states["fresh"])
    assert "Có 3 sự kiện bị từ chối khớp bộ lọc." in box(states["counted"])
    assert "Xác nhận đóng 3 sự kiện bị từ chối này" in box(states["counted"])
    assert "Không có sự kiện bị từ chối nào đang mở khớp bộ lọc." in box(states["none"])
    assert "Đóng tiếp 1 sự kiện bị từ chối còn mở" in box(states["done"])
    # what the box's form says off the page: a refused empty filter, an unanswered sending, its hidden count's name
    assert MATCHING_FORM.unanswered is not None
    for said in (_(EMPTY_FILTER_SAID), _(MATCHING_FORM.unanswered[1]), _(forms.HIDDEN_FIELDS["matched"])):
        assert TERM in said.lower() and OTHER not in said.lower(), said
