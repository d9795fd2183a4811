"""The operations page names the broker user that sent an event refused over AMQP (the message's RabbitMQ-checked
`user_id`, which meetings now records as the rejection's `sender`), and says plainly when the message carried none:
before, an AMQP row without a sender said nothing about who sent it, so an operator could not tell a message that
named no account from a line left out. Rendered from the page's template without a running system."""

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.web.operations_render import PAGER, operations_html

NOT_GIVEN = "Tài khoản gửi: không có (tin nhắn không kèm user_id)"


def stored_row(route: str, sender: str | None) -> dict[str, Any]:
    """A rejection as meetings lists it (ListRejections' item), received by `route`, recording `sender`."""
    received = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    return {
        "rejection_id": "rej-amqp-1",
        "event_id": "evt-amqp-1",
        "type": "org.unit.upserted.v1",
        "source": "urn:hethong:dang-vien",
        "field": "data.kind",
        "reason": "data.kind: Input should be 'committee' or 'cell'",
        "reason_code": None,
        "received_at": received,
        "body_not_kept": None,
        "sender": sender,
        "attempts": [
            {"attempt": 1, "route": route, "received_at": received, "reason": "x", "field": None, "type": "x"}
        ],
    }


def row(html: str) -> str:
    """The rejections table's row of the one rejection."""
    return html.split("<code>evt-amqp-1</code>", 1)[1].split("</tr>", 1)[0]


@pytest.mark.parametrize("dismissed", [False, True], ids=["open", "dismissed"])
def test_an_amqp_row_names_its_broker_user_or_says_none_was_given(dismissed: bool) -> None:
    extra: dict[str, Any] = {"dismissed_view": dismissed, "rejections_pager": PAGER}
    named = row(operations_html(rejections={"items": [stored_row("amqp", "chibo-tichhop-dangvien")]}, **extra))
    assert 'data-sender="chibo-tichhop-dangvien"' in named and "Tài khoản gửi: chibo-tichhop-dangvien" in named
    assert NOT_GIVEN not in named
    unnamed = row(operations_html(rejections={"items": [stored_row("amqp", None)]}, **extra))
    assert "data-sender-not-given" in unnamed and NOT_GIVEN in unnamed, unnamed
    assert "data-sender=" not in unnamed


def test_a_row_of_another_route_without_a_sender_is_left_as_it_was() -> None:
    html = operations_html(rejections={"items": [stored_row("http", None)]}, rejections_pager=PAGER)
    assert NOT_GIVEN not in row(html) and "data-sender" not in row(html)
