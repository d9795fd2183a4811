"""A vote nobody cast is no vote: minutes whose resolution says 0 for, 0 against and 0 abstaining were accepted on
every route (a secretary's API call, an integration's event by HTTP or AMQP, one or a batch, a bulk load) and the
resolution stored as voted. DOMAIN.md "Meetings" has the resolution voted and the minutes adopted by the members at
the meeting; CONTRACT.md bounds each count (0 to 100,000) and rejects impossible values naming the field, so such a
resolution is refused naming `data.resolutions.N.votes_for` (RESOLUTION_NOT_VOTED), judged on the event alone. An
adoption of minutes with 0 for and 0 against was already refused on every route, naming `data.votes_for`
(MINUTES_NOT_ADOPTED: no majority of the votes cast), as it still is."""

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from services.meetings import handlers
from services.meetings.bulk.load import bulk_load
from shared.envelope import GATEWAY_SOURCE
from shared.refusals import RefusalCode
from shared.rpc import RpcClient
from tests.meetings import events as ev
from tests.meetings.feed import Feed
from tests.meetings.test_cancelled_stays_quiet import rpc
from tests.meetings.test_meeting_state_rules_both_routes import ROUTES, rejected, send, world
from tests.meetings.test_votes_and_roster_facts import MEETING, approval, cell_of_three, judged, resolution
from tests.support.ids import random_id

__all__ = ["rpc", "world"]  # the fixtures, shared with test_meeting_state_rules_both_routes

NOBODY = resolution(0, 0, 0)
NOT_VOTED = RefusalCode.RESOLUTION_NOT_VOTED.value


def minutes(meeting: str, chair: str, resolutions: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    """minutes.submitted.v1 of the meeting at MEETING with `resolutions`."""
    return ev.minutes(meeting, chair_id=chair, started_at=MEETING, data={"resolutions": resolutions}, **kw)


@pytest.mark.parametrize("dry_run", [False, True])
@pytest.mark.parametrize("secretary", [False, True])
async def test_a_resolution_nobody_voted_on_is_refused_naming_its_votes_for(
    uow_factory: Any, dry_run: bool, secretary: bool
) -> None:
    members, meeting = await cell_of_three(uow_factory, present=True)
    sent = {"source": GATEWAY_SOURCE, "time": MEETING + timedelta(hours=3)} if secretary else {"time": MEETING}
    judge = handlers.dry_run if dry_run else handlers.ingest_batch
    results = await judge(
        [
            minutes(meeting, members[0], [resolution(3), NOBODY], **sent),
            minutes(meeting, members[0], [NOBODY], **sent),
            minutes(meeting, members[0], [resolution(1, 2), resolution(0, 0, 1)], **sent),  # voted, not adopted
        ],
        uow_factory,
        route="http",
    )
    assert judged(results) == [
        ("rejected", "data.resolutions.1.votes_for", NOT_VOTED),
        ("rejected", "data.resolutions.0.votes_for", NOT_VOTED),
        ("accepted", None, None),
    ]
    assert results[0].reason is not None and "nobody voted" in results[0].reason


async def test_an_adoption_nobody_voted_for_stays_refused_naming_its_votes_for(uow_factory: Any) -> None:
    members, meeting = await cell_of_three(uow_factory, present=True)
    await handlers.ingest_batch([minutes(meeting, members[0], [resolution(3)], time=MEETING)], uow_factory, route="t")
    results = await handlers.ingest_batch(
        [approval(meeting, 0, 0), approval(meeting, 0, 0, source=GATEWAY_SOURCE, time=MEETING + timedelta(hours=3))],
        uow_factory,
        route="http",
    )
    assert judged(results) == [("rejected", "data.votes_for", RefusalCode.MINUTES_NOT_ADOPTED.value)] * 2


@pytest.mark.parametrize("route", ROUTES)
async def test_a_resolution_nobody_voted_on_is_refused_on_every_route(
    world: tuple[Feed, dict[str, str]], rpc: RpcClient, db: asyncpg.Connection, route: str
) -> None:
    bus, ids = world
    meeting = random_id("mtg")
    await send(
        rpc, bus, route, [ev.scheduled(meeting, ids["cell"], starts_at=MEETING, time=MEETING - timedelta(days=5))]
    )
    sent = minutes(meeting, ids["mem"], [resolution(1), NOBODY], time=MEETING)
    adopted = approval(meeting, 0, 0)
    await send(rpc, bus, route, [sent, adopted])
    assert await rejected(bus, db, sent["id"]) == ("data.resolutions.1.votes_for", NOT_VOTED)
    assert await rejected(bus, db, adopted["id"]) == ("data.votes_for", RefusalCode.MINUTES_NOT_ADOPTED.value)


async def test_a_resolution_nobody_voted_on_is_refused_in_a_bulk_load(
    meetings_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    cell, member, meeting = random_id("cb"), random_id("dv"), random_id("mtg")
    before = MEETING - timedelta(days=30)
    sent = minutes(meeting, member, [NOBODY], time=MEETING)
    lines = [
        ev.unit(cell, time=before),
        ev.member(member, cell, time=before),
        ev.scheduled(meeting, cell, starts_at=MEETING, time=before),
        sent,
    ]
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    report = await bulk_load(path, meetings_pool, chunk_size=20, progress=False)
    assert (report.outcomes["accepted"], report.outcomes["rejected"]) == (3, 1)
    async with meetings_pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT field, refusal->>'code' AS code FROM rejection WHERE source = $1 AND event_id = $2",
            sent["source"],
            sent["id"],
        )
    assert row is not None and (row["field"], row["code"]) == ("data.resolutions.0.votes_for", NOT_VOTED)
