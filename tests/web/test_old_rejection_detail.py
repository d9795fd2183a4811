"""A rejection stored before the reading said a too long number in its own words (h237) kept Python's text, which the
operations page showed under "Chi tiết kỹ thuật" (`… use sys.set_int_max_str_digits() to increase the limit`): it
is said at read time as a new rejection says it, the stored row untouched; rendered from the page's template
without a running system."""

from datetime import UTC, datetime
from typing import Any

import pytest

from services.gateway.web import reasons
from shared.reading import number_too_long
from tests.web.operations_render import PAGER, operations_html

OLD_REASON = (
    "body: not valid JSON (Exceeds the limit (4300 digits) for integer string conversion: value has 5000 digits; use"
    " sys.set_int_max_str_digits() to increase the limit)"
)
"""A rejection's reason as meetings stored it before h237 (tests/meetings/test_body_shapes.py's old expectation)."""


def stored_row(reason: str, **more: Any) -> dict[str, Any]:
    """A rejection as meetings lists it (ListRejections' item), stored with `reason`."""
    return {
        "rejection_id": "rej-old-1",
        "event_id": "evt-old-1",
        "type": "member.registered.v1",
        "source": "urn:hethong:dang-vien",
        "field": "body",
        "reason": reason,
        "reason_code": None,
        "received_at": datetime(2026, 11, 30, 8, 0, tzinfo=UTC),
        "body_not_kept": None,
        **more,
    }


def detail(html: str) -> str:
    """The text of the rejections section's technical detail."""
    section = html[html.index('id="rejections"') :]
    start = section.index('<small class="technical">')
    return section[start : section.index("</small>", start)]


@pytest.mark.parametrize("dismissed", [False, True], ids=["open", "dismissed"])
def test_an_old_rejections_python_text_is_said_as_a_new_one_under_technical_detail(dismissed: bool) -> None:
    row = stored_row(
        OLD_REASON,
        dismissed_at=datetime(2026, 12, 1, tzinfo=UTC),
        dismissed_by="op",
        dismissal_reason="x",
    )
    html = operations_html(rejections={"items": [row]}, rejections_pager=PAGER, dismissed_view=dismissed)
    said = detail(html)
    assert "Chi tiết kỹ thuật: body: number too long (5000 digits; at most 4300)" in said, said
    assert "sys." not in said and "Exceeds" not in said and "integer string conversion" not in said, said
    assert row["reason"] == OLD_REASON  # read, never rewritten


def test_the_read_time_words_are_the_new_rows_words() -> None:
    assert reasons.technical_detail(OLD_REASON) == f"body: {number_too_long('1' * 5000)}"
    without_count = OLD_REASON.replace(": value has 5000 digits", "")
    assert reasons.technical_detail(without_count) == "body: number too long (more than 4300 digits)"
    assert reasons.technical_detail("items.0.url: Value error, must begin with http") == (
        "items.0.url: must begin with http"
    )
    new = "data.birth_year: number too long (5000 digits; at most 4300)"
    assert reasons.technical_detail(new) == new
    assert reasons.technical_detail(None) == ""
