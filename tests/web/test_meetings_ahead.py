"""A meeting not begun whose roster an integration sent ahead of time: members see it among their upcoming meetings,
and the upper-level monitor is not offered to confirm its assessment (the form would refuse a meeting not held)."""

import uuid
from datetime import datetime, timedelta

import httpx
import pytest

from shared.periods import VIETNAM_TZ
from tests.support.system import RunningSystem
from tests.web.conftest import api_token, signed_in

pytestmark = pytest.mark.e2e

CELL = "demo-cb-thon-1"  # followed by the demo's monitor; the demo's member belongs to it
FEED = "urn:test:meetings-ahead"


def _event(event_type: str, data: dict[str, object]) -> dict[str, object]:
    return {
        "specversion": "1.0",
        "id": f"evt-{uuid.uuid4().hex[:16]}",
        "source": FEED,
        "type": event_type,
        "time": datetime.now(VIETNAM_TZ).isoformat(timespec="seconds"),
        "datacontenttype": "application/json",
        "data": data,
    }


async def test_a_meeting_ahead_with_its_roster_is_upcoming_and_not_offered_for_confirmation(
    system: RunningSystem, province: dict[str, str]
) -> None:
    starts = (datetime.now(VIETNAM_TZ) + timedelta(days=40)).replace(hour=19, minute=30, second=0, microsecond=0)
    meeting_id = f"{CELL}-ahead-{uuid.uuid4().hex[:8]}"
    token = await api_token(system, role="integration", unit=None, sub="api-feed-ahead", province_wide=True)
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as api:
        members = (
            await api.get(
                f"/v1/cells/{CELL}/members?limit=200", headers={"Authorization": f"Bearer {province['secretary']}"}
            )
        ).json()["items"]
        events = [
            _event(
                "meeting.scheduled.v1",
                {
                    "meeting_id": meeting_id,
                    "cell_id": CELL,
                    "kind": "extraordinary",
                    "starts_at": starts.isoformat(),
                    "location": "Nhà văn hóa thôn 1",
                    "agenda": ["Bàn kế hoạch tháng tới"],
                },
            ),
            _event(
                "attendance.recorded.v1",
                {"meeting_id": meeting_id, "records": [{"member_id": m["id"], "status": "present"} for m in members]},
            ),
        ]
        sent = await api.post(
            "/v1/events",
            content=httpx.Request("POST", "/", json=events).content,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/cloudevents-batch+json"},
        )
        assert sent.status_code == 200 and sent.json()["accepted"] == len(events), sent.text
        meeting = (
            await api.get(f"/v1/meetings/{meeting_id}", headers={"Authorization": f"Bearer {province['officer']}"})
        ).json()
        assert meeting["attendance"]["records"], meeting
    async with signed_in(system, "monitor") as client:
        monitoring = await client.get("/app/monitoring")
    assert monitoring.status_code == 200
    assert 'data-meeting="' in monitoring.text  # held meetings are still listed
    assert meeting_id not in monitoring.text
    async with signed_in(system, "member") as client:
        page = await client.get("/app/me")
    assert page.status_code == 200
    upcoming = page.text.split('id="upcoming"', 1)[1].split("</ul>", 1)[0]
    assert f"/app/meetings/{meeting_id}" in upcoming
