"""A fresh-user trial's refusals through the real gateway and meetings (processes, RabbitMQ, PostgreSQL).

D1: the secretary's `PUT /v1/meetings/<id>/attendance` naming "no-such-member-zz", or a member of another cell, was
answered 202 `held` (member_unknown), and the member's record arriving later made that one-line roster replace the
meeting's own. It is now a 422 naming `records.N.member_id` (the body's field) with meetings' code, and nothing waits.
D7: a 2 MB `POST /v1/events` under a source the account had not registered was answered 200 with a `source`
rejection, under a registered one 413. The size is judged first: 413 `body: larger than 1048576 bytes` for both.
"""

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.periods import VIETNAM_TZ
from tests.support.ids import random_id
from tests.support.system import RunningSystem, issue_token

pytestmark = pytest.mark.e2e
FEED = "urn:test:trial-feed"


def cloudevent(event_type: str, data: dict[str, Any], *, source: str = FEED, days_ago: int = 30) -> dict[str, Any]:
    """One CloudEvent as the member database's feed sends it."""
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": source,
        "type": event_type,
        "time": (datetime.now(VIETNAM_TZ) - timedelta(days=days_ago)).isoformat(),
        "datacontenttype": "application/json",
        "data": data,
    }


def member(member_id: str, cell_id: str, role: str = "member") -> dict[str, Any]:
    """member.upserted.v1 of an official member in the position `role`."""
    data = {
        "id": member_id,
        "full_name": f"Nguyễn Văn {member_id[-4:]}",
        "cell_id": cell_id,
        "status": "official",
        "role": role,
    }
    return cloudevent("member.upserted.v1", data)


async def post_events(system: RunningSystem, token: str, body: bytes, *, batch: bool = True) -> httpx.Response:
    """POST /v1/events with `body` (a batch, or one event)."""
    kind = "application/cloudevents-batch+json" if batch else "application/cloudevents+json"
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=60) as client:
        return await client.post(
            "/v1/events", content=body, headers={"Authorization": f"Bearer {token}", "Content-Type": kind}
        )


@pytest.fixture(scope="module")
async def province(system: RunningSystem) -> dict[str, str]:
    """Tỉnh ủy → Đảng ủy xã → (thôn 1 with two members and a meeting begun an hour ago, thôn 2 with one member),
    fed by an account scoped to the tỉnh under FEED; and the token of thôn 1's secretary."""
    ids = {name: random_id(name) for name in ("tinh", "xa", "thon1", "thon2", "m1", "m2", "stranger", "meeting")}
    starts = (datetime.now(VIETNAM_TZ) - timedelta(hours=1)).replace(microsecond=0).isoformat()
    feed = [
        cloudevent("org.unit.upserted.v1", {"id": ids["tinh"], "name": "Tỉnh", "kind": "committee", "parent_id": None}),
        cloudevent(
            "org.unit.upserted.v1", {"id": ids["xa"], "name": "Xã", "kind": "committee", "parent_id": ids["tinh"]}
        ),
        cloudevent(
            "org.unit.upserted.v1", {"id": ids["thon1"], "name": "Thôn 1", "kind": "cell", "parent_id": ids["xa"]}
        ),
        cloudevent(
            "org.unit.upserted.v1", {"id": ids["thon2"], "name": "Thôn 2", "kind": "cell", "parent_id": ids["xa"]}
        ),
        member(ids["m1"], ids["thon1"], "secretary"),  # the secretary's account is theirs
        member(ids["m2"], ids["thon1"]),
        member(ids["stranger"], ids["thon2"]),
        cloudevent(
            "meeting.scheduled.v1",
            {
                "meeting_id": ids["meeting"],
                "cell_id": ids["thon1"],
                "kind": "regular",
                "starts_at": starts,
                "location": "Nhà văn hóa thôn 1",
                "agenda": ["Kiểm điểm nghị quyết tháng trước"],
            },
        ),
    ]
    province_wide = issue_token(system, role="integration", unit=None, sub=random_id("province"), province_wide=True)
    response = await post_events(system, province_wide, json.dumps(feed, ensure_ascii=False).encode())
    assert [r["outcome"] for r in response.json()["results"]] == ["accepted"] * len(feed), response.text
    ids["province_token"] = province_wide
    ids["feed_token"] = issue_token(system, role="integration", unit=ids["xa"], sub=random_id("feed"), sources=[FEED])
    ids["secretary_token"] = issue_token(
        system, role="secretary", unit=ids["thon1"], person=ids["m1"], sub=random_id("secretary")
    )
    return ids


async def test_a_secretarys_roster_naming_someone_outside_the_cell_is_a_422_on_the_line(
    system: RunningSystem, province: dict[str, str]
) -> None:
    ids = province
    headers = {"Authorization": f"Bearer {ids['secretary_token']}"}
    path = f"/v1/meetings/{ids['meeting']}/attendance"
    ours = [{"member_id": ids["m1"], "status": "present"}, {"member_id": ids["m2"], "status": "present"}]
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=60) as client:
        recorded = await client.put(path, json={"records": ours}, headers=headers)
        assert recorded.status_code == 202 and recorded.json()["outcome"] == "accepted", recorded.text
        for stranger in ("no-such-member-zz", ids["stranger"]):
            records = [ours[0], {"member_id": stranger, "status": "present"}]
            refused = await client.put(path, json={"records": records}, headers=headers)
            assert refused.status_code == 422, refused.text
            error = refused.json()
            assert (error["field"], error["reason_code"]) == ("records.1.member_id", "member_not_in_cell"), error
        # the unknown id's record arriving later changes nothing: no one-line roster was waiting for it
        late = await post_events(
            system, ids["feed_token"], json.dumps([member("no-such-member-zz", ids["thon1"])]).encode()
        )
        assert late.json()["results"][0]["outcome"] == "accepted", late.text
        roster = await client.get(f"/v1/meetings/{ids['meeting']}/attendance", headers=headers)
    assert roster.status_code == 200, roster.text
    listed = sorted(record["member_id"] for record in roster.json()["attendance"]["records"])
    assert listed == sorted([ids["m1"], ids["m2"]]), roster.json()


@pytest.mark.parametrize("source", ["registered", "unregistered"])
async def test_a_2_mb_event_is_a_413_whatever_its_source(
    system: RunningSystem, province: dict[str, str], source: str
) -> None:
    sent_as = FEED if source == "registered" else "urn:test:nobody-registered-this"
    event = member(random_id("big"), province["thon1"]) | {"source": sent_as}
    event["data"]["full_name"] = "x" * (2 * 1024 * 1024)
    response = await post_events(system, province["feed_token"], json.dumps(event).encode(), batch=False)
    assert response.status_code == 413, response.text
    assert response.json()["message"].startswith("body: larger than 1048576 bytes"), response.text
