"""In Debian's Chromium: the secretary's roster form disables a line's reason box while its status takes no reason
(absent without leave, present), so the browser no longer lets the secretary type what the server then refuses
(reason_for_unexcused); what was typed comes back when an excused absence is chosen again."""

import pytest

from tests.support.system import RunningSystem
from tests.web.conftest import sign_in
from tests.web.test_record_values import begun_meeting

pytestmark = pytest.mark.e2e


async def test_an_unexcused_absence_has_no_usable_reason_box(
    browser: object, system: RunningSystem, province: dict[str, str]
) -> None:
    begun, _starts = await begun_meeting(system, province)  # a meeting ahead shows no roster form until it begins
    page = await sign_in(browser, system, "secretary")  # type: ignore[arg-type]
    await page.wait_for_url("**/app/cells/demo-cb-thon-1")
    await page.goto(f"{system.gateway_url}/app/meetings/{begun}/record")
    await page.wait_for_selector("#roster-form")
    status = page.locator('#roster-form select[name^="status-"]').first
    member = (await status.get_attribute("name") or "").removeprefix("status-")
    reason = page.locator(f'#roster-form input[name="reason-{member}"]')
    await status.select_option("excused")
    await reason.fill("Ốm")
    assert await reason.is_editable()
    await status.select_option("absent")
    assert not await reason.is_editable()
    await status.select_option("present")
    assert not await reason.is_editable()
    await status.select_option("excused")
    assert await reason.is_editable()
    assert await reason.input_value() == "Ốm"
    await page.context.close()
