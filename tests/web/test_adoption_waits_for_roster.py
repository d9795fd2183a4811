"""The trial's steps through the running system: minutes adopted before any attendance are refused, saying why.

A new user's trial recorded a held meeting's minutes, then pressed "Chi bộ đã thông qua biên bản" with the vote boxes
empty: 303, adopted; the roster sent next was refused as `minutes_adopted`, and the meeting kept 0 on attendance,
speakers and minutes_complete for good. The adoption is now refused while no roster is recorded (DOMAIN.md
"Meetings": minutes hold members summoned, present and absent), in Vietnamese on the form and as
`roster_not_recorded` naming `meeting_id` on the API; once the roster is recorded the adoption goes through.
Another trial's adoption with both vote boxes empty was taken and scored full: the minutes are adopted by a vote
(DOMAIN.md "Meetings"), so the form asks for "Tán thành" and the API refuses the adoption naming `votes_for`.
"""

from datetime import datetime, timedelta

import httpx
import pytest

from shared.periods import VIETNAM_TZ
from tests.support.system import RunningSystem
from tests.web.conftest import signed_in
from tests.web.test_held_outcomes import CELL, OWN, _minutes, _schedule
from tests.web.test_roster_locked import errors_of

pytestmark = pytest.mark.e2e

NO_VOTES = "Tán thành: không được để trống."
NO_ROSTER = "Buổi sinh hoạt chưa được điểm danh: biên bản ghi số đảng viên được triệu tập, có mặt và vắng mặt"


async def test_an_adoption_before_the_roster_is_refused_and_goes_through_after_it(
    system: RunningSystem, province: dict[str, str]
) -> None:
    starts = (datetime.now(VIETNAM_TZ) - timedelta(hours=4)).replace(second=0, microsecond=0)
    headers = {"Authorization": f"Bearer {province['secretary']}"}
    async with (
        signed_in(system, "secretary") as client,
        httpx.AsyncClient(base_url=system.gateway_url, timeout=30, headers=headers) as api,
    ):
        members = [item["id"] for item in (await api.get(f"/v1/cells/{CELL}/members?limit=200")).json()["items"]]
        meeting_id, token = await _schedule(system, client, starts, province["secretary"])
        record = f"/app/meetings/{meeting_id}"
        saved = await client.post(f"{record}/minutes", data=_minutes(token, starts, chair=OWN[0], speakers=OWN))
        assert saved.status_code == 303, errors_of(saved.text, "minutes")
        page = (await client.get(f"{record}/record")).text
        assert 'id="adoption-needs-roster"' in page and f'action="{record}/approval"' not in page

        # the trial's press of the button (a tab opened before the page said so)
        refused = await client.post(f"{record}/approval", data={"csrf": token, "votes_for": "3", "votes_against": ""})
        assert refused.status_code == 422, refused.text[-2000:]
        assert NO_ROSTER in errors_of(refused.text, "approval")
        answer = await api.post(f"/v1/meetings/{meeting_id}/minutes/approval", json={})
        assert answer.status_code == 422, answer.text
        assert (answer.json()["field"], answer.json()["reason_code"]) == ("meeting_id", "roster_not_recorded")
        assert (await api.get(f"/v1/meetings/{meeting_id}")).json()["approved_at"] is None

        records = [{"member_id": member, "status": "present"} for member in members]
        assert (await api.put(f"/v1/meetings/{meeting_id}/attendance", json={"records": records})).status_code == 202
        # a second trial's adoption with both vote boxes empty was taken: the minutes are adopted by a vote
        unvoted = await client.post(f"{record}/approval", data={"csrf": token, "votes_for": "", "votes_against": ""})
        assert unvoted.status_code == 422, unvoted.text[-2000:]
        assert NO_VOTES in errors_of(unvoted.text, "approval")
        answer = await api.post(f"/v1/meetings/{meeting_id}/minutes/approval", json={})
        assert answer.status_code == 422, answer.text
        assert answer.json()["field"] == "votes_for", answer.text
        assert (await api.get(f"/v1/meetings/{meeting_id}")).json()["approved_at"] is None
        adopted = await client.post(f"{record}/approval", data={"csrf": token, "votes_for": "3", "votes_against": ""})
        assert adopted.status_code == 303, errors_of(adopted.text, "approval")
        meeting = (await api.get(f"/v1/meetings/{meeting_id}")).json()
        assert meeting["approved_at"] is not None and len(meeting["attendance"]["records"]) == len(members)
