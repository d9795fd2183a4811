"""A new user's trial (trial 42): "Đổi lịch" sent with the meeting's own date, time and place and no reason answered
"Đã ghi nhận. Trang sẽ cập nhật sau giây lát." though nothing changed and no one was told. The page now says plainly
that the schedule is unchanged, and nothing is sent."""

import html

import httpx
import pytest

from tests.support.system import RunningSystem
from tests.web.conftest import csrf_of, signed_in
from tests.web.test_stale_pages import inputs, meeting_ahead

pytestmark = pytest.mark.e2e


async def test_a_move_to_the_same_date_time_and_place_says_nothing_changed(
    system: RunningSystem, api: httpx.AsyncClient, province: dict[str, str]
) -> None:
    meeting_id, starts = await meeting_ahead(system, province)
    record = f"/app/meetings/{meeting_id}/record"
    async with signed_in(system, "secretary") as client:
        page = (await client.get(record)).text
        shown = inputs(page, "/reschedule") | {"csrf": csrf_of(page), "reason": ""}
        sent = await client.post(f"/app/meetings/{meeting_id}/reschedule", data=shown)
        assert sent.status_code == 303, html.unescape(sent.text)[-2000:]
        assert sent.headers["location"].endswith("?notice=unchanged")
        said = html.unescape((await client.get(sent.headers["location"])).text)
        assert "Lịch sinh hoạt không thay đổi: ngày, giờ và địa điểm vẫn như cũ." in said, said[-3000:]
        assert "Đã ghi nhận" not in said
    found = (await api.get(f"/v1/meetings/{meeting_id}")).json()
    assert found["starts_at"] is not None
