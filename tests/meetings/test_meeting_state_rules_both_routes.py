"""A new user's trial: rules the secretary's commands meet were not met by the same facts sent as events (POST
/v1/events, chibo.ingest): a `meeting.rescheduled.v1` of a cancelled meeting was answered `accepted` while the
secretary's reschedule was refused `meeting_cancelled`, and minutes issued after the adoption were taken while the
meeting kept saying "adopted".

Each rule is judged in one place of meetings' domain, by event time where arrival order must not matter (CONTRACT.md:
"Order is not guaranteed ... The system converges to the same state whatever order"):
- a move issued after the cancellation (domain.check_not_moved_when_cancelled) is refused `meeting_cancelled` naming
  `data.meeting_id` on every route, a stored and published rejection, the start unchanged; arriving before the
  cancellation, it is undone and rejected alike when the cancellation comes (domain.moves_undone_by_cancellation);
- minutes issued after the adoption (domain.adoption_in_force) void it in either arrival order: the meeting is no
  longer "adopted" (status, `approved_at`) until a newer adoption; a secretary cannot send them (`minutes_adopted`).

Over the real broker and database: the gateway's route (meetings.rpc IngestBody, as POST /v1/events sends a body),
one event per AMQP message and an AMQP batch.
"""

import base64
import copy
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.meetings import queries
from shared.contracts import meetings_rpc as meetings
from shared.envelope import CLOUDEVENT_CONTENT_TYPE, GATEWAY_SOURCE, now
from shared.rpc import RpcClient
from tests.meetings import events as ev
from tests.meetings.feed import Feed, feed
from tests.meetings.test_cancelled_stays_quiet import rpc
from tests.support.ids import random_id
from tests.support.rpc import ask
from tests.support.running import eventually

START = ev.BASE_TIME + timedelta(days=10)
CANCELLED_AT = START - timedelta(days=1)
MOVED_AT = CANCELLED_AT + timedelta(hours=2)
"""The move's `time`: issued after the cancellation."""

ROUTES = ("http", "amqp", "amqp-batch")

__all__ = ["rpc"]  # the fixture, shared with test_cancelled_stays_quiet


@pytest.fixture(scope="module")
async def world(rpc: RpcClient, amqp_url: str) -> AsyncIterator[tuple[Feed, dict[str, str]]]:
    """A committee, a cell and its member."""
    ids = {"committee": random_id("xa"), "cell": random_id("cb"), "mem": random_id("dv")}
    async with feed(amqp_url) as bus:
        world = [
            ev.unit(ids["committee"], kind="committee", name="Đảng ủy xã"),
            ev.unit(ids["cell"], parent_id=ids["committee"]),
            ev.member(ids["mem"], ids["cell"]),
        ]
        await send(rpc, bus, "http", world)
        yield bus, ids


async def send(rpc: RpcClient, bus: Feed, route: str, events: list[dict[str, Any]]) -> None:
    """Send `events` by `route`: the gateway's POST /v1/events (one body each), one AMQP message each, or one AMQP
    batch; the HTTP route's outcomes are returned at once, the broker's are awaited by what they leave."""
    if route == "http":
        for raw in events:
            body = base64.b64encode(json.dumps(raw).encode()).decode()
            await ask(rpc, meetings.IngestBody(body_base64=body, content_type=CLOUDEVENT_CONTENT_TYPE, account="feed"))
    elif route == "amqp":
        for raw in events:
            await bus.publish(raw)
    else:
        await bus.publish(events)


async def command(rpc: RpcClient, raw: dict[str, Any]) -> dict[str, Any]:
    """The secretary's command (the gateway's source, sent now) judged as the gateway sends it: its one result."""
    sent = {**raw, "source": GATEWAY_SOURCE, "id": random_id("web"), "time": now().isoformat()}
    answer = await ask(rpc, meetings.Ingest(events=[sent], route="http", account="secretary"))
    result: dict[str, Any] = answer["results"][0]
    return result


async def rejected(bus: Feed, db: asyncpg.Connection, event_id: str) -> tuple[str, str]:
    """The stored rejection of `event_id` (field, code), once its ingest.rejected.v1 is published naming the field."""
    published = await eventually(lambda: bus.find("ingest.rejected.v1", event_id=event_id), timeout=60)
    row = await db.fetchrow("SELECT field, refusal FROM meetings.rejection WHERE event_id = $1", event_id)
    assert row is not None and published["data"]["field"] == row["field"]
    return row["field"], json.loads(row["refusal"])["code"]


async def meeting(db: asyncpg.Connection, meeting_id: str) -> dict[str, Any]:
    found = await maybe_meeting(db, meeting_id)
    assert found is not None
    return found


async def maybe_meeting(db: asyncpg.Connection, meeting_id: str) -> dict[str, Any] | None:
    """The meeting as meetings' read gives it (queries.get_meeting), None while it is not stored."""
    async with db.transaction():
        await db.execute("SET LOCAL search_path TO meetings")
        return await queries.get_meeting(db, meeting_id)


def move(meeting_id: str, *, time: Any) -> dict[str, Any]:
    data = {"meeting_id": meeting_id, "starts_at": (START + timedelta(days=3)).isoformat(), "location": "Nhà văn hóa"}
    return ev.raw_event("meeting.rescheduled.v1", data, time=time)


def cancel(meeting_id: str) -> dict[str, Any]:
    return ev.raw_event("meeting.cancelled.v1", {"meeting_id": meeting_id, "reason": "Mưa bão"}, time=CANCELLED_AT)


@pytest.mark.parametrize("route", ROUTES)
async def test_a_move_of_a_cancelled_meeting_is_refused_as_the_secretarys_on_every_route(
    world: tuple[Feed, dict[str, str]], rpc: RpcClient, db: asyncpg.Connection, route: str
) -> None:
    bus, ids = world
    mtg = random_id("mtg")
    await send(rpc, bus, route, [ev.scheduled(mtg, ids["cell"], starts_at=START, time=START - timedelta(days=5))])
    await send(rpc, bus, route, [cancel(mtg)])
    await eventually(lambda: bus.find("meeting.cancelled.v1", meeting_id=mtg), timeout=60)
    moved = move(mtg, time=MOVED_AT)
    await send(rpc, bus, route, [moved])
    assert await rejected(bus, db, moved["id"]) == ("data.meeting_id", "meeting_cancelled")
    stored = await meeting(db, mtg)
    assert (stored["status"], stored["starts_at"]) == ("cancelled", START)
    # the secretary's reschedule of it: the same code, naming the same field
    refused = await command(rpc, move(mtg, time=now()))
    assert (refused["outcome"], refused["field"], refused["refusal"]["code"]) == (
        "rejected",
        "data.meeting_id",
        "meeting_cancelled",
    )
    assert (await meeting(db, mtg))["starts_at"] == START


@pytest.mark.parametrize("route", ["amqp", "amqp-batch"])
async def test_a_move_issued_after_the_cancellation_but_arriving_first_is_undone_and_rejected(
    world: tuple[Feed, dict[str, str]], rpc: RpcClient, db: asyncpg.Connection, route: str
) -> None:
    """CONTRACT.md: the same state whatever the arrival order; the move ends rejected as when it comes second."""
    bus, ids = world
    mtg = random_id("mtg")
    moved = move(mtg, time=MOVED_AT)
    schedule = ev.scheduled(mtg, ids["cell"], starts_at=START, time=START - timedelta(days=5))
    if route == "amqp":
        await send(rpc, bus, route, [schedule, moved])
        await eventually(lambda: bus.find("meeting.rescheduled.v1", meeting_id=mtg), timeout=60)
        await send(rpc, bus, route, [cancel(mtg)])
    else:
        await send(rpc, bus, route, [schedule, moved, cancel(mtg)])
    assert await rejected(bus, db, moved["id"]) == ("data.meeting_id", "meeting_cancelled")
    stored = await meeting(db, mtg)
    assert (stored["status"], stored["starts_at"]) == ("cancelled", START)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("arrives", ["after", "before"])
async def test_a_schedule_issued_after_the_cancellation_is_refused_on_every_route_in_either_order(
    world: tuple[Feed, dict[str, str]], rpc: RpcClient, db: asyncpg.Connection, route: str, arrives: str
) -> None:
    """A schedule re-sent for a meeting after its cancellation was stored silently (start, place, kind, agenda taken,
    the meeting still cancelled): it is refused as a move so issued is, and undone and rejected when it arrived before
    the cancellation (domain.check_not_rescheduled_when_cancelled, moves_undone_by_cancellation)."""
    bus, ids = world
    mtg = random_id("mtg")
    schedule = ev.scheduled(mtg, ids["cell"], starts_at=START, time=START - timedelta(days=5))
    again = ev.scheduled(
        mtg,
        ids["cell"],
        starts_at=START + timedelta(days=3),
        kind="thematic",
        time=MOVED_AT,
        data={"location": "Hội trường xã", "agenda": ["Chuyên đề"]},
    )
    await send(rpc, bus, route, [schedule])
    await eventually(lambda: bus.find("meeting.scheduled.v1", meeting_id=mtg), timeout=60)
    await send(rpc, bus, route, [cancel(mtg), again] if arrives == "after" else [again, cancel(mtg)])
    assert await rejected(bus, db, again["id"]) == ("data.meeting_id", "meeting_cancelled")
    stored = await meeting(db, mtg)
    assert (stored["status"], stored["starts_at"], stored["kind"]) == ("cancelled", START, "regular")
    assert stored["location"] == "Nhà văn hóa thôn 1"


async def test_a_move_issued_before_the_cancellation_is_a_late_fact_stored_in_either_order(
    world: tuple[Feed, dict[str, str]], rpc: RpcClient, db: asyncpg.Connection
) -> None:
    bus, ids = world
    starts = []
    for order in ("cancel_first", "move_first"):
        mtg = random_id("mtg")
        early = move(mtg, time=CANCELLED_AT - timedelta(hours=1))
        facts = [cancel(mtg), early] if order == "cancel_first" else [early, cancel(mtg)]
        await send(rpc, bus, "http", [ev.scheduled(mtg, ids["cell"], starts_at=START, time=START - timedelta(days=5))])
        await send(rpc, bus, "http", facts)
        stored = await meeting(db, mtg)
        assert stored["status"] == "cancelled"
        starts.append(stored["starts_at"])
        assert await db.fetchval("SELECT count(*) FROM meetings.rejection WHERE event_id = $1", early["id"]) == 0
    assert starts == [START + timedelta(days=3)] * 2


def minutes(ids: dict[str, str], mtg: str, *, time: Any, minutes_long: int = 100) -> dict[str, Any]:
    raw = ev.minutes(mtg, chair_id=ids["mem"], started_at=START, time=time)
    raw["data"]["ended_at"] = (START + timedelta(minutes=minutes_long)).isoformat()
    return raw


def adoption(mtg: str, *, time: Any) -> dict[str, Any]:
    data = {"meeting_id": mtg, "approved_at": (START + timedelta(hours=2, minutes=1)).isoformat(), "votes_for": 1}
    return ev.raw_event("minutes.approved.v1", data, time=time)


async def settled(db: asyncpg.Connection, mtg: str, *, ended_at: Any, adopted: bool) -> dict[str, Any]:
    """The meeting once its stored minutes end at `ended_at` and its adoption is stored (`adopted`: one is)."""

    async def check() -> dict[str, Any] | None:
        approval = await db.fetchval("SELECT approval_time FROM meetings.meeting WHERE meeting_id = $1", mtg)
        stored = await maybe_meeting(db, mtg)
        written = stored is not None and stored["minutes"] and stored["minutes"]["ended_at"] == ended_at
        ready = written and (approval is not None) == adopted
        return stored if ready and stored is not None else None

    found: dict[str, Any] = await eventually(check, timeout=60)
    return found


@pytest.mark.parametrize("route", ROUTES)
async def test_minutes_issued_after_the_adoption_void_it_in_either_order_and_a_secretary_cannot_send_them(
    world: tuple[Feed, dict[str, str]], rpc: RpcClient, db: asyncpg.Connection, route: str
) -> None:
    bus, ids = world
    adopted_at = START + timedelta(hours=2, minutes=1)
    corrected_at = START + timedelta(hours=14)  # 09:00 the next morning

    def held(mtg: str) -> list[dict[str, Any]]:
        return [
            ev.scheduled(mtg, ids["cell"], starts_at=START, time=START - timedelta(days=5)),
            ev.attendance(mtg, {ids["mem"]: "present"}, time=START + timedelta(hours=1)),
            minutes(ids, mtg, time=START + timedelta(hours=2)),
        ]

    seen = {}
    for order in ("adoption_first", "correction_first"):
        mtg = random_id("mtg")
        approval, corrected = adoption(mtg, time=adopted_at), minutes(ids, mtg, time=corrected_at, minutes_long=60)
        late = [approval, corrected] if order == "adoption_first" else [corrected, approval]
        await send(rpc, bus, route, held(mtg) + late)
        stored = await settled(db, mtg, ended_at=START + timedelta(minutes=60), adopted=True)
        seen[order] = (stored["status"], stored["approved_at"], stored["adoption_voided_at"])
    # the same in either order: the corrected text is not the adopted one (DOMAIN.md: minutes read and adopted)
    assert seen == {order: ("minutes_submitted", None, adopted_at) for order in seen}

    # a newer adoption adopts the corrected text
    await send(rpc, bus, route, [adoption(mtg, time=corrected_at + timedelta(hours=1))])
    await eventually(lambda: meeting_status(db, mtg, "minutes_approved"), timeout=60)

    # the secretary cannot change minutes in force under an adoption: refused, the meeting unchanged
    kept = random_id("mtg")
    await send(rpc, bus, route, [*held(kept), adoption(kept, time=adopted_at)])
    before = await settled(db, kept, ended_at=START + timedelta(minutes=100), adopted=True)
    assert before["status"] == "minutes_approved"
    refused = await command(rpc, minutes(ids, kept, time=now(), minutes_long=60))
    assert (refused["outcome"], refused["field"], refused["refusal"]["code"]) == (
        "rejected",
        "data.meeting_id",
        "minutes_adopted",
    )
    assert await meeting(db, kept) == before


@pytest.mark.parametrize("route", ROUTES)
async def test_other_minutes_sent_25_seconds_after_the_adoption_void_it_and_the_same_ones_do_not(
    world: tuple[Feed, dict[str, str]], rpc: RpcClient, db: asyncpg.Connection, route: str
) -> None:
    """A new user's trial: other conclusions sent 25 seconds after the adoption were stored as the minutes while the
    meeting stayed `minutes_approved` (a 15-minute clock allowance); the same text sent then leaves it standing."""
    bus, ids = world
    adopted_at = START + timedelta(hours=2, minutes=1)
    seen = {}
    for minutes_long in (60, 100):  # another text, the same text
        mtg = random_id("mtg")
        await send(
            rpc,
            bus,
            route,
            [
                ev.scheduled(mtg, ids["cell"], starts_at=START, time=START - timedelta(days=5)),
                ev.attendance(mtg, {ids["mem"]: "present"}, time=START + timedelta(hours=1)),
                minutes(ids, mtg, time=START + timedelta(hours=2)),
                adoption(mtg, time=adopted_at),
            ],
        )
        later = minutes(ids, mtg, time=adopted_at + timedelta(seconds=25), minutes_long=minutes_long)
        await send(rpc, bus, route, [later])
        await eventually(lambda later=later: received(db, later["id"]), timeout=60)
        stored = await settled(db, mtg, ended_at=START + timedelta(minutes=minutes_long), adopted=True)
        seen[minutes_long] = (stored["status"], stored["approved_at"], stored["adoption_voided_at"])
    assert seen == {60: ("minutes_submitted", None, adopted_at), 100: ("minutes_approved", adopted_at, None)}


@pytest.mark.parametrize("route", ROUTES)
async def test_the_adopted_minutes_sent_again_after_the_adoption_leave_it_standing_in_any_order(
    world: tuple[Feed, dict[str, str]], rpc: RpcClient, db: asyncpg.Connection, route: str
) -> None:
    """A feed re-sending the adopted snapshot unchanged with a later `time` (the member handbook's resend, its
    moments at another offset) is no new text: the adoption stands (shared.minutes), whatever the arrival order of
    the minutes, their resend and the adoption."""
    bus, ids = world
    adopted_at = START + timedelta(hours=2, minutes=1)
    seen = {}
    for order in ("resend_last", "resend_before_adoption", "original_last"):
        mtg = random_id("mtg")
        original = minutes(ids, mtg, time=START + timedelta(hours=2))
        resent = copy.deepcopy(original) | {"id": random_id("evt"), "time": (START + timedelta(hours=14)).isoformat()}
        for name in ("started_at", "ended_at"):
            resent["data"][name] = datetime.fromisoformat(resent["data"][name]).astimezone(UTC).isoformat()
        approval = adoption(mtg, time=adopted_at)
        late = {
            "resend_last": [original, approval, resent],
            "resend_before_adoption": [original, resent, approval],
            "original_last": [resent, approval, original],
        }[order]
        await send(
            rpc,
            bus,
            route,
            [
                ev.scheduled(mtg, ids["cell"], starts_at=START, time=START - timedelta(days=5)),
                ev.attendance(mtg, {ids["mem"]: "present"}, time=START + timedelta(hours=1)),
            ],
        )
        for one in late:  # one at a time, so each arrival order is the one received
            await send(rpc, bus, route, [one])
            await eventually(lambda one=one: received(db, one["id"]), timeout=60)
        stored = await settled(db, mtg, ended_at=START + timedelta(minutes=100), adopted=True)
        seen[order] = (stored["status"], stored["approved_at"], stored["adoption_voided_at"])
    assert seen == {order: ("minutes_approved", adopted_at, None) for order in seen}


async def received(db: asyncpg.Connection, event_id: str) -> bool:
    """Whether meetings processed `event_id` (applied, held for what it waits for, or refused)."""
    return bool(
        await db.fetchval(
            "SELECT EXISTS (SELECT 1 FROM meetings.processed_message WHERE event_id = $1)"
            " OR EXISTS (SELECT 1 FROM meetings.held_event WHERE event_id = $1)"
            " OR EXISTS (SELECT 1 FROM meetings.rejection WHERE event_id = $1)",
            event_id,
        )
    )


async def meeting_status(db: asyncpg.Connection, mtg: str, status: str) -> bool:
    return bool((await meeting(db, mtg))["status"] == status)


@pytest.mark.parametrize("order", ["first_cancellation_first", "later_cancellation_first"])
async def test_a_move_after_the_first_of_two_cancellations_is_refused_in_either_order(
    world: tuple[Feed, dict[str, str]], rpc: RpcClient, db: asyncpg.Connection, order: str
) -> None:
    """A meeting is cancelled from its earliest cancellation on: a later one (a new reason) does not make a move
    issued between them a fact of a meeting still going ahead (a move checked against the latest cancellation was
    taken, or, arriving before the earlier cancellation, kept)."""
    bus, ids = world
    mtg = random_id("mtg")
    first = cancel(mtg)
    later = ev.raw_event(
        "meeting.cancelled.v1", {"meeting_id": mtg, "reason": "Hoãn vì lũ"}, time=MOVED_AT + timedelta(hours=2)
    )
    moved = move(mtg, time=MOVED_AT)
    await send(rpc, bus, "http", [ev.scheduled(mtg, ids["cell"], starts_at=START, time=START - timedelta(days=5))])
    facts = [first, later, moved] if order == "first_cancellation_first" else [later, moved, first]
    await send(rpc, bus, "http", facts)
    assert await rejected(bus, db, moved["id"]) == ("data.meeting_id", "meeting_cancelled")
    stored = await meeting(db, mtg)
    assert (stored["status"], stored["starts_at"], stored["cancel_reason"]) == ("cancelled", START, "Hoãn vì lũ")
