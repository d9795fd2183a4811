"""A command's form that a service did not answer comes back as it was sent, everything in it to change as on its own
page (core.form_again_page): sent but unanswered (a trial's schedule answered only "Chưa rõ đã lưu hay chưa" and what
was typed was lost), with a note that it may already be saved and that sending it again unchanged saves it once
(its one-time key kept); not sent (the service silent before), with its selects and ticks to change, not hidden."""

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from services.gateway.bootstrap import GatewayState
from shared.contracts.meetings_rpc import Ingest
from shared.contracts.notifications_rpc import SetPreferences
from shared.periods import VIETNAM_TZ
from shared.rpc import Request, ServiceUnavailable
from tests.gateway.fakes import FakeServices, World
from tests.gateway.test_idempotency_keys import ingested_at
from tests.gateway.test_minutes_label_pages import csrf_of, signed_in
from tests.support.ids import random_id

PERHAPS_SAVED = "có thể nội dung đã được lưu"
ONCE = "gửi lại đúng nội dung này sẽ không bị lưu hai lần"
NOT_SENT = "biểu mẫu này chưa được gửi đi"
PEOPLE_KEPT = "Tạm thời chưa tải được danh sách đảng viên nên lựa chọn đã gửi được giữ nguyên."


class Submission(HTMLParser):
    """What a browser sends of a page's first POST form left as it is drawn: each input's value (a checkbox's when
    ticked), each textarea's text, each select's chosen option; and each select's options."""

    def __init__(self) -> None:
        super().__init__()
        self.pairs: list[tuple[str, str]] = []
        self.options: dict[str, list[str]] = {}
        self.kinds: dict[str, str] = {}
        self._area: str | None = None
        self._select: str | None = None
        self._chosen: str | None = None
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        said = {key: value or "" for key, value in attrs}
        if tag == "form" and said.get("method") == "post":
            self._in_form = True
        if not self._in_form:
            return
        name = said.get("name", "")
        if tag == "input" and name:
            kind = said.get("type", "text")
            self.kinds.setdefault(name, kind)
            if kind != "checkbox" or "checked" in said:
                self.pairs.append((name, said.get("value", "on")))
            if kind == "checkbox":
                self.options.setdefault(name, []).append(said.get("value", "on"))
        elif tag == "textarea":
            self._area, self.kinds[name] = name, "textarea"
            self.pairs.append((name, ""))
        elif tag == "select":
            self._select, self._chosen, self.kinds[name] = name, None, "select"
            self.options[name] = []
        elif tag == "option" and self._select is not None:
            self.options[self._select].append(said.get("value", ""))
            if "selected" in said or self._chosen is None:
                self._chosen = said.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "textarea":
            self._area = None
        elif tag == "select" and self._select is not None:
            self.pairs.append((self._select, self._chosen or ""))
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._area is not None:
            name, text = self.pairs[-1]
            self.pairs[-1] = (name, text + data)


def submitted(page: str) -> Submission:
    """The page's form as a browser would send it (Submission)."""
    parser = Submission()
    parser.feed(page)
    return parser


def as_data(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Form pairs as httpx posts them."""
    data: dict[str, list[str]] = {}
    for name, value in pairs:
        data.setdefault(name, []).append(value)
    return data


@contextmanager
def answered_too_late(state: GatewayState, kind: type[Request[Any]], service: str) -> Iterator[None]:
    """Within the block, a `kind` request still reaches `service` (which acts on it), but the gateway hears
    ServiceUnavailable(service): the answer came too late. Other requests are answered as usual."""
    call = state.rpc.call

    async def taken_but_unanswered(request: Any, **kwargs: Any) -> Any:
        reply = await call(request, **kwargs)
        if isinstance(request, kind):
            raise ServiceUnavailable(service)
        return reply

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(state.rpc, "call", taken_but_unanswered)
        yield


def text_of(page: str) -> str:
    """The page's text, tags dropped and entities read."""
    return html.unescape(re.sub(r"\s+", " ", re.sub("<[^>]+>", " ", page)))


async def schedule_form(secretary: httpx.AsyncClient, cell: str, place: str) -> dict[str, Any]:
    """The schedule form of `cell` filled in: a regular meeting in four days at `place`, prepared by the committee."""
    page = (await secretary.get(f"/app/cells/{cell}/meetings/new")).text
    starts = datetime.now(VIETNAM_TZ) + timedelta(days=4)
    return {
        "csrf": csrf_of(page),
        "form_key": re.search(r'name="form_key" value="([^"]+)"', page).group(1),  # type: ignore[union-attr]
        "meeting_id": re.search(r'name="meeting_id" value="([^"]+)"', page).group(1),  # type: ignore[union-attr]
        "kind": "thematic",
        "topic": "Học tập nghị quyết",
        "start_date": f"{starts:%Y-%m-%d}",
        "start_time": "19:40",
        "location": place,
        "agenda": "Kiểm điểm\nPhát triển đảng viên",
        "committee_prepared": "on",
    }


async def test_a_schedule_sent_but_unanswered_comes_back_to_change_and_sent_again_is_one_meeting(
    client: httpx.AsyncClient,
    world: World,
    state: GatewayState,
    amqp_url: str,
    database_url: str,
) -> None:
    place = random_id("place")
    async with signed_in(client, amqp_url, database_url, "secretary", world.cell_a1, world.secretary_a1) as secretary:
        form = await schedule_form(secretary, world.cell_a1, place)
        with answered_too_late(state, Ingest, "meetings"):
            lost = await secretary.post(f"/app/cells/{world.cell_a1}/meetings", data=form)
        assert lost.status_code == 503, lost.text[-2000:]
        said = text_of(lost.text)
        assert PERHAPS_SAVED in said and ONCE in said, said[-2000:]
        assert len(ingested_at(world, place)) == 1  # taken once already
        again = submitted(lost.text)
        sent = dict(again.pairs)
        assert sent["location"] == place and sent["agenda"] == form["agenda"], again.pairs
        assert sent["form_key"] == form["form_key"] and sent["meeting_id"] == form["meeting_id"], again.pairs
        assert again.kinds["location"] == "text" and again.kinds["agenda"] == "textarea", again.kinds
        assert again.kinds["start_date"] == "date" and again.kinds["start_time"] == "time", again.kinds
        assert again.kinds["kind"] == "select" and sent["kind"] == "thematic", again.kinds
        assert again.options["kind"] == ["regular", "thematic", "combined", "extraordinary"], again.options
        assert "Sinh hoạt chuyên đề" in said  # the options in words, as the form offers them
        assert again.kinds["committee_prepared"] == "checkbox" and sent["committee_prepared"] == "on"
        assert "confirm_same_time" not in again.kinds and "confirm_same_time" not in sent  # no warning, no question
        resent = await secretary.post(f"/app/cells/{world.cell_a1}/meetings", data=as_data(again.pairs))
    assert resent.status_code == 303, resent.text[-2000:]
    assert resent.headers["location"].startswith(f"/app/meetings/{form['meeting_id']}/record"), resent.headers
    assert len(ingested_at(world, place)) == 1  # the same command: recorded once


async def test_a_schedule_not_sent_comes_back_with_its_choices_to_change(
    client: httpx.AsyncClient, world: World, fakes: FakeServices, amqp_url: str, database_url: str
) -> None:
    place = random_id("place")
    async with signed_in(client, amqp_url, database_url, "secretary", world.cell_a1, world.secretary_a1) as secretary:
        form = await schedule_form(secretary, world.cell_a1, place)
        async with fakes.meetings.down():
            down = await secretary.post(f"/app/cells/{world.cell_a1}/meetings", data=form)
        assert down.status_code == 503, down.text[-2000:]
        assert NOT_SENT in text_of(down.text), text_of(down.text)[-2000:]
        again = submitted(down.text)
        assert again.kinds["kind"] == "select" and dict(again.pairs)["kind"] == "thematic", again.kinds
        assert again.kinds["committee_prepared"] == "checkbox", again.kinds
        changed = [(name, "regular" if name == "kind" else value) for name, value in again.pairs]
        changed.append(("confirm_another_regular", "on"))  # the shared cell's month may hold another test's regular
        resent = await secretary.post(f"/app/cells/{world.cell_a1}/meetings", data=as_data(changed))
    assert resent.status_code == 303, resent.text[-2000:]
    assert [event["data"]["kind"] for event in ingested_at(world, place)] == ["regular"]


async def test_a_schedule_not_sent_asks_no_confirmation_its_page_did_not_warn_of(
    client: httpx.AsyncClient, world: World, fakes: FakeServices, amqp_url: str, database_url: str
) -> None:
    """A warning's tick ("Vẫn lên lịch: …") is drawn only with its warning on the schedule page: the form drawn
    again without the warning offers none (a trial's 503 page offered both, the regular-meeting one for a thematic
    meeting); one ticked in answer to the warning is kept as sent, hidden, and sent again with the form."""
    async with signed_in(client, amqp_url, database_url, "secretary", world.cell_a1, world.secretary_a1) as secretary:
        form = await schedule_form(secretary, world.cell_a1, random_id("place"))
        async with fakes.meetings.down():
            down = await secretary.post(f"/app/cells/{world.cell_a1}/meetings", data=form)
            answered = await secretary.post(
                f"/app/cells/{world.cell_a1}/meetings", data=form | {"confirm_same_time": "on"}
            )
    assert down.status_code == 503 and answered.status_code == 503, down.text[-2000:]
    said = text_of(down.text)
    assert "Vẫn lên lịch" not in said, said[-2000:]
    unasked = submitted(down.text)
    assert "confirm_same_time" not in unasked.kinds and "confirm_another_regular" not in unasked.kinds, unasked.kinds
    kept = submitted(answered.text)
    assert "Vẫn lên lịch" not in text_of(answered.text), text_of(answered.text)[-2000:]
    assert kept.kinds.get("confirm_same_time") == "hidden" and ("confirm_same_time", "on") in kept.pairs, kept.kinds
    assert "confirm_another_regular" not in kept.kinds, kept.kinds


async def test_preferences_sent_but_unanswered_come_back_ticked_as_sent(
    client: httpx.AsyncClient,
    world: World,
    state: GatewayState,
    amqp_url: str,
    database_url: str,
) -> None:
    """Settings have no one-time key: sent again they set the same values, so the form comes back too, its ticks as
    sent (a trial's member read "Chưa có gì được lưu" of preferences notifications had stored)."""
    async with signed_in(client, amqp_url, database_url, "member", world.cell_a1, world.member_a1) as member:
        page = (await member.get("/app/me")).text
        with answered_too_late(state, SetPreferences, "notifications"):
            lost = await member.post(
                "/app/me/preferences", data={"csrf": csrf_of(page), "channels": "email", "digest": "on"}
            )
        assert lost.status_code == 503, lost.text[-2000:]
        said = text_of(lost.text)
        assert PERHAPS_SAVED in said and ONCE in said, said[-2000:]
        again = submitted(lost.text)
        assert again.kinds["channels"] == "checkbox" and "email" in again.options["channels"], again.options
        assert ("channels", "email") in again.pairs and ("digest", "on") in again.pairs, again.pairs
        resent = await member.post("/app/me/preferences", data=as_data(again.pairs))
    assert resent.status_code == 303, resent.text[-2000:]


async def test_minutes_sent_but_unanswered_come_back_with_the_members_to_choose(
    client: httpx.AsyncClient,
    world: World,
    state: GatewayState,
    fakes: FakeServices,
    amqp_url: str,
    database_url: str,
) -> None:
    """The chair, the recorder and the speakers are chosen among the cell's members: the minutes form shown again
    offers them by name, as chosen; while meetings, which lists them, is not answering, the choice is kept as sent,
    said so."""
    meeting_id = random_id("mtg")
    async with signed_in(client, amqp_url, database_url, "secretary", world.cell_a1, world.secretary_a1) as secretary:
        world.meetings[meeting_id] = world._meeting(meeting_id, world.cell_a1) | {
            "status": "scheduled",
            "minutes": None,
            "approved_at": None,
            "tasks": [],
            "starts_at": "2026-11-05T19:00:00+07:00",
        }
        try:
            page = (await secretary.get(f"/app/meetings/{meeting_id}/record")).text
            # the people, not the form's empty "— Chọn người chủ trì —" choice first (h443)
            members = [member for member in submitted(page).options.get("chair_id") or [] if member]
            assert members, page[-2000:]
            world.meetings[meeting_id]["attendance"] = {
                "records": [{"member_id": member, "status": "present", "reason": None} for member in members],
                "guests": [],
            }
            page = (await secretary.get(f"/app/meetings/{meeting_id}/record")).text
            action = f"/app/meetings/{meeting_id}/minutes"
            key = re.search(rf'action="{action}".*?name="form_key" value="([^"]+)"', page, re.S)
            assert key is not None, page[-2000:]
            form = {
                "csrf": csrf_of(page),
                "form_key": key.group(1),
                "day": "2026-11-05",
                "started": "19:00",
                "ended": "21:00",
                "chair_id": members[-1],
                "recorder_id": members[0],
                "speakers": [members[-1]],
                "content": "Kiểm điểm việc thu đảng phí",
                "conclusions": "Giao chi ủy đôn đốc",
            }
            with answered_too_late(state, Ingest, "meetings"):
                lost = await secretary.post(action, data=form)
            async with fakes.meetings.down():
                down = await secretary.post(action, data=form)
        finally:
            world.meetings.pop(meeting_id, None)
    assert lost.status_code == 503 and PERHAPS_SAVED in text_of(lost.text), text_of(lost.text)[-2000:]
    again = submitted(lost.text)
    assert (
        again.kinds["chair_id"] == "select" and [member for member in again.options["chair_id"] if member] == members
    ), again.options
    assert dict(again.pairs)["chair_id"] == members[-1] and dict(again.pairs)["recorder_id"] == members[0]
    assert again.kinds["speakers"] == "checkbox" and again.options["speakers"] == members, again.options
    assert [value for name, value in again.pairs if name == "speakers"] == [members[-1]], again.pairs
    assert ("form_key", form["form_key"]) in again.pairs and again.kinds["day"] == "date", again.kinds
    assert down.status_code == 503 and NOT_SENT in text_of(down.text), text_of(down.text)[-2000:]
    assert PEOPLE_KEPT in text_of(down.text), text_of(down.text)[-2000:]
    kept = submitted(down.text)
    assert kept.kinds["chair_id"] == "hidden" and dict(kept.pairs)["chair_id"] == members[-1], kept.pairs


CHANNELS_UNKNOWN = (
    "Tạm thời chưa kiểm tra được đồng chí đang dùng được những kênh nhận thông báo nào vì dịch vụ thông báo không"
    " phản hồi."
)


async def test_preferences_come_back_offering_only_the_channels_on_offer_and_saying_when_not_known(
    client: httpx.AsyncClient,
    world: World,
    state: GatewayState,
    fakes: FakeServices,
    amqp_url: str,
    database_url: str,
) -> None:
    """No SMS gateway here: the page shows the SMS channel disabled. The form drawn again offered it to tick as if it
    could be chosen, whether notifications had said it is not on offer (it answered the reading, not the change) or
    could not say (silent): it now offers the channels the page offers, and says when it could not learn them."""
    assert not world.sms_gateway
    async with signed_in(client, amqp_url, database_url, "member", world.cell_a1, world.member_a1) as member:
        page = (await member.get("/app/me")).text
        assert 'value="webhook" disabled' in page  # the page offers no SMS
        sent = {"csrf": csrf_of(page), "channels": "email", "digest": "on"}
        with answered_too_late(state, SetPreferences, "notifications"):
            known = await member.post("/app/me/preferences", data=sent)
        assert known.status_code == 503, known.text[-2000:]
        assert submitted(known.text).options["channels"] == ["email"], known.text[-3000:]
        assert CHANNELS_UNKNOWN not in text_of(known.text)
        async with fakes.notifications.down():
            unknown = await member.post("/app/me/preferences", data=sent)
        assert unknown.status_code == 503, unknown.text[-2000:]
        assert CHANNELS_UNKNOWN in text_of(unknown.text), text_of(unknown.text)[-2000:]
        again = submitted(unknown.text)
        assert again.options["channels"] == ["email"], again.options
        assert ("channels", "email") in again.pairs and ("digest", "on") in again.pairs, again.pairs


async def test_a_form_without_a_key_sent_but_unanswered_comes_back_too_and_sent_again_is_one_command(
    client: httpx.AsyncClient,
    world: World,
    state: GatewayState,
    amqp_url: str,
    database_url: str,
) -> None:
    """A form sent without a one-time key (a page kept open from before forms had keys, a form typed by hand) and not
    answered read only "Chưa rõ đã lưu hay chưa", what was typed lost. It now comes back as a keyed form does: its
    key derived from the session and the address, so sent again unchanged it is the same command, recorded once."""
    place = random_id("place")
    async with signed_in(client, amqp_url, database_url, "secretary", world.cell_a1, world.secretary_a1) as secretary:
        form = await schedule_form(secretary, world.cell_a1, place)
        del form["form_key"]
        with answered_too_late(state, Ingest, "meetings"):
            lost = await secretary.post(f"/app/cells/{world.cell_a1}/meetings", data=form)
        assert lost.status_code == 503, lost.text[-2000:]
        said = text_of(lost.text)
        assert PERHAPS_SAVED in said and ONCE in said, said[-2000:]
        assert "Chưa rõ đã lưu hay chưa" not in said
        assert len(ingested_at(world, place)) == 1  # taken once already
        again = submitted(lost.text)
        sent = dict(again.pairs)
        assert sent["location"] == place and again.kinds["location"] == "text", again.pairs
        assert sent["meeting_id"] == form["meeting_id"], again.pairs
        resent = await secretary.post(f"/app/cells/{world.cell_a1}/meetings", data=as_data(again.pairs))
    assert resent.status_code == 303, resent.text[-2000:]
    assert len(ingested_at(world, place)) == 1  # the same command: recorded once
