"""In Debian's Chromium: a record page's unseen first button (the one form's Enter target: secretary.keep_typed) is
no part of the page's text. A trial copied a record page and found "Giữ nội dung đã nhập" in what it pasted; it
stays the button Enter sends, still out of the keyboard's Tab order and of what a screen reader reads."""

import pytest
from playwright.async_api import Browser

from tests.support.system import RunningSystem
from tests.web.conftest import sign_in
from tests.web.test_record_values import AHEAD, HELD

pytestmark = pytest.mark.e2e

NAME = "Giữ nội dung đã nhập"

# the one form's default button (the first submit control, which Enter sends) and whether Tab reaches it
ENTER_TARGET = """() => {
  const button = document.querySelector('#record-form').querySelector('button[type=submit], input[type=submit]');
  return {html: button.outerHTML, tabIndex: button.tabIndex, hidden: button.getAttribute('aria-hidden'),
          formaction: button.getAttribute('formaction')};
}"""


async def test_the_enter_target_is_no_part_of_the_record_pages_text(
    browser: Browser, system: RunningSystem, province: dict[str, str]
) -> None:
    for who, meeting_id in (("secretary", AHEAD), ("secretary", HELD)):
        page = await sign_in(browser, system, who, width=1366)
        try:
            await page.goto(f"{system.gateway_url}/app/meetings/{meeting_id}/record")
            await page.locator("#record-form").wait_for(state="attached")
            text = await page.evaluate("document.body.innerText")
            assert NAME not in text, (who, meeting_id, text[text.find(NAME) - 80 : text.find(NAME) + 80])
            target = await page.evaluate(ENTER_TARGET)
            # the Enter target: no part's address of its own, out of the Tab order, hidden from screen readers
            assert target["formaction"] is None and target["tabIndex"] == -1 and target["hidden"] == "true", target
            assert await page.get_by_role("button", name=NAME).count() == 0
        finally:
            await page.context.close()


async def test_enter_in_a_field_still_posts_the_record_page_and_tab_never_reaches_its_target(
    browser: Browser, system: RunningSystem, province: dict[str, str]
) -> None:
    page = await sign_in(browser, system, "secretary", width=1366)
    record = f"/app/meetings/{AHEAD}/record"
    try:
        await page.goto(system.gateway_url + record)
        field = page.locator("#record-form input[type=text]:visible, #record-form input:not([type]):visible").first
        await field.focus()
        # Tab from the field around the form: never onto the unseen button
        reached = []
        for _ in range(60):
            await page.keyboard.press("Tab")
            reached.append(await page.evaluate("document.activeElement.outerHTML.slice(0, 160)"))
        assert not [html for html in reached if NAME in html or 'aria-hidden="true"' in html], reached
        await field.focus()
        async with page.expect_request(lambda request: request.method == "POST") as posted:
            await page.keyboard.press("Enter")
        assert (await posted.value).url == system.gateway_url + record
        await page.locator("#record-form").wait_for(state="attached")
    finally:
        await page.context.close()
