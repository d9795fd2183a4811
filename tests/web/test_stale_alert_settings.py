"""A new user's trial of the alert settings against the real services: two tabs on the page, "Nhắc lịch" set to 5 in
one, then to 7 from the stale one, which still carried `was.hours_before=3`: both "Đã lưu.", and 7 stood. A change
to a value changed since the form was shown is refused, saying its value now."""

import html
import re

import pytest

from tests.support.system import RunningSystem
from tests.web.conftest import csrf_of, signed_in
from tests.web.test_stale_pages import inputs

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("province")]
"""The demo's accounts and committees come with the province: run alone, the commune officer did not exist yet."""


async def test_an_alert_setting_saved_from_a_tab_opened_before_another_save_is_refused(system: RunningSystem) -> None:
    """Nhắc lịch set to 5 in one tab, then to 7 from a tab still showing 3 (`was.hours_before`): refused, saying it
    is 5 now, and 5 kept; a save from the refreshed page is taken."""
    committee, rule = "demo-xa-hoa-binh", "meeting_reminder"
    page_path, action = f"/app/committees/{committee}/alerts", f"/app/committees/{committee}/alerts/{rule}"
    async with signed_in(system, "commune-officer") as first, signed_in(system, "commune-officer") as second:
        fresh = (await first.get(page_path)).text
        stale = (await second.get(page_path)).text
        shown = inputs(stale, f"/alerts/{rule}")
        before = int(str(shown["was.hours_before"]))
        one, other = before + 2, before + 4
        try:
            saved = await first.post(action, data=inputs(fresh, f"/alerts/{rule}") | {"hours_before": str(one)})
            assert saved.status_code == 303, html.unescape(saved.text)[-2000:]
            refused = await second.post(action, data=shown | {"hours_before": str(other)})
            page = html.unescape(refused.text)
            assert refused.status_code == 422, page[-2000:]
            said = (
                "Thiết lập cảnh báo này đã được thay đổi sau khi đồng chí mở trang này: "
                f"Số giờ trước giờ sinh hoạt hiện là {one}. Chưa có gì được lưu: biểu mẫu đang giữ nội dung đồng chí"
                " đã nhập"
            )
            assert said in page, page[-3000:]
            again = inputs(page, f"/alerts/{rule}")
            # what this tab typed is kept, the value now stored carried as what the page showed
            assert (again["hours_before"], again["was.hours_before"]) == (str(other), str(one))
            now_shown = html.unescape((await first.get(page_path)).text)
            assert re.search(rf'data-value="hours_before">{one} ', now_shown)
            taken = await second.post(action, data=again | {"hours_before": str(other)})
            assert taken.status_code == 303, html.unescape(taken.text)[-2000:]
        finally:
            # the commune's reminder given back to the level above, as other tests expect it
            latest = (await first.get(page_path)).text
            reset = {"csrf": csrf_of(latest), "what": "hours_before"}
            await first.post(f"{action}/reset", data=reset)
