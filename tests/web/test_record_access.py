"""The record page is the cell secretary's: the meeting page links to it only for them (and to the confirmation for
the upper-level monitor who follows the cell); anyone else who sees the meeting gets the app's 403 page in Vietnamese
on the page and its forms, and a meeting outside what they see is the app's 404 page."""

import pytest

from tests.support.system import RunningSystem
from tests.web.conftest import csrf_of, signed_in

pytestmark = pytest.mark.e2e

MEETING = "demo-cb-thon-1-2026-11"
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
        outside = await client.get("/app/meetings/demo-cb-kp-3-2026-11/record")
        assert outside.status_code == 404 and "Không tìm thấy trang" in outside.text
