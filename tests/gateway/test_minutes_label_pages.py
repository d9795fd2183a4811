"""A meeting's minutes read the same on every page (i18n.minutes_label): the cell's list, the meeting, the record
page, the monitor's cells and confirmation; and the monitor's confirmation says a refused post's errors even when the
meeting has no item scored by people (they were shown only inside the items' section, so nothing was said)."""

import html
import io
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
from pypdf import PdfReader

from services.gateway.config import GatewaySettings
from tests.gateway.fakes import World
from tests.support.ids import random_id
from tests.support.web import csrf_of, sign_in

NONE = "Chưa có biên bản"
UNPUBLISHED = "Đã ghi biên bản (chưa đăng tải)"
PUBLISHED = "Đã đăng tải biên bản"
ADOPTED = "Biên bản đã được thông qua"


def text_of(page: str, element_id: str) -> str:
    """The text inside the element with that id (tags dropped, entities read)."""
    found = re.search(f'id="{element_id}"[^>]*>(.*?)</(?:p|dd|tr)>', page, re.S)
    assert found, f"no #{element_id} on the page"
    return html.unescape(re.sub("<[^>]+>", "", found.group(1))).strip()


@asynccontextmanager
async def signed_in(
    client: httpx.AsyncClient, amqp_url: str, database_url: str, role: str, unit: str, person: str | None
) -> AsyncIterator[httpx.AsyncClient]:
    """The shared client signed in with a web account made for the test, signed out afterwards."""
    settings = GatewaySettings(database_url=database_url, amqp_url=amqp_url)
    await sign_in(client, settings, sub=f"min-{uuid.uuid4().hex[:8]}", role=role, unit=unit, person=person)
    try:
        yield client
    finally:
        client.cookies.clear()


@contextmanager
def meetings_of_cell_a1(
    world: World, **changes: Callable[[dict[str, Any]], dict[str, Any]]
) -> Iterator[dict[str, str]]:
    """Meetings of cell A1 (held last month) in the fake meetings service, one for each name, removed afterwards."""
    made: dict[str, str] = {}
    for name, change in changes.items():
        meeting_id = random_id("mtg")
        world.meetings[meeting_id] = change(world._meeting(meeting_id, world.cell_a1) | {"tasks": []})
        made[name] = meeting_id
    try:
        yield made
    finally:
        for meeting_id in made.values():
            world.meetings.pop(meeting_id, None)


MINUTES_DOCUMENT = {"title": "Biên bản", "kind": "minutes", "url": None, "published_at": "2026-11-04T08:00:00+07:00"}
STATES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "none": lambda m: (
        m
        | {"status": "scheduled", "minutes": None, "approved_at": None, "attendance": None}
        | {"minutes_published": False, "starts_at": "2026-11-05T19:00:00+07:00"}
    ),
    "unpublished": lambda m: (
        m
        | {"status": "minutes_submitted", "approved_at": None, "minutes_published": False}
        | {"starts_at": "2026-11-06T19:00:00+07:00"}
    ),
    "published": lambda m: (
        m
        | {"status": "minutes_submitted", "approved_at": None, "minutes_published": True}
        | {"documents": [MINUTES_DOCUMENT], "starts_at": "2026-11-07T19:00:00+07:00"}
    ),
    "adopted": lambda m: (
        m | {"minutes_published": True, "documents": [MINUTES_DOCUMENT], "starts_at": "2026-11-08T19:00:00+07:00"}
    ),
}


async def test_the_cell_and_meeting_pages_say_the_minutes_state_in_the_same_words(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    with meetings_of_cell_a1(world, **STATES) as made:
        async with signed_in(client, amqp_url, database_url, "committee_officer", world.ward_a, None) as officer:
            cell = await officer.get(f"/app/cells/{world.cell_a1}?year=2026")
            assert cell.status_code == 200, cell.text
            rows = {
                name: html.unescape(re.search(f'/meetings/{meeting_id}".*?</tr>', cell.text, re.S).group(0))  # type: ignore[union-attr]
                for name, meeting_id in made.items()
            }
            assert UNPUBLISHED in rows["unpublished"] and PUBLISHED in rows["published"]
            assert ADOPTED in rows["adopted"] and "Đã nộp biên bản" not in cell.text
            said = {}
            for name, meeting_id in made.items():
                page = await officer.get(f"/app/meetings/{meeting_id}")
                assert page.status_code == 200, page.text
                said[name] = text_of(page.text, "minutes-state")
        assert said["none"] == NONE and said["unpublished"] == UNPUBLISHED and said["published"] == PUBLISHED
        assert said["adopted"].startswith(ADOPTED + " lúc 08:00")


async def test_the_record_page_says_the_minutes_state(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    with meetings_of_cell_a1(world, **STATES) as made:
        async with signed_in(
            client, amqp_url, database_url, "secretary", world.cell_a1, world.secretary_a1
        ) as secretary:
            said = {}
            for name in ("none", "unpublished", "published"):
                page = await secretary.get(f"/app/meetings/{made[name]}/record")
                assert page.status_code == 200, page.text
                said[name] = text_of(page.text, "minutes-state")
    assert said == {"none": NONE, "unpublished": UNPUBLISHED, "published": PUBLISHED}


async def test_the_monitor_reads_the_minutes_state_of_the_meetings_they_follow(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    with meetings_of_cell_a1(world, **STATES) as made:
        async with signed_in(
            client, amqp_url, database_url, "committee_officer", world.ward_a, world.officer_a
        ) as monitor:
            page = await monitor.get("/app/monitoring")
            assert page.status_code == 200, page.text
            for name, words in (("unpublished", UNPUBLISHED), ("published", PUBLISHED), ("adopted", ADOPTED)):
                row = re.search(f'id="m-{made[name]}".*?</tr>', page.text, re.S)
                assert row and words in html.unescape(row.group(0)), name
            confirm = await monitor.get(f"/app/monitoring/meetings/{made['published']}")
            assert confirm.status_code == 200, confirm.text
            assert text_of(confirm.text, "confirm-minutes") == PUBLISHED


async def test_a_refused_confirmation_is_said_when_the_meeting_has_no_item_scored_by_people(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    # a meeting not scored (no minutes yet): no item scored by people to show, and a post of the form is refused
    with meetings_of_cell_a1(world, none=STATES["none"]) as made:
        async with signed_in(
            client, amqp_url, database_url, "committee_officer", world.ward_a, world.officer_a
        ) as monitor:
            path = f"/app/monitoring/meetings/{made['none']}"
            form = await monitor.get(path)
            assert form.status_code == 200, form.text
            no_items = "Buổi sinh hoạt này chưa có tiêu chí chấm thủ công nào để xác nhận."
            assert no_items in html.unescape(form.text) and 'id="confirm-errors"' not in form.text
            sent = await monitor.post(
                path, data={"csrf": csrf_of(form.text), "form_key": uuid.uuid4().hex, "comment": "Đạt"}
            )
    assert sent.status_code == 422, sent.text
    page = html.unescape(sent.text)
    assert 'id="confirm-errors"' in page and 'role="alert"' in page
    start = page.index('id="confirm-errors"')
    errors = page[start : page.index("</div>", start)]
    assert "Vui lòng sửa:" in errors and "Điểm: không được để trống." in errors
    assert no_items in page


VOIDED = "Biên bản đã được sửa sau khi chi bộ thông qua lúc 21:01"


async def test_minutes_changed_after_their_adoption_are_not_said_adopted(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    """A new user's trial: minutes issued after the adoption (a feed's correction) left the page saying "Biên bản đã
    được thông qua lúc 21:01" over the new text. Meetings reads them not adopted, with the adoption they voided
    (MeetingReply.adoption_voided_at): the meeting and record pages say so, never that the current text is adopted."""
    voided = {
        "voided": lambda m: (
            m
            | {"status": "minutes_submitted", "approved_at": None, "minutes_published": False}
            | {"adoption_voided_at": "2026-11-09T21:01:00+07:00", "starts_at": "2026-11-09T19:00:00+07:00"}
        )
    }
    with meetings_of_cell_a1(world, **voided) as made:
        async with signed_in(client, amqp_url, database_url, "committee_officer", world.ward_a, None) as officer:
            page = (await officer.get(f"/app/meetings/{made['voided']}")).text
            assert text_of(page, "minutes-state") == UNPUBLISHED
            assert text_of(page, "adoption-voided").startswith(VOIDED)
        async with signed_in(
            client, amqp_url, database_url, "secretary", world.cell_a1, world.secretary_a1
        ) as secretary:
            page = (await secretary.get(f"/app/meetings/{made['voided']}/record")).text
            assert text_of(page, "minutes-state") == UNPUBLISHED
            assert text_of(page, "adoption-voided").startswith(VOIDED) and ADOPTED + " lúc" not in page


ROSTER_VOIDED = "Danh sách điểm danh đã được sửa sau khi chi bộ thông qua biên bản lúc 21:01"


async def test_a_roster_changed_after_the_adoption_is_said_to_have_voided_it(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    """An integration's roster issued after the adoption voids it as minutes do (MeetingReply.adoption_voided_by
    "roster"): the meeting and record pages say the roster changed, not the minutes' text, never that they are
    adopted."""
    voided = {
        "voided": lambda m: (
            m
            | {"status": "minutes_submitted", "approved_at": None, "minutes_published": False}
            | {"adoption_voided_at": "2026-11-09T21:01:00+07:00", "starts_at": "2026-11-09T19:00:00+07:00"}
            | {"adoption_voided_by": "roster"}
        )
    }
    with meetings_of_cell_a1(world, **voided) as made:
        async with signed_in(client, amqp_url, database_url, "committee_officer", world.ward_a, None) as officer:
            page = (await officer.get(f"/app/meetings/{made['voided']}")).text
            assert text_of(page, "adoption-voided").startswith(ROSTER_VOIDED) and VOIDED not in page
        async with signed_in(
            client, amqp_url, database_url, "secretary", world.cell_a1, world.secretary_a1
        ) as secretary:
            page = (await secretary.get(f"/app/meetings/{made['voided']}/record")).text
            assert text_of(page, "adoption-voided").startswith(ROSTER_VOIDED) and ADOPTED + " lúc" not in page


CANCELLED_MINUTES = "Buổi sinh hoạt đã hủy: biên bản nhận được không được tính"
CANCELLED_TASKS = "Buổi sinh hoạt đã hủy: các nhiệm vụ này không được tính và không có trong danh sách nhiệm vụ."


async def test_a_cancelled_meetings_page_marks_the_minutes_and_tasks_it_holds_as_not_counted(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    """A new user's trial: a cancelled meeting's page said "Biên bản: Chưa có biên bản", then showed the minutes'
    times, chair and speakers and its tasks. A cancelled meeting is not held (DOMAIN.md), and its tasks are in no task
    list; what other systems recorded of it is shown under one word saying so, never "no minutes"."""
    cancelled = {
        "with minutes": lambda m: m | {"status": "cancelled", "cancel_reason": "Mưa bão", "approved_at": None},
        "without": lambda m: (
            m | {"status": "cancelled", "cancel_reason": "Mưa bão", "approved_at": None, "minutes": None, "tasks": []}
        ),
    }
    with meetings_of_cell_a1(world, **cancelled) as made:
        world.meetings[made["with minutes"]]["tasks"] = world._meeting(made["with minutes"], world.cell_a1)["tasks"]
        async with signed_in(client, amqp_url, database_url, "committee_officer", world.ward_a, None) as officer:
            held = html.unescape((await officer.get(f"/app/meetings/{made['with minutes']}")).text)
            bare = html.unescape((await officer.get(f"/app/meetings/{made['without']}")).text)
    assert text_of(held, "minutes-state") == CANCELLED_MINUTES and NONE not in held
    assert text_of(held, "tasks-cancelled") == CANCELLED_TASKS and "Vận động hội viên" in held
    assert text_of(bare, "minutes-state") == NONE and 'id="tasks-cancelled"' not in bare


CANCELLED_LINK = "Biên bản (PDF) — không được tính vì buổi sinh hoạt đã hủy"
CANCELLED_PDF = "Buổi sinh hoạt này đã bị hủy: biên bản này không được tính."


async def test_a_cancelled_meetings_minutes_pdf_and_its_link_say_they_do_not_count(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    """The page said the minutes of a cancelled meeting do not count, but its "Biên bản (PDF)" link and the PDF itself
    (a document printed and passed on apart from the page) said nothing of it: both now say so; a held meeting's
    link and PDF say nothing of the kind."""
    cancelled = {"cancelled": lambda m: m | {"status": "cancelled", "cancel_reason": "Mưa bão", "approved_at": None}}
    with meetings_of_cell_a1(world, **cancelled, held=lambda m: m) as made:
        async with signed_in(client, amqp_url, database_url, "committee_officer", world.ward_a, None) as officer:
            pages = {key: html.unescape((await officer.get(f"/app/meetings/{made[key]}")).text) for key in made}
            pdfs = {key: await officer.get(f"/app/meetings/{made[key]}/minutes.pdf") for key in made}
    link = re.search(r'<a [^>]*href="[^"]*/minutes\.pdf"[^>]*>(.*?)</a>', pages["cancelled"], re.S)
    assert link is not None and link.group(1).strip() == CANCELLED_LINK
    held_link = re.search(r'<a [^>]*href="[^"]*/minutes\.pdf"[^>]*>(.*?)</a>', pages["held"], re.S)
    assert held_link is not None and held_link.group(1).strip() == "Biên bản (PDF)"
    assert all(pdf.status_code == 200 for pdf in pdfs.values())
    said = {
        key: " ".join(" ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf.content)).pages).split())
        for key, pdf in pdfs.items()
    }
    assert CANCELLED_PDF in said["cancelled"]
    assert "không được tính" not in said["held"] and "BIÊN BẢN" in said["held"]
