"""A secretary records a meeting already held that they forgot to enter beforehand: `already_held: true` in the API's
schedule command, "Ghi lại buổi sinh hoạt đã diễn ra" on the web. The gateway says it on the command's envelope
(shared.envelope.HELD_EXTENSION; the contract's data has no field for it), the form warns that members were not
notified through chibo and checks the start first (begun, at most 7 days ago), and the record page follows. A plain
schedule at a past start keeps its refusal, now pointing to this form. meetings' own rule: tests/meetings."""

import html
import re
from datetime import datetime, timedelta

import httpx

from services.gateway.web import forms
from shared.envelope import HELD_EXTENSION
from shared.periods import VIETNAM_TZ
from tests.gateway.fakes import World
from tests.gateway.test_commands import last_event, schedule_body
from tests.gateway.test_minutes_label_pages import csrf_of, signed_in
from tests.support.ids import random_id

HELD_LINK = "Ghi lại buổi sinh hoạt đã diễn ra"


WEEKDAYS = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")


def weekday(moment: datetime) -> str:
    """The day of the week as the app writes it before a date (`thứ Năm`)."""
    return WEEKDAYS[moment.weekday()]


def said(page: str) -> str:
    """The page's text, tags dropped and entities read."""
    return html.unescape(re.sub(r"\s+", " ", re.sub("<[^>]+>", " ", page)))


async def test_the_api_records_a_meeting_already_held_on_the_envelope_never_in_the_data(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    meeting_id = random_id(world.cell_a1)
    past = (datetime.now(VIETNAM_TZ) - timedelta(days=2)).isoformat(timespec="seconds")
    body = schedule_body(meeting_id=meeting_id, starts_at=past, already_held=True)
    response = await client.post(f"/v1/cells/{world.cell_a1}/meetings", json=body, headers=headers["secretary"])
    assert response.status_code == 202, response.text
    event = last_event(world, response.json()["event_id"])
    assert event[HELD_EXTENSION] is True and event["type"] == "meeting.scheduled.v1"
    assert "already_held" not in event["data"] and event["data"].get("notified_at") is None  # told when recorded
    plain = await client.post(
        f"/v1/cells/{world.cell_a1}/meetings",
        json=schedule_body(meeting_id=random_id(world.cell_a1)),
        headers=headers["secretary"],
    )
    assert HELD_EXTENSION not in last_event(world, plain.json()["event_id"])
    loose = await client.post(
        f"/v1/cells/{world.cell_a1}/meetings", json={**body, "already_held": "yes"}, headers=headers["secretary"]
    )
    assert loose.status_code == 422 and loose.json()["field"] == "already_held", loose.text


async def test_the_secretary_records_a_meeting_already_held_on_its_own_form_warned_and_lands_on_its_record_page(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    async with signed_in(client, amqp_url, database_url, "secretary", world.cell_a1, world.secretary_a1) as secretary:
        cell = said((await secretary.get(f"/app/cells/{world.cell_a1}?year=2026")).text)
        assert HELD_LINK in cell and "Lên lịch sinh hoạt" in cell
        shown = await secretary.get(f"/app/cells/{world.cell_a1}/meetings/held")
        assert shown.status_code == 200, shown.text
        page = said(shown.text)
        assert "Đảng viên chưa được thông báo qua chibo." in page
        assert "không có thư mời và không có nhắc lịch" in page
        assert "Mục chấm điểm về thông báo cho đảng viên trước giờ sinh hoạt sẽ bị tính là không đạt" in page
        assert "trong 7 ngày qua" in page and "Ghi lại buổi sinh hoạt đã diễn ra" in page
        meeting_id = re.search(r'name="meeting_id" value="([^"]+)"', shown.text).group(1)  # type: ignore[union-attr]
        held = datetime.now(VIETNAM_TZ) - timedelta(days=3)
        form = {
            "csrf": csrf_of(shown.text),
            "form_key": random_id("key"),
            "meeting_id": meeting_id,
            "kind": "regular",
            "start_date": f"{held:%Y-%m-%d}",
            "start_time": "19:30",
            "location": "Nhà văn hóa thôn 1",
            "agenda": "Kiểm điểm nghị quyết tháng trước",
            "notified_date": f"{held - timedelta(days=2):%Y-%m-%d}",
            "notified_time": "08:00",
        }
        before = len(world.ingested)
        sent = await secretary.post(f"/app/cells/{world.cell_a1}/meetings/held", data=form)
        assert sent.status_code == 303, sent.text
        assert sent.headers["location"] == f"/app/meetings/{meeting_id}/record?notice=held"
        [event] = world.ingested[before:]
        assert event[HELD_EXTENSION] is True and event["data"]["meeting_id"] == meeting_id
        told = (held - timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)
        assert datetime.fromisoformat(event["data"]["notified_at"]) == told  # the evidence the secretary gave
        record = await secretary.get(sent.headers["location"])
        assert record.status_code == 200, record.text
        assert "Hãy ghi điểm danh và biên bản bên dưới" in said(record.text)

        # the same meeting recorded again (a trial sent the form twice): a record's warning, no notice nor schedule
        start = held.replace(hour=19, minute=30, second=0, microsecond=0)
        world.meetings[meeting_id] |= {"starts_at": start.isoformat(), "location": form["location"]}  # as recorded
        again = await secretary.get(f"/app/cells/{world.cell_a1}/meetings/held")
        twice = {**form, "csrf": csrf_of(again.text), "form_key": random_id("key"), "meeting_id": random_id("mtg")}
        repeated = await secretary.post(f"/app/cells/{world.cell_a1}/meetings/held", data=twice)
        assert repeated.status_code == 422, repeated.text
        warned = said(repeated.text)
        assert (
            f"Chi bộ đã có buổi sinh hoạt lúc 19:30 {weekday(held)}, ngày {held:%d/%m/%Y} (Nhà văn hóa thôn 1), cách"
            " buổi này chưa đến một giờ: có thể đây là cùng một buổi sinh hoạt được ghi lại hai lần. Nếu đây là một"
            " buổi sinh hoạt khác đã diễn ra, hãy đánh dấu “Vẫn ghi lại: đây là một buổi sinh hoạt khác” rồi gửi lại."
        ) in warned, warned
        assert "thông báo hai lần" not in warned and "Vẫn lên lịch" not in warned
        assert "Vẫn ghi lại: đây là một buổi sinh hoạt khác" in warned.split("Chi bộ đã có buổi", 1)[1]

        # more than 7 days ago, or not begun: the form says so naming the date, and nothing is sent
        for start, expected in (
            (datetime.now(VIETNAM_TZ) - timedelta(days=9), "đã cách đây hơn 7 ngày"),
            (datetime.now(VIETNAM_TZ) + timedelta(days=2), "chưa tới"),
        ):
            again = await secretary.get(f"/app/cells/{world.cell_a1}/meetings/held")
            body = {**form, "csrf": csrf_of(again.text), "form_key": random_id("key"), "meeting_id": random_id("mtg")}
            refused = await secretary.post(
                f"/app/cells/{world.cell_a1}/meetings/held", data={**body, "start_date": f"{start:%Y-%m-%d}"}
            )
            assert refused.status_code == 422, refused.text
            errors = said(refused.text)
            assert (
                f"Ngày: ngày {start:%d/%m/%Y} {expected}" in errors
                or f"Ngày: 19:30 {weekday(start)}, ngày {start:%d/%m/%Y} {expected}" in (errors)
            ), errors
            assert "Đảng viên chưa được thông báo qua chibo." in errors  # still warned
        # a notice given after the start is no notice before it: the form says so rather than score it unsaid
        again = await secretary.get(f"/app/cells/{world.cell_a1}/meetings/held")
        late = {**form, "csrf": csrf_of(again.text), "form_key": random_id("key"), "meeting_id": random_id("mtg")}
        late["notified_date"] = f"{held:%Y-%m-%d}"
        late["notified_time"] = "20:00"
        refused = await secretary.post(f"/app/cells/{world.cell_a1}/meetings/held", data=late)
        assert refused.status_code == 422, refused.text
        assert (
            f"Ngày thông báo cho đảng viên: 20:00 {weekday(held)}, ngày {held:%d/%m/%Y} muộn hơn giờ bắt đầu"
            f" buổi sinh hoạt (19:30 {weekday(held)}, ngày {held:%d/%m/%Y})"
        ) in said(refused.text)
        # at the very minute of the start (a trial read "không trước giờ bắt đầu" as unnatural): said as such
        again = await secretary.get(f"/app/cells/{world.cell_a1}/meetings/held")
        at_start = {**late, "csrf": csrf_of(again.text), "form_key": random_id("key"), "notified_time": "19:30"}
        refused = await secretary.post(f"/app/cells/{world.cell_a1}/meetings/held", data=at_start)
        assert refused.status_code == 422, refused.text
        assert (
            f"Ngày thông báo cho đảng viên: 19:30 {weekday(held)}, ngày {held:%d/%m/%Y} trùng với giờ bắt đầu"
            f" buổi sinh hoạt (19:30 {weekday(held)}, ngày {held:%d/%m/%Y})"
        ) in said(refused.text)
        assert "không trước" not in said(refused.text)
        assert len(world.ingested) == before + 1


async def test_a_plain_schedule_at_a_past_start_points_to_the_form_for_a_meeting_already_held(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    async with signed_in(client, amqp_url, database_url, "secretary", world.cell_a1, world.secretary_a1) as secretary:
        shown = await secretary.get(f"/app/cells/{world.cell_a1}/meetings/new")
        assert "Đảng viên chưa được thông báo qua chibo." not in said(shown.text)
        yesterday = datetime.now(VIETNAM_TZ) - timedelta(days=1)
        refused = await secretary.post(
            f"/app/cells/{world.cell_a1}/meetings",
            data={
                "csrf": csrf_of(shown.text),
                "form_key": random_id("key"),
                "kind": "regular",
                "start_date": f"{yesterday:%Y-%m-%d}",
                "start_time": "19:30",
                "location": "Nhà văn hóa thôn 1",
            },
        )
        assert refused.status_code == 422, refused.text
        assert f"Nếu buổi sinh hoạt đã diễn ra, hãy ghi lại bằng “{HELD_LINK}”." in said(refused.text)


def test_the_held_forms_start_is_begun_and_at_most_seven_days_old() -> None:
    now = datetime(2026, 12, 10, 9, 0, tzinfo=VIETNAM_TZ)
    taken = [("2026-12-03", "09:05"), ("2026-12-10", "08:00"), ("2026-12-10", "09:10")]  # the week, the clock skew
    for day, hour in taken:
        errors: dict[str, str] = {}
        assert forms.held_start({"start_date": day, "start_time": hour}, errors, now=now) is not None, day
        assert errors == {}
    errors = {}
    assert forms.held_start({"start_date": "2026-12-03", "start_time": "08:30"}, errors, now=now) is None
    assert errors == {
        "starts_at": "Ngày: ngày 03/12/2026 đã cách đây hơn 7 ngày; buổi sinh hoạt đã diễn ra chỉ được ghi lại ở đây"
        " trong vòng 7 ngày kể từ lúc bắt đầu (từ 09:00 thứ Năm, ngày 03/12/2026 trở đi)."
    }
    errors = {}
    assert forms.held_start({"start_date": "2026-12-10", "start_time": "19:30"}, errors, now=now) is None
    assert errors == {
        "starts_at": "Giờ: 19:30 thứ Năm, ngày 10/12/2026 chưa tới (bây giờ là 09:00 thứ Năm, ngày 10/12/2026); buổi"
        " sinh hoạt sắp tới thì dùng"
        " “Lên lịch sinh hoạt”, để đảng viên được thông báo."
    }
