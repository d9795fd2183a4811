"""A person's refused command, answered on the form, is listed among the closed rejections saying so in Vietnamese,
naming the account that sent it (not "by urn:chibo:gateway", which one stored before the account was kept names),
rendered from the operations page's template without a running system."""

from types import SimpleNamespace
from typing import Any

from services.gateway.auth import Role
from services.gateway.web.core import environment
from services.gateway.web.pages.operations import TEMPLATE_HELPERS
from shared.contracts.meetings_rpc import ANSWERED_ON_FORM


def dismissed_view(item: dict[str, Any]) -> str:
    """The operations page's closed rejections listing `item`."""
    pager = SimpleNamespace(first=1, last=1, total=1, previous=None, next=None, newest=None)
    overview = {
        "status": "ok",
        "broker": "ok",
        "services": {},
        **dict.fromkeys(
            ("dead_letters_total", "failed_deliveries", "held_events", "open_rejections", "parked_rows_total"), 0
        ),
    }
    return (
        environment()
        .get_template("operations.html")
        .render(
            viewer=SimpleNamespace(role=Role.OPERATOR, account=SimpleNamespace(sub="op"), csrf="t", principal=None),
            overview=overview,
            rejections={"items": [item], "total": 1},
            dismissed_view=True,
            rejections_views={"open": "", "dismissed": ""},
            rejections_pager=pager,
            held=None,
            held_pager=pager,
            dead_letters=[],
            dead_letters_pagers={},
            parked={},
            parked_pagers={},
            errors={},
            crumbs=[],
            place="",
            notice=None,
            notice_detail=None,
            **TEMPLATE_HELPERS,
        )
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
