"""The trial's assessment through the running system: thematic-content points on an extraordinary meeting.

A new user's trial posted `{"role": "cell_committee", "points": {"conduct.thematic_content": 5}}` for an extraordinary
meeting and it was accepted with no notice, though the score never counts an item that does not apply to the
meeting's kind (DOMAIN.md's framework). The API now answers 422 naming `points.conduct.thematic_content`
(`item_not_applicable`), and an item that applies is still taken.
"""

import uuid
from datetime import datetime, timedelta

import httpx
import pytest

from shared.periods import VIETNAM_TZ
from tests.support.system import RunningSystem
from tests.web.conftest import cell_members, extraordinary_meeting, feed, feed_event

pytestmark = pytest.mark.e2e

CELL = "demo-cb-thon-1"
FEED = "urn:test:assessment-applicability"


async def test_points_for_an_item_not_applying_to_an_extraordinary_meeting_are_refused_naming_it(
    system: RunningSystem, province: dict[str, str]
) -> None:
    starts = (datetime.now(VIETNAM_TZ) - timedelta(days=2)).replace(hour=19, minute=30, second=0, microsecond=0)
    meeting_id = f"{CELL}-bt-{uuid.uuid4().hex[:8]}"
    roster = [{"member_id": m["id"], "status": "present"} for m in await cell_members(system, province, CELL)]
    events = [
        feed_event(
            "meeting.scheduled.v1", extraordinary_meeting(meeting_id, CELL, starts, "Bàn việc đột xuất"), source=FEED
        ),
        feed_event("attendance.recorded.v1", {"meeting_id": meeting_id, "records": roster}, source=FEED),
    ]
    await feed(system, events, sub="api-feed-applicability")
    headers = {"Authorization": f"Bearer {province['secretary']}"}
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30, headers=headers) as api:
        body = {"role": "cell_committee", "points": {"conduct.thematic_content": 5}}
        refused = await api.post(f"/v1/meetings/{meeting_id}/assessments", json=body)
        assert refused.status_code == 422, refused.text
        answer = refused.json()
        assert (answer["field"], answer["reason_code"]) == ("points.conduct.thematic_content", "item_not_applicable")
        taken = {"role": "cell_committee", "points": {"conduct.procedure": 4}}
        assert (await api.post(f"/v1/meetings/{meeting_id}/assessments", json=taken)).status_code == 202
        meeting = (await api.get(f"/v1/meetings/{meeting_id}")).json()
    assert [item["points"] for item in meeting["assessments"]] == [{"conduct.procedure": 4}]
