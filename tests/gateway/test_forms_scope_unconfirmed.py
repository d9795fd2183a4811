"""A form posted while meetings does not answer comes back as it was sent, whatever the gateway still remembers. The
web test of the schedule form (tests/web/test_meetings_down_forms.py) failed once with the "try again" page alone:
its secretary's unit (CHIBO_UNIT_CACHE_SECONDS) or standing (CHIBO_MEMBERSHIP_CACHE_SECONDS), each remembered 30 s,
had been forgotten between the page and the post, so the post asked meetings before the form was read, and that
silence lost what was typed. Those look-ups still fail closed (nothing is sent, nothing of another unit shown): only
the person's own input comes back, with the note that nothing was saved; a post without the session's CSRF token
gets nothing back."""

import importlib
import pkgutil
import re
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
import pytest
from cachetools import TTLCache

from services.gateway.bootstrap import GatewayState
from services.gateway.handlers import TtlCache
from services.gateway.web import pages
from services.gateway.web.core import WebRoute
from services.gateway.web.forms import declared_form
from shared.periods import VIETNAM_TZ
from tests.gateway.fakes import FakeServices, World
from tests.gateway.test_forms_again import NOT_SENT, PEOPLE_KEPT, schedule_form, submitted, text_of
from tests.gateway.test_idempotency_keys import ingested_at
from tests.gateway.test_minutes_label_pages import csrf_of, signed_in
from tests.support.ids import random_id


def forget_units(state: GatewayState, monkeypatch: pytest.MonkeyPatch) -> None:
    """The directory's units as after CHIBO_UNIT_CACHE_SECONDS: none fresh (its kept copies stay, for reads only)."""
    monkeypatch.setattr(state.directory, "_cache", TtlCache(seconds=30))


def forget_standing(state: GatewayState, monkeypatch: pytest.MonkeyPatch) -> None:
    """The membership answers as after CHIBO_MEMBERSHIP_CACHE_SECONDS: none fresh (the last ones stay, for reads)."""
    monkeypatch.setattr(state.membership, "_fresh", TTLCache(1000, ttl=30))


def forget_both(state: GatewayState, monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither the units nor the membership answers fresh (forget_units, forget_standing)."""
    forget_units(state, monkeypatch)
    forget_standing(state, monkeypatch)


FORGETTING: dict[str, Callable[[GatewayState, pytest.MonkeyPatch], None]] = {
    "unit": forget_units,
    "standing": forget_standing,
    "both": forget_both,
}


@pytest.mark.parametrize("forgotten", list(FORGETTING))
async def test_a_schedule_posted_once_its_cell_is_forgotten_comes_back_with_what_was_typed(
    forgotten: str,
    client: httpx.AsyncClient,
    world: World,
    state: GatewayState,
    fakes: FakeServices,
    monkeypatch: pytest.MonkeyPatch,
    amqp_url: str,
    database_url: str,
) -> None:
    place = random_id("place")
    async with signed_in(client, amqp_url, database_url, "secretary", world.cell_a1, world.secretary_a1) as secretary:
        form = await schedule_form(secretary, world.cell_a1, place)
        FORGETTING[forgotten](state, monkeypatch)
        async with fakes.meetings.down():
            down = await secretary.post(f"/app/cells/{world.cell_a1}/meetings", data=form)
        assert down.status_code == 503, text_of(down.text)[-2000:]
        assert NOT_SENT in text_of(down.text), text_of(down.text)[-2000:]
        again = submitted(down.text)
        sent = dict(again.pairs)
        assert sent["location"] == place and sent["agenda"] == form["agenda"], again.pairs
        assert sent["form_key"] == form["form_key"] and sent["meeting_id"] == form["meeting_id"], again.pairs
        assert again.kinds["kind"] == "select" and sent["kind"] == "thematic", again.kinds
        assert again.kinds["start_date"] == "date" and sent["start_time"] == "19:40", again.kinds
        assert f'action="/app/cells/{world.cell_a1}/meetings"' in down.text
        assert ingested_at(world, place) == []  # nothing sent
        resent = await secretary.post(f"/app/cells/{world.cell_a1}/meetings", data=as_pairs(again.pairs))
    assert resent.status_code == 303, text_of(resent.text)[-2000:]
    assert len(ingested_at(world, place)) == 1


def as_pairs(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Form pairs as httpx posts them."""
    data: dict[str, list[str]] = {}
    for name, value in pairs:
        data.setdefault(name, []).append(value)
    return data


async def test_a_held_meeting_posted_once_its_cell_is_forgotten_comes_back_with_what_was_typed(
    client: httpx.AsyncClient,
    world: World,
    state: GatewayState,
    fakes: FakeServices,
    monkeypatch: pytest.MonkeyPatch,
    amqp_url: str,
    database_url: str,
) -> None:
    place = random_id("place")
    async with signed_in(client, amqp_url, database_url, "secretary", world.cell_a1, world.secretary_a1) as secretary:
        shown = (await secretary.get(f"/app/cells/{world.cell_a1}/meetings/held")).text
        held = datetime.now(VIETNAM_TZ) - timedelta(days=3)
        form = {
            "csrf": csrf_of(shown),
            "form_key": random_id("key"),
            "meeting_id": re.search(r'name="meeting_id" value="([^"]+)"', shown).group(1),  # type: ignore[union-attr]
            "kind": "regular",
            "start_date": f"{held:%Y-%m-%d}",
            "start_time": "19:30",
            "location": place,
            "agenda": "Kiểm điểm nghị quyết tháng trước",
            "notified_date": f"{held - timedelta(days=2):%Y-%m-%d}",
            "notified_time": "08:00",
        }
        FORGETTING["both"](state, monkeypatch)
        async with fakes.meetings.down():
            down = await secretary.post(f"/app/cells/{world.cell_a1}/meetings/held", data=form)
    assert down.status_code == 503, text_of(down.text)[-2000:]
    assert NOT_SENT in text_of(down.text), text_of(down.text)[-2000:]
    sent = dict(submitted(down.text).pairs)
    assert sent["location"] == place and sent["notified_date"] == form["notified_date"], sent
    assert ingested_at(world, place) == []


async def test_minutes_posted_once_the_secretarys_standing_is_forgotten_come_back_with_what_was_typed(
    client: httpx.AsyncClient,
    world: World,
    state: GatewayState,
    fakes: FakeServices,
    monkeypatch: pytest.MonkeyPatch,
    amqp_url: str,
    database_url: str,
) -> None:
    meeting_id = random_id("mtg")
    world.meetings[meeting_id] = world._meeting(meeting_id, world.cell_a1) | {
        "status": "scheduled",
        "minutes": None,
        "approved_at": None,
        "tasks": [],
        "starts_at": "2026-11-05T19:00:00+07:00",
    }
    try:
        async with signed_in(
            client, amqp_url, database_url, "secretary", world.cell_a1, world.secretary_a1
        ) as secretary:
            page = (await secretary.get(f"/app/meetings/{meeting_id}/record")).text
            members = [member for member in submitted(page).options.get("chair_id") or [] if member]
            assert members, page[-2000:]
            action = f"/app/meetings/{meeting_id}/minutes"
            key = re.search(rf'action="{action}".*?name="form_key" value="([^"]+)"', page, re.S)
            assert key is not None, page[-2000:]
            content = f"Kiểm điểm việc thu đảng phí {random_id('q')}"
            form = {
                "csrf": csrf_of(page),
                "form_key": key.group(1),
                "day": "2026-11-05",
                "started": "19:00",
                "ended": "21:00",
                "chair_id": members[-1],
                "content": content,
                "conclusions": "Giao chi ủy đôn đốc",
            }
            FORGETTING["both"](state, monkeypatch)
            async with fakes.meetings.down():
                down = await secretary.post(action, data=form)
    finally:
        world.meetings.pop(meeting_id, None)
    assert down.status_code == 503, text_of(down.text)[-2000:]
    said = text_of(down.text)
    assert NOT_SENT in said and PEOPLE_KEPT in said, said[-2000:]
    sent = dict(submitted(down.text).pairs)
    assert sent["content"] == content and sent["chair_id"] == members[-1] and sent["form_key"] == form["form_key"]


async def test_preferences_posted_once_the_members_standing_is_forgotten_come_back_ticked_as_sent(
    client: httpx.AsyncClient,
    world: World,
    state: GatewayState,
    fakes: FakeServices,
    monkeypatch: pytest.MonkeyPatch,
    amqp_url: str,
    database_url: str,
) -> None:
    async with signed_in(client, amqp_url, database_url, "member", world.cell_a1, world.member_a1) as member:
        page = (await member.get("/app/me")).text
        forget_standing(state, monkeypatch)
        async with fakes.meetings.down():
            down = await member.post(
                "/app/me/preferences", data={"csrf": csrf_of(page), "channels": "email", "digest": "on"}
            )
    assert down.status_code == 503, text_of(down.text)[-2000:]
    assert NOT_SENT in text_of(down.text), text_of(down.text)[-2000:]
    again = submitted(down.text)
    assert ("channels", "email") in again.pairs and ("digest", "on") in again.pairs, again.pairs


async def test_a_rescore_posted_once_the_committee_is_forgotten_comes_back_with_what_was_typed(
    client: httpx.AsyncClient,
    world: World,
    state: GatewayState,
    fakes: FakeServices,
    monkeypatch: pytest.MonkeyPatch,
    amqp_url: str,
    database_url: str,
) -> None:
    page = f"/app/committees/{world.ward_a}/rescore"
    async with signed_in(client, amqp_url, database_url, "committee_officer", world.ward_a, None) as officer:
        shown = (await officer.get(page)).text
        forget_units(state, monkeypatch)
        async with fakes.meetings.down():
            down = await officer.post(page, data={"csrf": csrf_of(shown), "period_from": "2025-07", "period_to": ""})
    assert down.status_code == 503, text_of(down.text)[-2000:]
    assert NOT_SENT in text_of(down.text), text_of(down.text)[-2000:]
    assert ("period_from", "2025-07") in submitted(down.text).pairs, submitted(down.text).pairs


async def test_a_post_without_the_sessions_token_gets_nothing_back(
    client: httpx.AsyncClient,
    world: World,
    state: GatewayState,
    fakes: FakeServices,
    monkeypatch: pytest.MonkeyPatch,
    amqp_url: str,
    database_url: str,
) -> None:
    """A form another site made the browser post (no valid CSRF token) is never drawn as the person's form: the page
    names the service out of reach, nothing of what was posted."""
    place = random_id("place")
    async with signed_in(client, amqp_url, database_url, "secretary", world.cell_a1, world.secretary_a1) as secretary:
        form = await schedule_form(secretary, world.cell_a1, place) | {"csrf": "forged"}
        FORGETTING["both"](state, monkeypatch)
        async with fakes.meetings.down():
            down = await secretary.post(f"/app/cells/{world.cell_a1}/meetings", data=form)
    assert down.status_code in (403, 503), text_of(down.text)[-2000:]
    assert place not in down.text and NOT_SENT not in text_of(down.text), text_of(down.text)[-2000:]
    assert ingested_at(world, place) == []


async def test_a_schedule_posted_to_another_cell_shows_nothing_of_it_and_sends_nothing(
    client: httpx.AsyncClient,
    world: World,
    state: GatewayState,
    fakes: FakeServices,
    monkeypatch: pytest.MonkeyPatch,
    amqp_url: str,
    database_url: str,
) -> None:
    """A cell not the secretary's own is refused before meetings is asked (the same 404 as for a cell that does not
    exist): nothing is sent, nothing of either cell shown, not even what was typed."""
    place = random_id("place")
    async with signed_in(client, amqp_url, database_url, "secretary", world.cell_a1, world.secretary_a1) as secretary:
        form = await schedule_form(secretary, world.cell_a1, place)
        FORGETTING["unit"](state, monkeypatch)
        async with fakes.meetings.down():
            down = await secretary.post(f"/app/cells/{world.cell_b1}/meetings", data=form)
    assert down.status_code == 404, text_of(down.text)[-2000:]
    assert "Chi bộ khu phố 3" not in text_of(down.text) and "Chi bộ khu phố 1" not in text_of(down.text)
    assert place not in down.text and ingested_at(world, place) == []


UNDECLARED = {
    "/app/sign-in": "signing in has no session yet: it has its own page for a silent meetings",
    "/app/sign-out": "nothing typed",
    "/app/me/inbox/{notification_id}/read": "a button, nothing typed",
    "/app/committees/{committee_id}/alerts/{rule}": "labelled by its rule, read before anything is asked",
}
"""The page routes taking a POST that declare no form (forms.posts), and why; the operations page's actions read their
form before anything is asked (an operator's standing is not asked of meetings)."""


def test_every_form_a_page_posts_declares_its_labels() -> None:
    """A post that meets meetings' silence before its handler reads the form can come back only with the labels its
    route declares: every page route taking a POST declares them, or is listed in UNDECLARED with why."""
    routes = [
        route
        for info in pkgutil.iter_modules(pages.__path__)
        for route in importlib.import_module(f"{pages.__name__}.{info.name}").router.routes
    ]
    posted = [route for route in routes if isinstance(route, WebRoute) and "POST" in (route.methods or set())]
    assert len(posted) > 20, [route.path for route in routes]
    undeclared = [
        route.path
        for route in posted
        if not route.path.startswith("/app/operations/") and declared_form(route.endpoint) is None
    ]
    assert sorted(undeclared) == sorted(UNDECLARED), undeclared
