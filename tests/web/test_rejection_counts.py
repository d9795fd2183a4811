"""The operator's page counted "Từ chối chưa xử lý 29" while GET /v1/rejections answered a total of 34, and neither
said why: the page counts the open rejections only, the API's unfiltered `total` every stored one (replayed, dismissed
by an operator, a person's refused command answered on its form and stored closed). Both now give the same breakdown
(`counts`; the page's line says it in Vietnamese and links to the lists), as the command line does, and the figures
reconcile for rejections that came every way: over HTTP, an AMQP message of one event, an AMQP batch, and a person's
command the gateway hands to meetings. The API's cursor pages gave no `counts` (offset pages only): every page gives
them now. Against the real services."""

import re
import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest

from shared.contracts import meetings_rpc as meetings
from shared.contracts.meetings_rpc import ANSWERED_ON_FORM
from shared.envelope import GATEWAY_SOURCE
from shared.periods import VIETNAM_TZ
from tests.meetings.feed import feed
from tests.support.ids import random_id
from tests.support.ops import ops
from tests.support.rpc import rpc_client
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import api_token, signed_in, web_account

pytestmark = pytest.mark.e2e

FEED = "urn:test:rejection-counts"
STATUSES = ("open", "replayed", "dismissed")


def refused(source: str = FEED) -> dict[str, Any]:
    """A member record meetings refuses at once, whatever it holds (its status is no member's status)."""
    return {
        "specversion": "1.0",
        "id": f"evt-{uuid.uuid4().hex[:16]}",
        "source": source,
        "type": "member.upserted.v1",
        "time": datetime.now(VIETNAM_TZ).isoformat(timespec="seconds"),
        "datacontenttype": "application/json",
        "data": {"id": f"dv-{uuid.uuid4().hex[:8]}", "full_name": "Sai", "cell_id": "khong-co", "status": "asleep"},
    }


def figure(page: str) -> int:
    """The page's "Từ chối chưa xử lý" figure."""
    found = re.search(r'data-figure="rejections">([\d.]+)', page)
    assert found is not None, "the page shows no open rejections figure"
    return int(found.group(1).replace(".", ""))


def note(page: str) -> dict[str, int]:
    """The breakdown the page's line under the figure carries (data-total, data-open, ...)."""
    found = re.search(r"<small[^>]*data-rejection-counts[^>]*>", page)
    assert found is not None, "the page does not say what its rejections figure counts"
    return {key.replace("-", "_"): int(value) for key, value in re.findall(r'data-([a-z-]+)="(\d+)"', found.group(0))}


async def test_the_page_the_api_and_the_command_line_count_rejections_alike(system: RunningSystem) -> None:
    amqp_url, database_url = system.env["CHIBO_AMQP_URL"], system.env["CHIBO_DATABASE_URL"]
    operator = await api_token(system, role="operator", unit=None, sub="api-operator-counts")
    integration = await api_token(system, role="integration", unit=None, sub="api-feed-counts", province_wide=True)
    await web_account(system, "operator-counts", "operator", None, None)
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {operator}"}
    ) as api:
        before = (await api.get("/v1/rejections?limit=1")).json()["counts"]

        over_http = [refused() for _ in range(3)]
        for event in over_http:
            sent = await api.post(
                "/v1/events",
                content=httpx.Request("POST", "/", json=event).content,
                headers={"Authorization": f"Bearer {integration}", "Content-Type": "application/cloudevents+json"},
            )
            assert sent.status_code < 300 and "rejected" in sent.text, sent.text
        one, batch = refused(), [refused(), refused()]
        async with feed(amqp_url) as bus:
            await bus.publish(one, message_id=random_id("single"))
            await bus.publish(batch, message_id=random_id("batch"))
        command = refused(GATEWAY_SOURCE)
        async with rpc_client(amqp_url, timeout=30) as rpc:
            await rpc.call(meetings.Ingest(events=[command], route="http", account="bi-thu-counts"))
        sent_ids = {event["id"] for event in [*over_http, one, *batch, command]}

        async def stored() -> dict[str, dict[str, Any]] | None:
            listed = (await api.get("/v1/rejections?limit=200")).json()["items"]
            mine = {item["event_id"]: item for item in listed if item["event_id"] in sent_ids}
            return mine if len(mine) == len(sent_ids) else None

        mine = await eventually(stored, timeout=60)
        assert mine[command["id"]]["status"] == "dismissed"
        assert mine[command["id"]]["dismissal_reason"] == ANSWERED_ON_FORM

        # one replayed (corrected: a member now waiting for their cell), one dismissed by the operator
        replayed, dismissed = mine[over_http[0]["id"]], mine[over_http[1]["id"]]
        fixed = {**over_http[0], "data": {**over_http[0]["data"], "status": "official"}}
        judged = await api.post(f"/v1/rejections/{replayed['rejection_id']}/replay", json={"event": fixed})
        assert judged.status_code == 200, judged.text
        closed = await api.post(f"/v1/rejections/{dismissed['rejection_id']}/dismiss", json={"reason": "Dữ liệu rác"})
        assert closed.status_code < 300, closed.text

        everything = (await api.get("/v1/rejections?limit=1")).json()
        counts = everything["counts"]
        by_status = {status: (await api.get(f"/v1/rejections?status={status}&limit=1")).json() for status in STATUSES}
        # read by cursor (the way to read the list whole), every page carries the same breakdown
        first = (await api.get("/v1/rejections", params={"cursor": "", "limit": 1})).json()
        second = (await api.get("/v1/rejections", params={"cursor": first["next"], "limit": 1})).json()
        open_by_cursor = (await api.get("/v1/rejections", params={"cursor": "", "status": "open", "limit": 1})).json()

    # the API reconciles: its unfiltered total is every status's, each status's list is its count
    assert counts["total"] == everything["total"] == sum(counts[status] for status in STATUSES)
    for status in STATUSES:
        assert by_status[status]["total"] == counts[status]
        assert by_status[status]["counts"] == counts
    assert first["counts"] == second["counts"] == open_by_cursor["counts"] == counts
    assert "total" not in first and first["next"] is not None
    # every rejection sent, whichever way it came, is counted where its status says
    grew = {key: counts[key] - before[key] for key in counts}
    assert grew == {"total": 7, "open": 4, "replayed": 1, "dismissed": 2, "answered_on_form": 1}

    # the page's figure is the open count, and its line gives the API's breakdown and links to the lists
    async with signed_in(system, "operator-counts") as client:
        page = (await client.get("/app/operations")).text
    assert figure(page) == counts["open"]
    assert note(page) == counts
    said = (
        f"Tổng cộng đã lưu {counts['total']} sự kiện bị từ chối (bằng con số “total” của danh sách từ chối trong"
        f" API): {counts['open']} chưa xử lý, {counts['replayed']} đã xét lại, {counts['dismissed']} đã bỏ qua"
        f" (trong đó {counts['answered_on_form']} là lệnh bị từ chối đã được báo ngay cho người gửi trên biểu mẫu)."
    )
    assert said in page
    assert 'href="/app/operations?rejections=dismissed#rejections">Xem các sự kiện đã bỏ qua</a>' in page
    assert ">Xem các sự kiện chưa xử lý</a>" in page

    # the command line lists one status and gives the same breakdown
    listed = ops(amqp_url, database_url, "rejections", "list", "--limit", "1")
    assert listed["total"] == counts["open"] and listed["counts"] == counts
