"""A trial: committee officers could not choose how their committee's notices come (single mails or the daily
digest): GET /v1/me/preferences answered 403 without a person, and no page offered it, so a committee stayed on the
digest unless an operator changed it over RPC. The committee's own delivery is now an officer's, scoped to their own
committee and audited, through the API and the alert settings page."""

import html

import httpx
import pytest

from services.gateway.bootstrap import GatewayState
from tests.gateway.fakes import World
from tests.gateway.test_alerts_page import officer  # noqa: F401 (the signed-in officer fixture)
from tests.support.web import csrf_of


async def test_an_officer_reads_and_sets_their_committees_delivery_and_it_is_audited(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, state: GatewayState
) -> None:
    path = f"/v1/committees/{world.ward_a}/preferences"
    read = await client.get(path, headers=headers["ward_officer"])
    assert read.status_code == 200, read.text
    assert read.json()["recipient_id"] == world.ward_a and "email" in read.json()["available_channels"]
    put = await client.put(path, json={"channels": ["email"], "digest": True}, headers=headers["ward_officer"])
    assert put.status_code == 200, put.text
    assert put.json()["digest"] is True and put.json()["stored"] is True
    assert "email" in put.json()["channels"]
    single = await client.put(path, json={"channels": ["email"], "digest": False}, headers=headers["ward_officer"])
    assert single.json()["digest"] is False
    assert (await client.get(path, headers=headers["ward_officer"])).json()["digest"] is False
    row = await state.pool.fetchrow("SELECT * FROM audit_log WHERE path = $1 ORDER BY id DESC LIMIT 1", path)
    assert row["method"] == "PUT" and row["status"] == 200 and row["role"] == "committee_officer"
    assert '"digest": false' in row["detail"] and f'"committee_id": "{world.ward_a}"' in row["detail"]


@pytest.mark.parametrize(("who", "status"), [("ward_officer", 404), ("province_officer", 403), ("member", 403)])
async def test_only_the_committees_own_officers_keep_its_delivery(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, who: str, status: int
) -> None:
    """Ward A's officer does not see ward B's (404); the province's officer does not choose for a ward beneath it,
    whose officers receive its mails (403); a member never does (403)."""
    committee = world.ward_a if who != "ward_officer" else world.ward_b
    path = f"/v1/committees/{committee}/preferences"
    assert (await client.get(path, headers=headers[who])).status_code == status
    put = await client.put(path, json={"channels": ["email"], "digest": False}, headers=headers[who])
    assert put.status_code == status, put.text


async def test_a_body_naming_another_recipient_is_refused(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    path = f"/v1/committees/{world.ward_a}/preferences"
    put = await client.put(
        path, json={"channels": ["email"], "recipient_id": world.ward_b}, headers=headers["ward_officer"]
    )
    assert put.status_code == 422 and "recipient_id" in put.text


async def test_the_alert_settings_page_offers_single_mails_or_the_daily_digest(
    officer: httpx.AsyncClient,  # noqa: F811 (the fixture imported above)
    headers: dict[str, dict[str, str]],
    world: World,
) -> None:
    page = await officer.get(f"/app/committees/{world.ward_a}/alerts")
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    assert "Cách cấp ủy nhận thông báo" in text and "Gửi ngay từng thông báo" in text
    assert "Gộp thành một bản tổng hợp mỗi ngày" in text
    start = page.text.index('id="delivery"')
    form = page.text[start : page.text.index("</form>", start)]
    saved = await officer.post(
        f"/app/committees/{world.ward_a}/delivery",
        data={"csrf": csrf_of(form), "delivery": "digest", "channels": ["email"]},
    )
    assert saved.status_code == 303, saved.text
    api = await officer.get(f"/v1/committees/{world.ward_a}/preferences", headers=headers["ward_officer"])
    assert api.json()["digest"] is True
    again = html.unescape((await officer.get(saved.headers["location"])).text)
    assert "Đã lưu cách cấp ủy nhận thông báo." in again
    single = await officer.post(
        f"/app/committees/{world.ward_a}/delivery",
        data={"csrf": csrf_of(form), "delivery": "single", "channels": ["email"]},
    )
    assert single.status_code == 303, single.text
    assert (await officer.get(f"/v1/committees/{world.ward_a}/preferences", headers=headers["ward_officer"])).json()[
        "digest"
    ] is False
