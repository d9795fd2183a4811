"""A trial moved ("Đổi lịch") a cell's only regular meeting of December (08/12/2026) to 05/01/2027, accepted silently:
December was left without a regular meeting, which DOMAIN.md (Periods) rates Poor, 0. As the schedule form does for a
second regular meeting of a month, the reschedule form now warns, naming the month left empty and what it costs, keeps
what was typed, and moves the meeting only once the secretary ticks the confirmation. A move within the month, or out
of a month that keeps another regular (or combined) meeting not cancelled, is not warned of."""

import html
from datetime import datetime
from typing import Any

import httpx
import pytest

from services.gateway.web.i18n import format_moment, format_period
from shared.periods import VIETNAM_TZ, month_of, next_month
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import csrf_of, free_start, signed_in
from tests.web.test_stale_pages import inputs

pytestmark = pytest.mark.e2e

CELL = "demo-cb-thon-1"
PLACE = "Nhà văn hóa thôn 1"
HOURS = [(19, 30), (7, 40), (9, 10), (14, 20), (16, 50), (20, 45)]
"""Hours tried, in order, for a meeting on a given day (free_start: more than an hour from any other of the cell)."""


def month_ahead(months: int) -> datetime:
    """The first day (00:00 local) of the month `months` after this one: whole months ahead, whatever today's day of
    the month and hour (the last day of a month included), far from the demo's and other tests' meetings."""
    today = datetime.now(VIETNAM_TZ)
    year, month = today.year, today.month
    for _ in range(months):
        year, month = next_month(year, month)
    return datetime(year, month, 1, tzinfo=VIETNAM_TZ)


async def free_on(client: httpx.AsyncClient, token: str, first: datetime, day: int) -> datetime:
    """A free start (free_start) on `day` of the month beginning on `first`."""
    return await free_start(client, token, CELL, [first.replace(day=day, hour=h, minute=m) for h, m in HOURS])


async def scheduled(api: httpx.AsyncClient, kind: str, starts: datetime) -> str:
    """A meeting of `kind` at `starts` scheduled through the API, once meetings has it; its id."""
    body: dict[str, Any] = {"kind": kind, "starts_at": starts.isoformat(), "location": PLACE, "agenda": ["Bàn việc"]}
    if kind in ("thematic", "combined"):
        body["topic"] = "Học tập chuyên đề"
    made = await api.post(f"/v1/cells/{CELL}/meetings", json=body)
    assert made.status_code in (200, 201, 202), made.text
    meeting_id = str(made.json()["subject"])

    async def known() -> bool:
        return (await api.get(f"/v1/meetings/{meeting_id}")).status_code == 200

    await eventually(known, timeout=120, interval=0.5)
    return meeting_id


async def starts_at(api: httpx.AsyncClient, meeting_id: str) -> datetime:
    """The meeting's start as the API reads it."""
    found = await api.get(f"/v1/meetings/{meeting_id}")
    assert found.status_code == 200, found.text
    return datetime.fromisoformat(found.json()["starts_at"].replace("Z", "+00:00"))


async def moved_to(api: httpx.AsyncClient, meeting_id: str, when: datetime) -> None:
    """Wait until the API reads the meeting starting at `when`."""

    async def there() -> bool:
        return await starts_at(api, meeting_id) == when

    await eventually(there, timeout=120, interval=0.5)


async def move(client: httpx.AsyncClient, meeting_id: str, when: datetime, **extra: str) -> httpx.Response:
    """The record page's reschedule form as the page fills it, sent moving the meeting to `when` (with `extra`)."""
    page = (await client.get(f"/app/meetings/{meeting_id}/record")).text
    form = inputs(page, "/reschedule") | {
        "csrf": csrf_of(page),
        "start_date": f"{when:%Y-%m-%d}",
        "start_time": f"{when:%H:%M}",
        **extra,
    }
    return await client.post(f"/app/meetings/{meeting_id}/reschedule", data=form)


@pytest.fixture
async def secretary_api(system: RunningSystem, province: dict[str, str]) -> Any:
    """The secretary's API client (schedules and reads the cell's meetings)."""
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {province['secretary']}"}
    ) as client:
        yield client


async def test_moving_the_months_only_regular_meeting_out_of_it_is_done_only_once_confirmed(
    system: RunningSystem, province: dict[str, str], secretary_api: httpx.AsyncClient
) -> None:
    api = secretary_api
    first = month_ahead(6)
    token = province["secretary"]
    meeting_id = await scheduled(api, "regular", await free_on(api, token, first, 10))
    async with signed_in(system, "secretary") as client:
        # within its month: nothing to warn of
        within = await free_on(api, token, first, 20)
        sent = await move(client, meeting_id, within)
        assert sent.status_code == 303, html.unescape(sent.text)[-3000:]
        await moved_to(api, meeting_id, within)

        out = await free_on(api, token, month_ahead(7), 5)
        reason = "Trùng lịch bầu cử thôn"
        warned = await move(client, meeting_id, out, location="Hội trường thôn 1", reason=reason)
        assert warned.status_code == 422, html.unescape(warned.text)[-3000:]
        text = " ".join(html.unescape(warned.text).split())
        month = format_period(month_of(within), within=True)
        said = (
            f"Buổi sinh hoạt thường kỳ lúc {format_moment(within)} là buổi sinh hoạt thường kỳ (hoặc kết hợp) duy nhất"
            f" chưa bị hủy của chi bộ trong {month}: nếu chuyển sang {format_moment(out)}, {month} sẽ không còn buổi"
            " sinh hoạt thường kỳ nào."
        )
        assert said in text, text[-4000:]
        assert "tháng không có buổi sinh hoạt thường kỳ (hoặc kết hợp) đã tổ chức bị xếp loại Kém với 0 điểm" in text
        assert "Vẫn chuyển: tháng cũ của buổi này sẽ không còn buổi sinh hoạt thường kỳ nào" in text
        shown = inputs(warned.text, "/reschedule")
        assert "confirm_month_left_empty" not in shown  # offered, not ticked
        assert 'name="confirm_month_left_empty"' in warned.text
        # what was typed is kept
        assert (shown["start_date"], shown["start_time"]) == (f"{out:%Y-%m-%d}", f"{out:%H:%M}")
        assert (shown["location"], shown["reason"]) == ("Hội trường thôn 1", reason)
        assert await starts_at(api, meeting_id) == within  # not moved

        confirmed = await client.post(
            f"/app/meetings/{meeting_id}/reschedule",
            data={**shown, "csrf": csrf_of(warned.text), "confirm_month_left_empty": "on"},
        )
        assert confirmed.status_code == 303, html.unescape(confirmed.text)[-3000:]
        assert confirmed.headers["location"].endswith(f"/meetings/{meeting_id}/record?notice=rescheduled")
        await moved_to(api, meeting_id, out)


async def test_a_month_keeping_another_regular_meeting_not_cancelled_is_not_warned_of(
    system: RunningSystem, province: dict[str, str], secretary_api: httpx.AsyncClient
) -> None:
    api = secretary_api
    first = month_ahead(9)
    token = province["secretary"]
    meeting_id = await scheduled(api, "regular", await free_on(api, token, first, 8))
    # a cancelled regular meeting and a thematic one do not keep the month's regular meeting
    cancelled = await scheduled(api, "regular", await free_on(api, token, first, 15))
    called_off = await api.post(f"/v1/meetings/{cancelled}/cancel", json={"reason": "Trùng lịch"})
    assert called_off.status_code in (200, 202), called_off.text

    async def is_cancelled() -> bool:
        return bool((await api.get(f"/v1/meetings/{cancelled}")).json()["status"] == "cancelled")

    await eventually(is_cancelled, timeout=120, interval=0.5)
    await scheduled(api, "thematic", await free_on(api, token, first, 18))
    out = await free_on(api, token, month_ahead(10), 6)
    async with signed_in(system, "secretary") as client:
        warned = await move(client, meeting_id, out)
        assert warned.status_code == 422, html.unescape(warned.text)[-3000:]
        assert 'name="confirm_month_left_empty"' in warned.text
        # a combined meeting of the month keeps it: moved at once
        await scheduled(api, "combined", await free_on(api, token, first, 24))
        sent = await move(client, meeting_id, out)
        assert sent.status_code == 303, html.unescape(sent.text)[-3000:]
    await moved_to(api, meeting_id, out)


async def test_moving_a_regular_meeting_into_a_month_that_has_one_is_done_only_once_confirmed(
    system: RunningSystem, province: dict[str, str], secretary_api: httpx.AsyncClient
) -> None:
    """A trial moved a regular meeting into a month that already had its regular meeting, unsaid: the later one held
    replaces the month's result (DOMAIN.md, Periods). Warned as the schedule form warns (one rule and wording), both
    warnings at once when the move also leaves its own month without one. Month 8 ahead is the target (no other test
    uses it); month 6's meetings of this test are moved out or cancelled, as the tests above expect of it."""
    api = secretary_api
    token = province["secretary"]
    target, origin = month_ahead(8), month_ahead(6)
    there = await free_on(api, token, target, 5)
    await scheduled(api, "regular", there)
    meeting_id = await scheduled(api, "combined", await free_on(api, token, origin, 12))
    keeper = await scheduled(api, "regular", await free_on(api, token, origin, 22))  # keeps month 6's regular meeting
    into = await free_on(api, token, target, 18)
    month = format_period(month_of(into))
    async with signed_in(system, "secretary") as client:
        warned = await move(client, meeting_id, into, reason="Trùng lịch")
        assert warned.status_code == 422, html.unescape(warned.text)[-3000:]
        text = " ".join(html.unescape(warned.text).split())
        said = (
            f"{month}, chi bộ đã có buổi sinh hoạt thường kỳ lúc {format_moment(there)}"
            f" ({PLACE}, đã lên lịch, chưa tổ chức)."
            " Theo quy định, tháng có nhiều buổi thì lấy kết quả của buổi sinh hoạt thường kỳ (hoặc kết hợp) đã tổ chức"
            " sau cùng trong tháng"
        )
        assert said in text, text[-4000:]
        assert (
            "vui lòng đánh dấu “Vẫn chuyển: kết quả của tháng sẽ là kết quả của buổi sinh hoạt thường kỳ đã tổ chức"
            in text
        )
        assert "Tháng chuyển đến đã có buổi sinh hoạt thường kỳ của chi bộ." in text
        assert 'name="confirm_another_regular"' in warned.text
        assert 'name="confirm_month_left_empty"' not in warned.text  # month 6 keeps its regular meeting
        shown = inputs(warned.text, "/reschedule")
        assert "confirm_another_regular" not in shown  # offered, not ticked
        assert (shown["start_date"], shown["start_time"], shown["reason"]) == (
            f"{into:%Y-%m-%d}",
            f"{into:%H:%M}",
            "Trùng lịch",
        )

        # month 6's other regular meeting cancelled: the move now also leaves month 6 empty, both said at once
        called_off = await api.post(f"/v1/meetings/{keeper}/cancel", json={"reason": "Trùng lịch"})
        assert called_off.status_code in (200, 202), called_off.text

        async def is_cancelled() -> bool:
            return bool((await api.get(f"/v1/meetings/{keeper}")).json()["status"] == "cancelled")

        await eventually(is_cancelled, timeout=120, interval=0.5)
        both = await client.post(f"/app/meetings/{meeting_id}/reschedule", data={**shown, "csrf": csrf_of(warned.text)})
        assert both.status_code == 422, html.unescape(both.text)[-3000:]
        assert 'name="confirm_another_regular"' in both.text
        assert 'name="confirm_month_left_empty"' in both.text
        assert await starts_at(api, meeting_id) != into  # not moved

        # one warning answered is not both
        shown = inputs(both.text, "/reschedule")
        half = await client.post(
            f"/app/meetings/{meeting_id}/reschedule",
            data={**shown, "csrf": csrf_of(both.text), "confirm_month_left_empty": "on"},
        )
        assert half.status_code == 422, html.unescape(half.text)[-3000:]
        assert 'name="confirm_another_regular"' in half.text
        confirmed = await client.post(
            f"/app/meetings/{meeting_id}/reschedule",
            data={
                **inputs(half.text, "/reschedule"),
                "csrf": csrf_of(half.text),
                "confirm_month_left_empty": "on",
                "confirm_another_regular": "on",
            },
        )
        assert confirmed.status_code == 303, html.unescape(confirmed.text)[-3000:]
        await moved_to(api, meeting_id, into)

        # within the month it is now in, beside the other regular meeting: nothing to warn of
        later = await free_on(api, token, target, 26)
        sent = await move(client, meeting_id, later)
        assert sent.status_code == 303, html.unescape(sent.text)[-3000:]
    await moved_to(api, meeting_id, later)
