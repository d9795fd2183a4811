"""In Debian's Chromium, a trial: the commune's officer (demo's `can-bo-xa`) found no way to choose how their
committee's notices come, single notices or the daily digest. The alert settings page now offers it; the choice
reaches notifications, and the province's officer may not make it for the commune (403)."""

import httpx
import pytest
from playwright.async_api import Browser

from tests.support.system import RunningSystem
from tests.web.conftest import officer_api_headers, sign_in

pytestmark = pytest.mark.e2e


async def test_the_communes_officer_switches_the_committee_from_the_digest_to_single_notices(
    browser: Browser, system: RunningSystem, api: httpx.AsyncClient
) -> None:
    path = "/v1/committees/demo-xa-hoa-binh/preferences"
    commune = await officer_api_headers(system, committee="demo-xa-hoa-binh", sub="delivery-h446")
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30, headers=commune) as officer:
        before = (await officer.get(path)).json()
        assert before["digest"] is True and before["stored"] is False  # committees start on the digest
        page = await sign_in(browser, system, "commune-officer")
        await page.wait_for_url("**/app/committees/demo-xa-hoa-binh")
        await page.goto(system.gateway_url + "/app/committees/demo-xa-hoa-binh/alerts")
        section = page.locator("#delivery")
        await section.get_by_role("heading", name="Cách cấp ủy nhận thông báo").wait_for()
        assert await section.get_by_label("Gộp thành một bản tổng hợp mỗi ngày").is_checked()
        await section.get_by_label("Gửi ngay từng thông báo").check()
        await section.get_by_role("button", name="Lưu").click()
        await page.wait_for_url("**notice=delivery*")
        assert "Đã lưu cách cấp ủy nhận thông báo." in await page.locator("#delivery-saved").inner_text()
        assert await page.locator("#delivery").get_by_label("Gửi ngay từng thông báo").is_checked()
        after = (await officer.get(path)).json()
        assert after["digest"] is False and after["stored"] is True and "email" in after["channels"]
        await page.context.close()
    assert (await api.get(path)).status_code == 403  # the province's officer: not their own committee
