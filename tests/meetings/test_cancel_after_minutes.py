"""A new user's trial: the secretary's cancel of `demo-cb-thon-1-2026-11` (minutes adopted, scored 100) was refused
`meeting_already_held`, but the same cancel sent as `meeting.cancelled.v1` by an integration (POST /v1/events or
chibo.ingest) was accepted, the score withdrawn and November fell from Good to Poor. That difference is the design
(docs/architecture.md "Ordering"): the secretary's command is judged on the meeting as it stands; an integration's
facts may arrive in any order and converge, so its cancellation is stored whether the minutes came before or after
(test_walking_skeleton: the two orders end alike), and the committee is told of the month's change as a late change
(kind `withdrawn`). These tests hold it on every route, and drop a cancelled meeting's tasks from every list.

Over the real broker and database: the gateway's route (meetings.rpc IngestBody, as POST /v1/events sends a body),
one event per AMQP message, an AMQP batch, and the secretary's command (the API and the web form send it alike).
"""

from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from shared.contracts import meetings_rpc as meetings
from shared.rpc import RpcClient
from tests.meetings import events as ev
from tests.meetings.feed import Feed
from tests.meetings.test_meeting_state_rules_both_routes import ROUTES, command, meeting, rpc, send, world
from tests.support.ids import random_id
from tests.support.rpc import ask
from tests.support.running import eventually

HELD = ev.BASE_TIME + timedelta(days=2)
ENDED = HELD + timedelta(minutes=100)

__all__ = ["rpc", "world"]  # the fixtures, shared with test_meeting_state_rules_both_routes


def cancel(meeting_id: str, *, time: Any) -> dict[str, Any]:
    return ev.raw_event("meeting.cancelled.v1", {"meeting_id": meeting_id, "reason": "Hủy theo hệ thống"}, time=time)


async def held_meeting(rpc: RpcClient, bus: Feed, ids: dict[str, str], route: str) -> str:
    """A meeting scheduled, its roster and minutes recorded (held, ended at ENDED), sent by `route`."""
    mtg = random_id("mtg")
    facts = [
        ev.scheduled(mtg, ids["cell"], starts_at=HELD, time=HELD - timedelta(days=7)),
        ev.attendance(mtg, {ids["mem"]: "present"}, time=ENDED + timedelta(minutes=5)),
        ev.minutes(mtg, chair_id=ids["mem"], started_at=HELD, time=ENDED + timedelta(minutes=10)),
    ]
    await send(rpc, bus, route, facts)
    await eventually(lambda: bus.find("minutes.submitted.v1", meeting_id=mtg), timeout=60)
    return mtg


@pytest.mark.parametrize("route", ROUTES)
async def test_an_integrations_cancellation_of_a_held_meeting_is_stored_on_every_route_the_secretarys_refused(
    world: tuple[Feed, dict[str, str]], rpc: RpcClient, db: asyncpg.Connection, route: str
) -> None:
    bus, ids = world
    mtg = await held_meeting(rpc, bus, ids, route)
    # the secretary's cancel (API and web form): refused by the meeting as it stands, naming the field
    refused = await command(rpc, cancel(mtg, time=ENDED))
    assert (refused["outcome"], refused["field"], refused["refusal"]["code"]) == (
        "rejected",
        "data.meeting_id",
        "meeting_already_held",
    )
    assert (await meeting(db, mtg))["status"] == "minutes_submitted"
    # an integration's, issued after the end and arriving after the minutes: a fact, stored, as it would be first
    await send(rpc, bus, route, [cancel(mtg, time=ENDED + timedelta(days=3))])
    await eventually(lambda: bus.find("meeting.cancelled.v1", meeting_id=mtg), timeout=60)
    assert (await meeting(db, mtg))["status"] == "cancelled"


async def test_a_cancellation_issued_before_the_end_arriving_after_the_minutes_is_stored(
    world: tuple[Feed, dict[str, str]], rpc: RpcClient, db: asyncpg.Connection
) -> None:
    """A fact that arrives late is still a fact: called off before the meeting's end, it stands."""
    bus, ids = world
    mtg = await held_meeting(rpc, bus, ids, "http")
    await send(rpc, bus, "http", [cancel(mtg, time=HELD - timedelta(hours=2))])
    await eventually(lambda: bus.find("meeting.cancelled.v1", meeting_id=mtg), timeout=60)
    assert (await meeting(db, mtg))["status"] == "cancelled"


@pytest.mark.parametrize("order", ["minutes first", "cancellation first"])
async def test_the_tasks_of_a_cancelled_meeting_are_in_no_task_list(
    world: tuple[Feed, dict[str, str]], rpc: RpcClient, order: str
) -> None:
    """A trial: a task recorded at a meeting later cancelled stayed in the member's "Nhiệm vụ của tôi" and in
    `/v1/cells/{c}/tasks` (both read meetings' list_tasks), unmarked, while the year's evidence counted 0 tasks: a
    cancelled meeting is not held (DOMAIN.md), so it assigned nothing, and no list shows its tasks. A task of a held
    meeting of the same cell stays listed."""
    bus, ids = world
    mtg, kept, task = random_id("mtg"), random_id("mtg"), random_id("task")
    assigned = [{"task_id": task, "assignee_id": ids["mem"], "description": "Vận động", "due_on": "2026-12-30"}]
    other = [{"task_id": task, "assignee_id": ids["mem"], "description": "Dọn vệ sinh", "due_on": "2026-12-31"}]
    facts = [
        ev.scheduled(mtg, ids["cell"], starts_at=HELD, time=HELD - timedelta(days=7)),
        ev.scheduled(kept, ids["cell"], starts_at=HELD, time=HELD - timedelta(days=7)),
        ev.minutes(mtg, chair_id=ids["mem"], started_at=HELD, tasks=assigned, time=ENDED + timedelta(minutes=10)),
        ev.minutes(kept, chair_id=ids["mem"], started_at=HELD, tasks=other, time=ENDED + timedelta(minutes=10)),
    ]
    called_off = cancel(mtg, time=HELD - timedelta(hours=2))
    await send(rpc, bus, "http", [called_off, *facts] if order == "cancellation first" else [*facts, called_off])
    await eventually(lambda: bus.find("meeting.cancelled.v1", meeting_id=mtg), timeout=60)
    await eventually(lambda: bus.find("minutes.submitted.v1", meeting_id=kept), timeout=60)
    listed = await ask(rpc, meetings.ListTasks(cell_id=ids["cell"], limit=200))
    meetings_listed = {item["meeting_id"] for item in listed["items"]}
    assert kept in meetings_listed and mtg not in meetings_listed, listed
    assert listed["total"] == len(listed["items"])
