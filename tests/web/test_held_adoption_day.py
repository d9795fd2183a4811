"""A user's trial: a held meeting's minutes saved for its day, then its held time corrected (“Sửa thời điểm đã diễn
ra”) to the day before, then the minutes adopted 9–0: taken, so the meeting started on 04/12 while its adopted minutes
ran 05/12 19:30–21:30 (the minutes PDF's header and its "Thời gian" line named two days), and once adopted the
correction, attendance and minutes forms are gone for good.

The correction stays taken (README: a held meeting's time is corrected, then its minutes saved again dated that day;
refusing it would leave minutes saved on a wrong day for good), and the adoption waits until the minutes agree with
the meeting's day: the record page says so instead of offering the adoption, the form and the API refuse it
(`minutes_off_meeting_day` naming `meeting_id`), and once the minutes are saved again on the meeting's day it goes
through.
"""

import html
import re
from datetime import timedelta
from typing import Any

import pytest

from tests.support.system import RunningSystem
from tests.web.conftest import csrf_of, signed_in
from tests.web.test_held_day_corrected import _api, _free_pair, _moment, _roster_and_minutes, _until
from tests.web.test_held_form import record_held, text
from tests.web.test_roster_locked import errors_of

pytestmark = pytest.mark.e2e

REFUSED = "biên bản đã lưu ghi ngày khác với ngày diễn ra buổi sinh hoạt"


async def test_minutes_on_another_day_than_the_corrected_start_are_not_adopted(
    system: RunningSystem, province: dict[str, str]
) -> None:
    async with signed_in(system, "secretary") as client, _api(system, province["secretary"]) as api:
        held_at = await _free_pair(client, province["secretary"])
        meeting_id = await record_held(client, held_at)
        record = f"/app/meetings/{meeting_id}/record"

        async def stored() -> dict[str, Any]:
            return dict((await api.get(f"/v1/meetings/{meeting_id}")).json())

        minutes = await _roster_and_minutes(client, api, meeting_id, held_at)
        page = (await client.get(record)).text
        assert f'action="/app/meetings/{meeting_id}/approval"' in page, text(page)

        day_before = held_at - timedelta(days=1)
        shown_start = re.search(r'name="was.starts_at" value="([^"]*)"', page).group(1)  # type: ignore[union-attr]
        shown_place = re.search(r'name="was.location" value="([^"]*)"', page).group(1)  # type: ignore[union-attr]
        correction = {
            "csrf": csrf_of(page),
            "was.starts_at": html.unescape(shown_start),
            "was.location": html.unescape(shown_place),
            "start_date": f"{day_before:%Y-%m-%d}",
            "start_time": f"{held_at:%H:%M}",
            "location": "Nhà văn hóa thôn 1",
            "reason": "",
        }
        corrected = await client.post(f"/app/meetings/{meeting_id}/reschedule", data=correction)
        assert corrected.status_code == 303, text(corrected.text)
        moved = await _until(stored, lambda m: _moment(m["starts_at"]) == day_before)
        assert _moment(moved["starts_at"]) == day_before, moved
        assert _moment(moved["minutes"]["started_at"]).date() == held_at.date(), moved

        # the page says why the minutes cannot be adopted yet instead of offering the adoption
        page = (await client.get(record)).text
        notice = re.search(r'<p class="notice" id="adoption-needs-redated-minutes">(.*?)</p>', page, re.S)
        assert notice, text(page)
        said = html.unescape(notice.group(1))
        assert f"{held_at:%d/%m}" in said and f"{day_before:%d/%m}" in said, said
        assert f'action="/app/meetings/{meeting_id}/approval"' not in page, text(page)

        # the trial's 9–0 from a page opened before the correction, and the same through the API: refused
        token = csrf_of(page)
        refused = await client.post(
            f"/app/meetings/{meeting_id}/approval", data={"csrf": token, "votes_for": "2", "votes_against": "0"}
        )
        assert refused.status_code == 422, text(refused.text)
        assert REFUSED in errors_of(refused.text, "approval"), errors_of(refused.text, "approval")
        answer = await api.post(f"/v1/meetings/{meeting_id}/minutes/approval", json={"votes_for": 2})
        assert answer.status_code == 422, answer.text
        assert (answer.json()["field"], answer.json()["reason_code"]) == ("meeting_id", "minutes_off_meeting_day")
        assert (await stored())["approved_at"] is None

        # the minutes saved again on the meeting's day: adopted
        resent = await client.post(
            f"/app/meetings/{meeting_id}/minutes",
            data={**minutes, "csrf": token, "day": f"{day_before:%Y-%m-%d}"},
        )
        assert resent.status_code == 303, text(resent.text)
        redated = await _until(stored, lambda m: _moment(m["minutes"]["started_at"]) == day_before)
        assert _moment(redated["minutes"]["started_at"]) == day_before, redated
        page = (await client.get(record)).text
        assert 'id="adoption-needs-redated-minutes"' not in page, text(page)
        adopted = await client.post(
            f"/app/meetings/{meeting_id}/approval", data={"csrf": token, "votes_for": "2", "votes_against": "0"}
        )
        assert adopted.status_code == 303, errors_of(adopted.text, "approval")
        done = await _until(stored, lambda m: m["approved_at"] is not None)
        assert done["approved_at"] is not None and _moment(done["starts_at"]) == day_before, done
