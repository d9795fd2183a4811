"""A trial's secretary typed an attendance row, then saved the minutes: the page came back with the minutes saved
and the row as stored, what was typed lost without a word (each part of the record page was its own form, so the
minutes' button sent only the minutes). The page is one form now: whichever part's button is pressed, every part's
typed inputs are sent, that part is saved (or refused) and the others come back as typed, marked "Chưa lưu"
(secretary.unsaved_parts), with the `was.*` they were first shown with. Each test sends what a browser sends for the
button pressed: the inputs of the button's own form, with what was typed where that form has the input."""

import html
import re
from typing import Any

import httpx

from tests.gateway.fakes import World
from tests.gateway.test_minutes_label_pages import meetings_of_cell_a1, signed_in

UNSAVED = "Chưa lưu"


def with_roster_and_minutes(world: World) -> Any:
    """A meeting held, not adopted: its roster (everyone present) and minutes stored."""

    def change(meeting: dict[str, Any]) -> dict[str, Any]:
        people = (world.member_a1, world.secretary_a1)
        records = [{"member_id": person, "status": "present", "reason": None} for person in people]
        minutes = meeting["minutes"] | {
            "chair_id": world.secretary_a1,
            "recorder_id": world.secretary_a1,
            "speakers": [],
            "content": "Nội dung đã lưu",
            "conclusions": "Kết luận đã lưu",
            "resolutions": [],
        }
        return meeting | {
            "status": "minutes_submitted",
            "approved_at": None,
            "attendance": {"records": records, "guests": []},
            "minutes": minutes,
            "tasks": [],
        }

    return change


def browser_sends(page: str, action: str, typed: dict[str, str]) -> tuple[str, list[tuple[str, str]]]:
    """Where the browser sends `page` and what, when the button saving `action` (`/minutes`) is pressed after `typed`
    was typed: the inputs of the button's own form only (typed values where the form has the input), the button's
    name and value if it has one."""
    for block in re.findall(r"<form\b[^>]*>.*?</form>", page, re.S):
        opening = block[: block.index(">") + 1]
        button = re.search(rf'<button type="submit" formaction="([^"]*{re.escape(action)})"([^>]*)>', block)
        own = re.search(rf'action="([^"]*{re.escape(action)})"', opening)
        if not (button or own):
            continue
        pairs: list[tuple[str, str]] = []
        for attributes in re.findall(r"<input([^>]*)>", block):
            name = re.search(r'name="([^"]*)"', attributes)
            value = re.search(r'value="([^"]*)"', attributes)
            if not name or ('type="checkbox"' in attributes and "checked" not in attributes):
                continue
            pairs.append((name.group(1), html.unescape(value.group(1)) if value else ""))
        for name, text in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', block, re.S):
            pairs.append((name, html.unescape(text)))
        for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', block, re.S):
            chosen = re.search(r'<option value="([^"]*)" selected', options)
            pairs.append((name, chosen.group(1) if chosen else ""))
        pairs = [(name, typed.get(name, value)) for name, value in pairs]
        if button:
            key = re.search(r'name="([^"]*)" value="([^"]*)"', button.group(2))
            if key:
                pairs.append((key.group(1), key.group(2)))
        return html.unescape(button.group(1) if button else own.group(1) if own else ""), pairs
    raise AssertionError(f"no button saving {action}")


def chosen_status(page: str, member_id: str) -> str:
    """The status the roster row of `member_id` shows chosen."""
    found = re.search(rf'<select name="status-{member_id}"[^>]*>(.*?)</select>', page, re.S)
    assert found, member_id
    chosen = re.search(r'<option value="([^"]*)" selected', found.group(1))
    return chosen.group(1) if chosen else ""


def typed_reason(page: str, member_id: str) -> str:
    """What the reason box of `member_id`'s roster row holds."""
    found = re.search(rf'<input name="reason-{member_id}" value="([^"]*)"', page)
    assert found, member_id
    return html.unescape(found.group(1))


def content_of(page: str) -> str:
    """What the minutes' content box holds."""
    found = re.search(r'<textarea id="m-content" name="content"[^>]*>(.*?)</textarea>', page, re.S)
    assert found
    return html.unescape(found.group(1))


def part_marked_unsaved(page: str, part: str) -> bool:
    """Whether the heading of the record page's `part` says it holds what was not saved."""
    heading = re.search(rf'<h2 id="{part}-title">(.*?)</h2>', page, re.S)
    assert heading, part
    return UNSAVED in html.unescape(heading.group(1))


async def shown_after(secretary: httpx.AsyncClient, sent: httpx.Response) -> str:
    """The page the browser shows after `sent`: the record page it is sent to, else the answer itself."""
    if sent.status_code == 303:
        return (await secretary.get(sent.headers["location"])).text
    return sent.text


async def test_a_typed_roster_row_survives_the_minutes_saved_or_refused_as_stale(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    member = world.member_a1
    row = {f"status-{member}": "excused", f"reason-{member}": "Đi công tác"}
    with meetings_of_cell_a1(world, held=with_roster_and_minutes(world)) as made:
        record = f"/app/meetings/{made['held']}/record"
        async with signed_in(
            client, amqp_url, database_url, "secretary", world.cell_a1, world.secretary_a1
        ) as secretary:
            for stale in (False, True):
                page = (await secretary.get(record)).text
                typed = row | {"content": "Nội dung sửa"}
                if stale:  # another tab saved other minutes since this page showed them
                    typed |= {"was.minutes": "stale", "was.minutes.content": "stale"}
                target, pairs = browser_sends(page, "/minutes", typed)
                sent = await secretary.post(target, data=_multi(pairs))
                assert sent.status_code in ((422,) if stale else (200, 303)), sent.text[-2000:]
                shown = await shown_after(secretary, sent)
                said = (chosen_status(shown, member), typed_reason(shown, member))
                assert said == ("excused", "Đi công tác"), (stale, said)
                assert part_marked_unsaved(shown, "attendance"), stale
                assert not part_marked_unsaved(shown, "minutes"), stale


async def test_typed_minutes_survive_the_roster_saved_or_refused_as_stale(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    member = world.member_a1
    with meetings_of_cell_a1(world, held=with_roster_and_minutes(world)) as made:
        record = f"/app/meetings/{made['held']}/record"
        async with signed_in(
            client, amqp_url, database_url, "secretary", world.cell_a1, world.secretary_a1
        ) as secretary:
            for stale in (False, True):
                page = (await secretary.get(record)).text
                typed = {"content": "Nội dung đang gõ", f"status-{member}": "absent"}
                if stale:  # another tab saved another roster row since this page showed it
                    typed |= {"was.attendance": "stale", f"was.attendance.{member}": "stale"}
                target, pairs = browser_sends(page, "/attendance", typed)
                sent = await secretary.post(target, data=_multi(pairs))
                assert sent.status_code in ((422,) if stale else (200, 303)), sent.text[-2000:]
                shown = await shown_after(secretary, sent)
                assert content_of(shown) == "Nội dung đang gõ", (stale, content_of(shown))
                assert part_marked_unsaved(shown, "minutes"), stale
                assert not part_marked_unsaved(shown, "attendance"), stale


async def test_nothing_typed_elsewhere_keeps_the_redirect_after_a_save(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    with meetings_of_cell_a1(world, held=with_roster_and_minutes(world)) as made:
        record = f"/app/meetings/{made['held']}/record"
        async with signed_in(
            client, amqp_url, database_url, "secretary", world.cell_a1, world.secretary_a1
        ) as secretary:
            page = (await secretary.get(record)).text
            target, pairs = browser_sends(page, "/minutes", {"content": "Nội dung sửa"})
            sent = await secretary.post(target, data=_multi(pairs))
            assert sent.status_code == 303, sent.text[-2000:]
            assert sent.headers["location"] == f"{record}?notice=minutes"
            # Enter (the page's first, unseen button) saves nothing: with nothing typed, the page again; with the
            # minutes typed, the page with them as typed, marked unsaved
            _target, untouched = browser_sends(page, "/minutes", {})
            again = await secretary.post(record, data=_multi(untouched))
            assert (again.status_code, again.headers.get("location")) == (303, record)
            kept = await secretary.post(record, data=_multi(pairs))
            assert kept.status_code == 200, kept.text[-2000:]
            assert content_of(kept.text) == "Nội dung sửa" and part_marked_unsaved(kept.text, "minutes")


def adoption_moment(page: str) -> tuple[str, str]:
    """What the adoption form's date and hour boxes hold."""
    day = re.search(r'<input id="a-date" name="approved_date"[^>]* value="([^"]*)"', page)
    hour = re.search(r'<input id="a-time" name="approved_time"[^>]* value="([^"]*)"', page)
    assert day and hour, page[-3000:]
    return day.group(1), hour.group(1)


def hidden_value(page: str, name: str) -> str:
    """The value of the page's hidden input `name`."""
    found = re.search(rf'<input type="hidden" name="{re.escape(name)}" value="([^"]*)"', page)
    assert found, name
    return html.unescape(found.group(1))


async def test_a_typed_adoption_date_or_hour_alone_survives_the_minutes_saved(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    """Only typed votes carried the adoption part over: a changed adoption date or hour alone was lost when the
    minutes were saved, the meeting's end (2026-11-03 20:40) back in its box and nothing said."""
    with meetings_of_cell_a1(world, held=with_roster_and_minutes(world)) as made:
        record = f"/app/meetings/{made['held']}/record"
        async with signed_in(
            client, amqp_url, database_url, "secretary", world.cell_a1, world.secretary_a1
        ) as secretary:
            for typed in ({"approved_time": "20:05"}, {"approved_date": "2026-11-04"}):
                page = (await secretary.get(record)).text
                assert adoption_moment(page) == ("2026-11-03", "20:40"), typed
                target, pairs = browser_sends(page, "/minutes", {"content": "Nội dung sửa"} | typed)
                sent = await secretary.post(target, data=_multi(pairs))
                assert sent.status_code in (200, 303), sent.text[-2000:]
                shown = await shown_after(secretary, sent)
                expected = (typed.get("approved_date", "2026-11-03"), typed.get("approved_time", "20:40"), True)
                assert (*adoption_moment(shown), part_marked_unsaved(shown, "approval")) == expected, typed
                assert not part_marked_unsaved(shown, "minutes"), typed
                # shown again with what the page first showed: sent again, the moment is still this page's typing
                said = (hidden_value(shown, "was.approved_date"), hidden_value(shown, "was.approved_time"))
                assert said == ("2026-11-03", "20:40"), typed
                target, pairs = browser_sends(shown, "/minutes", {})
                again = await secretary.post(target, data=_multi(pairs))
                assert again.status_code == 200, again.text[-2000:]
                assert (*adoption_moment(again.text), part_marked_unsaved(again.text, "approval")) == expected


async def test_an_end_saved_in_another_tab_is_no_typed_adoption_moment(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    """A page showing the meeting's end (20:40) as the adoption hour, the minutes saved since with a new end (21:10)
    in another tab: the page's untouched 20:40 is what it showed, not typing, so saving its roster redirects as
    ever, and its stale minutes' refusal, sent again, saves (tests/web/test_stale_forms_keep_typed.py's trial)."""
    member = world.member_a1
    with meetings_of_cell_a1(world, held=with_roster_and_minutes(world)) as made:
        meeting_id = made["held"]
        record = f"/app/meetings/{meeting_id}/record"
        async with signed_in(
            client, amqp_url, database_url, "secretary", world.cell_a1, world.secretary_a1
        ) as secretary:
            stale = (await secretary.get(record)).text
            assert adoption_moment(stale) == ("2026-11-03", "20:40")
            stored = world.meetings[meeting_id]
            world.meetings[meeting_id] = stored | {
                "minutes": stored["minutes"] | {"ended_at": "2026-11-03T21:10:00+07:00"}
            }
            target, pairs = browser_sends(stale, "/attendance", {f"status-{member}": "absent"})
            sent = await secretary.post(target, data=_multi(pairs))
            assert (sent.status_code, sent.headers.get("location")) == (303, f"{record}?notice=attendance"), sent.text[
                -2000:
            ]
            target, pairs = browser_sends(stale, "/minutes", {"conclusions": "Kết luận sửa"})
            refused = await secretary.post(target, data=_multi(pairs))
            assert refused.status_code == 422, refused.text[-2000:]
            assert not part_marked_unsaved(refused.text, "approval")
            assert adoption_moment(refused.text) == ("2026-11-03", "21:10")  # the new end: nothing typed there
            target, pairs = browser_sends(refused.text, "/minutes", {})
            resent = await secretary.post(target, data=_multi(pairs))
            assert (resent.status_code, resent.headers.get("location")) == (303, f"{record}?notice=minutes"), (
                resent.text[-2000:]
            )


def _multi(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """`pairs` as httpx's form data: a name given more than once as the list of its values."""
    found: dict[str, list[str]] = {}
    for name, value in pairs:
        found.setdefault(name, []).append(value)
    return {name: values[0] if len(values) == 1 else values for name, values in found.items()}


def alerts(page: str) -> str:
    """The text of the page's error boxes (role="alert"), tags left out."""
    boxes = re.findall(r'<div class="error" role="alert"[^>]*>(.*?)</div>', page, re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", " ".join(boxes)))


async def test_an_unstorable_character_in_another_part_is_named_as_its_own_part_labels_it_enter_included(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    # a roster row's choice holding U+0000, sent with the minutes' button, with no part's (Enter: /record): refused
    # naming the member's row (as the roster's own button does, "Điểm danh đồng chí …"), never "Điểm danh" alone,
    # and never passed over because the button saves nothing; the minutes typed shown back either way
    member = world.member_a1
    with meetings_of_cell_a1(world, held=with_roster_and_minutes(world)) as made:
        record = f"/app/meetings/{made['held']}/record"
        async with signed_in(
            client, amqp_url, database_url, "secretary", world.cell_a1, world.secretary_a1
        ) as secretary:
            page = (await secretary.get(record)).text
            typed = {f"status-{member}": "absent\x00", "content": "Nội dung đang gõ"}
            found: dict[str, tuple[int, bool, bool]] = {}
            for action in ("/attendance", "/minutes", "/record"):
                target, pairs = browser_sends(page, action, typed)  # `/record`: the form's own address, no button's
                sent = await secretary.post(target, data=_multi(pairs))
                said = alerts(sent.text)
                found[action] = (sent.status_code, "Điểm danh đồng chí" in said, "U+0000" in said)
                assert content_of(sent.text) == "Nội dung đang gõ", action
            assert found == dict.fromkeys(("/attendance", "/minutes", "/record"), (422, True, True)), found
