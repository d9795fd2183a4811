"""A secretary typed the adoption's votes (or its moment) on the record page while the minutes were adopted elsewhere
(another tab, another secretary, an integration's minutes.approved.v1); the next post of the page (another part's
button, or Enter) came back with the adoption part still marked "Chưa lưu" though its form was gone: a "not saved"
mark for something that could no longer be saved, and no word of why. The same for every part whose form goes away
because of a change made elsewhere (the meeting cancelled, moved ahead): the page now says what changed (the adopted
moment and votes as recorded, the cancellation's reason), shows what was typed there as text under "Không lưu được nội
dung đồng chí đã nhập", marks none of it "Chưa lưu" and never sends it again (secretary.open_parts, NotApplied)."""

import html
import re
from typing import Any

import httpx

from services.gateway.web.i18n import format_moment, parse_moment
from tests.gateway.fakes import World
from tests.gateway.test_minutes_label_pages import meetings_of_cell_a1, signed_in
from tests.gateway.test_unsaved_parts_kept import (
    UNSAVED,
    _multi,
    browser_sends,
    shown_after,
    with_roster_and_minutes,
)

ADOPTED_AT = "2026-11-04T08:00:00+07:00"


def not_applied(page: str) -> str:
    """The text of the page's section of what was typed and could not be saved ("" when it has none)."""
    found = re.search(r'<section[^>]* id="not-applied".*?</section>', page, re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(0)))) if found else ""


def input_names(page: str) -> set[str]:
    """The names of every input, select and textarea of the page."""
    return set(re.findall(r'<(?:input|select|textarea)[^>]* name="([^"]+)"', page))


async def test_typed_adoption_after_the_minutes_were_adopted_elsewhere_is_said_not_marked_unsaved(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    typed = {"votes_for": "9", "votes_against": "0", "approved_time": "20:05"}
    with meetings_of_cell_a1(world, held=with_roster_and_minutes(world)) as made:
        meeting_id = made["held"]
        record = f"/app/meetings/{meeting_id}/record"
        async with signed_in(
            client, amqp_url, database_url, "secretary", world.cell_a1, world.secretary_a1
        ) as secretary:
            page = (await secretary.get(record)).text
            assert "votes_for" in input_names(page)  # the adoption form, before it was adopted elsewhere
            world.meetings[meeting_id] |= {
                "status": "minutes_approved",
                "approved_at": ADOPTED_AT,
                "adoption_votes_for": 7,
                "adoption_votes_against": 1,
            }
            found = {}
            for action, more in (("/documents", {"title": "Nghị quyết tháng", "kind": "resolution"}), ("/record", {})):
                target, pairs = browser_sends(page, action, typed | more)
                sent = await secretary.post(target, data=_multi(pairs))
                shown = await shown_after(secretary, sent)
                said = not_applied(shown)
                found[action] = (
                    sent.status_code,
                    UNSAVED in html.unescape(shown),
                    "trong lúc đồng chí đang nhập" in said.lower(),
                    f"{format_moment(parse_moment(ADOPTED_AT))}, 7 tán thành, 1 không tán thành" in said,
                    all(value in said for value in typed.values()),
                    "sẽ không được gửi lại" in said,
                    bool({"votes_for", "votes_against", "approved_date", "approved_time"} & input_names(shown)),
                )
            assert found == dict.fromkeys(("/documents", "/record"), (200, False, True, True, True, True, False)), found
            # nothing of it is sent again: the page shown, sent by Enter untouched, is the page itself
            target, pairs = browser_sends(shown, "/record", {})
            again = await secretary.post(target, data=_multi(pairs))
            assert (again.status_code, again.headers.get("location")) == (303, record), again.text[-2000:]


async def test_parts_typed_when_the_meeting_was_cancelled_elsewhere_are_shown_with_its_reason(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    member = world.member_a1
    typed = {
        "content": "Nội dung đang gõ dở",
        f"status-{member}": "excused",
        f"reason-{member}": "Đi công tác",
        "votes_for": "9",
        "votes_against": "0",
        "title": "Nghị quyết tháng",
    }
    with meetings_of_cell_a1(world, held=with_roster_and_minutes(world)) as made:
        meeting_id = made["held"]
        record = f"/app/meetings/{meeting_id}/record"
        async with signed_in(
            client, amqp_url, database_url, "secretary", world.cell_a1, world.secretary_a1
        ) as secretary:
            page = (await secretary.get(record)).text
            world.meetings[meeting_id] |= {"status": "cancelled", "cancel_reason": "Mưa bão"}
            found = {}
            for action in ("/documents", "/record"):
                target, pairs = browser_sends(page, action, typed)
                sent = await secretary.post(target, data=_multi(pairs))
                said = not_applied(sent.text)
                found[action] = (
                    UNSAVED in html.unescape(sent.text),
                    "đã bị hủy" in said and "Mưa bão" in said,
                    all(value in said for value in ("Nội dung đang gõ dở", "Vắng có lý do (Đi công tác)", "9")),
                    # the refused part's own typing too, when its button was pressed
                    "Nghị quyết tháng" in said,
                )
            assert found == {"/documents": (False, True, True, True), "/record": (False, True, True, True)}, found


async def test_a_roster_typed_when_the_meeting_was_moved_ahead_elsewhere_is_shown_not_marked(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    member = world.member_a1

    def begun(meeting: dict[str, Any]) -> dict[str, Any]:
        return meeting | {"status": "scheduled", "approved_at": None, "attendance": None, "minutes": None}

    with meetings_of_cell_a1(world, begun=begun) as made:
        meeting_id = made["begun"]
        record = f"/app/meetings/{meeting_id}/record"
        async with signed_in(
            client, amqp_url, database_url, "secretary", world.cell_a1, world.secretary_a1
        ) as secretary:
            page = (await secretary.get(record)).text
            assert f"status-{member}" in input_names(page)
            world.meetings[meeting_id] |= {"starts_at": "2999-01-05T19:30:00+07:00"}  # ahead whatever today is
            target, pairs = browser_sends(page, "/record", {f"status-{member}": "absent"})
            sent = await secretary.post(target, data=_multi(pairs))
            said = not_applied(sent.text)
            assert sent.status_code == 200, sent.text[-2000:]
            assert UNSAVED not in html.unescape(sent.text)
            assert "đã được dời sang" in said and "05/01/2999" in said and "Vắng" in said, said


async def test_a_completion_day_typed_for_a_task_gone_elsewhere_is_shown_not_dropped(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    held = with_roster_and_minutes(world)

    def with_task(meeting: dict[str, Any]) -> dict[str, Any]:
        task = {"task_id": "t-gone", "meeting_id": meeting["meeting_id"], "assignee_id": world.member_a1}
        task |= {"description": "Vận động hội viên", "due_on": "2026-11-30", "completed_on": None}
        return held(meeting) | {"tasks": [task]}

    with meetings_of_cell_a1(world, held=with_task) as made:
        meeting_id = made["held"]
        record = f"/app/meetings/{meeting_id}/record"
        async with signed_in(
            client, amqp_url, database_url, "secretary", world.cell_a1, world.secretary_a1
        ) as secretary:
            page = (await secretary.get(record)).text
            assert "completed_on-t-gone" in input_names(page)
            world.meetings[meeting_id] |= {"tasks": []}  # the minutes replaced elsewhere, without the task
            found = {}
            for action, more in (("/documents", {"title": "Nghị quyết tháng", "kind": "resolution"}), ("/record", {})):
                target, pairs = browser_sends(page, action, {"completed_on-t-gone": "2026-11-20"} | more)
                sent = await secretary.post(target, data=_multi(pairs))
                said = not_applied(sent.text)
                found[action] = (sent.status_code, "Nhiệm vụ 2026-11-20" in said, "thay đổi" in said)
            assert found == dict.fromkeys(("/documents", "/record"), (200, True, True)), found
