"""The roster against the minutes through the running system, whichever comes second, and a meeting scheduled twice.

A user trial saved minutes (chair, recorder, 12 votes) before any roster, then a roster marking the chair and the
recorder absent: it was accepted, so the minutes named an absent chair and 12 votes with 4 present; after the cell
adopted the minutes the roster form was still shown and a new roster replaced the official one. The roster form now
names every contradiction at once, by name, and once the minutes are adopted the page shows the roster read-only and
a roster sent all the same (a tab opened before, the API) is refused as the minutes are, `minutes_adopted`. The same
trial scheduled one meeting by two submissions of the form, and every member got two notices: the second is now
asked to confirm that it is another meeting.
"""

import html
import re
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.periods import VIETNAM_TZ
from tests.support.system import RunningSystem
from tests.web.conftest import csrf_of, signed_in
from tests.web.test_held_outcomes import CELL, OWN, _minutes, _schedule

pytestmark = pytest.mark.e2e

ADOPTED = "danh sách điểm danh là một phần của văn bản chính thức, không thể sửa được nữa"


def text(page: str) -> str:
    """The page's words, tags dropped and entities read."""
    return html.unescape(re.sub(r"\s+", " ", re.sub("<[^>]+>", " ", page)))


def errors_of(page: str, section: str) -> str:
    """The text of a section's error box."""
    return text(page.split(f'id="{section}-errors"', 1)[1].split("</div>", 1)[0])


async def test_a_roster_is_judged_against_recorded_minutes_and_locked_once_they_are_adopted(
    system: RunningSystem, province: dict[str, str]
) -> None:
    starts = (datetime.now(VIETNAM_TZ) - timedelta(hours=4)).replace(second=0, microsecond=0)
    headers = {"Authorization": f"Bearer {province['secretary']}"}
    async with (
        signed_in(system, "secretary") as client,
        httpx.AsyncClient(base_url=system.gateway_url, timeout=30, headers=headers) as api,
    ):
        listed = (await api.get(f"/v1/cells/{CELL}/members?limit=200")).json()["items"]
        members = [item["id"] for item in listed]
        names = {item["id"]: item["full_name"] for item in listed}
        meeting_id, token = await _schedule(system, client, starts, province["secretary"])
        record = f"/app/meetings/{meeting_id}"
        # minutes first, no roster yet: chair OWN[0], recorder OWN[1], a resolution of 12 votes
        form = _minutes(token, starts, chair=OWN[0], speakers=[OWN[0], OWN[2]])
        form |= {"resolution-1": "Nghị quyết tháng", "votes_for-1": "12", "votes_against-1": "0", "abstentions-1": "0"}
        saved = await client.post(f"{record}/minutes", data=form)
        assert saved.status_code == 303, errors_of(saved.text, "minutes")

        # the trial's roster: chair and recorder absent, 4 present
        present = [member for member in members if member not in OWN[:2]][:4]
        statuses = {member: ("present" if member in present else "absent") for member in members}
        roster: dict[str, Any] = {"csrf": token, "member": members}
        roster |= {f"status-{member}": status for member, status in statuses.items()}
        refused = await client.post(f"{record}/attendance", data=roster)
        assert refused.status_code == 422, refused.text[-2000:]
        said = errors_of(refused.text, "attendance")
        assert f"biên bản đã ghi đồng chí {names[OWN[0]]} là người chủ trì" in said, said
        assert f"biên bản đã ghi đồng chí {names[OWN[1]]} là thư ký ghi biên bản" in said, said
        assert "nghị quyết dòng 1 trong biên bản đã ghi có 12 phiếu biểu quyết, nhiều hơn 4 đảng viên có mặt" in said
        assert (await api.get(f"/v1/meetings/{meeting_id}")).json()["attendance"] is None
        records = [{"member_id": member, "status": status} for member, status in statuses.items()]
        answer = await api.put(f"/v1/meetings/{meeting_id}/attendance", json={"records": records})
        assert answer.status_code == 422, answer.text
        assert answer.json()["reason_code"] == "absent_at_meeting"
        assert answer.json()["field"] == f"records.{members.index(OWN[0])}.status"
        assert "12 votes" in answer.json()["message"]  # every problem said at once

        # a roster agreeing with the minutes is recorded; then the cell adopts them
        agreeing = {**roster, **{f"status-{member}": "present" for member in members}}
        assert (await client.post(f"{record}/attendance", data=agreeing)).status_code == 303
        adopted = await client.post(f"{record}/approval", data={"csrf": token, "votes_for": "12", "votes_against": "0"})
        assert adopted.status_code == 303, errors_of(adopted.text, "approval")

        page = await client.get(f"{record}/record")
        # no roster inputs nor button saving them (the page's one form holds its other parts)
        assert 'name="status-' not in page.text and 'name="reason-' not in page.text
        assert f'formaction="/app/meetings/{meeting_id}/attendance"' not in page.text
        assert f'action="/app/meetings/{meeting_id}/attendance"' not in page.text
        assert ADOPTED in text(page.text) and 'id="roster"' in page.text

        # a tab opened before the adoption, and the API: refused as the minutes are; the same roster is a no-op
        stale = await client.post(f"{record}/attendance", data=roster)
        assert stale.status_code == 422
        assert "Chi bộ đã thông qua biên bản buổi sinh hoạt này: " + ADOPTED in errors_of(stale.text, "attendance")
        changed = await api.put(f"/v1/meetings/{meeting_id}/attendance", json={"records": records})
        assert changed.status_code == 422, changed.text
        assert (changed.json()["field"], changed.json()["reason_code"]) == ("meeting_id", "minutes_adopted")
        everyone = [{"member_id": member, "status": "present"} for member in reversed(members)]
        assert (await api.put(f"/v1/meetings/{meeting_id}/attendance", json={"records": everyone})).status_code == 202
        final = (await api.get(f"/v1/meetings/{meeting_id}")).json()["attendance"]["records"]
    assert {record["member_id"]: record["status"] for record in final} == {member: "present" for member in members}


async def test_the_same_meeting_scheduled_twice_asks_for_a_confirmation(
    system: RunningSystem, province: dict[str, str]
) -> None:
    day = datetime.now(VIETNAM_TZ).date() + timedelta(days=400)
    form = {
        "kind": "extraordinary",
        "start_date": f"{day:%Y-%m-%d}",
        "start_time": "07:10",
        "location": "Nhà văn hóa thôn 1",
        "agenda": "Bàn việc làm đường",
    }
    headers = {"Authorization": f"Bearer {province['secretary']}"}
    async with (
        signed_in(system, "secretary") as client,
        httpx.AsyncClient(base_url=system.gateway_url, timeout=30, headers=headers) as api,
    ):

        async def submit(**more: str) -> httpx.Response:
            shown = (await client.get(f"/app/cells/{CELL}/meetings/new")).text
            meeting_id = re.search(r'name="meeting_id" value="([^"]+)"', shown).group(1)  # type: ignore[union-attr]
            key = re.search(r'name="form_key" value="([^"]+)"', shown).group(1)  # type: ignore[union-attr]
            data = {**form, "csrf": csrf_of(shown), "meeting_id": meeting_id, "form_key": key, **more}
            return await client.post(f"/app/cells/{CELL}/meetings", data=data)

        first = await submit()
        assert first.status_code == 303, text(first.text)
        scheduled = [first.headers["location"].split("/meetings/")[1].split("/")[0]]
        try:
            second = await submit(start_time="07:40")  # another submission, within the hour
            assert second.status_code == 422, text(second.text)
            said = errors_of(second.text, "schedule")
            weekday = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")[day.weekday()]
            assert f"Chi bộ đã có buổi sinh hoạt lúc 07:10 {weekday}, ngày {day:%d/%m/%Y} (Nhà văn hóa thôn 1)" in said
            assert "đảng viên sẽ nhận thông báo hai lần" in said
            assert 'name="confirm_same_time"' in second.text
            confirmed = await submit(start_time="07:40", confirm_same_time="on")
            assert confirmed.status_code == 303, text(confirmed.text)
            scheduled.append(confirmed.headers["location"].split("/meetings/")[1].split("/")[0])
            body = {"kind": "extraordinary", "starts_at": f"{day:%Y-%m-%d}T07:30:00+07:00", "location": "Nhà văn hóa"}
            through_api = await api.post(f"/v1/cells/{CELL}/meetings", json=body | {"agenda": ["Bàn việc"]})
            assert through_api.status_code == 409, through_api.text
            assert through_api.json()["reason_code"] == "meeting_at_same_time"
        finally:  # no meeting of this test stays ahead in the demo cell
            for meeting_id in scheduled:
                await api.post(f"/v1/meetings/{meeting_id}/cancel", json={"reason": "Thử lên lịch trùng"})
