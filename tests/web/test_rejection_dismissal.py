"""The operations page closes a rejection without replaying it, with a reason: a trial's garbage and dropped held
events stayed "Từ chối chưa xử lý" for ever (only "Xét lại" was offered). The dismissed ones are listed on the page
too ("Đã bỏ qua"), with who closed them, when and why, as the API and the command line list them. Against the real
services."""

import uuid
from datetime import datetime

import httpx
import pytest

from shared.periods import VIETNAM_TZ
from tests.support.system import RunningSystem
from tests.web.conftest import api_token, csrf_of, signed_in, web_account

pytestmark = pytest.mark.e2e

FEED = "urn:test:dismissal"


async def test_an_operator_closes_a_rejection_from_the_page_with_a_reason(system: RunningSystem) -> None:
    integration = await api_token(system, role="integration", unit=None, sub="api-feed-dismissal", province_wide=True)
    event = {
        "specversion": "1.0",
        "id": f"evt-{uuid.uuid4().hex[:16]}",
        "source": FEED,
        "type": "member.upserted.v1",
        "time": datetime.now(VIETNAM_TZ).isoformat(timespec="seconds"),
        "datacontenttype": "application/json",
        "data": {"id": "rac", "full_name": "Rác", "cell_id": "khong-co", "status": "asleep", "role": "member"},
    }
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as api:
        sent = await api.post(
            "/v1/events",
            content=httpx.Request("POST", "/", json=event).content,
            headers={"Authorization": f"Bearer {integration}", "Content-Type": "application/cloudevents+json"},
        )
        assert sent.status_code < 300 and "rejected" in sent.text, sent.text
    await web_account(system, "operator-dismissal", "operator", None, None)
    async with signed_in(system, "operator-dismissal") as client:
        page = await client.get("/app/operations?rejections_offset=0")
        assert "Đóng, không xét lại" in page.text
        token = csrf_of(page.text)
        operator = await api_token(system, role="operator", unit=None, sub="api-operator-dismissal")
        async with httpx.AsyncClient(
            base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {operator}"}
        ) as api:
            listed = (await api.get("/v1/rejections?status=open&limit=200")).json()
            [rejection] = [item for item in listed["items"] if item["event_id"] == event["id"]]
            form = {"csrf": token, "rejection_id": rejection["rejection_id"], "event_id": event["id"]}
            unsaid = await client.post("/app/operations/rejections/dismiss", data={**form, "reason": " "})
            assert unsaid.status_code == 422
            closed = await client.post("/app/operations/rejections/dismiss", data={**form, "reason": "Dữ liệu rác"})
            assert closed.status_code == 303 and "notice=rejection_dismissed" in closed.headers["location"]
            told = await client.get(closed.headers["location"].split("#")[0])
            assert "Đã đóng sự kiện bị từ chối" in told.text
            still_open = (await api.get("/v1/rejections?status=open&limit=200")).json()
            assert event["id"] not in [item["event_id"] for item in still_open["items"]]
            dismissed = (await api.get("/v1/rejections?status=dismissed&limit=200")).json()
            [kept] = [item for item in dismissed["items"] if item["event_id"] == event["id"]]
            assert kept["dismissal_reason"] == "Dữ liệu rác" and kept["dismissed_by"] and kept["dismissed_at"]
            replayed = await client.post("/app/operations/rejections/replay", data=form)
            assert replayed.status_code == 409
            assert f"Sự kiện bị từ chối {event['id']} đã được đóng lúc " in replayed.text
            again = await client.post("/app/operations/rejections/dismiss", data={**form, "reason": "lần nữa"})
            assert again.status_code == 409 and "không còn chờ xử lý" in again.text

            # the page lists the dismissed ones apart, with who closed each, when and why; the open list does not
            open_page = (await client.get("/app/operations")).text
            assert 'href="/app/operations?rejections=dismissed#rejections"' in open_page
            assert f"<code>{event['id']}</code>" not in open_page
            shown = await client.get("/app/operations?rejections=dismissed")
            assert shown.status_code == 200
            table = shown.text.split('id="dismissed-rejections"', 1)[1].split("</table>", 1)[0]
            row = table.split(f"<code>{event['id']}</code>", 1)[1].split("</tr>", 1)[0]
            assert "Lý do: Dữ liệu rác" in row
            assert f"người thực hiện: {kept['dismissed_by']}" in row
            assert "Đã bỏ qua" in shown.text and 'aria-current="page">Đã bỏ qua' in shown.text
            assert "Đóng, không xét lại" not in table  # nothing to close twice
