"""A user's trial: the minutes saved from tab B while tab A changed the same content; tab A's refused form kept
its typed content and named tab B's, but the only way to take tab B's was to type it again. Beside each input both
tabs changed, "Dùng nội dung đang lưu" shows the form again with the stored value there and every other input as
typed, saving nothing; in a browser it is reached by the keyboard, named for its input, and fits 390 px."""

import html
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import httpx
import pytest
from playwright.async_api import Browser

from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import csrf_of, sign_in, signed_in
from tests.web.test_held_form import free_evening, record_held
from tests.web.test_stale_forms_keep_typed import minutes_form, textarea
from tests.web.test_stale_pages import inputs

pytestmark = pytest.mark.e2e


async def minutes_with_roster(tab: httpx.AsyncClient, token: str) -> tuple[str, datetime, list[str]]:
    """A held meeting of thôn 1 the tab recorded with everyone present and first minutes: its id, start, members."""
    held_at = await free_evening(tab, token)
    meeting_id = await record_held(tab, held_at)
    record, path = f"/app/meetings/{meeting_id}/record", f"/app/meetings/{meeting_id}"
    page = (await tab.get(record)).text
    members = re.findall(r'name="member" value="([^"]+)"', page)
    roster = inputs(page, "/attendance") | {"csrf": csrf_of(page), "member": members}
    roster |= {f"status-{member}": "present" for member in members}
    saved = await tab.post(f"{path}/attendance", data=roster)
    assert saved.status_code == 303, html.unescape(saved.text)[-2000:]
    first = minutes_form(
        (await tab.get(record)).text,
        day=f"{held_at:%Y-%m-%d}",
        started=f"{held_at:%H:%M}",
        ended=f"{held_at + timedelta(minutes=90):%H:%M}",
        chair_id=members[0],
        recorder_id=members[1],
        content="Nội dung ban đầu",
        conclusions="Kết luận ban đầu",
    )
    saved = await tab.post(f"{path}/minutes", data=first)
    assert saved.status_code == 303, html.unescape(saved.text)[-2000:]
    return meeting_id, held_at, members


def statuses(page: str) -> dict[str, str]:
    """Each member's status the roster form of `page` has chosen."""
    found = re.findall(r'<select name="status-([^"]+)"[^>]*>.*?<option value="([^"]*)" selected', page, re.S)
    return dict(found)


def stored_minutes(api: httpx.AsyncClient, meeting_id: str, token: str) -> Callable[[], Awaitable[dict[str, str]]]:
    """What the API says the meeting's minutes now hold (content, conclusions)."""

    async def read() -> dict[str, str]:
        found = (await api.get(f"/v1/meetings/{meeting_id}", headers={"Authorization": f"Bearer {token}"})).json()
        return {key: found["minutes"][key] for key in ("content", "conclusions")}

    return read


async def test_the_stored_content_of_a_part_both_tabs_changed_is_taken_without_saving(
    system: RunningSystem, api: httpx.AsyncClient, province: dict[str, str]
) -> None:
    async with signed_in(system, "secretary") as tab_a, signed_in(system, "secretary") as tab_b:
        meeting_id, _held_at, members = await minutes_with_roster(tab_a, province["secretary"])
        record, path = f"/app/meetings/{meeting_id}/record", f"/app/meetings/{meeting_id}"
        stale = (await tab_a.get(record)).text
        other = minutes_form((await tab_b.get(record)).text, content="Nội dung B", conclusions="Kết luận B")
        assert (await tab_b.post(f"{path}/minutes", data=other)).status_code == 303
        typed = {"content": "Nội dung A", "conclusions": "Kết luận A", "self_criticism_minutes": "12"}
        refused = await tab_a.post(f"{path}/minutes", data=minutes_form(stale, **typed))
        assert refused.status_code == 422, html.unescape(refused.text)[-2000:]
        told = html.unescape(refused.text)
        for part in ("Nội dung", "Kết luận"):
            assert f'aria-label="Dùng nội dung đang lưu cho “{part}”"' in told, told[-3000:]

        # the button beside the content: the stored content there, the rest as typed, nothing saved
        taken = await tab_a.post(f"{path}/minutes", data=minutes_form(refused.text) | {"take_stored": "content"})
        shown = html.unescape(taken.text)
        assert taken.status_code == 200, shown[-3000:]  # nothing refused
        assert textarea(taken.text, "content") == "Nội dung B", shown[-3000:]
        assert textarea(taken.text, "conclusions") == "Kết luận A"
        assert inputs(taken.text, "/minutes")["self_criticism_minutes"] == "12"
        assert "Mục “Nội dung” nay hiển thị nội dung đang lưu. Chưa có gì được lưu" in shown
        assert "Kết luận: hiện đang lưu là “Kết luận B”; đồng chí đã gửi “Kết luận A”." in shown
        assert 'aria-label="Dùng nội dung đang lưu cho “Kết luận”"' in shown  # still offered for the other part
        assert 'aria-label="Dùng nội dung đang lưu cho “Nội dung”"' not in shown
        read = stored_minutes(api, meeting_id, province["secretary"])
        assert await read() == {"content": "Nội dung B", "conclusions": "Kết luận B"}  # nothing saved

        # the form sent from there saves the stored content and what was typed
        saved = await tab_a.post(f"{path}/minutes", data=minutes_form(taken.text))
        assert saved.status_code == 303, html.unescape(saved.text)[-2000:]
        wanted = {"content": "Nội dung B", "conclusions": "Kết luận A"}

        async def both_kept() -> bool:
            return await read() == wanted

        await eventually(both_kept, timeout=120, interval=0.5)

        # a roster row both tabs changed: the stored row taken, the other rows as typed
        stale, opened = (await tab_a.get(record)).text, (await tab_b.get(record)).text
        excused = inputs(opened, "/attendance") | {"csrf": csrf_of(opened), "member": members}
        excused |= {f"status-{member}": "present" for member in members}
        excused |= {f"status-{members[2]}": "excused", f"reason-{members[2]}": "Đi làm ăn xa"}
        assert (await tab_b.post(f"{path}/attendance", data=excused)).status_code == 303
        typed_roster = inputs(stale, "/attendance") | {"csrf": csrf_of(stale), "member": members}
        typed_roster |= {f"status-{member}": "present" for member in members}
        typed_roster |= {f"status-{members[2]}": "absent", f"status-{members[3]}": "absent"}
        refused = await tab_a.post(f"{path}/attendance", data=typed_roster)
        assert refused.status_code == 422, html.unescape(refused.text)[-2000:]
        again = inputs(refused.text, "/attendance") | {"csrf": csrf_of(refused.text), "member": members}
        again |= {f"status-{member}": "present" for member in members}
        again |= {f"status-{members[2]}": "absent", f"status-{members[3]}": "absent"}
        taken = await tab_a.post(f"{path}/attendance", data=again | {"take_stored": f"status-{members[2]}"})
        shown = html.unescape(taken.text)
        assert taken.status_code == 200, shown[-3000:]  # nothing refused
        chosen = dict(
            re.findall(r'<select name="status-([^"]+)"[^>]*>.*?<option value="([^"]*)" selected', shown, re.S)
        )
        assert (chosen[members[2]], chosen[members[3]]) == ("excused", "absent"), shown[-3000:]
        assert inputs(taken.text, "/attendance")[f"reason-{members[2]}"] == "Đi làm ăn xa"
        page = (await tab_a.get(record)).text
        stored_rows = dict(
            re.findall(r'<select name="status-([^"]+)"[^>]*>.*?<option value="([^"]*)" selected', page, re.S)
        )
        assert stored_rows[members[3]] == "present"  # nothing saved


async def test_the_stored_content_is_taken_from_the_keyboard_at_phone_width(
    browser: Browser, system: RunningSystem, province: dict[str, str]
) -> None:
    async with signed_in(system, "secretary") as tab_b:
        meeting_id, _held_at, _members = await minutes_with_roster(tab_b, province["secretary"])
        record, path = f"/app/meetings/{meeting_id}/record", f"/app/meetings/{meeting_id}"
        page = await sign_in(browser, system, "secretary", width=390)
        await page.goto(system.gateway_url + record)  # tab A opened; tab B saves the content
        other = minutes_form((await tab_b.get(record)).text, content="Nội dung B")
        assert (await tab_b.post(f"{path}/minutes", data=other)).status_code == 303
        await page.get_by_label("Nội dung", exact=True).fill("Nội dung A")
        await page.get_by_label("Kết luận", exact=True).fill("Kết luận A")
        await page.get_by_role("button", name="Lưu biên bản").click()
        take = page.get_by_role("button", name="Dùng nội dung đang lưu cho “Nội dung”")
        await take.wait_for()
        box = await take.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        await take.focus()
        await page.keyboard.press("Enter")
        await page.get_by_text("Mục “Nội dung” nay hiển thị nội dung đang lưu.").wait_for()
        assert await page.get_by_label("Nội dung", exact=True).input_value() == "Nội dung B"
        assert await page.get_by_label("Kết luận", exact=True).input_value() == "Kết luận A"
        await page.context.close()


async def test_an_alert_value_both_tabs_changed_is_taken_as_stored_without_saving(system: RunningSystem) -> None:
    committee, rule = "demo-xa-hoa-binh", "meeting_reminder"
    page_path, action = f"/app/committees/{committee}/alerts", f"/app/committees/{committee}/alerts/{rule}"
    async with signed_in(system, "commune-officer") as first, signed_in(system, "commune-officer") as second:
        fresh, stale = (await first.get(page_path)).text, (await second.get(page_path)).text
        shown = inputs(stale, f"/alerts/{rule}")
        before = int(str(shown["was.hours_before"]))
        one, other = before + 2, before + 4
        try:
            saved = await first.post(action, data=inputs(fresh, f"/alerts/{rule}") | {"hours_before": str(one)})
            assert saved.status_code == 303, html.unescape(saved.text)[-2000:]
            refused = await second.post(action, data=shown | {"hours_before": str(other)})
            assert refused.status_code == 422, html.unescape(refused.text)[-2000:]
            assert 'aria-label="Dùng nội dung đang lưu cho “Số giờ trước giờ sinh hoạt”"' in html.unescape(refused.text)
            again = inputs(refused.text, f"/alerts/{rule}") | {"take_stored": "hours_before"}
            taken = await second.post(action, data=again)
            page = html.unescape(taken.text)
            assert taken.status_code == 200, page[-3000:]
            assert inputs(taken.text, f"/alerts/{rule}")["hours_before"] == str(one), page[-3000:]
            assert "Mục “Số giờ trước giờ sinh hoạt” nay hiển thị nội dung đang lưu" in page
            assert "Thiết lập cảnh báo này đã được thay đổi" not in page  # nothing left to choose
            later = await first.post(action, data=inputs((await first.get(page_path)).text, f"/alerts/{rule}"))
            assert later.status_code == 303
            assert re.search(rf'data-value="hours_before">{one} ', html.unescape((await first.get(page_path)).text))
        finally:
            latest = (await first.get(page_path)).text
            await first.post(f"{action}/reset", data={"csrf": csrf_of(latest), "what": "hours_before"})
