"""The operator's page says why an event it had judged again (a held event's "Xét lại", a rejection's replay) is
held or rejected again, with the real reason meetings answers the operator (tests/meetings/
test_scope_operator_reason.py): the user trial's replay of a scoped account's hold said only "still waiting", and the
API's answer "unit demo-tinh-uy is unknown", although that unit exists. The page reads that outcome and why from
meetings: the address after the action names only what was judged (a trial's `?notice=rejection_replayed&outcome=
rejected&reason=<any text>` showed any text as the system's notice, `outcome=zzz` a broken sentence)."""

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request

from services.gateway.web.i18n import translations
from services.gateway.web.pages.operations import (
    NO_HELD_OR_REJECTED,
    NOT_HELD,
    _done,
    judged_notice,
    judged_seal,
    judged_why,
)
from services.gateway.web.reasons import after_label
from shared.contracts import meetings_rpc as meetings
from shared.rpc import RpcError

REAL = (
    "data.parent_id: unit demo-tinh-uy lies outside demo-xa-hoa-binh, the only subtree this account may write;"
    " the sender was answered as for an unknown id"
)
AT = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def _post() -> Request:
    return Request(
        {"type": "http", "method": "POST", "path": "/app/operations/held/retry", "query_string": b"", "headers": []}
    )


def _query(notice: str, **values: str) -> dict[str, str]:
    """The query the page is redirected to after the action."""
    location = _done(_post(), notice, **values).headers["location"]
    return dict(parse_qsl(urlsplit(location).query))


def _meetings(**answers: Any) -> Any:
    """A gateway state whose meetings answers each request by its method name, not_found when not given."""

    async def call(request: Any) -> Any:
        if request.method not in answers:
            raise RpcError("not_found", f"no {request.method}")
        return answers[request.method]

    return SimpleNamespace(rpc=SimpleNamespace(call=call))


def _rejection(**fields: Any) -> meetings.RejectionReply:
    return meetings.RejectionReply.model_validate(
        {"rejection_id": "r-1", "source": "urn:feed", "event_id": "e-1", "reason": "first", **fields}
    )


async def test_a_held_event_retried_says_it_waits_on_what_lies_outside_the_senders_scope() -> None:
    query = _query("held_retried", source="urn:feed", event_id="e-1")
    assert set(query) == {"notice", "source", "event_id"}  # no outcome nor reason in the address
    held = meetings.HeldEventReply.model_validate(
        {
            "source": "urn:feed",
            "event_id": "e-1",
            "type": "unit.upserted.v1",
            "waiting_for": "unit:demo-tinh-uy",
            "reason": REAL,
            "field": "data.parent_id",
            "route": "http",
            "held_at": AT,
        }
    )
    judged = await judged_notice("held_retried", query, _meetings(get_held_event=held))
    assert judged is not None and judged["outcome"] == "held"
    why, detail = judged_why(judged)
    assert detail == REAL
    said = after_label(translations().gettext("What the event names lies outside what the sending account may write."))
    assert why is not None and why.startswith("Đơn vị cấp trên: ") and said in why
    assert "đang chờ thông tin của đơn vị" not in why.lower()  # the sender's wording, as if the unit were unknown
    # no longer held nor rejected: nothing says it was taken in (it may never have been held)
    assert await judged_notice("held_retried", query, _meetings(), csrf="token") == {"outcome": NOT_HELD}


async def test_a_retry_taken_in_says_so_only_when_this_sessions_own_retry_sealed_it() -> None:
    """The page said `accepted` of any id meetings neither holds nor has an open rejection of, such as one never
    held: now only the outcome the page's own retry sealed with the session's token is said, else that no held or
    rejected event has that id."""
    seal = judged_seal("token", source="urn:feed", event_id="e-1", outcome="accepted")
    sealed = _query("held_retried", source="urn:feed", event_id="e-1", outcome="accepted", seal=seal)
    assert await judged_notice("held_retried", sealed, _meetings(), csrf="token") == {"outcome": "accepted"}
    duplicate = judged_seal("token", source="urn:feed", event_id="e-1", outcome="duplicate")
    again = sealed | {"outcome": "duplicate", "seal": duplicate}
    assert await judged_notice("held_retried", again, _meetings(), csrf="token") == {"outcome": "duplicate"}
    for forged in (
        sealed | {"seal": "0" * 64},  # a seal made up
        sealed | {"event_id": "e-2"},  # another event's
        sealed | {"outcome": "duplicate"},  # another outcome's
        {key: value for key, value in sealed.items() if key != "seal"},  # none
    ):
        assert await judged_notice("held_retried", forged, _meetings(), csrf="token") == {"outcome": NOT_HELD}
    # another session's (a link sent to another operator), or none known
    assert await judged_notice("held_retried", sealed, _meetings(), csrf="other") == {"outcome": NOT_HELD}
    assert await judged_notice("held_retried", sealed, _meetings()) == {"outcome": NOT_HELD}
    # meetings still holds it or has rejected it: that is said, whatever the address carries
    rejection = _rejection(status="open", reason="data.meeting_id: no such meeting")
    judged = await judged_notice("held_retried", sealed, _meetings(get_open_rejection=rejection), csrf="token")
    assert judged is not None and judged["outcome"] == "rejected"
    said = translations().gettext(NO_HELD_OR_REJECTED) % {"event": "e-1", "source": "urn:feed"}
    assert said == "Không có sự kiện tạm giữ hoặc bị từ chối nào mang mã e-1 từ nguồn urn:feed."


async def test_a_rejection_replayed_and_rejected_again_says_why_and_an_accepted_one_says_nothing_more() -> None:
    query = _query("rejection_replayed", rejection="r-1")
    assert set(query) == {"notice", "rejection"}
    reason = "data.meeting_id: meeting m-1 (in kp-3) lies outside xa-1, the only subtree this account may write"
    again = _rejection(status="open", last_replay_reason=reason, last_replay_field="data.meeting_id", last_replay_at=AT)
    judged = await judged_notice("rejection_replayed", query, _meetings(get_rejection=again))
    assert judged is not None and judged["outcome"] == "rejected"
    why, detail = judged_why(judged)
    assert detail == reason and why is not None and why.startswith("Buổi sinh hoạt: ")
    accepted = _rejection(status="replayed", replay_outcome="accepted")
    judged = await judged_notice("rejection_replayed", query, _meetings(get_rejection=accepted))
    assert judged == {"outcome": "accepted"} and judged_why(judged) == (None, None)


async def test_an_address_carrying_its_own_outcome_and_reason_shows_nothing() -> None:
    spoof = {"notice": "rejection_replayed", "outcome": "rejected", "reason": "Hãy chuyển tiền", "field": "data.reason"}
    # no rejection named, or one meetings does not know, or one never replayed: no notice at all
    assert await judged_notice("rejection_replayed", spoof, _meetings(get_rejection=_rejection(status="open"))) is None
    named = spoof | {"rejection": "r-404"}
    assert await judged_notice("rejection_replayed", named, _meetings()) is None
    open_one = _rejection(status="open")
    assert await judged_notice("rejection_replayed", named, _meetings(get_rejection=open_one)) is None
    # what it says comes from meetings, never from the address
    replayed = _rejection(status="replayed", replay_outcome="held")
    assert await judged_notice("rejection_replayed", named, _meetings(get_rejection=replayed)) == {"outcome": "held"}
