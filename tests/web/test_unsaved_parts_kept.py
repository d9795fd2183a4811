"""A trial's secretary chose a member's attendance, then saved the minutes: the page came back with the minutes saved
and the attendance as stored, the row chosen lost without a word. In a browser at phone width (390 px), the row
chosen before saving the minutes is still chosen after, its part marked "Chưa lưu" within the screen, and its own
button then saves it (the page is one form: secretary.unsaved_parts)."""

import httpx
import pytest
from playwright.async_api import Browser

from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import sign_in, signed_in
from tests.web.test_stale_take_stored import minutes_with_roster, stored_minutes

pytestmark = pytest.mark.e2e


async def test_a_chosen_roster_row_survives_saving_the_minutes_at_phone_width(
    browser: Browser, system: RunningSystem, api: httpx.AsyncClient, province: dict[str, str]
) -> None:
    async with signed_in(system, "secretary") as tab:
        meeting_id, _held_at, members = await minutes_with_roster(tab, province["secretary"])
    record = f"/app/meetings/{meeting_id}/record"
    absent = members[2]  # neither chair nor recorder of the minutes
    page = await sign_in(browser, system, "secretary", width=390)
    try:
        await page.goto(system.gateway_url + record)
        await page.locator(f'select[name="status-{absent}"]').select_option("excused")
        await page.locator(f'input[name="reason-{absent}"]').fill("Đi công tác")
        await page.get_by_label("Nội dung", exact=True).fill("Nội dung đã sửa")
        await page.get_by_role("button", name="Lưu biên bản").click()
        mark = page.locator("#attendance-unsaved")
        await mark.wait_for()
        assert (await mark.inner_text()).strip() == "Chưa lưu"
        box = await mark.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        assert await page.locator(f'select[name="status-{absent}"]').input_value() == "excused"
        assert await page.locator(f'input[name="reason-{absent}"]').input_value() == "Đi công tác"
        assert await page.locator("#minutes-unsaved").count() == 0  # the minutes were saved
        read = stored_minutes(api, meeting_id, province["secretary"])

        async def minutes_saved() -> bool:
            return (await read())["content"] == "Nội dung đã sửa"

        await eventually(minutes_saved, timeout=120, interval=0.5)

        await page.get_by_role("button", name="Lưu điểm danh").click()
        headers = {"Authorization": f"Bearer {province['secretary']}"}

        async def row_saved() -> bool:
            found = (await api.get(f"/v1/meetings/{meeting_id}", headers=headers)).json()
            rows = {row["member_id"]: row for row in (found.get("attendance") or {}).get("records") or []}
            return rows.get(absent, {}).get("status") == "excused" and rows[absent].get("reason") == "Đi công tác"

        await eventually(row_saved, timeout=120, interval=0.5)
    finally:
        await page.context.close()
