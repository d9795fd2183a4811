"""In Debian's Chromium at a phone's 390 px: the operator page's card "Dịch vụ và hàng đợi" scrolled sideways inside
its box and cut its lines ("…tin đã giao nhưng chưa xác nhận xử lý x…", one element 455 px wide), while the page
itself did not scroll, so the page's own width check passed. Every element of the page now fits the screen, and the
lines that start with a word start with a capital ("Đo lúc 21:24:21", not "đo lúc")."""

import pytest
from playwright.async_api import Browser

from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import screenshot, sign_in, web_account

pytestmark = pytest.mark.e2e

PHONE = 390
OPERATOR = "van-hanh-dien-thoai"

WIDER_THAN_THE_SCREEN = """() => {
  const hidden = (element) => {
    for (let e = element; e; e = e.parentElement) {
      const style = getComputedStyle(e);
      if (style.display === "none" || (style.position === "absolute" && style.clip !== "auto")) return true;
    }
    return false;
  };
  return Array.from(document.querySelectorAll("body *"))
    .filter((e) => !hidden(e))
    .map((e) => [e, e.getBoundingClientRect()])
    // a skip link waits off the screen's left edge until focused
    .filter(([e, r]) => r.width > 0 && r.right > 0 && (r.left < -1 || r.right > innerWidth + 1
      || e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== "visible"))
    .map(([e, r]) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
      + (e.dataset.queue ? "[" + e.dataset.queue + "]" : "")
      + ` ${Math.round(r.left)}..${Math.round(r.right)} px (scroll ${e.scrollWidth}/${e.clientWidth})`);
}"""
"""The shown elements that reach past the screen's edges, or whose box scrolls sideways, each `tag#id left..right`."""


async def test_every_element_of_the_operations_page_fits_a_phone(
    browser: Browser, system: RunningSystem, province: dict[str, str]
) -> None:
    await web_account(system, OPERATOR, "operator", None, None)
    page = await sign_in(browser, system, OPERATOR, width=PHONE)
    await page.wait_for_url("**/app/operations")

    async def queues_counted() -> bool:
        """The services' queues listed with their waiting and unacknowledged parts (the trial's long line)."""
        await page.reload()
        return await page.locator("#services small[data-backlog-parts]").count() > 0

    await eventually(queues_counted, timeout=120, interval=1)
    await screenshot(page, "operations-phone-check")
    wider = await page.evaluate(WIDER_THAN_THE_SCREEN)
    assert wider == [], "\n".join(wider)
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    measured = await page.locator("#measured-at").inner_text()
    assert measured.startswith("Đo lúc "), measured
