"""In Debian's Chromium: an officer signs in, drills down province → commune → cell → meeting, sees the API's
figures, and the charts render; the keyboard alone reaches the content."""

import httpx
import pytest
from playwright.async_api import Browser

from services.gateway.web.i18n import format_moment, format_number, format_share
from tests.support.system import RunningSystem
from tests.web.conftest import DEMO, PERIOD, sign_in

pytestmark = pytest.mark.e2e


async def test_an_officer_drills_down_and_sees_the_apis_figures(
    browser: Browser, system: RunningSystem, api: httpx.AsyncClient
) -> None:
    page = await sign_in(browser, system, "officer")
    await page.wait_for_url("**/app/committees/demo-tinh-uy")
    await page.get_by_label("Kỳ", exact=True).select_option(PERIOD)
    await page.get_by_role("button", name="Xem").click()
    await page.wait_for_url(f"**period={PERIOD}")

    province = (await api.get(f"/v1/committees/demo-tinh-uy/rollup?period={PERIOD}")).json()
    assert await page.locator('[data-figure="score"]').inner_text() == format_number(province["score"])
    assert await page.locator('[data-figure="attendance_rate"]').inner_text() == format_share(
        province["attendance_rate"]
    )
    for chart in ("#chart-ratings", "#chart-trend"):
        await page.wait_for_selector(f'{chart}[data-rendered="true"] svg')
    bars = await page.locator("#chart-ratings svg path").count()
    assert bars >= 4

    await page.get_by_role("link", name="Đảng ủy xã Hòa Bình").click()
    await page.wait_for_url("**/app/committees/demo-xa-hoa-binh?period=*")
    commune = (await api.get(f"/v1/committees/demo-xa-hoa-binh/rollup?period={PERIOD}")).json()
    assert await page.locator('[data-figure="cells"]').inner_text() == str(commune["cells"])
    assert await page.locator('[data-figure="regularity"]').inner_text() == format_share(commune["regularity"])
    ranking = (await api.get(f"/v1/committees/demo-xa-hoa-binh/ranking?period={PERIOD}")).json()
    thon_2 = next(item for item in ranking["items"] if item["cell_id"] == "demo-cb-thon-2")
    row = page.locator('#children tr[data-unit="demo-cb-thon-2"]')
    assert await row.locator("[data-score]").inner_text() == format_number(thon_2["score"])

    await row.get_by_role("link").click()
    await page.wait_for_url(f"**/app/cells/demo-cb-thon-2?year={PERIOD[:4]}")
    ratings = (await api.get(f"/v1/cells/demo-cb-thon-2/ratings?period={PERIOD}")).json()
    last_month = page.locator(f'#rating-strip li[data-period="{PERIOD}"]')
    assert format_number(ratings["items"][0]["score"]) in await last_month.inner_text()

    await page.get_by_role("link", name=format_moment(DEMO.meeting_start(DEMO.months[-1]))).click()
    await page.wait_for_url(f"**/app/meetings/demo-cb-thon-2-{PERIOD}")
    score = (await api.get(f"/v1/meetings/demo-cb-thon-2-{PERIOD}/score")).json()
    assert await page.locator("#meeting-score").inner_text() == format_number(score["score"])
    assert await page.locator("#criteria tbody tr").count() == len(score["criteria"])
    crumbs = await page.get_by_role("navigation", name="Vị trí hiện tại").inner_text()
    assert "Tỉnh ủy Demo" in crumbs and "Đảng ủy xã Hòa Bình" in crumbs and "Chi bộ thôn 2" in crumbs
    await page.context.close()


async def test_the_keyboard_reaches_the_content_and_the_page_says_vietnamese(
    browser: Browser, system: RunningSystem, api: httpx.AsyncClient
) -> None:
    page = await sign_in(browser, system, "officer", width=390)
    await page.wait_for_url("**/app/committees/demo-tinh-uy")
    assert await page.get_attribute("html", "lang") == "vi"
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Chuyển đến nội dung chính"
    await page.keyboard.press("Enter")
    assert await page.evaluate("document.activeElement.id") == "main"
    # the phone-width page does not scroll sideways
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    await page.context.close()
