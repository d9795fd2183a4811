"""A meeting not begun whose roster an integration sent ahead of time: members see it among their upcoming meetings,
and the upper-level monitor is not offered to confirm its assessment (the form would refuse a meeting not held)."""

import uuid
from datetime import datetime, timedelta

import httpx
import pytest

from shared.periods import VIETNAM_TZ
from tests.support.system import RunningSystem
from tests.web.conftest import cell_members, extraordinary_meeting, feed, feed_event, signed_in

pytestmark = pytest.mark.e2e

CELL = "demo-cb-thon-1"  # followed by the demo's monitor; the demo's member belongs to it
FEED = "urn:test:meetings-ahead"


async def test_a_meeting_ahead_with_its_roster_is_upcoming_and_not_offered_for_confirmation(
    system: RunningSystem, province: dict[str, str]
) -> None:
    starts = (datetime.now(VIETNAM_TZ) + timedelta(days=40)).replace(hour=19, minute=30, second=0, microsecond=0)
    meeting_id = f"{CELL}-ahead-{uuid.uuid4().hex[:8]}"
    roster = [{"member_id": m["id"], "status": "present"} for m in await cell_members(system, province, CELL)]
    scheduled = extraordinary_meeting(meeting_id, CELL, starts, "Bàn kế hoạch tháng tới")
    events = [
        feed_event("meeting.scheduled.v1", scheduled, source=FEED),
        feed_event("attendance.recorded.v1", {"meeting_id": meeting_id, "records": roster}, source=FEED),
    ]
    await feed(system, events, sub="api-feed-ahead")
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as api:
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
