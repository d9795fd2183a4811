"""The operations page offers "Xét lại" only for a rejection whose body was kept as sent: one cut at the size limit
or not valid UTF-8 (meetings' `body_not_kept`) shows no replay button but a note why, as the command line's replay
says (a trial's operator pressed it and read "over the size limit" of a body that was not UTF-8). Rendered from the
template without a running system; the reply carries the field from meetings to the page."""

import re
from typing import Any

import pytest

from services.gateway.schemas.operations import RejectionRead
from tests.web.operations_render import PAGER, operations_html


def rejection(rejection_id: str, **extra: Any) -> dict[str, Any]:
    """An open rejection of a body that named no event, as GET /v1/rejections lists it."""
    listed = {
        "rejection_id": rejection_id,
        "received_at": "2026-11-20T19:30:00+07:00",
        "event_id": "",
        "type": "batch",
        "reason": "body: a batch holds at most 1000 events, got 1001",
        "field": "body",
        "status": "open",
        **extra,
    }
    return RejectionRead.model_validate(listed).model_dump()


@pytest.mark.parametrize(
    ("how", "note"),
    [
        ("cut", "vượt quá giới hạn kích thước nên hệ thống chỉ lưu phần đầu"),
        ("not_utf8", "không phải UTF-8 hợp lệ nên hệ thống không lưu được nguyên văn"),
    ],
)
def test_a_rejection_whose_body_was_not_kept_has_no_replay_button_but_a_note(how: str, note: str) -> None:
    items = [rejection("rej-kept"), rejection("rej-lost", body_not_kept=how)]
    assert items[1]["body_not_kept"] == how and items[0]["body_not_kept"] is None
    page = operations_html(rejections={"items": items, "total": 2}, rejections_pager=PAGER, held_pager=PAGER)
    assert page.count("/operations/rejections/replay") == 1  # the kept one's only
    replay = page[page.index("/operations/rejections/replay") :]
    assert re.match(r'[^>]*>\s*<input[^>]*><input type="hidden" name="rejection_id" value="rej-kept"', replay)
    assert page.count("data-body-not-kept=") == 1 and f'data-body-not-kept="{how}"' in page and note in page
    # the one not kept may still be closed without replaying
    assert page.count("/operations/rejections/dismiss") == 2


NOT_JSON_NOTE = "nội dung gửi đến không đọc được dưới dạng JSON"


@pytest.mark.parametrize("route", ["http", "amqp"])
@pytest.mark.parametrize(
    "reason",
    ["body: not valid JSON (Expecting value at line 1 column 1)", "body: JSON nested deeper than 64 levels"],
)
def test_a_rejection_whose_body_reads_no_json_has_no_replay_button_but_a_note(route: str, reason: str) -> None:
    """A body kept whole that is not JSON is refused again for the same reason when replayed as it was: a trial's
    page offered "Xét lại" on one, which could only fail again. Whatever route it came by, no replay (of the
    rejection nor of that attempt), a note why, and it may still be closed."""
    attempt = {
        "attempt": 1,
        "route": route,
        "reason": reason,
        "field": "body",
        "received_at": "2026-11-20T19:30:00+07:00",
    }
    later = attempt | {"attempt": 2}
    items = [
        rejection("rej-kept"),
        rejection("rej-no-json", reason=reason, type=None, attempts=[attempt, later]),
    ]
    page = operations_html(rejections={"items": items, "total": 2}, rejections_pager=PAGER, held_pager=PAGER)
    assert page.count("/operations/rejections/replay") == 1, page  # the kept one's only
    assert 'data-body-not-kept="not_json"' in page and NOT_JSON_NOTE in page
    assert "Không thể xét lại nguyên trạng" in page
    assert page.count("/operations/rejections/dismiss") == 2
