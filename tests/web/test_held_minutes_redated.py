"""A trial of a secretary on the web app:
1. a held meeting's minutes saved for its day, then its held time corrected (“Sửa thời điểm đã diễn ra”) to the day
   before: the meeting page read 04/12 beside minutes of 05/12, the minutes form still offered the minutes' old day
   and said nothing of it, and saving refused with "hãy dùng “Sửa thời điểm đã diễn ra”…", the step just done. The
   form offers the meeting's corrected day and says the saved minutes still name the old one, the meeting page says
   the two days differ, and minutes sent on the old day are told to take the meeting's day;
2. the record page of a meeting not begun asked for its minutes ("vui lòng ghi biên bản trước…") in the adoption
   section while its minutes section said they are recorded only once it begins."""

import html
import re
from datetime import timedelta
from typing import Any

import pytest

from tests.support.system import RunningSystem
from tests.web.conftest import csrf_of, signed_in
from tests.web.test_held_day_corrected import _api, _free_pair, _moment, _roster_and_minutes, _until
from tests.web.test_held_form import record_held, text
from tests.web.test_record_values import AHEAD

pytestmark = pytest.mark.e2e


def _day_input(page: str) -> str:
    """The value of the minutes form's date input."""
    found = re.search(r'<input id="m-day" name="day" type="date" value="([^"]*)"', page)
    assert found, "no minutes form"
    return found.group(1)


async def test_minutes_after_the_held_time_is_corrected_offer_the_corrected_day(
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
        assert _day_input(page) == f"{held_at:%Y-%m-%d}"
        assert 'id="minutes-redated"' not in page

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

        page = (await client.get(record)).text
        # the form offers the meeting's corrected day, and says the saved minutes still name the old one
        assert _day_input(page) == f"{day_before:%Y-%m-%d}", text(page)
        note = re.search(r'<p class="notice" id="minutes-redated">(.*?)</p>', page, re.S)
        assert note, text(page)
        said = html.unescape(note.group(1))
        assert f"{held_at:%d/%m}" in said and f"{day_before:%d/%m}" in said, said

        # the meeting page says its minutes still name another day
        shown = (await client.get(f"/app/meetings/{meeting_id}")).text
        differs = re.search(r'<p class="notice" id="minutes-day-differs">(.*?)</p>', shown, re.S)
        assert differs, text(shown)
        assert f"{held_at:%d/%m}" in html.unescape(differs.group(1)), differs.group(1)

        # minutes sent again on the old day (a page opened before the correction) are told to take the meeting's day
        stale = {**minutes, "csrf": csrf_of(page)}
        refused = await client.post(f"/app/meetings/{meeting_id}/minutes", data=stale)
        assert refused.status_code == 422, text(refused.text)
        errors = html.unescape(refused.text.split('id="minutes-errors"', 1)[1].split("</ul>", 1)[0])
        assert f"biên bản ghi ngày {held_at:%d/%m}" in errors, errors
        assert f"sửa ngày của biên bản thành {day_before:%d/%m}" in errors, errors
        assert "hãy dùng “Sửa thời điểm đã diễn ra”" not in errors, errors

        resent = await client.post(
            f"/app/meetings/{meeting_id}/minutes", data={**minutes, "csrf": csrf_of(page), "day": _day_input(page)}
        )
        assert resent.status_code == 303, text(resent.text)
        redated = await _until(stored, lambda m: _moment(m["minutes"]["started_at"]) == day_before)
        assert _moment(redated["minutes"]["started_at"]) == day_before, redated
        page = (await client.get(record)).text
        assert 'id="minutes-redated"' not in page
        assert 'id="minutes-day-differs"' not in (await client.get(f"/app/meetings/{meeting_id}")).text


async def test_a_meeting_not_begun_does_not_ask_for_its_minutes(
    system: RunningSystem, province: dict[str, str]
) -> None:
    async with signed_in(system, "secretary") as client:
        page = (await client.get(f"/app/meetings/{AHEAD}/record")).text
    assert 'id="minutes-later"' in page, text(page)  # not begun: its minutes are recorded once it begins
    assert 'id="adoption-needs-minutes"' not in page, text(page)
    assert "ghi biên bản trước" not in html.unescape(page), text(page)
    assert 'id="adoption-later"' in page, text(page)
