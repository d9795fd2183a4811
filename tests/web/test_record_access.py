"""The record page is the cell secretary's: the meeting page links to it only for them (and to the confirmation for
the upper-level monitor who follows the cell); anyone else who sees the meeting gets the app's 403 page in Vietnamese
on the page and its forms, and a meeting outside what they see is the app's 404 page."""

import pytest

from tests.support.system import RunningSystem
from tests.web.conftest import PERIOD, csrf_of, signed_in

pytestmark = pytest.mark.e2e

MEETING = f"demo-cb-thon-1-{PERIOD}"
RECORD_LINK = f'href="/app/meetings/{MEETING}/record"'


async def test_only_the_secretary_is_offered_and_given_the_record_page(
    system: RunningSystem, province: dict[str, str]
) -> None:
    async with signed_in(system, "secretary") as client:
        page = await client.get(f"/app/meetings/{MEETING}")
        assert page.status_code == 200 and RECORD_LINK in page.text
        record = await client.get(f"/app/meetings/{MEETING}/record")
        assert record.status_code == 200 and 'action="/app/meetings/' in record.text

    for who in ("officer", "commune-officer", "monitor", "member"):
        async with signed_in(system, who) as client:
            page = await client.get(f"/app/meetings/{MEETING}")
            assert page.status_code == 200 and RECORD_LINK not in page.text, who
            record = await client.get(f"/app/meetings/{MEETING}/record")
            assert record.status_code == 403, who
            assert "Không có quyền" in record.text and "Chỉ bí thư chi bộ mới ghi nhận" in record.text, who
            assert 'lang="vi"' in record.text and "<form" not in record.text.split("<main", 1)[1], who
            posted = await client.post(
                f"/app/meetings/{MEETING}/cancel", data={"csrf": csrf_of(page.text), "reason": "Thử"}
            )
            assert posted.status_code == 403 and "Không có quyền" in posted.text, who


async def test_the_monitor_is_offered_the_confirmation_and_outsiders_get_404(system: RunningSystem) -> None:
    async with signed_in(system, "monitor") as client:
        page = (await client.get(f"/app/meetings/{MEETING}")).text
        assert f'href="/app/monitoring/meetings/{MEETING}"' in page
    async with signed_in(system, "officer") as client:  # the province's officer follows no cell
        assert "/app/monitoring/meetings/" not in (await client.get(f"/app/meetings/{MEETING}")).text
    async with signed_in(system, "commune-officer") as client:  # Hòa Bình's officer; khu phố 3 is An Phú's
        outside = await client.get(f"/app/meetings/demo-cb-kp-3-{PERIOD}/record")
        assert outside.status_code == 404 and "Không tìm thấy trang" in outside.text


async def test_scheduling_is_the_secretarys_and_the_members_page_is_a_members_others_told_so_in_vietnamese(
    system: RunningSystem, province: dict[str, str]
) -> None:
    """Other roles that see the cell get a 403 page saying the cell's secretary schedules, before any field of the
    form is judged (a form with bad fields too: the secretary's form is shown to no one else); a secretary of
    another cell gets the 404 page; /app/me tells an account linked to no party member whose page it is."""
    new = "/app/cells/demo-cb-thon-1/meetings/new"
    for who in ("officer", "commune-officer", "member"):
        async with signed_in(system, who) as client:
            form = await client.get(new)
            assert form.status_code == 403 and "Chỉ bí thư chi bộ mới lên lịch sinh hoạt" in form.text, who
            meeting = await client.get(f"/app/meetings/{MEETING}")  # a page of theirs with a form, for its token
            posted = await client.post(
                "/app/cells/demo-cb-thon-1/meetings", data={"csrf": csrf_of(meeting.text), "kind": "bogus"}
            )
            assert posted.status_code == 403 and "Chỉ bí thư chi bộ mới lên lịch sinh hoạt" in posted.text, who
    async with signed_in(system, "secretary") as client:
        assert (await client.get(new)).status_code == 200
        other = await client.get("/app/cells/demo-cb-kp-3/meetings/new")
        assert other.status_code == 404 and "không thuộc đơn vị của đồng chí" in other.text
    for who in ("officer", "commune-officer"):  # accounts linked to no party member
        async with signed_in(system, who) as client:
            me = await client.get("/app/me")
            assert me.status_code == 403 and "Đây là trang riêng của đảng viên" in me.text, who
