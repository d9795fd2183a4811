"""A withdrawn meeting's periods are rated again and published again, never dropped unannounced.

The defect (a user trial): a cell's tree loaded in December, its November history backfilled; the only meeting of the
closed November cancelled. Evaluation deleted the cell's 2026-11, 2026-Q4 and 2026 rows and published nothing, so
listeners kept "2026-11 average 66.67". CONTRACT.md publishes a period "again whenever a late fact changes it", and
DOMAIN.md "Periods" makes a closed month without a held regular meeting Poor: the three are published again, Poor, as
for a closed month that never had a meeting.
"""

import json
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import pytest

import services.evaluation
from services.evaluation.bootstrap import create_app, prepare
from services.evaluation.config import Settings
from services.evaluation.handlers.closing import close_periods
from services.evaluation.handlers.coalesced import score_dirty
from shared.topology import EVENTS_EXCHANGE, declare_topology
from tests.evaluation.private_db import private_pool
from tests.evaluation.stream import at, fact, publish
from tests.evaluation.test_cell_existence import Clock, apply, held, periods
from tests.evaluation.waiting import applied_and_scored
from tests.support.ids import random_id
from tests.support.running import eventually, free_port, running_app

TODAY = date(2026, 12, 3)
LOADED = datetime.fromisoformat("2026-12-01T09:00:00+07:00")
"""When the tree was loaded: after November, so the cell's November is known from its meeting only."""


def units(committee_id: str, *cell_ids: str, time: datetime = LOADED) -> list[dict[str, Any]]:
    """A ward and its cells, as the member database sends them."""
    ward = {"id": committee_id, "name": "Đảng ủy phường 7", "kind": "committee", "parent_id": None}
    events = [fact("org.unit.upserted.v1", ward, time=time)]
    for cell_id in cell_ids:
        cell = {"id": cell_id, "name": "Chi bộ khu phố 7", "kind": "cell", "parent_id": committee_id}
        events.append(fact("org.unit.upserted.v1", cell, time=time))
    return events


def cancelled(meeting_id: str) -> dict[str, Any]:
    return fact("meeting.cancelled.v1", {"meeting_id": meeting_id, "reason": "hoãn"}, time=at(12, 2, 9))


@pytest.fixture(scope="module")
async def service(amqp_url: str, database_url: str) -> AsyncIterator[str]:
    """The evaluation app serving in this process, its today 3 December 2026 (November closed)."""
    settings = Settings(amqp_url=amqp_url, database_url=database_url, http_port=free_port(), relay_poll_seconds=0.2)
    async with running_app(create_app(settings, today=lambda: TODAY)) as base:
        yield base


@pytest.fixture(scope="module")
async def cell_scores_seen(service: str, amqp_url: str) -> AsyncIterator[dict[str, dict[str, Any]]]:
    """Every score.cell.updated.v1 published on chibo.events, by event id, gathered by a test queue."""
    await declare_topology(amqp_url)
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(EVENTS_EXCHANGE, routing_key="score.cell.updated.v1")
    seen: dict[str, dict[str, Any]] = {}

    async def collect(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with message.process():
            body = json.loads(message.body)
            for event in body if isinstance(body, list) else [body]:  # one event, or a batch
                seen[event["id"]] = event

    await queue.consume(collect)
    yield seen
    await connection.close()


async def published_after(
    db: asyncpg.Connection, seen: dict[str, dict[str, Any]], *, cell_id: str, after: int
) -> dict[str, dict[str, Any]]:
    """The data of the last score.cell.updated.v1 of each period of the cell put in the outbox after outbox row
    `after`, as received from the broker (waits until every one of them has arrived)."""
    rows = await db.fetch(
        "SELECT event_id, payload->'data'->>'period' AS period FROM evaluation.outbox WHERE id > $1"
        " AND type = 'score.cell.updated.v1' AND payload->'data'->>'cell_id' = $2 ORDER BY id",
        after,
        cell_id,
    )
    await eventually(lambda: all(row["event_id"] in seen for row in rows), timeout=60)
    return {row["period"]: seen[row["event_id"]]["data"] for row in rows}


def poor_without_meeting(cell_id: str, period: str, *flags: str) -> dict[str, Any]:
    """The `score.cell.updated.v1` data of a period whose only month has no held meeting (DOMAIN.md "Periods")."""
    return {
        "cell_id": cell_id,
        "period": period,
        "rating": "poor",
        "score": 0.0,
        "regular_held": 0,
        "thematic_held": 0,
        "attendance_rate": None,
        "speaking_rate": None,
        "flags": list(flags),
    }


async def test_cancelling_the_only_meeting_of_a_closed_month_publishes_its_month_quarter_and_year_poor(
    service: str, cell_scores_seen: dict[str, dict[str, Any]], amqp_url: str, db: asyncpg.Connection
) -> None:
    committee_id, cell_id, twin_id = random_id("ward"), random_id("cell"), random_id("cell")
    meeting_id = random_id("mtg")
    # the twin existed in November (its snapshot says so) and never met: its November is the rule for such a month
    twin = units(committee_id, twin_id, time=at(11, 1, 8))[1]
    history = [*units(committee_id, cell_id), twin, *held(cell_id, meeting_id, at(11, 5, 19))]
    await publish(amqp_url, history)
    await eventually(
        lambda: applied_and_scored(db, event_ids=[e["id"] for e in history], cell_ids=[cell_id, twin_id]), timeout=60
    )
    rated = {
        row["period"]: row for row in await db.fetch("SELECT * FROM evaluation.cell_period WHERE cell_id = $1", cell_id)
    }
    assert {"2026-11", "2026-Q4", "2026"} <= set(rated)
    assert rated["2026-11"]["rating"] != "poor" and rated["2026-11"]["score"] > 50  # what listeners were told
    marker = await db.fetchval("SELECT coalesce(max(id), 0) FROM evaluation.outbox")

    cancellation = cancelled(meeting_id)
    await publish(amqp_url, [cancellation])
    await eventually(lambda: applied_and_scored(db, event_ids=[cancellation["id"]], cell_ids=[cell_id]), timeout=60)
    republished = await published_after(db, cell_scores_seen, cell_id=cell_id, after=marker)
    assert republished == {
        "2026-11": poor_without_meeting(cell_id, "2026-11", "no_regular_meeting"),
        # December runs without its meeting yet: the quarter and the year count November only, not yet Poor for
        # the missing thematic meeting nor flagged for it, flagged in progress
        "2026-Q4": poor_without_meeting(cell_id, "2026-Q4", "no_regular_meeting", "in_progress"),
        "2026": poor_without_meeting(cell_id, "2026", "no_regular_meeting", "in_progress"),
    }
    twins = await db.fetch(
        "SELECT payload->'data' AS data FROM evaluation.outbox WHERE type = 'score.cell.updated.v1'"
        " AND payload->'data'->>'cell_id' = $1 AND payload->'data'->>'period' = '2026-11' ORDER BY id",
        twin_id,
    )
    assert {**json.loads(twins[-1]["data"]), "cell_id": cell_id} == republished["2026-11"]  # the same rule, reused
    stored = {
        row["period"]: row for row in await db.fetch("SELECT * FROM evaluation.cell_period WHERE cell_id = $1", cell_id)
    }
    assert {"2026-11", "2026-Q4", "2026"} <= set(stored)
    for period, data in republished.items():
        assert (stored[period]["rating"], stored[period]["score"], list(stored[period]["flags"])) == (
            data["rating"],
            data["score"],
            data["flags"],
        ), period


@pytest.fixture
async def ward(database_url: str) -> AsyncIterator[dict[str, Any]]:
    """A private evaluation schema whose today is 3 December 2026 (November closed, December running)."""
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=Clock(TODAY))
        yield {"pool": pool, "factory": factory}


async def announced(pool: asyncpg.Pool, cell_id: str, *, after: int) -> dict[str, dict[str, Any]]:
    """The data of the last score.cell.updated.v1 of each period of the cell put in the outbox after row `after`."""
    rows = await pool.fetch(
        "SELECT payload->'data' AS data FROM outbox WHERE id > $1 AND type = 'score.cell.updated.v1'"
        " AND payload->'data'->>'cell_id' = $2 ORDER BY id",
        after,
        cell_id,
    )
    return {json.loads(row["data"])["period"]: json.loads(row["data"]) for row in rows}


def thematic(cell_id: str, meeting_id: str, start: datetime) -> list[dict[str, Any]]:
    """A thematic meeting held with minutes and a full roster."""
    events = held(cell_id, meeting_id, start)
    events[0]["data"] |= {"kind": "thematic", "topic": "Học tập và làm theo tư tưởng Hồ Chí Minh"}
    return events


async def last_outbox_id(pool: asyncpg.Pool) -> int:
    return await pool.fetchval("SELECT coalesce(max(id), 0) FROM outbox")


async def test_cancelling_the_regular_meeting_beside_a_thematic_one_leaves_the_month_poor_with_its_thematic(
    ward: dict[str, Any],
) -> None:
    pool, factory = ward["pool"], ward["factory"]
    await apply(factory, [*units("w1", "c1"), *thematic("c1", "c1-th", at(11, 12)), *held("c1", "c1-11", at(11, 5))])
    marker = await last_outbox_id(pool)
    await apply(factory, [cancelled("c1-11")])
    found = await announced(pool, "c1", after=marker)
    assert set(found) == {"2026-11", "2026-Q4", "2026"}
    november = found["2026-11"]
    assert (november["rating"], november["score"], november["regular_held"], november["thematic_held"]) == (
        "poor",
        0.0,
        0,
        1,
    )
    assert november["flags"] == ["no_regular_meeting"] and november["attendance_rate"] == 1.0
    quarter = found["2026-Q4"]
    assert (quarter["rating"], quarter["score"], quarter["thematic_held"]) == ("poor", 0.0, 1)
    assert quarter["flags"] == ["no_regular_meeting", "in_progress"]  # its thematic meeting held: no such flag
    assert sorted(await periods(pool, "c1")) == ["2026", "2026-11", "2026-12", "2026-Q4"]


async def test_cancelling_one_of_two_regular_meetings_of_a_closed_month_rates_it_by_the_other(
    ward: dict[str, Any],
) -> None:
    pool, factory = ward["pool"], ward["factory"]
    await apply(factory, [*units("w1", "c1"), *held("c1", "c1-a", at(11, 5))])
    first = dict((await periods(pool, "c1"))["2026-11"])
    await apply(factory, held("c1", "c1-b", at(11, 20)))
    marker = await last_outbox_id(pool)
    await apply(factory, [cancelled("c1-b")])
    found = await announced(pool, "c1", after=marker)
    november = (await periods(pool, "c1"))["2026-11"]
    assert (november["rating"], november["score"], november["regular_held"]) == (first["rating"], first["score"], 1)
    assert "2026-11" not in found or found["2026-11"]["regular_held"] == 1  # republished only if its data moved


async def test_cancelling_the_running_months_only_meeting_is_not_published_as_a_closed_poor_month(
    ward: dict[str, Any],
) -> None:
    """The running month follows the running month's rule (Poor until its meeting, flagged in progress); the running
    quarter and year of a cell with no closed month are not rated yet (no row, nothing published as Poor)."""
    pool, factory = ward["pool"], ward["factory"]
    await apply(factory, [*units("w1", "c1", "c2"), *held("c1", "c1-12", at(12, 2, 8))])
    marker = await last_outbox_id(pool)
    await apply(factory, [cancelled("c1-12")])
    found = await announced(pool, "c1", after=marker)
    never_met = await announced(pool, "c2", after=0)
    assert found == {"2026-12": {**never_met["2026-12"], "cell_id": "c1"}}
    assert found["2026-12"]["flags"] == ["no_regular_meeting", "in_progress"]
    assert sorted(await periods(pool, "c1")) == ["2026-12"]
    await close_periods(uow_factory=factory)  # nothing more to close on 3 December
    assert sorted(await periods(pool, "c1")) == ["2026-12"]


async def test_cancelling_a_meeting_held_after_the_cell_was_made_inactive_keeps_that_month_rated(
    ward: dict[str, Any],
) -> None:
    """A held meeting after the inactive snapshot extends the cell's span; cancelled, its month stays, Poor."""
    pool, factory = ward["pool"], ward["factory"]
    events = [*units("w1", "c1", time=at(1, 2, 8))]
    inactive = {"id": "c1", "name": "Chi bộ khu phố 7", "kind": "cell", "parent_id": "w1", "active": False}
    events.append(fact("org.unit.upserted.v1", inactive, time=at(10, 15, 8)))
    await apply(factory, [*events, *held("c1", "c1-11", at(11, 5))])
    assert "2026-11" in await periods(pool, "c1")
    marker = await last_outbox_id(pool)
    await apply(factory, [cancelled("c1-11")])
    found = await announced(pool, "c1", after=marker)
    assert found["2026-11"] == poor_without_meeting("c1", "2026-11", "no_regular_meeting")
    assert {"2026-Q4", "2026"} <= set(found)
    assert "2026-11" in await periods(pool, "c1")


async def test_migration_0016_publishes_again_the_periods_an_earlier_release_dropped(ward: dict[str, Any]) -> None:
    """An upgraded database holds what the defect left (the rows gone, the span moved past November, nothing
    published): the migration notes the cell dirty, and one scoring round rates and publishes them again."""
    pool, factory = ward["pool"], ward["factory"]
    await apply(factory, [*units("w1", "c1", "c2"), *held("c1", "c1-11", at(11, 5)), cancelled("c1-11")])
    expected = {period: dict(row) for period, row in (await periods(pool, "c1")).items()}
    assert {"2026-11", "2026-Q4", "2026"} <= set(expected)
    # what the earlier release left
    await pool.execute("DELETE FROM cell_period WHERE cell_id = 'c1' AND period <> '2026-12'")
    await pool.execute("UPDATE cell_span SET first_month = '2026-12' WHERE cell_id = 'c1'")
    await pool.execute("DELETE FROM dirty_cell")
    await pool.execute("UPDATE meeting SET cancelled = false")  # the column the migration adds, not filled yet
    marker = await last_outbox_id(pool)

    sql = (
        Path(services.evaluation.__file__).parent / "migrations" / "0016_withdrawn_months_stay_rated.sql"
    ).read_text()
    await pool.execute(sql)
    assert await pool.fetchval("SELECT array_agg(cell_id) FROM dirty_cell") == ["c1"]
    assert await pool.fetchval("SELECT cancelled FROM meeting WHERE meeting_id = 'c1-11'") is True
    assert await score_dirty(uow_factory=factory, limit=100) is False
    found = await announced(pool, "c1", after=marker)
    assert found["2026-11"] == poor_without_meeting("c1", "2026-11", "no_regular_meeting")
    assert set(found) == {"2026-11", "2026-Q4", "2026"}
    after = {period: dict(row) for period, row in (await periods(pool, "c1")).items()}
    strip = ("computed_at",)
    assert {p: {k: v for k, v in r.items() if k not in strip} for p, r in after.items()} == {
        p: {k: v for k, v in r.items() if k not in strip} for p, r in expected.items()
    }


async def test_the_cancellation_before_the_schedule_and_the_minutes_ends_in_the_same_periods(
    ward: dict[str, Any],
) -> None:
    """CONTRACT.md: the same facts in any order converge. The cancellation stored before the meeting is scheduled
    still marks it cancelled (migration 0016's trigger), so its month stays in the span as in the other order."""
    pool, factory = ward["pool"], ward["factory"]
    await apply(factory, units("w1", "c1", "c2"))
    await apply(factory, [*held("c1", "c1-11", at(11, 5)), cancelled("c1-11")])
    await apply(factory, [cancelled("c2-11"), *held("c2", "c2-11", at(11, 5))])
    assert await pool.fetchval("SELECT cancelled FROM meeting WHERE meeting_id = 'c2-11'") is True
    first, second = await periods(pool, "c1"), await periods(pool, "c2")
    assert sorted(first) == sorted(second) == ["2026", "2026-11", "2026-12", "2026-Q4"]
    columns = ("rating", "score", "regular_held", "thematic_held", "months_counted", "flags")
    for period in first:
        assert [first[period][c] for c in columns] == [second[period][c] for c in columns], period
    assert (second["2026-11"]["rating"], second["2026-11"]["score"]) == ("poor", 0.0)
