"""A user trial: a secretary whose session had ended sent the minutes form; nothing sent without a session is acted
on and she was sent to sign in and back to the form's page (test_sign_in_return.py), but everything she had typed
was gone. The form's page keeps what was typed in the tab's sessionStorage (static/kept-forms.js) through the
sign-in, and fills it back in, saying so in Vietnamese, on the same account's page only: never the CSRF token or
the form's one-time key (the new page's are sent), never in an address or a cookie, the stale-page check's `was.*`
kept as the page showed them, dropped by any other page and after 15 minutes."""

import hashlib
import re
from datetime import datetime, timedelta

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from services.gateway.web.sessions import SESSION_COOKIE
from shared.periods import VIETNAM_TZ
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import DEMO, PASSWORD, csrf_of, free_start, history_meeting, signed_in, web_account

pytestmark = pytest.mark.e2e

CELL = "demo-cb-thon-1"
SECRETARY = "demo-cb-thon-1-dv01"
KEPT_NOTE = (
    "Phiên đăng nhập đã kết thúc nên biểu mẫu chưa được gửi. Nội dung đồng chí đã nhập được giữ lại bên dưới;"
    " vui lòng kiểm tra rồi gửi lại."
)
DRAFT = "chibo.kept-form"
SIGN_IN_PAGE = re.compile(r".*/app/sign-in\?next=.+")


async def end_session(system: RunningSystem, cookie: str) -> None:
    """The browser's session expires on the server (as after its 12 hours), the cookie left in the browser."""
    connection = await asyncpg.connect(system.env["CHIBO_DATABASE_URL"], server_settings={"search_path": "gateway"})
    try:
        ended = await connection.execute(
            "UPDATE web_session SET expires_at = now() - interval '1 second' WHERE id_hash = $1",
            hashlib.sha256(cookie.encode()).hexdigest(),
        )
    finally:
        await connection.close()
    assert ended == "UPDATE 1", ended


async def session_of(page: Page) -> str:
    """The page's session cookie."""
    return next(c["value"] for c in await page.context.cookies() if c["name"] == SESSION_COOKIE)


async def sign_in_on(page: Page, who: str) -> None:
    """Sign in on the sign-in page the tab shows."""
    await page.wait_for_url(SIGN_IN_PAGE)
    await page.get_by_label("Tên đăng nhập").fill(who)
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập").click()


async def new_tab(browser: Browser, system: RunningSystem, who: str) -> Page:
    """A new tab signed in as `who`."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    context.set_default_timeout(90_000)  # a loaded shared machine
    page = await context.new_page()
    await page.goto(system.gateway_url + "/app/sign-in?next=/app/")
    await sign_in_on(page, who)
    await page.wait_for_url(re.compile(r".*/app/(?!sign-in).*"))
    return page


@pytest.fixture(scope="module")
async def secretaries(system: RunningSystem, province: dict[str, str]) -> tuple[str, str]:
    """Two accounts of the cell's secretary (the one person), whose sessions these tests end on their own."""
    for sub in ("kept-form-secretary", "kept-form-secretary-2"):
        await web_account(system, sub, "secretary", CELL, SECRETARY)
    return "kept-form-secretary", "kept-form-secretary-2"


async def test_the_pages_mark_whose_they_are_and_a_form_sent_without_a_session_leaves_nothing_in_the_answer(
    system: RunningSystem, province: dict[str, str]
) -> None:
    """Server side: each signed-in page carries its account's mark (not its name) and the note in Vietnamese, the
    sign-in page holds a kept form, the script is the app's own file (the CSP unchanged), and a form sent without a
    session is answered with the sign-in's address alone: nothing typed in it or in a cookie."""
    marks = {}
    form_page = f"/app/cells/{CELL}/meetings/new"
    for who, page_address in (("secretary", form_page), ("member", "/app/me")):
        async with signed_in(system, who) as client:
            page = await client.get(page_address)
            assert page.status_code == 200, page.text[-500:]
            mark = re.search(r'<body data-viewer-mark="([0-9a-f]{32})"', page.text)
            assert mark, page.text[:1000]
            marks[who] = mark[1]
            assert who not in mark[1]
            assert KEPT_NOTE in page.text
            assert '<script src="/app/static/kept-forms.js" defer></script>' in page.text
            assert "script-src 'self';" in page.headers["content-security-policy"]
            if who == "secretary":
                typed = {
                    "csrf": csrf_of(page.text),
                    "location": "Nhà văn hóa giữ-lại-1",
                    "agenda": "Nội dung giữ-lại-2",
                }
                cookie = client.cookies[SESSION_COOKIE]
    assert marks["secretary"] != marks["member"]
    async with signed_in(system, "secretary") as again:  # the same account, another session: the same mark
        assert f'data-viewer-mark="{marks["secretary"]}"' in (await again.get(form_page)).text
    await end_session(system, cookie)
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30, cookies={SESSION_COOKIE: cookie}) as tab:
        sent = await tab.post(
            f"/app/cells/{CELL}/meetings", data=typed, headers={"Referer": f"{system.gateway_url}{form_page}"}
        )
        assert sent.status_code == 303 and sent.headers["location"].startswith("/app/sign-in?next="), sent.headers
        answer = str(sent.headers) + sent.text
        for value in typed.values():
            assert value not in answer and httpx.URL(params={"v": value}).query.decode() not in answer
        sign_in = await tab.get(sent.headers["location"])
        assert '<body data-kept-form="hold">' in sign_in.text, sign_in.text[:800]
        assert "giữ-lại" not in sign_in.text
        script = await tab.get("/app/static/kept-forms.js")
        assert script.status_code == 200 and "sessionStorage" in script.text


async def test_the_minutes_typed_before_the_session_ended_come_back_after_signing_in_and_are_saved(
    browser: Browser, system: RunningSystem, province: dict[str, str], secretaries: tuple[str, str]
) -> None:
    starts = DEMO.meeting_start(DEMO.months[-5]).replace(day=22, hour=8, minute=13)
    meeting_id = await history_meeting(system, province["secretary"], CELL, starts, agenda="Bàn việc giữ biên bản")
    page = await new_tab(browser, system, secretaries[0])
    await page.goto(f"{system.gateway_url}/app/meetings/{meeting_id}/record")
    form = page.locator("#record-form")
    await form.locator("#m-day").fill(f"{starts:%Y-%m-%d}")
    await form.locator("#m-started").fill("08:20")
    await form.locator("#m-ended").fill("10:05")
    await form.locator("#m-content").fill("Bàn việc đóng góp làm đường.\nPhân công vận động các hộ.")
    await form.locator("#m-conclusions").fill("Chi bộ thống nhất & giao nhiệm vụ.")
    await form.locator("#resolution-1").fill("Nghị quyết về làm đường")
    await form.locator("#votes_for-1").fill("11")
    chair = await form.locator("#chair_id option").nth(2).get_attribute("value")
    assert chair
    await form.locator("#chair_id").select_option(chair)
    # the recorder too: since h443 its list starts with an empty choice the form may not be sent with
    await form.locator("#recorder_id").select_option(chair)
    speaker = form.locator('input[name="speakers"]').nth(1)
    speaker_id = await speaker.get_attribute("value")
    await speaker.check()
    old_csrf = await form.locator('input[name="csrf"]').input_value()
    old_key = await form.locator('button[formaction$="/minutes"]').get_attribute("value")
    shown = await form.locator('input[name="was.minutes"]').input_value()

    await end_session(system, await session_of(page))
    await form.locator('button[formaction$="/minutes"]').click()
    await page.wait_for_url(SIGN_IN_PAGE)
    draft = await page.evaluate(f"sessionStorage.getItem('{DRAFT}')")
    assert draft and "Nghị quyết về làm đường" in draft
    assert old_csrf not in draft and old_key not in draft
    assert "giữ" not in page.url and "csrf" not in page.url

    await sign_in_on(page, secretaries[0])
    await page.wait_for_url(f"**/app/meetings/{meeting_id}/record")
    await expect(page.locator("#kept-form-notice")).to_have_text(KEPT_NOTE)
    form = page.locator("#record-form")
    assert await form.get_attribute("data-kept-form") == "restored"
    assert await form.locator("#m-content").input_value() == "Bàn việc đóng góp làm đường.\nPhân công vận động các hộ."
    assert await form.locator("#m-conclusions").input_value() == "Chi bộ thống nhất & giao nhiệm vụ."
    assert await form.locator("#resolution-1").input_value() == "Nghị quyết về làm đường"
    assert await form.locator("#votes_for-1").input_value() == "11"
    assert await form.locator("#m-started").input_value() == "08:20"
    assert await form.locator("#chair_id").input_value() == chair
    assert await form.locator(f'input[name="speakers"][value="{speaker_id}"]').is_checked()
    assert await form.locator('input[name="speakers"]:checked').count() == 1
    assert await form.locator('input[name="csrf"]').input_value() != old_csrf  # the new session's, never replayed
    assert await form.locator('input[name="was.minutes"]').input_value() == shown
    assert await page.evaluate(f"sessionStorage.getItem('{DRAFT}')") is None

    await form.locator('button[formaction$="/minutes"]').click()
    await page.wait_for_url(re.compile(r".*notice=.*"))
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {province['secretary']}"}
    ) as api:

        async def saved() -> bool:
            minutes = (await api.get(f"/v1/meetings/{meeting_id}")).json().get("minutes") or {}
            return minutes.get("conclusions") == "Chi bộ thống nhất & giao nhiệm vụ."

        await eventually(saved, timeout=120, interval=0.5)
        minutes = (await api.get(f"/v1/meetings/{meeting_id}")).json()["minutes"]
    assert minutes["chair_id"] == chair and minutes["speakers"] == [speaker_id]
    assert [item["text"] for item in minutes["resolutions"]] == ["Nghị quyết về làm đường"]
    await page.context.close()


async def typed_schedule(page: Page, starts: datetime, place: str) -> None:
    """Type an extraordinary meeting into the schedule form the tab shows."""
    form = page.locator('form[action$="/meetings"]')
    await form.locator("#kind").select_option("extraordinary")
    await form.locator("#start_date").fill(f"{starts:%Y-%m-%d}")
    await form.locator("#start_time").fill(f"{starts:%H:%M}")
    await form.locator("#location").fill(place)
    await form.locator("#agenda").fill("Bàn việc giữ lại biểu mẫu\nPhân công")
    await form.locator('input[name="committee_prepared"]').check()


async def test_a_schedule_typed_before_the_session_ended_comes_back_only_to_its_own_account(
    browser: Browser, system: RunningSystem, province: dict[str, str], secretaries: tuple[str, str]
) -> None:
    first, second = secretaries
    ahead = DEMO.meeting_ahead
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as client:
        # two days after this month's meeting, well ahead, at times no other test takes
        candidates = [ahead + timedelta(days=2, minutes=37 + 53 * n) for n in range(8)]
        starts = (await free_start(client, province["secretary"], CELL, candidates)).astimezone(VIETNAM_TZ)
    form_page = f"{system.gateway_url}/app/cells/{CELL}/meetings/new"
    place = f"Nhà văn hóa giữ lại {starts:%H%M}"

    # another account signing in on the same tab is never shown what the first typed
    page = await new_tab(browser, system, first)
    await page.goto(form_page)
    await typed_schedule(page, starts, "Nơi của tài khoản khác")
    await end_session(system, await session_of(page))
    await page.locator('form[action$="/meetings"] button[type="submit"]').click()
    await sign_in_on(page, second)
    await page.wait_for_url(form_page)
    await expect(page.locator("#location")).to_have_value("")
    assert await page.locator("#kept-form-notice").count() == 0
    assert await page.evaluate(f"sessionStorage.getItem('{DRAFT}')") is None

    # the same account: filled back in, then sent once
    await typed_schedule(page, starts, place)
    await end_session(system, await session_of(page))
    await page.locator('form[action$="/meetings"] button[type="submit"]').click()
    await sign_in_on(page, second)
    await page.wait_for_url(form_page)
    await expect(page.locator("#kept-form-notice")).to_have_text(KEPT_NOTE)
    assert await page.locator("#location").input_value() == place
    assert await page.locator("#start_date").input_value() == f"{starts:%Y-%m-%d}"
    assert await page.locator("#start_time").input_value() == f"{starts:%H:%M}"
    assert await page.locator("#kind").input_value() == "extraordinary"
    assert await page.locator("#agenda").input_value() == "Bàn việc giữ lại biểu mẫu\nPhân công"
    assert await page.locator('input[name="committee_prepared"]').is_checked()
    await page.locator('form[action$="/meetings"] button[type="submit"]').click()
    await page.wait_for_url("**/app/meetings/*/record?notice=scheduled")
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {province['secretary']}"}
    ) as api:
        listed = await api.get(f"/v1/cells/{CELL}/meetings", params={"period": f"{starts:%Y-%m}", "limit": 200})
        assert listed.status_code == 200, listed.text
    # the form sent without a session was not acted on: the one sent after signing in is the only one
    assert [item["location"] for item in listed.json()["items"] if item["location"] == place] == [place]
    await page.context.close()
