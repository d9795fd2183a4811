"""A new user's trial of the record page ("Ghi nhận buổi sinh hoạt"), through the running system:
1. a meeting recorded as already held, all its members marked present, still offered "Đổi lịch" and "Hủy"; moved to
   a later date it was accepted and mailed, then read "Đã lên lịch (đã điểm danh, đang chờ biên bản) … chưa diễn ra"
   with 14 present. A meeting that took place (begun, attendance taken) is neither cancelled nor moved ahead by its
   secretary (meetings' `meeting_took_place`), on the web form and the API alike; the page reads "Đã diễn ra, đang
   chờ biên bản", offers no cancel and only "Sửa thời điểm đã diễn ra" (to a start already past: held on another
   day than planned, its minutes are refused until its start is corrected);
2. a meeting still ahead showed its attendance and minutes forms, whose sending only said it had not begun: they are
   shown once it has begun, the page saying from when;
3. a refusal about the meeting's state (a meeting cancelled meanwhile, one that took place) opened "Vui lòng sửa:",
   which nothing on the form fixes: it opens "Không thực hiện được:"."""

import random
import re
from datetime import datetime, timedelta

import httpx
import pytest

from shared.periods import VIETNAM_TZ
from tests.support.system import RunningSystem
from tests.web.conftest import csrf_of, signed_in
from tests.web.test_held_form import CELL, free_evening, record_held, text

pytestmark = pytest.mark.e2e


async def test_a_meeting_that_took_place_is_only_corrected_never_moved_ahead_nor_cancelled_and_reads_held(
    system: RunningSystem, province: dict[str, str]
) -> None:
    async with signed_in(system, "secretary") as client:
        held_at = await free_evening(client, province["secretary"])
        meeting_id = await record_held(client, held_at)
        record = f"/app/meetings/{meeting_id}/record"
        before = (await client.get(record)).text  # a page opened before the attendance: it still shows both forms
        assert f"{record.removesuffix('/record')}/reschedule" in before and "/cancel" in before
        members = re.findall(r'name="member" value="([^"]+)"', before)
        assert members
        roster = {"csrf": csrf_of(before), "member": members, **{f"status-{m}": "present" for m in members}}
        taken = await client.post(f"{record.removesuffix('/record')}/attendance", data=roster)
        assert taken.status_code == 303, text(taken.text)

        async def settled() -> str:
            for _ in range(60):
                page = (await client.get(record)).text
                if 'id="roster"' in page or "đang chờ biên bản" in text(page) and "Đã lên lịch" not in text(page):
                    return page
                await _pause()
            return page

        after = await settled()
        said = text(after)
        assert "Đã diễn ra, đang chờ biên bản" in said, said
        assert "Đã lên lịch" not in said and "chưa diễn ra" not in said
        assert "/cancel" not in after and "Đổi lịch" not in said  # not called off, not moved ahead
        # its start is still corrected to when it really took place, so minutes of another day can follow
        assert "/reschedule" in after and "Sửa thời điểm đã diễn ra" in said, said

        later = datetime.now(VIETNAM_TZ) + timedelta(days=22)
        moved = await client.post(
            f"{record.removesuffix('/record')}/reschedule",
            data={"csrf": csrf_of(before), "start_date": f"{later:%Y-%m-%d}", "start_time": "19:30"},
        )
        assert moved.status_code == 422
        moved_said = text(moved.text)
        assert "Vui lòng sửa:" in moved_said, moved_said  # a start already past is taken: a mistake to fix
        assert (
            "Ngày: buổi sinh hoạt này đã diễn ra và đã được điểm danh; chỉ có thể sửa lại thời điểm đã diễn ra, không"
            " thể dời sang một thời điểm chưa tới." in moved_said
        ), moved_said
        really = held_at - timedelta(minutes=30)
        corrected = await client.post(
            f"{record.removesuffix('/record')}/reschedule",
            data={"csrf": csrf_of(before), "start_date": f"{really:%Y-%m-%d}", "start_time": f"{really:%H:%M}"},
        )
        assert corrected.status_code == 303, text(corrected.text)
        called_off = await client.post(
            f"{record.removesuffix('/record')}/cancel", data={"csrf": csrf_of(before), "reason": "Trùng lịch"}
        )
        assert called_off.status_code == 422
        assert "Không thực hiện được:" in text(called_off.text) and "đã được điểm danh" in text(called_off.text)

    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {province['secretary']}"}
    ) as api:
        body = {"starts_at": later.isoformat(timespec="seconds"), "reason": "Dời lịch"}
        refused = await api.post(f"/v1/meetings/{meeting_id}/reschedule", json=body)
        assert refused.status_code == 422, refused.text
        assert (refused.json()["field"], refused.json()["reason_code"]) == ("starts_at", "meeting_took_place")
        refused = await api.post(f"/v1/meetings/{meeting_id}/cancel", json={"reason": "Trùng lịch"})
        assert refused.status_code == 422 and refused.json()["reason_code"] == "meeting_took_place", refused.text


async def _pause() -> None:
    import asyncio

    await asyncio.sleep(0.5)


async def test_a_meeting_ahead_shows_no_attendance_nor_minutes_form_and_a_cancelled_one_is_not_to_be_fixed(
    system: RunningSystem, province: dict[str, str]
) -> None:
    ahead = (datetime.now(VIETNAM_TZ) + timedelta(days=random.randint(30, 300))).replace(
        hour=random.randint(6, 21), minute=random.choice([0, 15, 30, 45]), second=0, microsecond=0
    )
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {province['secretary']}"}
    ) as api:
        body = {"kind": "extraordinary", "starts_at": ahead.isoformat(), "location": "Hội trường", "agenda": ["Bão"]}
        made = await api.post(f"/v1/cells/{CELL}/meetings", json={**body, "confirm_same_time": True})
        assert made.status_code in (200, 201, 202), made.text
        meeting_id = made.json()["subject"]
    async with signed_in(system, "secretary") as client:
        record = f"/app/meetings/{meeting_id}/record"
        page = (await client.get(record)).text
        for _ in range(60):
            if "meeting-status" in page:
                break
            await _pause()
            page = (await client.get(record)).text
        said = text(page)
        assert 'id="roster-form"' not in page and "/attendance" not in page and "/minutes" not in page
        assert f"Có thể điểm danh và ghi biên bản từ {ahead:%H:%M} " in said, said
        assert f"ngày {ahead:%d/%m/%Y}, khi buổi sinh hoạt bắt đầu." in said
        assert "/reschedule" in page  # still movable: it has not taken place

        cancelled = await client.post(
            f"/app/meetings/{meeting_id}/cancel", data={"csrf": csrf_of(page), "reason": "Bão"}
        )
        assert cancelled.status_code == 303, text(cancelled.text)
        later = ahead + timedelta(days=1)
        moved = await client.post(
            f"/app/meetings/{meeting_id}/reschedule",
            data={"csrf": csrf_of(page), "start_date": f"{later:%Y-%m-%d}", "start_time": "19:30"},
        )
        assert moved.status_code == 422
        moved_said = text(moved.text)
        assert "Không thực hiện được: Buổi sinh hoạt này đã bị hủy" in moved_said, moved_said
        assert "Vui lòng sửa" not in moved_said
