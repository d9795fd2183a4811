"""The minutes form's chair, recorder and task assignee lists start with an empty "— Chọn … —" choice, so nothing is
recorded for a person nobody chose (a trial saved the minutes untouched and recorded the list's first name as the
recorder and the task's assignee); a form left without one is refused naming the field in Vietnamese. The refused
form's error summary takes the focus and links each message to its field, which is marked aria-invalid and
described by its message (GOV.UK error summary)."""

from datetime import timedelta

import pytest
from playwright.async_api import Browser

from tests.support.system import RunningSystem
from tests.web.conftest import sign_in
from tests.web.test_record_values import begun_meeting

pytestmark = pytest.mark.e2e


async def test_minutes_people_are_chosen_and_a_refusal_links_each_message_to_its_field(
    browser: Browser, system: RunningSystem, province: dict[str, str]
) -> None:
    meeting_id, starts = await begun_meeting(system, province)
    page = await sign_in(browser, system, "secretary")
    await page.wait_for_url("**/app/cells/**")
    await page.goto(f"{system.gateway_url}/app/meetings/{meeting_id}/record")
    for name in ("chair_id", "recorder_id", "assignee-1"):
        first = page.locator(f'select[name="{name}"] option').first
        assert await first.get_attribute("value") == "", name
        assert (await first.inner_text()).startswith("— Chọn"), name
    for name in ("chair_id", "recorder_id"):  # a task row may stay empty: its assignee only with a task
        assert await page.locator(f'select[name="{name}"]').get_attribute("required") is not None, name
    assert await page.locator('select[name="recorder_id"]').input_value() == ""
    assert await page.locator('select[name="assignee-1"]').input_value() == ""
    await page.locator('select[name="chair_id"]').select_option("")
    await page.get_by_label("Giờ kết thúc").fill((starts + timedelta(minutes=90)).strftime("%H:%M"))
    await page.get_by_label("Nhiệm vụ 1").fill("Vận động các hộ làm đường")
    await page.locator("#due-1").fill((starts + timedelta(days=20)).strftime("%Y-%m-%d"))
    await page.get_by_role("button", name="Lưu biên bản").click()
    summary = page.locator("#minutes-errors")
    await summary.wait_for()
    said = await summary.inner_text()
    assert "Chủ trì: không được để trống." in said, said
    assert "Thư ký: không được để trống." in said, said
    assert "Người được giao nhiệm vụ 1: không được để trống." in said, said
    # the summary has the focus, so a screen reader reads it first
    assert await page.evaluate("document.activeElement && document.activeElement.id") == "minutes-errors"
    for name in ("chair_id", "recorder_id", "assignee-1"):
        field = page.locator(f'select[name="{name}"]')
        link = summary.locator(f'a[href="#{await field.get_attribute("id")}"]')
        assert await link.count() == 1, name
        assert await field.get_attribute("aria-invalid") == "true", name
        described = await field.get_attribute("aria-describedby")
        assert described, name
        message = await page.locator(f"#{described.split()[0]}").inner_text()
        assert message.strip() == (await link.inner_text()).strip(), name
    await summary.locator('a[href="#recorder_id"]').click()
    assert await page.evaluate("document.activeElement && document.activeElement.name") == "recorder_id"
    await page.context.close()
