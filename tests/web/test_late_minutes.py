"""A cancelled meeting needs no minutes: the committee page's list of meetings with late minutes drops it once it is
cancelled (the trial saw it listed beside a meeting page saying "Đã hủy"). Against the real services, seeded with the
demo province; the late alerts come from notifications' own jobs on the real clock."""

from datetime import timedelta

import httpx
import pytest

from shared.envelope import now
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import PERIOD, signed_in

pytestmark = pytest.mark.e2e

CELL = "demo-cb-thon-1"
COMMITTEE = "demo-xa-hoa-binh"  # thôn 1's superior committee: it hears of minutes late past the further days


def late_section(page: str) -> str:
    """The committee page's list of meetings with late minutes."""
    return page.split('id="late-minutes"', 1)[1].split("</ul>", 1)[0]


async def test_a_cancelled_meeting_leaves_the_committees_late_minutes_list(
    system: RunningSystem, province: dict[str, str]
) -> None:
    starts = now() - timedelta(days=6)  # past the 2 + 3 days after which the superior committee hears of it
    secretary = {"Authorization": f"Bearer {province['secretary']}"}
    body = {"kind": "extraordinary", "starts_at": starts.isoformat(), "location": "Nhà văn hóa thôn 1"}
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as api:
        scheduled = await api.post(
            f"/v1/cells/{CELL}/meetings", json={**body, "agenda": ["Bàn việc"]}, headers=secretary
        )
        assert scheduled.status_code == 202, scheduled.text
        meeting_id = scheduled.json()["subject"]
        link = f'/meetings/{meeting_id}"'
        async with signed_in(system, "commune-officer") as officer:

            async def listed() -> bool:
                page = await officer.get(f"/app/committees/{COMMITTEE}?period={PERIOD}")
                return link in late_section(page.text)

            await eventually(listed, timeout=120, interval=0.5)
            assert await late_alerts(api, province, meeting_id) == 1

            cancelled = await api.post(
                f"/v1/meetings/{meeting_id}/cancel", json={"reason": "Lên lịch nhầm"}, headers=secretary
            )
            assert cancelled.status_code == 202, cancelled.text

            async def dropped() -> bool:
                page = await officer.get(f"/app/committees/{COMMITTEE}?period={PERIOD}")
                return link not in late_section(page.text)

            await eventually(dropped, timeout=60, interval=0.5)
            meeting = await officer.get(f"/app/meetings/{meeting_id}")
            assert "Đã hủy" in meeting.text
            assert await late_alerts(api, province, meeting_id) == 0  # the API's inbox no longer counts it either


async def late_alerts(api: httpx.AsyncClient, province: dict[str, str], meeting_id: str) -> int:
    """The commune committee's late-minutes alerts about the meeting, read through the API by the province officer."""
    headers = {"Authorization": f"Bearer {province['officer']}"}
    page = (await api.get(f"/v1/committees/{COMMITTEE}/inbox?limit=200", headers=headers)).json()
    return sum(
        1
        for item in page["items"]
        if item["subject_id"] == meeting_id and str(item["rule"] or "").startswith("minutes")
    )
