"""A trial corrected when a meeting already held took place to a day of another month, and the reschedule form warned
"Vẫn chuyển: …", as if the meeting were being moved: a correction of a past fact is no move. Its warnings (the month
it leaves without a regular meeting, rated Poor with 0 by DOMAIN.md, Periods; the month it lands in already holding
one) now say "sửa" and their confirmations "Vẫn sửa: …", the correction going through once ticked; a move of a meeting
still ahead keeps "Vẫn chuyển" (tests/web/test_month_left_empty.py)."""

import html
import re
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from services.gateway.web import forms
from services.gateway.web.i18n import format_moment, format_period
from services.gateway.web.pages import secretary
from shared.periods import VIETNAM_TZ, month_of
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import csrf_of, free_start, signed_in
from tests.web.test_held_form import CELL, free_evening, record_held
from tests.web.test_stale_pages import inputs, meeting_ahead


def words(page: str) -> str:
    """The page's text, entities read and spaces collapsed."""
    return " ".join(html.unescape(page).split())


@pytest.mark.e2e
async def test_a_held_meeting_corrected_into_a_month_with_its_regular_meeting_is_warned_as_a_correction(
    system: RunningSystem, province: dict[str, str]
) -> None:
    token = province["secretary"]
    async with (
        signed_in(system, "secretary") as client,
        httpx.AsyncClient(base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {token}"}) as api,
    ):
        held_at = await free_evening(client, token)
        # its month already has the demo's regular meeting: recorded anyway
        meeting_id = await record_held(client, held_at, "regular", confirm_another_regular="on")
        # the demo's month before it holds its regular meeting too (DemoYear: every month of history has one)
        before = (held_at.replace(day=1) - timedelta(days=1)).replace(day=10)
        to = await free_start(client, token, CELL, [before.replace(hour=h, minute=m) for h, m in ((8, 10), (14, 40))])
        try:
            page = (await client.get(f"/app/meetings/{meeting_id}/record")).text
            form = inputs(page, "/reschedule") | {
                "csrf": csrf_of(page),
                "start_date": f"{to:%Y-%m-%d}",
                "start_time": f"{to:%H:%M}",
                "reason": "Ghi nhầm ngày",
            }
            warned = await client.post(f"/app/meetings/{meeting_id}/reschedule", data=form)
            assert warned.status_code == 422, words(warned.text)[-3000:]
            said = words(warned.text)
            assert "Tháng của thời điểm sửa lại đã có buổi sinh hoạt thường kỳ của chi bộ." in said, said[-4000:]
            assert (
                "vui lòng đánh dấu “Vẫn sửa: kết quả của tháng sẽ là kết quả của buổi sinh hoạt thường kỳ đã tổ chức"
                " sau cùng”" in said
            ), said[-4000:]
            assert "Vẫn chuyển" not in said and "Tháng chuyển đến" not in said, said[-4000:]
            assert 'name="confirm_month_left_empty"' not in warned.text  # its month keeps the demo's meeting

            shown = inputs(warned.text, "/reschedule")
            confirmed = await client.post(
                f"/app/meetings/{meeting_id}/reschedule",
                data={**shown, "csrf": csrf_of(warned.text), "confirm_another_regular": "on"},
            )
            assert confirmed.status_code == 303, words(confirmed.text)[-3000:]

            async def corrected() -> bool:
                found = (await api.get(f"/v1/meetings/{meeting_id}")).json()
                return datetime.fromisoformat(found["starts_at"].replace("Z", "+00:00")) == to

            await eventually(corrected, timeout=120, interval=0.5)
        finally:
            # not left as a second regular meeting of a demo month other tests read
            await api.post(f"/v1/meetings/{meeting_id}/cancel", json={"reason": "Ghi nhầm"})


async def test_a_held_meetings_correction_out_of_its_month_is_worded_as_a_correction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The month-left-empty warning of a held meeting (the demo's months each keep their own regular meeting, so the
    running system never leaves one empty): "sửa", and the confirmation the correction form names, "Vẫn sửa"."""

    async def none_other(*_: Any, **__: Any) -> list[Any]:
        return []

    monkeypatch.setattr(secretary, "month_regular_meetings", none_other)
    was = datetime(2026, 12, 3, 19, 30, tzinfo=VIETNAM_TZ)
    to = datetime(2026, 11, 28, 19, 30, tzinfo=VIETNAM_TZ)
    meeting = SimpleNamespace(kind="regular", status="minutes_submitted", starts_at=was, cell_id=CELL, meeting_id="m")
    month = format_period(month_of(was), within=True)
    token = forms.FORM.set(secretary.CORRECTION_FORM)
    try:
        said = await secretary.month_left_empty_warning(None, meeting, to, confirmed=False, held=True)  # type: ignore[arg-type]
        assert said == {
            "confirm_month_left_empty": (
                f"Buổi sinh hoạt thường kỳ đã tổ chức lúc {format_moment(was)} là buổi sinh hoạt thường kỳ (hoặc kết"
                f" hợp) duy nhất chưa bị hủy của chi bộ trong {month}: nếu sửa thời điểm diễn ra thành"
                f" {format_moment(to)}, {month} sẽ không còn buổi sinh hoạt thường kỳ nào. Theo quy định, tháng không"
                " có buổi sinh hoạt thường kỳ (hoặc kết hợp) đã tổ chức bị xếp loại Kém với 0 điểm, và điểm 0 này được"
                " tính vào kết quả của quý và của năm. Nếu buổi sinh hoạt thực sự đã diễn ra lúc"
                f" {format_moment(to)}, vui lòng đánh dấu “Vẫn sửa: tháng cũ của buổi này sẽ không còn buổi sinh"
                " hoạt thường kỳ nào” và gửi lại biểu mẫu."
            )
        }
        assert await secretary.month_left_empty_warning(None, meeting, to, confirmed=True, held=True) == {}  # type: ignore[arg-type]
        forms.FORM.set(secretary.RESCHEDULE_FORM)  # a move keeps its wording
        moved = await secretary.month_left_empty_warning(None, meeting, to, confirmed=False)  # type: ignore[arg-type]
        assert "nếu chuyển sang" in moved["confirm_month_left_empty"]
        assert "“Vẫn chuyển: tháng cũ của buổi này" in moved["confirm_month_left_empty"]
    finally:
        forms.FORM.reset(token)


def reschedule_labels(page: str) -> tuple[str, str]:
    """The record page's reschedule section as read: its heading and its form's button, spaces collapsed."""
    heading = re.search(r'<h2 id="reschedule-title">(.*?)</h2>', page, re.S)
    button = re.search(r'<button type="submit" formaction="[^"]*/reschedule"[^>]*>(.*?)</button>', page, re.S)
    assert heading and button, words(page)[-3000:]
    return words(heading.group(1)), words(button.group(1))


@pytest.mark.e2e
async def test_a_meeting_recorded_held_without_attendance_is_offered_a_correction_not_a_move(
    system: RunningSystem, province: dict[str, str]
) -> None:
    """A trial's meeting recorded as held ("Ghi lại…"), its roster not yet taken, read "Đã diễn ra, đang chờ biên
    bản" while its form's button said "Đổi lịch" and its confirmations "Vẫn sửa…": one decision (corrects_held) words
    the heading, the note and the button as a correction; a meeting still ahead keeps "Đổi lịch"."""
    token = province["secretary"]
    async with (
        signed_in(system, "secretary") as client,
        httpx.AsyncClient(base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {token}"}) as api,
    ):
        held_at = await free_evening(client, token)
        meeting_id = await record_held(client, held_at)  # extraordinary: no month's regular meeting asked about
        try:
            page = (await client.get(f"/app/meetings/{meeting_id}/record")).text
            said = words(page)
            assert "Đã diễn ra, đang chờ biên bản" in said, said[-3000:]
            assert reschedule_labels(page) == ("Sửa thời điểm đã diễn ra", "Sửa thời điểm đã diễn ra"), said[-3000:]
            assert 'id="correction-note"' in page and "Đổi lịch" not in said, said[-3000:]
        finally:
            await api.post(f"/v1/meetings/{meeting_id}/cancel", json={"reason": "Ghi nhầm"})

        ahead_id = (await meeting_ahead(system, province))[0]
        page = (await client.get(f"/app/meetings/{ahead_id}/record")).text
        assert reschedule_labels(page) == ("Đổi lịch", "Đổi lịch"), words(page)[-3000:]
        assert 'id="correction-note"' not in page and "Sửa thời điểm đã diễn ra" not in words(page)
