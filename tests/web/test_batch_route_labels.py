"""The operations page tells an event refused inside a batch from one sent alone, and names the account that sent each
attempt. Trial: an event rejected inside an AMQP batch message was shown as come "qua hàng đợi tin nhắn (AMQP)", as
one sent alone (an HTTP batch's likewise "qua API (HTTP)"), and the list of attempts did not say which account sent
each one, though meetings keeps it per attempt (migration 0034, rejection_attempt.sender). Meetings now stores a
batch's item as come by `amqp-batch` / `http-batch` (tests/meetings/test_batch_route_names.py), which the page says
"theo lô", and each attempt of its reply (RejectionAttemptReply) carries its `sender`, which the page shows as
"Tài khoản gửi". Rendered from the page's template without a running system; the reply from the real query."""

from typing import Any

import pytest

from services.gateway.schemas.operations import RejectionRead
from services.meetings.queries import REJECTION_COLUMNS
from shared.contracts.meetings_rpc import RejectionAttemptReply
from tests.web.operations_render import PAGER, operations_html

FEED = "urn:test:batch-labels"
NOT_GIVEN = "Tài khoản gửi: không có (tin nhắn không kèm user_id)"


def attempt(number: int, route: str, sender: str | None) -> dict[str, Any]:
    """A refused attempt as meetings lists it, received by `route` from `sender`."""
    return {
        "attempt": number,
        "route": route,
        "type": "member.upserted.v1",
        "reason": "data.status: Input should be 'official' or 'probationary'",
        "field": "data.status",
        "received_at": f"2026-11-20T19:3{number}:00+07:00",
        "sender": sender,
    }


def rejection(rejection_id: str, attempts: list[dict[str, Any]], sender: str | None = None) -> dict[str, Any]:
    """A rejection as GET /v1/rejections lists it (RejectionRead), the latest attempt's sender its own."""
    return RejectionRead.model_validate(
        {
            "rejection_id": rejection_id,
            "source": FEED,
            "event_id": f"evt-{rejection_id}",
            "type": "member.upserted.v1",
            "reason": attempts[-1]["reason"],
            "field": attempts[-1]["field"],
            "received_at": attempts[-1]["received_at"],
            "status": "open",
            "sender": sender,
            "attempts": attempts,
        }
    ).model_dump()


def row_of(page: str, rejection_id: str) -> str:
    """The rejections table's row of `rejection_id`."""
    return page.split(f"<code>evt-{rejection_id}</code>", 1)[1].split("</tr>", 1)[0]


def page_of(*items: dict[str, Any]) -> str:
    return operations_html(rejections={"items": list(items), "total": len(items)}, rejections_pager=PAGER)


@pytest.mark.parametrize(
    ("route", "said"),
    [
        ("amqp-batch", "nhận theo lô qua hàng đợi tin nhắn (AMQP)"),
        ("http-batch", "nhận theo lô qua API (HTTP)"),
        ("amqp", "nhận qua hàng đợi tin nhắn (AMQP)"),
        ("http", "nhận qua API (HTTP)"),
    ],
)
def test_a_rows_route_says_whether_its_event_came_in_a_batch(route: str, said: str) -> None:
    row = row_of(page_of(rejection("r1", [attempt(1, route, "acct-a")], sender="acct-a")), "r1")
    assert f'data-route="{route}">Nguồn sự kiện: {FEED}, {said}</small>' in row, row
    if not route.endswith("-batch"):
        assert "theo lô" not in row


def test_each_attempt_says_its_route_and_the_account_that_sent_it() -> None:
    attempts = [
        attempt(1, "amqp-batch", "chibo-tichhop-dangvien"),
        attempt(2, "http", "api-feed-huyen"),
        attempt(3, "amqp-batch", None),
        attempt(4, "replay", "api-feed-huyen"),
    ]
    row = row_of(page_of(rejection("r2", attempts, sender="api-feed-huyen")), "r2")
    said = {number: row.split(f'data-attempt="{number}"', 1)[1].split("</li>", 1)[0] for number in (1, 2, 3, 4)}
    assert "theo lô qua hàng đợi tin nhắn (AMQP)" in said[1] and "theo lô" not in said[2]
    assert 'data-attempt-sender="chibo-tichhop-dangvien"' in said[1]
    assert "Tài khoản gửi: chibo-tichhop-dangvien" in said[1]
    assert "Tài khoản gửi: api-feed-huyen" in said[2] and "Tài khoản gửi: api-feed-huyen" in said[4]
    # an AMQP message that named no broker user says so, as the row of such a rejection does
    assert "data-attempt-sender-not-given" in said[3] and NOT_GIVEN in said[3], said[3]
    assert "data-attempt-sender=" not in said[3]


def test_an_http_attempt_recorded_without_a_sender_says_nothing_of_one() -> None:
    """An attempt refused before meetings kept senders (0034) over HTTP: no account to name, no claim of one."""
    row = row_of(page_of(rejection("r3", [attempt(1, "http", None), attempt(2, "http", "acct-b")])), "r3")
    first = row.split('data-attempt="1"', 1)[1].split("</li>", 1)[0]
    assert "Tài khoản gửi" not in first and "data-attempt-sender" not in first


def test_an_amqp_batch_row_without_a_sender_says_none_was_given() -> None:
    """The row's own sender line treats a batch message as the AMQP message it is (its user_id)."""
    row = row_of(page_of(rejection("r4", [attempt(1, "amqp-batch", None)])), "r4")
    assert "data-sender-not-given" in row and NOT_GIVEN in row, row


def test_meetings_reply_carries_each_attempts_sender() -> None:
    """The typed reply the gateway reads keeps `sender` per attempt (it was dropped, so no page could show it), and
    meetings' query selects it (read from the database: tests/meetings/test_rejection_attempts.py)."""
    reply = RejectionAttemptReply.model_validate(attempt(1, "amqp-batch", "acct-c"))
    assert reply.sender == "acct-c"
    assert "'sender', a.sender" in REJECTION_COLUMNS
