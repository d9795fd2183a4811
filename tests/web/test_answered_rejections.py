"""A person's refused command, answered on the form, is listed among the closed rejections saying so in Vietnamese,
naming the account that sent it (not "by urn:chibo:gateway", which one stored before the account was kept names),
rendered from the operations page's template without a running system."""

from typing import Any

from shared.contracts.meetings_rpc import ANSWERED_ON_FORM
from tests.web.operations_render import PAGER, operations_html


def dismissed_view(item: dict[str, Any]) -> str:
    """The operations page's closed rejections listing `item`."""
    return operations_html(
        rejections={"items": [item], "total": 1},
        dismissed_view=True,
        rejections_pager=PAGER,
        held_pager=PAGER,
    )


def rejection(**dismissal: str) -> dict[str, Any]:
    """A closed rejection of a minutes adoption, with its dismissal."""
    return {
        "received_at": "2026-11-20T19:30:00+07:00",
        "event_id": "evt-1",
        "type": "minutes.approved.v1",
        "reason": "data.meeting_id: adopted",
        "field": "data.meeting_id",
        "refusal": None,
        "dismissed_at": "2026-11-20T19:30:01+07:00",
        **dismissal,
    }


def test_a_persons_refused_command_is_listed_as_answered_on_the_form() -> None:
    page = dismissed_view(rejection(dismissed_by="urn:chibo:gateway", dismissal_reason=ANSWERED_ON_FORM))
    assert "Đã trả lời người gửi ngay trên biểu mẫu lúc 19:30 thứ Sáu, ngày 20/11/2026" in page
    assert "urn:chibo:gateway" not in page and ANSWERED_ON_FORM not in page


def test_a_persons_refused_command_names_the_account_that_sent_it() -> None:
    page = dismissed_view(rejection(dismissed_by="thu-ky-01", dismissal_reason=ANSWERED_ON_FORM))
    assert "Đã trả lời người gửi (tài khoản thu-ky-01) ngay trên biểu mẫu lúc 19:30 thứ Sáu, ngày 20/11/2026" in page
    assert ANSWERED_ON_FORM not in page


def test_an_operators_dismissal_says_who_and_why() -> None:
    page = dismissed_view(rejection(dismissed_by="op-1", dismissal_reason="Dữ liệu rác"))
    assert "op-1" in page and "Dữ liệu rác" in page and "Đã trả lời người gửi" not in page


def test_the_field_column_reads_the_vietnamese_name_with_the_api_name_in_brackets() -> None:
    """The fresh-user trial read 'hệ thống gửi source' and 'nội dung gửi đến body' in the 'Trường' column: two
    languages run together; the API's name goes in brackets after the Vietnamese one, and once for a path the
    contract does not name (it is its own label)."""
    items = [
        rejection(field="source", reason="source: too long"),
        rejection(field="body", reason="body: empty batch"),
        rejection(field="data.colour", reason="data.colour: extra"),
    ]
    page = operations_html(rejections={"items": items, "total": 3}, rejections_pager=PAGER, held_pager=PAGER)
    assert "hệ thống gửi (<code>source</code>)" in page
    assert "nội dung gửi đến (<code>body</code>)" in page
    assert page.count("data.colour") == page.count("“data.colour”") + 1  # once quoted, once in the technical detail
