"""A binary-mode message refused for one of its attribute headers is not replayed as sent by any door (real broker,
meetings, gateway and database). A trial's AMQP message with a stray `ce_type` beside `cloudEvents:` headers was
refused naming `ce_type`, yet "Xét lại" (and the API, and the command line) replayed it as `held`: meetings keeps no
headers, only the event as its sender meant it, and read that as a structured event. The same over HTTP."""

import asyncio
import uuid
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import pytest

from shared.periods import VIETNAM_TZ
from tests.meetings.feed import feed
from tests.support.ids import random_id
from tests.support.ops import run_ops
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import api_token, csrf_of, signed_in, web_account
from tests.web.test_rejection_sender import row_by_id

FEED = "urn:test:replay-header-refusals"
AS_SENT_NOTE = "nếu xét lại nguyên văn cũng chỉ bị từ chối lần nữa vì cùng lý do"
HEADERS_SAID = "(kiểu nội dung, các tiêu đề hoặc vỏ lô của nó)"


def member_data(marker: str) -> bytes:
    """The data of a member of a cell not known yet: judged as sent, it would be held (the trial's outcome)."""
    cell = f"cell-later-{marker}"
    return (
        f'{{"id": "{marker}", "full_name": "Nguyễn Văn Hải", "cell_id": "{cell}", "status": "official",'
        ' "role": "member"}'
    ).encode()


def attribute_headers(event_id: str, prefix: str, *, stray: str) -> dict[str, str]:
    """A member.upserted.v1's attributes as binary-mode headers under `prefix`, its `type` under the stray one."""
    return {
        f"{prefix}specversion": "1.0",
        f"{prefix}id": event_id,
        f"{prefix}source": FEED,
        f"{stray}type": "member.upserted.v1",
        f"{prefix}time": datetime.now(VIETNAM_TZ).isoformat(timespec="seconds"),
    }


@pytest.mark.e2e
async def test_a_message_refused_for_a_stray_header_is_not_replayed_as_sent(system: RunningSystem) -> None:
    amqp_url, database_url = system.env["CHIBO_AMQP_URL"], system.env["CHIBO_DATABASE_URL"]
    sent: dict[str, str] = {}  # event id -> route
    amqp_id = f"evt-hdr-amqp-{uuid.uuid4().hex[:12]}"
    async with feed(amqp_url) as bus:
        await bus.publish(
            member_data(random_id("mem-amqp")),
            routing_key="member.upserted.v1",
            headers=attribute_headers(amqp_id, "cloudEvents:", stray="ce_"),
            content_type="application/json",
        )
    sent[amqp_id] = "amqp"
    integration = await api_token(system, role="integration", unit=None, sub=random_id("hdr"), province_wide=True)
    http_id = f"evt-hdr-http-{uuid.uuid4().hex[:12]}"
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=60) as api:
        answered = await api.post(
            "/v1/events",
            content=member_data(random_id("mem-http")),
            headers={
                "Authorization": f"Bearer {integration}",
                "Content-Type": "application/json",
                **attribute_headers(http_id, "ce-", stray="ce_"),
            },
        )
    assert "ce_type" in answered.text, answered.text
    sent[http_id] = "http"

    operator = await api_token(system, role="operator", unit=None, sub=random_id("api-operator-hdr"))
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {operator}"}
    ) as api:

        async def stored() -> dict[str, dict[str, Any]] | None:
            listed = (await api.get("/v1/rejections?status=open&limit=200")).json()["items"]
            mine = {item["event_id"]: item for item in listed if item["event_id"] in sent}
            return mine if len(mine) == len(sent) else None

        mine = await eventually(stored, timeout=60, interval=0.5)
        for event_id, item in mine.items():
            assert item["field"] == "ce_type" and item["body_not_kept"] is None, (sent[event_id], item)

        web_sub = random_id("operator-hdr")
        await web_account(system, web_sub, "operator", None, None)
        async with signed_in(system, web_sub) as client:
            page = (await client.get("/app/operations?rejections_offset=0")).text
        for event_id, item in mine.items():
            row = row_by_id(page, item["rejection_id"])
            assert "/operations/rejections/replay" not in row, (sent[event_id], row)
            assert 'data-body-not-kept="refused_as_sent"' in row and AS_SENT_NOTE in row, (sent[event_id], row)
            assert HEADERS_SAID in row and "/operations/rejections/dismiss" in row

        # the API (the rejection's own copy and its attempt), the command line and a page older than the rule
        for event_id, item in mine.items():
            for asked in ({}, {"attempt": 1}):
                refused = await api.post(f"/v1/rejections/{item['rejection_id']}/replay", json=asked)
                assert refused.status_code == 409, (sent[event_id], refused.text)
                said = refused.json()
                assert said["reason_code"] == "refused_again_as_sent", (sent[event_id], said)
                assert item["reason"] in said["message"], (sent[event_id], said)
            ran = await asyncio.to_thread(
                run_ops, amqp_url, database_url, "rejections", "replay", "--id", item["rejection_id"]
            )
            assert ran.returncode == 3 and "(refused_again_as_sent)" in ran.stderr, (sent[event_id], ran.stderr)
            async with signed_in(system, web_sub) as client:
                page = (await client.get("/app/operations?rejections_offset=0")).text
                form = {"csrf": csrf_of(page), "rejection_id": item["rejection_id"], "event_id": event_id}
                stale = await client.post("/app/operations/rejections/replay", data=form)
            assert stale.status_code == 409, stale.text
            assert f"Không thể xét lại nguyên trạng sự kiện bị từ chối {event_id}" in stale.text
            assert HEADERS_SAID in stale.text

        after = (await api.get("/v1/rejections?status=open&limit=200")).json()["items"]
        still = {listed["event_id"]: listed for listed in after if listed["event_id"] in sent}
    for event_id, item in mine.items():
        assert still[event_id]["status"] == "open" and still[event_id]["last_replay_reason"] is None, sent[event_id]
        assert len(still[event_id]["attempts"]) == len(item["attempts"]), sent[event_id]
    database = await asyncpg.connect(database_url)
    try:
        held = await database.fetchval(
            "SELECT count(*) FROM meetings.held_event WHERE source = $1 AND event_id = ANY($2::text[])",
            FEED,
            list(sent),
        )
    finally:
        await database.close()
    assert held == 0
