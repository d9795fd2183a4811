"""The secretary records a meeting already held on its own form ("Ghi lại buổi sinh hoạt đã diễn ra"), through the
running system: warned that members were not notified through chibo, the real meetings takes it, and the record page
follows with its roster form; the schedule form's refusal of a past day points there."""

import html
import re
from datetime import datetime, timedelta

import httpx
import pytest

from shared.periods import VIETNAM_TZ
from tests.support.system import RunningSystem
from tests.web.conftest import csrf_of, free_start, signed_in

pytestmark = pytest.mark.e2e
CELL = "demo-cb-thon-1"


def text(page: str) -> str:
    """The page's words, tags dropped and entities read."""
    return html.unescape(re.sub(r"\s+", " ", re.sub("<[^>]+>", " ", page)))


HELD_HOURS = ((19, 30), (17, 0), (14, 30), (9, 0), (7, 30))
"""The hours of a day free_evening offers, the evening first: every test recording a held meeting of thôn 1 takes
one, and the whole suite's run ran out of six evenings (seven tests, the demo's own meetings among them)."""


async def free_evening(client: httpx.AsyncClient, token: str) -> datetime:
    """19:30 (then HELD_HOURS) of a day of the last six (yesterday first) more than an hour from every meeting of the
    cell: another test's meeting a few hours back stood within the hour of yesterday's 19:30 once the run crossed
    midnight in Vietnam, and the form rightly asked whether it was the same meeting."""
    today = datetime.now(VIETNAM_TZ)
    evenings = [
        (today - timedelta(days=back)).replace(hour=hour, minute=minute, second=0, microsecond=0)
        for back in range(1, 7)
        for hour, minute in HELD_HOURS
    ]
    return await free_start(client, token, CELL, evenings)


async def record_held(client: httpx.AsyncClient, held_at: datetime, kind: str = "extraordinary", **extra: str) -> str:
    """The id of a meeting of thôn 1 the signed-in secretary recorded on the web as already held at `held_at` (an
    extraordinary one by default, so no month's regular meeting is asked about; `extra`: more inputs sent, such as a
    confirmation); AssertionError unless the form answered 303."""
    shown = (await client.get(f"/app/cells/{CELL}/meetings/held")).text
    meeting_id = re.search(r'name="meeting_id" value="([^"]+)"', shown).group(1)  # type: ignore[union-attr]
    form = {
        "kind": kind,
        "start_date": f"{held_at:%Y-%m-%d}",
        "start_time": f"{held_at:%H:%M}",
        "location": "Nhà văn hóa thôn 1",
        "agenda": "Bàn việc phòng chống bão",
        "csrf": csrf_of(shown),
        "meeting_id": meeting_id,
        **extra,
    }
    sent = await client.post(f"/app/cells/{CELL}/meetings/held", data=form)
    assert sent.status_code == 303, text(sent.text)
    return meeting_id


async def test_a_secretary_records_a_meeting_already_held_and_lands_on_its_record_page(
    system: RunningSystem, province: dict[str, str]
) -> None:
    async with signed_in(system, "secretary") as client:
        cell = (await client.get(f"/app/cells/{CELL}")).text
        assert f"/app/cells/{CELL}/meetings/held" in cell and "Ghi lại buổi sinh hoạt đã diễn ra" in text(cell)
        held_at = await free_evening(client, province["secretary"])
        form = {
            "kind": "extraordinary",
            "start_date": f"{held_at:%Y-%m-%d}",
            "start_time": f"{held_at:%H:%M}",
            "location": "Nhà văn hóa thôn 1",
            "agenda": "Bàn việc phòng chống bão",
        }
        shown = (await client.get(f"/app/cells/{CELL}/meetings/new")).text
        plain = await client.post(f"/app/cells/{CELL}/meetings", data={**form, "csrf": csrf_of(shown)})
        assert plain.status_code == 422
        assert "hãy ghi lại bằng “Ghi lại buổi sinh hoạt đã diễn ra”" in text(plain.text)

        shown = (await client.get(f"/app/cells/{CELL}/meetings/held")).text
        warning = text(shown)
        assert "Đảng viên chưa được thông báo qua chibo." in warning
        assert "sẽ bị tính là không đạt, trừ khi đồng chí ghi dưới đây thời điểm chi bộ đã thông báo" in warning
        meeting_id = re.search(r'name="meeting_id" value="([^"]+)"', shown).group(1)  # type: ignore[union-attr]
        sent = await client.post(
            f"/app/cells/{CELL}/meetings/held", data={**form, "csrf": csrf_of(shown), "meeting_id": meeting_id}
        )
        assert sent.status_code == 303, text(sent.text)
        assert sent.headers["location"] == f"/app/meetings/{meeting_id}/record?notice=held"
        record = await client.get(sent.headers["location"])
        assert record.status_code == 200
        said = text(record.text)
        assert "không có thông báo hay nhắc lịch nào được gửi cho buổi này" in said
        assert 'id="roster-form"' in record.text and "Lưu điểm danh" in said  # recorded as any meeting next
        stored = (
            await client.get(f"/v1/meetings/{meeting_id}", headers={"Authorization": f"Bearer {province['secretary']}"})
        ).json()
        starts = datetime.fromisoformat(stored["starts_at"].replace("Z", "+00:00"))
        assert starts == held_at
