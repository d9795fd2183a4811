"""A meeting its secretary recorded after it was held ("Ghi lại buổi sinh hoạt đã diễn ra", `held_recorded_at`) says
so wherever it is read: its page (a committee officer's as a secretary's) and its record page say when it was
recorded, and its score's notice line says that the notice time before the start was declared by the secretary, not
sent through chibo. The point itself stays: DOMAIN.md's `preparation.notified` is "members notified before the
start", and README/docs/integrations.md let the secretary give when the cell told its members by other means.
A trial found an officer reading "Đã thông báo cho đảng viên lúc 08:00 thứ Tư, ngày 02/12/2026" (1/1) with nothing
telling that the meeting was typed in a day after it was held."""

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from services.gateway.web.explain import explain_line
from shared.reasons import ReasonPart, reason_text
from tests.gateway.conftest import TokenFactory
from tests.gateway.fakes import World
from tests.gateway.test_held_meeting import said
from tests.gateway.test_minutes_label_pages import signed_in, text_of
from tests.support.ids import random_id

NOTIFIED = [ReasonPart(code="notified", notified_at="2026-12-02T08:00:00+07:00")]
LINE = {
    "code": "preparation.notified",
    "points": 1,
    "max": 1,
    "applicable": True,
    "source": "auto",
    "reason": reason_text(NOTIFIED),
    "parts": [part.model_dump(mode="json", exclude_none=True) for part in NOTIFIED],
}
RECORDED_AT = "2026-12-07T14:11:00+00:00"  # 21:11 on Monday 7 December in Vietnam
HELD_NOTE = "Ghi lại sau khi họp, lúc 21:11 thứ Hai, ngày 07/12/2026"
DECLARED = "Đã thông báo cho đảng viên lúc 08:00 thứ Tư, ngày 02/12/2026 (theo bí thư kê khai, không gửi qua chibo)"
SENT = "Đã thông báo cho đảng viên lúc 08:00 thứ Tư, ngày 02/12/2026"


@contextmanager
def scored(world: World, *, held_recorded_at: str | None) -> Iterator[str]:
    """A meeting of cell A1 held 06/12 19:30, its members notified 02/12 08:00 (1/1), removed afterwards."""
    framework_id, meeting_id = random_id("fw-notice"), f"{world.cell_a1}-{random_id('held-said')}"
    world.frameworks[framework_id] = {
        "id": framework_id,
        "version": "1",
        "name": "Khung thử",
        "effective_from": "2025-10-28",
        "groups": [{"code": "3", "name": "Chuẩn bị", "items": [{"code": "preparation.notified", "name": "Thông báo"}]}],
    }
    world.meetings[meeting_id] = world._meeting(meeting_id, world.cell_a1) | {
        "starts_at": "2026-12-06T19:30:00+07:00",
        "notified_at": "2026-12-02T08:00:00+07:00",
        "status": "minutes_submitted",
        "approved_at": None,
        "minutes": {"started_at": "2026-12-06T19:30:00+07:00", "ended_at": "2026-12-06T21:10:00+07:00"},
        "held_recorded_at": held_recorded_at,
    }
    world.scores[meeting_id] = {
        "meeting_id": meeting_id,
        "cell_id": world.cell_a1,
        "framework": {"id": framework_id, "version": "1"},
        "score": 100.0,
        "rating": "good",
        "provisional": False,
        "criteria": [LINE],
        "computed_at": "2026-12-07T15:00:00+00:00",
    }
    try:
        yield meeting_id
    finally:
        del world.meetings[meeting_id], world.scores[meeting_id], world.frameworks[framework_id]


def notice_line(page: str) -> str:
    """The text of the score's notice row (its three cells)."""
    row = page.split('data-code="preparation.notified"', 1)[1].split("</tr>", 1)[0]
    return said(row)


async def test_the_officers_page_says_a_meeting_was_recorded_after_it_was_held_and_whose_notice_time_it_is(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    with scored(world, held_recorded_at=RECORDED_AT) as late, scored(world, held_recorded_at=None) as ahead:
        async with signed_in(client, amqp_url, database_url, "committee_officer", world.ward_a, None) as officer:
            shown = await officer.get(f"/app/meetings/{late}")
            plain = (await officer.get(f"/app/meetings/{ahead}")).text
    assert shown.status_code == 200, shown.text
    assert text_of(shown.text, "held-recorded") == HELD_NOTE
    line = notice_line(shown.text)
    assert DECLARED in line and "1 / 1" in line, line  # the point kept (DOMAIN.md), its source said
    # a meeting scheduled beforehand, its members told through chibo: as before, nothing said of a declaration
    assert 'id="held-recorded"' not in plain and "kê khai" not in plain and SENT in notice_line(plain)


async def test_the_secretarys_pages_say_it_too(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    with scored(world, held_recorded_at=RECORDED_AT) as late:
        async with signed_in(client, amqp_url, database_url, "secretary", world.cell_a1, world.secretary_a1) as sec:
            page = (await sec.get(f"/app/meetings/{late}")).text
            record = await sec.get(f"/app/meetings/{late}/record")
    assert text_of(page, "held-recorded") == HELD_NOTE and DECLARED in notice_line(page)
    assert record.status_code == 200, record.text
    assert text_of(record.text, "held-recorded") == HELD_NOTE


async def test_the_apis_explanation_says_the_notice_time_was_declared(
    client: httpx.AsyncClient, token_for: TokenFactory, world: World
) -> None:
    headers = await token_for("member", world.cell_a1, world.member_a1)
    with scored(world, held_recorded_at=RECORDED_AT) as late, scored(world, held_recorded_at=None) as ahead:
        declared = (await client.get(f"/v1/meetings/{late}/score", headers=headers)).json()
        sent = (await client.get(f"/v1/meetings/{ahead}/score", headers=headers)).json()
    assert [line["explanation"] for line in declared["criteria"]] == [DECLARED]
    assert [line["explanation"] for line in sent["criteria"]] == [SENT] == [explain_line(LINE)]
    assert declared["criteria"][0]["points"] == 1  # the score is evaluation's, unchanged


def test_a_notice_given_at_the_recording_itself_is_not_called_declared() -> None:
    # chibo's own notice moment of a meeting recorded afterwards is the recording (after the start: not notified);
    # only a notice before the recording can be the secretary's declaration
    at_recording = {**LINE, "parts": [{"code": "notified", "notified_at": RECORDED_AT}]}
    assert "kê khai" not in explain_line(at_recording, held_recorded_at=RECORDED_AT)
    assert explain_line(LINE, held_recorded_at=RECORDED_AT) == DECLARED
