"""A form kept through a sign-in (static/kept-forms.js) while someone else changed the same record: secretary A typed
the minutes, her session ended, she sent them and was sent to sign in; meanwhile secretary B saved other minutes.
Filled back in, A's form named no field and its stale `was.minutes` made the server refuse it and show B's minutes,
A's typing lost. The refilled form now names each field someone else changed meanwhile, with their value and the
value kept; a field A had not touched takes B's value, a field both changed waits for A's choice (nothing is sent
until then), and what is stored is what A chose. The reschedule form's place is judged the same way."""

import re
from datetime import datetime, timedelta

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from shared.envelope import now
from shared.periods import VIETNAM_TZ
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import DEMO, history_meeting, web_account
from tests.web.test_form_kept_through_sign_in import (
    CELL,
    KEPT_NOTE,
    SECRETARY,
    end_session,
    new_tab,
    session_of,
    sign_in_on,
)

pytestmark = pytest.mark.e2e

CHANGED_TITLE = "Trong lúc phiên đăng nhập của đồng chí đã kết thúc, người khác đã sửa nội dung này"
CHOOSE = "Vui lòng chọn giữ nội dung nào cho từng mục nêu trên rồi gửi lại."
KEEP_MINE = "Giữ nội dung đồng chí đã nhập"
TAKE_THEIRS = "Dùng nội dung người khác đã lưu"


@pytest.fixture(scope="module")
async def two_secretaries(system: RunningSystem, province: dict[str, str]) -> tuple[str, str]:
    """Two accounts of the cell's secretary: A, whose session ends, and B, who saves meanwhile."""
    for sub in ("changed-meanwhile-a", "changed-meanwhile-b"):
        await web_account(system, sub, "secretary", CELL, SECRETARY)
    return "changed-meanwhile-a", "changed-meanwhile-b"


async def save_minutes(page: Page, fields: dict[str, str]) -> None:
    """Fill the minutes form the tab shows with `fields` (input id → value) and save it."""
    form = page.locator("#record-form")
    for field, value in fields.items():
        await form.locator(f"#{field}").fill(value)
    recorder = form.locator("#recorder_id")
    if not await recorder.input_value():  # since h443 its list starts empty, and the form is not sent without one
        await recorder.select_option(index=1)
    await form.locator('button[formaction$="/minutes"]').click()
    await page.wait_for_url(re.compile(r".*notice=.*"))


async def stored_minutes(api: httpx.AsyncClient, meeting_id: str, key: str, value: str) -> dict[str, object]:
    """The meeting's minutes once their `key` is `value` (meetings stores them after the page's answer)."""

    async def saved() -> bool:
        minutes = (await api.get(f"/v1/meetings/{meeting_id}")).json().get("minutes") or {}
        return minutes.get(key) == value

    await eventually(saved, timeout=120, interval=0.5)
    minutes: dict[str, object] = (await api.get(f"/v1/meetings/{meeting_id}")).json()["minutes"]
    return minutes


async def test_minutes_changed_by_another_secretary_meanwhile_are_named_and_wait_for_a_choice(
    browser: Browser, system: RunningSystem, province: dict[str, str], two_secretaries: tuple[str, str]
) -> None:
    first, second = two_secretaries
    starts = DEMO.meeting_start(DEMO.months[-5]).replace(day=23, hour=8, minute=17)
    meeting_id = await history_meeting(system, province["secretary"], CELL, starts, agenda="Bàn việc sửa cùng lúc")
    record = f"{system.gateway_url}/app/meetings/{meeting_id}/record"
    api = httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {province['secretary']}"}
    )
    a = await new_tab(browser, system, first)
    b = await new_tab(browser, system, second)
    try:
        await a.goto(record)
        await save_minutes(
            a,
            {
                "m-day": f"{starts:%Y-%m-%d}",
                "m-started": "08:20",
                "m-ended": "10:05",
                "m-content": "Nội dung ban đầu.",
                "m-conclusions": "Kết luận ban đầu.",
            },
        )
        await stored_minutes(api, meeting_id, "content", "Nội dung ban đầu.")

        # A opens the stored minutes and rewrites the content; her session ends and she sends them
        await a.goto(record)
        await a.locator("#m-content").fill("Nội dung đồng chí A viết lại.")
        await end_session(system, await session_of(a))
        await a.locator('button[formaction$="/minutes"]').click()
        await a.wait_for_url(re.compile(r".*/app/sign-in\?next=.+"))

        # meanwhile B changes the same content and the conclusions
        await b.goto(record)
        await save_minutes(b, {"m-content": "Nội dung đồng chí B sửa.", "m-conclusions": "Kết luận đồng chí B sửa."})
        await stored_minutes(api, meeting_id, "content", "Nội dung đồng chí B sửa.")

        await sign_in_on(a, first)
        await a.wait_for_url(f"**/app/meetings/{meeting_id}/record")
        await expect(a.locator("#kept-form-notice")).to_have_text(KEPT_NOTE)
        changes = a.locator("#kept-form-changes")
        await expect(changes).to_be_visible()
        await expect(changes.get_by_role("heading", name=CHANGED_TITLE)).to_be_visible()
        form = a.locator("#record-form")
        # the content both changed: named, B's value beside A's, A's kept in the field until she chooses
        content = changes.locator('[data-field-name="content"]')
        await expect(content).to_contain_text("Nội dung")
        await expect(content.locator("[data-theirs]")).to_have_text("Nội dung đồng chí B sửa.")
        await expect(content.locator("[data-kept]")).to_have_text("Nội dung đồng chí A viết lại.")
        choice = content.get_by_role("group", name="Nội dung")
        await expect(choice.get_by_role("radio")).to_have_count(2)
        assert await form.locator("#m-content").get_attribute("aria-invalid") == "true"
        assert await form.locator("#m-content").input_value() == "Nội dung đồng chí A viết lại."
        # the conclusions A had not touched: B's, said so, never reverted to what A's page showed
        conclusions = changes.locator('[data-field-name="conclusions"]')
        await expect(conclusions).to_contain_text("Kết luận")
        await expect(conclusions.locator("[data-theirs]")).to_have_text("Kết luận đồng chí B sửa.")
        assert await form.locator("#m-conclusions").input_value() == "Kết luận đồng chí B sửa."
        assert await changes.locator('[data-field-name="day"]').count() == 0  # what nobody changed is not listed

        # sending before choosing sends nothing: asked to choose, B's minutes stay stored
        await form.locator('button[formaction$="/minutes"]').click()
        await expect(changes.get_by_role("alert")).to_have_text(CHOOSE)
        assert a.url.endswith(f"/app/meetings/{meeting_id}/record")
        minutes = (await api.get(f"/v1/meetings/{meeting_id}")).json()["minutes"]
        assert minutes["content"] == "Nội dung đồng chí B sửa."

        # either value can be put in the field; A keeps hers and sends
        await choice.get_by_role("radio", name=TAKE_THEIRS).check()
        assert await form.locator("#m-content").input_value() == "Nội dung đồng chí B sửa."
        await choice.get_by_role("radio", name=KEEP_MINE).check()
        assert await form.locator("#m-content").input_value() == "Nội dung đồng chí A viết lại."
        await form.locator('button[formaction$="/minutes"]').click()
        await a.wait_for_url(re.compile(r".*notice=.*"))
        minutes = await stored_minutes(api, meeting_id, "content", "Nội dung đồng chí A viết lại.")
        assert minutes["conclusions"] == "Kết luận đồng chí B sửa."
    finally:
        await a.context.close()
        await b.context.close()
        await api.aclose()


async def test_a_place_changed_by_another_secretary_meanwhile_is_named_on_the_kept_reschedule_form(
    browser: Browser, system: RunningSystem, province: dict[str, str], two_secretaries: tuple[str, str]
) -> None:
    first, second = two_secretaries
    starts = (now().astimezone(VIETNAM_TZ) + timedelta(hours=12)).replace(second=0, microsecond=0)
    meeting_id = f"{CELL}-meanwhile-{now():%Y%m%d%H%M%S%f}"
    await history_meeting(system, province["secretary"], CELL, starts, agenda="Họp", meeting_id=meeting_id)
    record = f"{system.gateway_url}/app/meetings/{meeting_id}/record"
    a = await new_tab(browser, system, first)
    b = await new_tab(browser, system, second)
    api = httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {province['secretary']}"}
    )
    try:
        await a.goto(record)
        moved = a.locator("#record-form")
        await moved.locator("#r-location").fill("Nhà văn hóa của đồng chí A")
        await end_session(system, await session_of(a))
        await moved.locator('button[formaction$="/reschedule"]').click()
        await a.wait_for_url(re.compile(r".*/app/sign-in\?next=.+"))

        await b.goto(record)
        await b.locator("#record-form #r-location").fill("Hội trường của đồng chí B")
        await b.locator('button[formaction$="/reschedule"]').click()
        await b.wait_for_url(re.compile(r".*notice=.*"))

        async def moved_by_b() -> bool:
            return (await api.get(f"/v1/meetings/{meeting_id}")).json()["location"] == "Hội trường của đồng chí B"

        await eventually(moved_by_b, timeout=120, interval=0.5)

        await sign_in_on(a, first)
        await a.wait_for_url(f"**/app/meetings/{meeting_id}/record")
        place = a.locator('#kept-form-changes [data-field-name="location"]')
        await expect(place.locator("[data-theirs]")).to_have_text("Hội trường của đồng chí B")
        await expect(place.locator("[data-kept]")).to_have_text("Nhà văn hóa của đồng chí A")
        await moved.locator('button[formaction$="/reschedule"]').click()
        await expect(a.locator("#kept-form-changes").get_by_role("alert")).to_have_text(CHOOSE)
        await place.get_by_role("radio", name=TAKE_THEIRS).check()
        await moved.locator('button[formaction$="/reschedule"]').click()
        await a.wait_for_url(re.compile(r".*notice=.*"))
        assert (await api.get(f"/v1/meetings/{meeting_id}")).json()["location"] == "Hội trường của đồng chí B"
        starts_at = datetime.fromisoformat((await api.get(f"/v1/meetings/{meeting_id}")).json()["starts_at"])
        assert starts_at == starts
    finally:
        await a.context.close()
        await b.context.close()
        await api.aclose()
