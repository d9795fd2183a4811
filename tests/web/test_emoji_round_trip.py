"""A family emoji typed into the schedule form is stored and read back unchanged, by the API and on the meeting's
page: a user trial's 👨‍👩‍👧 (U+1F468 U+200D U+1F469 U+200D U+1F467) came back as three emoji, its zero-width joiners
dropped with the characters that hide text (shared.text.without_controls); a stray joiner still goes."""

import html
from datetime import datetime, timedelta

import httpx
import pytest

from shared.periods import VIETNAM_TZ
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import DEMO, csrf_of, free_start, signed_in

pytestmark = pytest.mark.e2e
CELL = "demo-cb-thon-1"
ZWJ = "\u200d"
FAMILY = f"\U0001f468{ZWJ}\U0001f469{ZWJ}\U0001f467"


async def test_a_family_emoji_typed_in_the_schedule_form_is_stored_and_read_back_whole(
    system: RunningSystem, province: dict[str, str]
) -> None:
    ahead = DEMO.meeting_ahead
    hours = [(15, 5), (9, 50), (20, 35), (12, 20), (18, 15), (7, 40), (22, 50), (13, 55)]
    soon = datetime.now(VIETNAM_TZ) + timedelta(minutes=30)
    async with signed_in(system, "secretary") as client:
        # the shared demo system holds other tests' meetings on that day: a start more than an hour from each
        starts = await free_start(
            client, province["secretary"], CELL, [ahead.replace(hour=h, minute=m) for h, m in hours], after=soon
        )
        shown = (await client.get(f"/app/cells/{CELL}/meetings/new")).text
        form = {
            "csrf": csrf_of(shown),
            "kind": "regular",
            "start_date": f"{starts:%Y-%m-%d}",
            "start_time": f"{starts:%H:%M}",
            "location": f"{ZWJ}Nhà văn hóa thôn 1 {FAMILY}{ZWJ}",
            "agenda": f"Chúc mừng gia đình {FAMILY}\r\nKiểm điểm",
            "confirm_another_regular": "on",  # the month already has the demo's regular meeting
        }
        sent = await client.post(f"/app/cells/{CELL}/meetings", data=form)
        assert sent.status_code == 303, html.unescape(sent.text)[-1500:]
        meeting_id = sent.headers["location"].split("/app/meetings/", 1)[1].split("/", 1)[0]

        async with httpx.AsyncClient(
            base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {province['secretary']}"}
        ) as api:

            async def stored() -> dict[str, object] | None:
                found = await api.get(f"/v1/meetings/{meeting_id}")
                return found.json() if found.status_code == 200 else None

            meeting = await eventually(stored, timeout=120, interval=0.5)
        assert meeting["location"] == f"Nhà văn hóa thôn 1 {FAMILY}"
        assert meeting["agenda"] == [f"Chúc mừng gia đình {FAMILY}", "Kiểm điểm"]
        page = html.unescape((await client.get(f"/app/meetings/{meeting_id}")).text)
        assert f"<li>Chúc mừng gia đình {FAMILY}</li>" in page, page[-3000:]
        assert f"<dd>Nhà văn hóa thôn 1 {FAMILY}</dd>" in page
        record = html.unescape((await client.get(f"/app/meetings/{meeting_id}/record")).text)
        assert f'value="Nhà văn hóa thôn 1 {FAMILY}"' in record  # the reschedule form's place, sent back as it is
