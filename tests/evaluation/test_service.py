"""The service in-process against the real broker and database: facts in on chibo.events, scores out."""

import gc
import json
import random
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import aio_pika
import asyncpg
import httpx
import pytest
from prometheus_client import REGISTRY

from services.evaluation.bootstrap import create_app, uow_factory_for
from services.evaluation.config import Settings
from services.evaluation.handlers import rescore
from shared.db import create_pool
from shared.heap import YOUNG_COLLECTION_THRESHOLD
from shared.periods import VIETNAM_TZ
from shared.topology import EVENTS_EXCHANGE, declare_topology
from tests.evaluation.stream import at, by_type, cell_history, fact, publish, publish_batches, village_meeting
from tests.evaluation.waiting import applied_and_scored
from tests.support.ids import random_id
from tests.support.running import eventually, free_port, running_app


@pytest.fixture(scope="module")
async def service(amqp_url: str, database_url: str) -> AsyncIterator[str]:
    """The evaluation app serving in this process."""
    settings = Settings(amqp_url=amqp_url, database_url=database_url, http_port=free_port(), relay_poll_seconds=0.2)
    async with running_app(create_app(settings)) as base:
        yield base


@pytest.fixture(scope="module")
async def scores_seen(service: str, amqp_url: str) -> AsyncIterator[list[dict[str, Any]]]:
    """Every score event published on chibo.events, gathered by a test queue."""
    await declare_topology(amqp_url)
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(EVENTS_EXCHANGE, routing_key="score.#")
    seen: list[dict[str, Any]] = []

    async def collect(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with message.process():
            body = json.loads(message.body)
            seen.extend(body if isinstance(body, list) else [body])  # one event, or a batch

    await queue.consume(collect)
    yield seen
    await connection.close()


async def test_the_started_service_keeps_its_startup_heap_out_of_the_collectors_walks(service: str) -> None:
    # issue 12: full collections walking modules and schemas again were 7 % of evaluation's CPU-s, young ones 5 %
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold()[0] == YOUNG_COLLECTION_THRESHOLD


async def test_a_scheduled_meeting_whose_start_has_come_gets_a_provisional_score(
    service: str, scores_seen: list[dict[str, Any]], amqp_url: str
) -> None:
    # its start (28 November) is past: begun, so scored (one still ahead is not: test_time_bound_scores.py)
    meeting_id, cell_id = random_id("mtg"), random_id("cell")
    scheduled = village_meeting(meeting_id, cell_id, starts_at=at(11, 28), time=at(11, 25, 9))
    await publish(amqp_url, [scheduled])

    def published() -> dict[str, Any] | None:
        return next(
            (
                e
                for e in scores_seen
                if e["type"] == "score.meeting.updated.v1" and e["data"]["meeting_id"] == meeting_id
            ),
            None,
        )

    event = await eventually(published, timeout=60)
    assert event["source"] == "urn:chibo:evaluation"
    assert event["data"]["provisional"] is True
    assert event["data"]["cell_id"] == cell_id
    assert event["data"]["framework"] == {"id": "hd42-2025", "version": "1"}
    notified = next(line for line in event["data"]["criteria"] if line["code"] == "preparation.notified")
    assert notified["points"] == 1

    async with httpx.AsyncClient() as client:
        health = (await client.get(service + "/health")).json()
    # the scoring worker's backlog shows as parked outbox rows do (figures of the shared test database)
    assert isinstance(health["scoring_backlog_cells"], int) and isinstance(health["scoring_failing_cells"], int)
    assert health["scoring_lag_seconds"] >= 0


async def test_a_meeting_still_ahead_with_its_roster_sent_early_is_not_scored_nor_announced(
    service: str, scores_seen: list[dict[str, Any]], amqp_url: str, db: asyncpg.Connection
) -> None:
    """Trial 34: a meeting scheduled for the next day read a provisional 21.67 Kém, published and stored by
    notifications. A meeting that has not begun (no minutes, its start ahead) is not scored
    (shared.plausible.meeting_begun): no `score.meeting.updated.v1`, no stored score, a recheck at its start; the
    cell's meeting already begun, published after it, is scored."""
    cell_id, ahead, begun = random_id("cell"), random_id("mtg"), random_id("mtg")
    now = datetime.now(VIETNAM_TZ)
    starts = (now + timedelta(days=10)).replace(microsecond=0)

    def scheduled(meeting_id: str, starts_at: datetime) -> dict[str, Any]:
        return village_meeting(meeting_id, cell_id, starts_at=starts_at, time=now - timedelta(days=3))

    roster = fact(
        "attendance.recorded.v1",
        {"meeting_id": ahead, "records": [{"member_id": random_id("mem"), "status": "present"}]},
        time=now,
    )
    await publish(amqp_url, [scheduled(ahead, starts), roster, scheduled(begun, now - timedelta(days=2))])

    def published(meeting_id: str) -> list[dict[str, Any]]:
        return [
            e for e in scores_seen if e["type"].startswith("score.meeting.") and e["data"]["meeting_id"] == meeting_id
        ]

    await eventually(lambda: published(begun), timeout=60)
    assert published(ahead) == []
    stored = await db.fetch("SELECT meeting_id FROM evaluation.meeting_score WHERE cell_id = $1", cell_id)
    assert [row["meeting_id"] for row in stored] == [begun]
    due = await db.fetchval("SELECT due_at FROM evaluation.score_recheck WHERE meeting_id = $1", ahead)
    assert due == starts


def _rows(records: list[asyncpg.Record]) -> list[dict[str, Any]]:
    """Rows without their processing-time stamps: `computed_at`, and `held_since` and `rated_at` (when the period
    was first rated, migration 0046) only as whether they are set (by the wall clock of the run that stored them)."""
    return [
        {k: (v is not None if k in ("held_since", "rated_at") else v) for k, v in dict(r).items() if k != "computed_at"}
        for r in records
    ]


async def _stored(db: asyncpg.Connection, cell_id: str) -> tuple[list[dict], list[dict]]:
    scores = await db.fetch("SELECT * FROM evaluation.meeting_score WHERE cell_id = $1 ORDER BY meeting_id", cell_id)
    periods = await db.fetch("SELECT * FROM evaluation.cell_period WHERE cell_id = $1 ORDER BY period", cell_id)
    return _rows(scores), _rows(periods)


async def test_a_shuffled_duplicated_stream_equals_recomputing_from_the_stored_facts(
    service: str, amqp_url: str, database_url: str, db: asyncpg.Connection
) -> None:
    committee_id, cell_id = random_id("ward"), random_id("cell")
    events = cell_history(committee_id=committee_id, cell_id=cell_id, prefix=random_id("h"))
    rng = random.Random(20261125)
    stream = events + rng.sample(events, len(events) // 3)
    rng.shuffle(stream)
    await publish(amqp_url, stream)
    ids = [event["id"] for event in events]
    await eventually(lambda: applied_and_scored(db, event_ids=ids, cell_ids=[cell_id]), timeout=60, interval=0.3)
    incremental = await _stored(db, cell_id)
    assert len(incremental[0]) == 4  # mt3..mt6; the cancelled one has no score
    pool = await create_pool(database_url, schema="evaluation", min_size=1, max_size=2)
    try:
        outcome = await rescore(
            uow_factory=uow_factory_for(pool), unit_id=committee_id, period_from=None, period_to=None
        )
    finally:
        await pool.close()
    assert outcome["meetings_rescored"] == 5
    assert (outcome["meetings_changed"], outcome["periods_changed"], outcome["changed"]) == (0, 0, 0)
    assert await _stored(db, cell_id) == incremental
    scores = {row["meeting_id"].rsplit("-", 1)[-1]: row for row in incremental[0]}
    assert scores["mt4"]["starts_at"] == at(4, 6)
    assert scores["mt5"]["provisional"] is False
    assert scores["mt6"]["provisional"] is True
    assert "cancel" not in scores  # a cancelled meeting is not scored
    results_line = next(line for line in json.loads(scores["mt4"]["criteria"]) if line["code"] == "results")
    assert results_line["points"] == 20
    periods = {row["period"]: row for row in incremental[1]}
    assert periods["2026-03"]["rating"] in ("good", "fair")
    assert periods["2026-Q2"]["thematic_held"] == 1


def _scorings() -> float:
    return REGISTRY.get_sample_value("chibo_scoring_duration_seconds_count") or 0.0


async def _normalized(db: asyncpg.Connection, *, cell_id: str, names: dict[str, str]) -> tuple[str, str]:
    """A cell's stored scores and periods as text, its ids replaced by neutral names (to compare two cells)."""
    scores, periods = await _stored(db, cell_id)
    texts = []
    for rows in (scores, periods):
        text = json.dumps(rows, default=str, sort_keys=True)
        for name, neutral in names.items():
            text = text.replace(name, neutral)
        texts.append(text)
    return texts[0], texts[1]


async def test_a_batch_backfill_scores_at_most_once_per_delivery_and_equals_the_events_sent_one_at_a_time(
    service: str, amqp_url: str, db: asyncpg.Connection
) -> None:
    rng = random.Random(20261201)
    one, batched = (
        {"committee": random_id("ward"), "cell": random_id("cell"), "prefix": random_id("h")} for _ in range(2)
    )
    singles = cell_history(committee_id=one["committee"], cell_id=one["cell"], prefix=one["prefix"])
    stream = singles + rng.sample(singles, len(singles) // 3)
    rng.shuffle(stream)
    before = _scorings()
    await publish(amqp_url, stream)
    singles_done = [event["id"] for event in singles]
    await eventually(
        lambda: applied_and_scored(db, event_ids=singles_done, cell_ids=[one["cell"]]), timeout=60, interval=0.3
    )
    # the deliveries fold into the scoring rounds that find them noted: never more rounds than deliveries
    assert 1 <= _scorings() - before <= len(stream)

    history = cell_history(committee_id=batched["committee"], cell_id=batched["cell"], prefix=batched["prefix"])
    batches = by_type(history)
    rng.shuffle(batches)  # the types in any order: facts about meetings not scheduled yet wait in the projection
    for batch in batches:
        rng.shuffle(batch)
    batches[0].append(batches[0][0])  # a duplicate inside a batch changes nothing
    before = _scorings()
    await publish_batches(amqp_url, batches)
    history_done = [event["id"] for event in history]
    await eventually(
        lambda: applied_and_scored(db, event_ids=history_done, cell_ids=[batched["cell"]]), timeout=60, interval=0.3
    )

    # a batch's touched cells are scored together, batches may fold together too (a batch touching nothing, none)
    assert 1 <= _scorings() - before <= len(batches)
    names = [(one, "A"), (batched, "B")]
    compared = [
        await _normalized(
            db,
            cell_id=ids["cell"],
            names={ids["cell"]: "CELL", ids["committee"]: "WARD", ids["prefix"]: "PREFIX"},
        )
        for ids, _ in names
    ]
    assert compared[0] == compared[1]
    assert compared[0][0].count("meeting_id") == 4  # mt3..mt6 scored; the cancelled one is not


async def test_a_rescore_that_rerates_a_quarter_counts_it_among_the_changes(
    service: str, amqp_url: str, database_url: str, db: asyncpg.Connection
) -> None:
    """The user trial: the committee re-score said `changed` 0 while a quarter's rating changed (its meetings'
    scores did not): `changed` counted meeting scores only. It counts the period rows too, each part reported."""
    committee_id, cell_id = random_id("ward"), random_id("cell")
    events = cell_history(committee_id=committee_id, cell_id=cell_id, prefix=random_id("h"))
    await publish(amqp_url, events)
    ids = [event["id"] for event in events]
    await eventually(lambda: applied_and_scored(db, event_ids=ids, cell_ids=[cell_id]), timeout=60, interval=0.3)
    _scores, periods = await _stored(db, cell_id)
    quarter = next(row for row in periods if row["period"] == "2026-Q2")
    assert quarter["rating"] != "poor"
    pool = await create_pool(database_url, schema="evaluation", min_size=1, max_size=2)
    try:
        # as a rule change leaves it: the quarter rated otherwise than its stored meetings now rate it (on the
        # service's schema, where the roll-up triggers find their functions)
        await pool.execute(
            "UPDATE cell_period SET rating = 'poor', score = 0 WHERE cell_id = $1 AND period = '2026-Q2'", cell_id
        )
        outcome = await rescore(
            uow_factory=uow_factory_for(pool), unit_id=committee_id, period_from="2026-04", period_to="2026-06"
        )
    finally:
        await pool.close()
    assert outcome["meetings_changed"] == 0 and outcome["periods_changed"] == 1
    assert outcome["changed"] == 1
    assert await _stored(db, cell_id) == (_scores, periods)
