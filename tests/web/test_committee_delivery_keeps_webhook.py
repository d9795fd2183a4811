"""Against the real services: a committee's delivery has fields of two owners, its officers' (single mails or the
daily digest, channels) on the alert settings page and an operator's (the committee's own webhook address) over RPC.
An officer's save of the page cleared the operator's webhook, and an operator's webhook setting put the committee back
on single mails: each save stored the whole preference, the fields it did not carry as empty or false."""

import html
from collections.abc import AsyncIterator

import pytest

from shared.contracts import notifications_rpc as notifications
from shared.rpc import RpcClient
from tests.support.rpc import ask, rpc_client
from tests.support.system import RunningSystem
from tests.web.conftest import signed_in_officer
from tests.web.test_stale_pages import inputs

pytestmark = pytest.mark.e2e

COMMITTEE = "demo-phuong-an-phu"
"""A committee no other web test chooses the delivery of (test_committee_delivery_browser has the commune's)."""
HOOK = "https://203.113.131.1/chibo/sms"
"""The operator's webhook: a global address, as the SSRF guard takes without an allowlist; never sent to here, as no
choice names the webhook channel."""
PAGE, ACTION = f"/app/committees/{COMMITTEE}/alerts", f"/app/committees/{COMMITTEE}/delivery"


@pytest.fixture
async def operator(system: RunningSystem, province: dict[str, str]) -> AsyncIterator[RpcClient]:
    """An operator's RPC client to notifications; afterwards the committee is left as a fresh one reads: the daily
    digest by e-mail, no webhook of its own."""
    async with rpc_client(system.env["CHIBO_AMQP_URL"]) as rpc:
        try:
            yield rpc
        finally:
            reset = {"recipient_id": COMMITTEE, "channels": ["email"], "digest": True, "clear_webhook": True}
            await rpc.call(notifications.SetPreferences.model_validate(reset))


async def save_page(system: RunningSystem, *, delivery: str) -> str:
    """The officer's save of the delivery form as the page shows it, with `delivery` chosen; the page after it."""
    async with signed_in_officer(system, "delivery-h452", COMMITTEE) as officer:
        shown = (await officer.get(PAGE)).text
        saved = await officer.post(ACTION, data=inputs(shown, "/delivery") | {"delivery": delivery})
        assert saved.status_code == 303, html.unescape(saved.text)[-2000:]
        return html.unescape((await officer.get(saved.headers["location"])).text)


async def test_an_officers_save_of_the_delivery_form_keeps_the_operators_webhook(
    system: RunningSystem, operator: RpcClient
) -> None:
    await operator.call(notifications.SetPreferences(recipient_id=COMMITTEE, channels=["email"], webhook_url=HOOK))
    page = await save_page(system, delivery="digest")
    assert "Đã lưu cách cấp ủy nhận thông báo." in page
    kept = await ask(operator, notifications.GetPreferences(recipient_id=COMMITTEE))
    assert (kept["digest"], kept["channels"], kept["webhook_url"]) == (True, ["email", "inbox"], HOOK), kept
    assert "webhook" in kept["available_channels"]  # the committee's own address still offers it on the page


async def test_an_operators_webhook_setting_keeps_the_officers_choice(
    system: RunningSystem, operator: RpcClient
) -> None:
    await save_page(system, delivery="digest")
    # the operator names the channels but not the digest: the officers' daily digest stays
    await operator.call(notifications.SetPreferences(recipient_id=COMMITTEE, channels=["email"], webhook_url=HOOK))
    after = await ask(operator, notifications.GetPreferences(recipient_id=COMMITTEE))
    assert (after["digest"], after["channels"], after["webhook_url"]) == (True, ["email", "inbox"], HOOK), after
    # nor the channels: only the address changes
    moved = HOOK.replace("/sms", "/tin-nhan")
    await operator.call(notifications.SetPreferences.model_validate({"recipient_id": COMMITTEE, "webhook_url": moved}))
    again = await ask(operator, notifications.GetPreferences(recipient_id=COMMITTEE))
    assert (again["digest"], again["channels"], again["webhook_url"]) == (True, ["email", "inbox"], moved), again
