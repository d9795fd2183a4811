"""A user's trial: the record page open in tab A, the minutes saved with a new end time in tab B, then tab A's
changed conclusions sent. The 422 named the end time, but the form showed the stored minutes and the conclusions
typed in tab A were nowhere in the answer. A stale form is refused keeping what was typed: a field only the other
tab changed shows the stored value, one changed on both sides keeps the typed value with the stored one named beside
it, and the form sent again from the refusal saves (the roster form the same, row by row)."""

import html
import re
from datetime import datetime, timedelta

import httpx
import pytest

from shared.periods import VIETNAM_TZ
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import csrf_of, signed_in
from tests.web.test_held_form import free_evening, record_held
from tests.web.test_stale_pages import form_of_button, inputs

pytestmark = pytest.mark.e2e


def minutes_form(page: str, **changed: object) -> dict[str, object]:
    """The minutes form of `page` as a browser sends it with `changed` typed: its inputs, textareas and chosen
    people as the page filled them in."""
    block, _button = form_of_button(page, "/minutes")
    form: dict[str, object] = {"csrf": csrf_of(page), **inputs(page, "/minutes")}
    for name, value in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', block, re.S):
        form[name] = html.unescape(value)
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', block, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', options)
        form[name] = chosen.group(1) if chosen else ""
    return form | changed


def textarea(page: str, name: str) -> str:
    """What the textarea `name` of `page` holds."""
    found = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', page, re.S)
    assert found, name
    return html.unescape(found.group(1))


async def test_a_stale_minutes_or_roster_form_is_refused_keeping_what_was_typed(
    system: RunningSystem, api: httpx.AsyncClient, province: dict[str, str]
) -> None:
    secretary = {"Authorization": f"Bearer {province['secretary']}"}
    async with signed_in(system, "secretary") as tab_a, signed_in(system, "secretary") as tab_b:
        held_at = await free_evening(tab_a, province["secretary"])
        meeting_id = await record_held(tab_a, held_at)
        record, path = f"/app/meetings/{meeting_id}/record", f"/app/meetings/{meeting_id}"
        page = (await tab_a.get(record)).text
        members = re.findall(r'name="member" value="([^"]+)"', page)
        roster = inputs(page, "/attendance") | {"csrf": csrf_of(page), "member": members}
        roster |= {f"status-{member}": "present" for member in members}
        saved = await tab_a.post(f"{path}/attendance", data=roster)
        assert saved.status_code == 303, html.unescape(saved.text)[-2000:]
        first = minutes_form(
            (await tab_a.get(record)).text,
            day=f"{held_at:%Y-%m-%d}",
            started=f"{held_at:%H:%M}",
            ended=f"{held_at + timedelta(minutes=90):%H:%M}",
            chair_id=members[0],
            recorder_id=members[1],
            content="Nội dung ban đầu",
            conclusions="Kết luận ban đầu",
        )
        saved = await tab_a.post(f"{path}/minutes", data=first)
        assert saved.status_code == 303, html.unescape(saved.text)[-2000:]

        stale = (await tab_a.get(record)).text  # tab A opened; tab B saves a new end time
        later = f"{held_at + timedelta(minutes=120):%H:%M}"
        saved = await tab_b.post(f"{path}/minutes", data=minutes_form((await tab_b.get(record)).text, ended=later))
        assert saved.status_code == 303, html.unescape(saved.text)[-2000:]
        refused = await tab_a.post(f"{path}/minutes", data=minutes_form(stale, conclusions="Kết luận từ tab A"))
        told = html.unescape(refused.text)
        assert refused.status_code == 422, told[-2000:]
        assert "Biên bản đã được thay đổi sau khi đồng chí mở trang này" in told, told[-3000:]
        assert "Chưa có gì được lưu: biểu mẫu bên dưới giữ nguyên nội dung đồng chí đã nhập" in told, told[-3000:]
        # what tab A typed is kept in the form; the end time only tab B changed shows what tab B saved, named
        assert textarea(refused.text, "conclusions") == "Kết luận từ tab A", told[-3000:]
        assert inputs(refused.text, "/minutes")["ended"] == later
        ended = f"Giờ kết thúc: hiện đang lưu là “{later}”; đồng chí đã gửi “{held_at + timedelta(minutes=90):%H:%M}”."
        assert told.count(ended) == 1, told[-3000:]
        assert "Đồng chí không sửa mục này nên mục này nay hiển thị nội dung người khác đã lưu." in told
        assert "Kết luận: hiện đang lưu" not in told  # stored as tab A's page showed it: tab A's own change

        # the refused form sent again as it stands saves both tabs' changes
        resent = await tab_a.post(f"{path}/minutes", data=minutes_form(refused.text))
        assert resent.status_code == 303, html.unescape(resent.text)[-2000:]

        async def both_kept() -> bool:
            found = (await api.get(f"/v1/meetings/{meeting_id}", headers=secretary)).json()["minutes"]
            ended_at = datetime.fromisoformat(found["ended_at"].replace("Z", "+00:00")).astimezone(VIETNAM_TZ)
            return bool(found["conclusions"] == "Kết luận từ tab A" and f"{ended_at:%H:%M}" == later)

        await eventually(both_kept, timeout=120, interval=0.5)

        # the same field changed in both tabs: the typed value kept, the stored one named beside it
        stale = (await tab_a.get(record)).text
        saved = await tab_b.post(f"{path}/minutes", data=minutes_form((await tab_b.get(record)).text, content="B"))
        assert saved.status_code == 303, html.unescape(saved.text)[-2000:]
        refused = await tab_a.post(f"{path}/minutes", data=minutes_form(stale, content="Nội dung từ tab A"))
        told = html.unescape(refused.text)
        assert refused.status_code == 422, told[-2000:]
        assert textarea(refused.text, "content") == "Nội dung từ tab A", told[-3000:]
        said = "Nội dung: hiện đang lưu là “B”; đồng chí đã gửi “Nội dung từ tab A”. Biểu mẫu đang giữ nội dung"
        assert told.count(said) == 1, told[-3000:]

        # the roster: tab B marks one member excused; tab A's stale form marks another one absent
        stale, other = (await tab_a.get(record)).text, (await tab_b.get(record)).text
        typed = inputs(stale, "/attendance") | {"csrf": csrf_of(stale), "member": members}
        typed |= {f"status-{member}": "present" for member in members} | {f"status-{members[3]}": "absent"}
        excused = inputs(other, "/attendance") | {"csrf": csrf_of(other), "member": members}
        excused |= {f"status-{member}": "present" for member in members}
        excused |= {f"status-{members[2]}": "excused", f"reason-{members[2]}": "Đi làm ăn xa"}
        saved = await tab_b.post(f"{path}/attendance", data=excused)
        assert saved.status_code == 303, html.unescape(saved.text)[-2000:]
        refused = await tab_a.post(f"{path}/attendance", data=typed)
        told = html.unescape(refused.text)
        assert refused.status_code == 422, told[-2000:]
        assert "Điểm danh đã được ghi nhận lại sau khi đồng chí mở trang này. Chưa có gì được lưu" in told
        chosen = dict(re.findall(r'<select name="status-([^"]+)"[^>]*>.*?<option value="([^"]*)" selected', told, re.S))
        assert chosen[members[3]] == "absent", told[-3000:]  # typed in tab A, kept
        assert chosen[members[2]] == "excused", told[-3000:]  # only tab B changed it: shown as saved
        assert told.count("hiện đang lưu là “Vắng có lý do (Đi làm ăn xa)”; đồng chí đã gửi “Có mặt”") == 1
