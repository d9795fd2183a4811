"""The operator's page says why an event it had judged again (a held event's "Xét lại", a rejection's replay) is
held or rejected again, with the real reason meetings answers the operator (tests/meetings/
test_scope_operator_reason.py): the user trial's replay of a scoped account's hold said only "still waiting", and the
API's answer "unit demo-tinh-uy is unknown", although that unit exists."""

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request

from services.gateway.web.i18n import translations
from services.gateway.web.pages.operations import _done, judged_values, judged_why

REAL = (
    "data.parent_id: unit demo-tinh-uy lies outside demo-xa-hoa-binh, the only subtree this account may write;"
    " the sender was answered as for an unknown id"
)


def _post() -> Request:
    return Request(
        {"type": "http", "method": "POST", "path": "/app/operations/held/retry", "query_string": b"", "headers": []}
    )


def _notice_of(reply: dict[str, Any], notice: str) -> dict[str, str]:
    """The query the page is redirected to after the action answered `reply`."""
    location = _done(_post(), notice, **judged_values(reply)).headers["location"]
    return dict(parse_qsl(urlsplit(location).query))


def test_a_held_event_retried_says_it_waits_on_what_lies_outside_the_senders_scope() -> None:
    reply = {"outcome": "held", "reason": REAL, "field": "data.parent_id", "waiting_for": "unit:demo-tinh-uy"}
    query = _notice_of(reply, "held_retried")
    assert query["notice"] == "held_retried" and query["outcome"] == "held" and query["reason"] == REAL
    why, detail = judged_why(query)
    assert detail == REAL
    said = translations().gettext("What the event names lies outside what the sending account may write.")
    assert why is not None and why.startswith("Trường ") and said in why
    assert "Đang chờ thông tin của đơn vị" not in why  # the sender's wording, as if the unit were unknown


def test_a_rejection_replayed_and_rejected_again_says_why_and_an_accepted_one_says_nothing_more() -> None:
    reply = {
        "outcome": "rejected",
        "reason": "data.meeting_id: meeting m-1 (in kp-3) lies outside xa-1, the only subtree this account may write",
        "field": "data.meeting_id",
    }
    why, detail = judged_why(_notice_of(reply, "rejection_replayed"))
    assert detail == reply["reason"] and why is not None and why.startswith("Trường ")
    accepted = _notice_of({"outcome": "accepted", "reason": None}, "rejection_replayed")
    assert set(accepted) == {"notice", "outcome"} and judged_why(accepted) == (None, None)
