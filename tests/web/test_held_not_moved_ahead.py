"""A trial of a meeting recorded as already held ("Ghi buổi sinh hoạt đã diễn ra"), no roster nor minutes yet, through
the running system: "Đổi lịch" moved it to a date still ahead (303) and every member got a mail that the meeting of
that past day "được chuyển sang…", a meeting they were never told of (recording a held meeting sends no notice). Its
secretary only corrects when it took place (a start already past), on the web form and the API alike (meetings'
check_not_taken_place); the form says so on its date and points to cancelling it, which stays possible."""

from datetime import datetime, timedelta

import httpx
import pytest

from shared.periods import VIETNAM_TZ
from tests.support.system import RunningSystem
from tests.web.conftest import csrf_of, signed_in
from tests.web.test_held_form import free_evening, record_held, text

pytestmark = pytest.mark.e2e


async def test_a_meeting_recorded_as_held_is_not_moved_ahead_but_may_be_cancelled(
    system: RunningSystem, province: dict[str, str]
) -> None:
    async with signed_in(system, "secretary") as client:
        held_at = await free_evening(client, province["secretary"])
        meeting_id = await record_held(client, held_at)
        base = f"/app/meetings/{meeting_id}"
        page = (await client.get(f"{base}/record")).text
        assert f"{base}/reschedule" in page and f"{base}/cancel" in page

        later = datetime.now(VIETNAM_TZ) + timedelta(days=16)
        moved = await client.post(
            f"{base}/reschedule",
            data={"csrf": csrf_of(page), "start_date": f"{later:%Y-%m-%d}", "start_time": "19:30"},
        )
        assert moved.status_code == 422, text(moved.text)
        said = text(moved.text)
        assert "Ngày: buổi sinh hoạt này đã được ghi là đã diễn ra" in said, said
        assert "không thể dời sang một thời điểm chưa tới" in said and "hủy buổi sinh hoạt" in said, said

    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {province['secretary']}"}
    ) as api:
        body = {"starts_at": later.isoformat(timespec="seconds"), "reason": "Dời lịch"}
        refused = await api.post(f"/v1/meetings/{meeting_id}/reschedule", json=body)
        assert refused.status_code == 422, refused.text
        assert (refused.json()["field"], refused.json()["reason_code"]) == ("starts_at", "meeting_took_place")
        stored = (await api.get(f"/v1/meetings/{meeting_id}")).json()
        assert datetime.fromisoformat(stored["starts_at"].replace("Z", "+00:00")) == held_at, stored

    async with signed_in(system, "secretary") as client:
        page = (await client.get(f"{base}/record")).text
        really = held_at - timedelta(minutes=30)  # a correction to a start already past is taken
        corrected = await client.post(
            f"{base}/reschedule",
            data={"csrf": csrf_of(page), "start_date": f"{really:%Y-%m-%d}", "start_time": f"{really:%H:%M}"},
        )
        assert corrected.status_code == 303, text(corrected.text)
        page = (await client.get(f"{base}/record")).text
        called_off = await client.post(f"{base}/cancel", data={"csrf": csrf_of(page), "reason": "Không diễn ra"})
        assert called_off.status_code == 303, text(called_off.text)
