"""A member who left keeps their name on the pages of past meetings and their evidence for the year.

A new user's trial removed a member (member.removed.v1, effective today): the November meeting's page showed the raw
id in its roster and among its speakers, and the cell's yearly evidence left the member out although they attended
12 meetings that year (DOMAIN.md: evidence per member). The meeting's page, its minutes PDF and the evidence name
them (data.meeting_members, the members of the meeting's start; the evidence, everyone who was a member during the
year), the page and the evidence saying from when they are gone.
"""

import html
import io
import re
from datetime import datetime
from typing import Any

import httpx
from pypdf import PdfReader

from shared.periods import VIETNAM_TZ
from tests.gateway.fakes import World
from tests.gateway.test_minutes_label_pages import meetings_of_cell_a1, signed_in
from tests.support.ids import random_id

NAME = "Lê Thị Hồng"
LEFT_AT = datetime(2026, 12, 1, tzinfo=VIETNAM_TZ)


def with_former(world: World, member_id: str) -> Any:
    """The meeting change naming `member_id` present and among the speakers, assigned a task."""

    def change(meeting: dict[str, Any]) -> dict[str, Any]:
        records = [*meeting["attendance"]["records"], {"member_id": member_id, "status": "present", "reason": None}]
        task = {
            "task_id": random_id("t"),
            "meeting_id": meeting["meeting_id"],
            "assignee_id": member_id,
            "description": "Vận động hội viên",
            "due_on": "2026-11-30",
            "completed_on": "2026-11-20",
        }
        minutes = meeting["minutes"] | {"speakers": [member_id], "chair_id": world.member_a1}
        return (
            meeting
            | {"attendance": meeting["attendance"] | {"records": records}, "minutes": minutes}
            | {"tasks": [task]}
        )

    return change


def text(page: str) -> str:
    """The page's text, tags dropped and entities read."""
    return html.unescape(re.sub(r"\s+", " ", re.sub("<[^>]+>", " ", page)))


async def test_a_member_who_left_is_named_on_past_meetings_and_in_the_years_evidence(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    gone = random_id("mem")
    world.former[gone] = (world.cell_a1, datetime(2026, 1, 1, tzinfo=VIETNAM_TZ), LEFT_AT, NAME)
    try:
        with meetings_of_cell_a1(world, november=with_former(world, gone)) as made:
            meeting_id = made["november"]
            async with signed_in(client, amqp_url, database_url, "committee_officer", world.ward_a, None) as officer:
                page = await officer.get(f"/app/meetings/{meeting_id}")
                assert page.status_code == 200, page.text
                roster = text(page.text.split('id="roster"', 1)[1].split("</table>", 1)[0])
                assert NAME in roster and gone not in roster
                assert "đã rời chi bộ từ ngày 01/12/2026" in roster
                speakers = text(page.text.split('id="speakers"', 1)[1].split("</p>", 1)[0])
                assert NAME in speakers and gone not in speakers
                pdf = await officer.get(f"/app/meetings/{meeting_id}/minutes.pdf")
                assert pdf.status_code == 200
                document = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf.content)).pages)
                assert gone not in document
                evidence = await officer.get(f"/app/cells/{world.cell_a1}/evidence?year=2026")
                assert evidence.status_code == 200, evidence.text
                row = evidence.text.split(f'data-member="{gone}"', 1)[1].split("</tr>", 1)[0]
                assert NAME in text(row) and "đã rời chi bộ từ ngày 01/12/2026" in text(row)
                csv_text = (await officer.get(f"/app/cells/{world.cell_a1}/evidence.csv?year=2026")).text
                assert any(line.startswith(gone) and NAME in line for line in csv_text.splitlines())
    finally:
        world.former.pop(gone, None)


async def test_the_secretarys_record_page_says_when_a_member_of_the_meetings_start_left(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    """The record page lists the members of the meeting's start (roster and roster form) as the meeting page does,
    and, as it does, says beside a member who left since from when they are gone (data.left_since): it listed them
    without it, a former member read as one of today's."""
    gone = random_id("mem")
    world.former[gone] = (world.cell_a1, datetime(2026, 1, 1, tzinfo=VIETNAM_TZ), LEFT_AT, NAME)
    try:
        with meetings_of_cell_a1(world, november=with_former(world, gone)) as made:
            async with signed_in(
                client, amqp_url, database_url, "secretary", world.cell_a1, world.secretary_a1
            ) as secretary:
                page = await secretary.get(f"/app/meetings/{made['november']}/record")
                assert page.status_code == 200, page.text
                roster = page.text.split('id="roster', 1)[1].split("</table>", 1)[0]
                row = text(next(row for row in roster.split("<tr") if NAME in row))
                assert "đã rời chi bộ từ ngày 01/12/2026" in row, row
                assert all("đã rời chi bộ" not in text(r) for r in roster.split("<tr") if NAME not in r)
    finally:
        world.former.pop(gone, None)
