"""Coalesced scoring against the real database: facts note dirty cells, one scoring round scores them all."""

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.evaluation.background import scoring_worker
from services.evaluation.bootstrap import SERVICE_DIR, prepare, uow_factory_for
from services.evaluation.config import Settings
from services.evaluation.context import EvaluationContext
from services.evaluation.handlers import FACT_HANDLERS, scores
from services.evaluation.handlers.coalesced import defer_touched, release_rechecks, score_dirty
from services.evaluation.repository import Recheck
from services.evaluation.unit_of_work import EvaluationUnitOfWork
from shared.contracts.registry import read_event
from shared.envelope import parse_envelope
from shared.outbox import FetchPart
from tests.evaluation.private_db import private_pool
from tests.evaluation.stream import by_type, cell_history
from tests.support.running import eventually


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[tuple[asyncpg.Pool, Callable[[], EvaluationUnitOfWork]]]:
    """A private database with the shipped frameworks registered."""
    async with private_pool(database_url) as pool:
        yield pool, await prepare(pool, today=lambda: date(2026, 6, 20))


async def deliver(factory: Callable[[], EvaluationUnitOfWork], raws: list[dict[str, Any]]) -> None:
    """One delivery as the consumer applies it: the facts, then `defer_touched`, then the commit."""
    async with factory() as uow:
        for raw in raws:
            event = read_event(parse_envelope(json.dumps(raw)))
            await FACT_HANDLERS[event.type](event, uow)
        await defer_touched(uow)
        await uow.commit()


def split(history: list[dict[str, Any]], first_type: str) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    """The history by type: the facts up to and including the batch of `first_type`, and the later batches."""
    batches = by_type(history)
    cut = next(index for index, batch in enumerate(batches) if batch[0]["type"] == first_type) + 1
    return [event for batch in batches[:cut] for event in batch], batches[cut:]


async def published(pool: asyncpg.Pool) -> Counter[str]:
    """Outbox rows by type."""
    return Counter(
        {row["type"]: row["n"] for row in await pool.fetch("SELECT type, count(*) AS n FROM outbox GROUP BY 1")}
    )


async def test_many_deliveries_fold_into_one_scoring_that_publishes_each_meeting_once(
    world: tuple[asyncpg.Pool, Callable[[], EvaluationUnitOfWork]],
) -> None:
    pool, factory = world
    batches = by_type(cell_history(committee_id="ward", cell_id="cell-a", prefix="h"))
    for batch in batches:  # one delivery per type, as meetings' relay sends them; newest first (any order holds)
        await deliver(factory, batch[::-1])
    # of a meeting's two rosters in one delivery (a stale one, everybody absent, then the real one), the newest stays
    rosters = [json.loads(row["records"]) for row in await pool.fetch("SELECT records::text FROM attendance")]
    assert len(rosters) == 4 and all("present" in roster.values() for roster in rosters)
    assert (await published(pool))["score.meeting.updated.v1"] == 0  # nothing scored inside the deliveries
    assert await pool.fetchval("SELECT count(DISTINCT cell_id) FROM dirty_cell") == 1

    assert await score_dirty(uow_factory=factory, limit=100) is False
    scores = await pool.fetch("SELECT meeting_id FROM meeting_score")
    counts = await published(pool)
    assert counts["score.meeting.updated.v1"] == len(scores) == 4  # each scored meeting published once
    assert await pool.fetchval("SELECT count(*) FROM dirty_cell") == 0
    assert await score_dirty(uow_factory=factory, limit=100) is False  # nothing left: no round, no event
    assert await published(pool) == counts


async def test_a_claimed_note_is_skipped_by_another_worker_and_kept_when_its_round_dies(
    world: tuple[asyncpg.Pool, Callable[[], EvaluationUnitOfWork]],
) -> None:
    pool, factory = world
    scheduled, _ = split(cell_history(committee_id="ward", cell_id="cell-b", prefix="k"), "meeting.scheduled.v1")
    await deliver(factory, scheduled)
    notes = await pool.fetchval("SELECT count(*) FROM dirty_cell")
    assert notes >= 1
    async with factory() as first:
        claimed = await first.jobs.claim_dirty_cells(limit=100)
        assert len(claimed) == notes
        async with factory() as second:  # another replica's worker passes the claimed rows over, never waits
            assert await second.jobs.claim_dirty_cells(limit=100) == []
        # the first round dies before its commit (rolled back, as after a kill -9): the notes stay
    assert await pool.fetchval("SELECT count(*) FROM dirty_cell") == notes
    assert await score_dirty(uow_factory=factory, limit=100) is False
    assert await pool.fetchval("SELECT count(*) FROM dirty_cell") == 0


async def test_a_round_cut_short_claims_only_the_cells_noted_before_the_previous_round(
    world: tuple[asyncpg.Pool, Callable[[], EvaluationUnitOfWork]],
) -> None:
    pool, factory = world
    first, later = split(cell_history(committee_id="ward", cell_id="cell-s", prefix="s"), "meeting.scheduled.v1")
    await deliver(factory, first)  # the scheduled batch noted; the rest of the cell's facts are still in flight
    assert await score_dirty(uow_factory=factory, limit=100, noted_before=60.0) is False  # noted lately: left
    assert await pool.fetchval("SELECT count(*) FROM meeting_score") == 0
    for batch in later:
        await deliver(factory, batch)
    await pool.execute(
        "UPDATE dirty_cell SET created_at = created_at - interval '2 minutes' WHERE id = (SELECT min(id)"
        " FROM dirty_cell)"
    )  # its first note is now older than the previous round
    assert await score_dirty(uow_factory=factory, limit=100, noted_before=60.0) is False
    assert await pool.fetchval("SELECT count(*) FROM dirty_cell") == 0  # the cell claimed with every note
    counts = await published(pool)
    assert counts["score.meeting.updated.v1"] == 4  # each meeting published once, with all its facts


async def test_a_fact_committed_after_the_claim_is_scored_by_the_next_round(
    world: tuple[asyncpg.Pool, Callable[[], EvaluationUnitOfWork]],
) -> None:
    pool, factory = world
    first, later = split(cell_history(committee_id="ward", cell_id="cell-c", prefix="n"), "meeting.scheduled.v1")
    await deliver(factory, first)
    async with factory() as round_one:
        assert await round_one.jobs.claim_dirty_cells(limit=100)
        for batch in later:  # facts arriving while a round holds the cell's notes: never blocked by it
            await deliver(factory, batch)
        await round_one.rollback()
    assert await score_dirty(uow_factory=factory, limit=100) is False
    assert await pool.fetchval("SELECT count(*) FROM dirty_cell") == 0
    assert await pool.fetchval("SELECT count(*) FROM meeting_score WHERE cell_id = 'cell-c'") == 4


async def test_a_cell_that_cannot_be_scored_is_set_aside_and_holds_up_no_other(
    world: tuple[asyncpg.Pool, Callable[[], EvaluationUnitOfWork]],
) -> None:
    pool, factory = world
    good, _ = split(cell_history(committee_id="ward", cell_id="cell-good", prefix="g"), "meeting.scheduled.v1")
    bad, _ = split(cell_history(committee_id="ward", cell_id="cell-bad", prefix="b"), "meeting.scheduled.v1")
    await deliver(factory, bad + good)
    # stored minutes scoring cannot read (as a bug or a bad migration might leave them)
    meeting = await pool.fetchval("SELECT meeting_id FROM meeting WHERE cell_id = 'cell-bad' LIMIT 1")
    await pool.execute(
        "INSERT INTO minutes (meeting_id, data, fact_time, fact_id) VALUES ($1, '{\"unreadable\": true}', now(), 'x')",
        meeting,
    )

    assert await score_dirty(uow_factory=factory, limit=100) is True  # the round failed, each cell went alone
    assert await pool.fetchval("SELECT count(*) FROM meeting_score WHERE cell_id = 'cell-good'") > 0
    left = await pool.fetch("SELECT cell_id, attempts, last_error, not_before > now() AS later FROM dirty_cell")
    assert {row["cell_id"] for row in left} == {"cell-bad"}
    assert all(row["attempts"] == 1 and "KeyError" in row["last_error"] and row["later"] for row in left)
    assert await score_dirty(uow_factory=factory, limit=100) is False  # not due yet: nothing claimed


async def test_an_idle_worker_scores_a_single_delivery_without_waiting_for_its_bounds(
    world: tuple[asyncpg.Pool, Callable[[], EvaluationUnitOfWork]],
) -> None:
    pool, _ = world
    wanted = asyncio.Event()
    factory = uow_factory_for(pool, today=lambda: date(2026, 6, 20), scoring_wanted=wanted)
    # bounds far beyond the test's patience: a round that waited for either would not finish in time
    settings = Settings(scoring_settle_seconds=60, scoring_max_wait_seconds=60, scoring_poll_seconds=60)
    app = EvaluationContext(settings=settings, pool=pool, uow_factory=factory, scoring_wanted=wanted)
    worker = asyncio.create_task(scoring_worker(app))
    try:
        scheduled, _ = split(cell_history(committee_id="ward", cell_id="cell-e", prefix="i"), "meeting.scheduled.v1")
        started = time.monotonic()
        with app.facts_activity.delivery(batch=False):  # as the fact consumer applies one delivery
            await deliver(factory, scheduled)  # its commit wakes the worker
        await eventually(
            lambda: pool.fetchval("SELECT count(*) FROM meeting_score WHERE cell_id = 'cell-e'"), timeout=20
        )
        assert time.monotonic() - started < 20
        # the periods follow the meetings' scores in a transaction of their own: their notes until then
        await eventually(lambda: pool.fetchval("SELECT count(*) = 0 FROM dirty_cell"), timeout=20)
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker


def fetch_of(batches: list[list[dict[str, Any]]], fetch: str) -> list[FetchPart]:
    """Each one-type batch's place in one relay fetch sending them all (shared.outbox.fetch_headers, read back)."""
    counts = Counter(batch[0]["type"] for batch in batches)
    return [FetchPart(fetch=fetch, number=n, kind=batch[0]["type"], counts=counts) for n, batch in enumerate(batches)]


@contextlib.asynccontextmanager
async def running_worker(pool: asyncpg.Pool) -> AsyncIterator[tuple[EvaluationContext, Callable[[], Any]]]:
    """The scoring worker with every bound (quiet, single-event, bulk, poll) far beyond a test's patience: a round
    that waited for any of them would not finish in time."""
    wanted = asyncio.Event()
    factory = uow_factory_for(pool, today=lambda: date(2026, 6, 20), scoring_wanted=wanted)
    settings = Settings(
        scoring_settle_seconds=60,
        scoring_max_wait_seconds=60,
        scoring_bulk_wait_seconds=60,
        scoring_poll_seconds=60,
    )
    app = EvaluationContext(settings=settings, pool=pool, uow_factory=factory, scoring_wanted=wanted)
    worker = asyncio.create_task(scoring_worker(app))
    try:
        yield app, factory
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker


async def test_a_fetch_whose_messages_were_applied_side_by_side_is_scored_without_the_bulk_bound(
    world: tuple[asyncpg.Pool, Callable[[], EvaluationUnitOfWork]],
) -> None:
    pool, _ = world
    async with running_worker(pool) as (app, factory):
        batches = by_type(cell_history(committee_id="ward", cell_id="cell-n", prefix="n"))
        parts = fetch_of(batches, "side")
        started = time.monotonic()
        # the consumer applies the relay fetch's messages side by side (prefetch): the first one ends last, after
        # the ones it announced began and ended (once, such an announcement held the round for the whole bound)
        with app.facts_activity.delivery(batch=False, part=parts[0], several=True):
            for batch, part in zip(batches[1:], parts[1:], strict=True):
                with app.facts_activity.delivery(batch=False, part=part, several=True):
                    await deliver(factory, batch)
            await deliver(factory, batches[0])
        await eventually(
            lambda: pool.fetchval("SELECT count(*) FROM meeting_score WHERE cell_id = 'cell-n'"), timeout=20
        )
        assert time.monotonic() - started < 20


async def test_a_round_waits_for_a_fetchs_announced_batches_whatever_begins_in_between(
    world: tuple[asyncpg.Pool, Callable[[], EvaluationUnitOfWork]],
) -> None:
    pool, _ = world
    async with running_worker(pool) as (app, factory):
        batches = by_type(cell_history(committee_id="ward", cell_id="cell-m", prefix="m"))
        other, _ = split(cell_history(committee_id="ward", cell_id="cell-o", prefix="o"), "meeting.scheduled.v1")
        parts = fetch_of(batches, "mid")
        with app.facts_activity.delivery(batch=False, part=parts[0], several=True):
            await deliver(factory, batches[0])
        with app.facts_activity.delivery(batch=False):  # another cell's facts, begun and ended in between
            await deliver(factory, other)
        assert app.facts_activity.expecting  # the rest of cell-m's fetch is still announced
        for batch, part in zip(batches[1:], parts[1:], strict=True):
            with app.facts_activity.delivery(batch=False, part=part, several=True):
                await deliver(factory, batch)
        await eventually(lambda: pool.fetchval("SELECT count(*) = 0 FROM dirty_cell"), timeout=20)
        scored = await pool.fetchval("SELECT count(*) FROM meeting_score WHERE cell_id = 'cell-m'")
        # cell-m's meetings scored once, with all their facts: not provisional after the scheduled batch, then final
        assert scored == 4
        rows = await pool.fetch(
            "SELECT payload->'data'->>'meeting_id' AS meeting FROM outbox WHERE type = 'score.meeting.updated.v1'"
        )
        cell_m = Counter(row["meeting"] for row in rows if row["meeting"].startswith("m-"))
        assert len(cell_m) == 4 and set(cell_m.values()) == {1}, cell_m


async def test_a_cell_whose_round_is_blocked_holds_up_no_other_cells_scoring(
    world: tuple[asyncpg.Pool, Callable[[], EvaluationUnitOfWork]],
) -> None:
    pool, _ = world
    wanted = asyncio.Event()
    factory = uow_factory_for(pool, today=lambda: date(2026, 6, 20), scoring_wanted=wanted)
    settings = Settings(scoring_settle_seconds=0, scoring_max_wait_seconds=0, scoring_workers=2)
    app = EvaluationContext(settings=settings, pool=pool, uow_factory=factory, scoring_wanted=wanted)
    slow, _ = split(cell_history(committee_id="ward", cell_id="cell-slow", prefix="s"), "meeting.scheduled.v1")
    other, _ = split(cell_history(committee_id="ward", cell_id="cell-other", prefix="o"), "meeting.scheduled.v1")
    await deliver(factory, slow)
    worker: asyncio.Task[None] | None = None
    async with pool.acquire() as holder:
        async with holder.transaction():
            # the slow cell's round blocks on its lock, as behind a long transaction about it
            await holder.execute("SELECT pg_advisory_xact_lock(hashtextextended('evaluation.cell:' || 'cell-slow', 0))")
            worker = asyncio.create_task(scoring_worker(app))
            try:
                await eventually(lambda: _waiting_on_a_lock(holder), timeout=20)
                await deliver(factory, other)
                # the other cell is scored by the other worker meanwhile
                await eventually(lambda: _scored(holder, "cell-other"), timeout=20)
                assert not await _scored(holder, "cell-slow")
            except BaseException:
                worker.cancel()
                raise
        try:
            await eventually(lambda: _scored(holder, "cell-slow"), timeout=20)
            # the periods follow the meetings' scores in a transaction of their own: their notes until then
            await eventually(lambda: holder.fetchval("SELECT count(*) = 0 FROM dirty_cell"), timeout=20)
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker


async def test_a_fact_committed_while_the_one_coalescing_worker_scores_is_scored_right_after_its_round(
    world: tuple[asyncpg.Pool, Callable[[], EvaluationUnitOfWork]],
) -> None:
    """Under load (here: bulk batches flow) only the first worker scores; the others decline. A commit during its
    round woke them too, and one declining used to clear the wake-up the workers shared: the first worker, its round
    over, then slept until the next commit or its poll (issue 12: up to `scoring_poll_seconds`, 1 s, on the last
    facts of a stream). A worker that declines now has the first one look again once its round ends."""
    pool, _ = world
    wanted = asyncio.Event()
    factory = uow_factory_for(pool, today=lambda: date(2026, 6, 20), scoring_wanted=wanted)
    # a poll far beyond the test's patience: only a wake-up gets the second cell scored in time
    settings = Settings(
        scoring_settle_seconds=0,
        scoring_max_wait_seconds=0,
        scoring_bulk_wait_seconds=0,
        scoring_poll_seconds=600,
        scoring_workers=2,
    )
    app = EvaluationContext(settings=settings, pool=pool, uow_factory=factory, scoring_wanted=wanted)
    first, _ = split(cell_history(committee_id="ward", cell_id="cell-first", prefix="f"), "meeting.scheduled.v1")
    later, _ = split(cell_history(committee_id="ward", cell_id="cell-later", prefix="l"), "meeting.scheduled.v1")
    with app.facts_activity.delivery(batch=True):  # bulk work: one worker coalesces, the other declines
        await deliver(factory, first)
    worker: asyncio.Task[None] | None = None
    try:
        async with pool.acquire() as holder:
            async with holder.transaction():
                # the first cell's round blocks on its lock, as behind a long transaction about it
                await holder.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended('evaluation.cell:' || 'cell-first', 0))"
                )
                worker = asyncio.create_task(scoring_worker(app))
                await eventually(lambda: _waiting_on_a_lock(holder), timeout=20)
                with app.facts_activity.delivery(batch=True):
                    await deliver(factory, later)  # committed after the round claimed: the next round's
                await eventually(lambda: not wanted.is_set(), timeout=20)  # the wake-up was taken
            # the first cell's round ends; the later cell's note is scored by the next round, not at the poll
            await eventually(lambda: _scored(holder, "cell-first"), timeout=20)
            await eventually(lambda: _scored(holder, "cell-later"), timeout=20)
            # the periods follow the meetings' scores in a transaction of their own: their notes until then
            await eventually(lambda: holder.fetchval("SELECT count(*) = 0 FROM dirty_cell"), timeout=20)
    finally:
        if worker is not None:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker


async def _scored(conn: asyncpg.Connection, cell_id: str) -> bool:
    return bool(await conn.fetchval("SELECT count(*) FROM meeting_score WHERE cell_id = $1", cell_id))


async def _waiting_on_a_lock(conn: asyncpg.Connection) -> bool:
    """Some transaction waits for an advisory lock (the scoring round, on the slow cell's)."""
    return bool(
        await conn.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
    )


async def test_the_upgrade_migration_re_rates_every_rated_cell_from_its_stored_facts(
    world: tuple[asyncpg.Pool, Callable[[], EvaluationUnitOfWork]],
) -> None:
    """0009_rerate_after_quarter_rule.sql: periods are recomputed only when a fact touches their cell, so a rule
    changed by a release (a one-month quarter's thematic meeting) left an upgraded database's closed periods as the
    old rule rated them. The migration notes every rated cell dirty from the earliest time: one scoring round puts
    every period back to what the stored facts give, publishing only those that change."""
    pool, factory = world
    for batch in by_type(cell_history(committee_id="ward", cell_id="cell-r", prefix="r")):
        await deliver(factory, batch)
    assert await score_dirty(uow_factory=factory, limit=100) is False
    rated = {row["period"]: row["rating"] for row in await pool.fetch("SELECT period, rating FROM cell_period")}
    assert rated
    # the old release's rating of one closed period, as an upgraded database holds it
    period, rating = next((p, r) for p, r in sorted(rated.items()) if r != "good")
    await pool.execute("UPDATE cell_period SET rating = 'good' WHERE cell_id = 'cell-r' AND period = $1", period)
    before = await published(pool)

    migration = SERVICE_DIR / "migrations" / "0009_rerate_after_quarter_rule.sql"
    await pool.execute(migration.read_text(encoding="utf-8"))
    assert await pool.fetchval("SELECT count(*) FROM dirty_cell WHERE cell_id = 'cell-r'") == 1
    assert await score_dirty(uow_factory=factory, limit=100) is False

    assert (
        await pool.fetchval("SELECT rating FROM cell_period WHERE cell_id = 'cell-r' AND period = $1", period) == rating
    )
    after = await published(pool)
    assert after["score.cell.updated.v1"] - before["score.cell.updated.v1"] >= 1
    assert after["score.meeting.updated.v1"] == before["score.meeting.updated.v1"]  # meeting scores did not move


async def test_a_recheck_whose_moment_has_come_notes_its_meeting_for_scoring_once(
    world: tuple[asyncpg.Pool, Callable[[], EvaluationUnitOfWork]],
) -> None:
    pool, factory = world
    now = datetime.now(UTC)
    async with factory() as uow:
        await uow.results.schedule_rechecks(
            [
                Recheck(meeting_id="m-due", cell_id="cell-t", due_at=now - timedelta(seconds=1)),
                Recheck(meeting_id="m-due", cell_id="cell-t", due_at=now - timedelta(seconds=1)),  # noted once
                Recheck(meeting_id="m-later", cell_id="cell-t", due_at=now + timedelta(hours=1)),
            ]
        )
        await uow.commit()
    assert await pool.fetchval("SELECT count(*) FROM score_recheck") == 2
    assert await release_rechecks(uow_factory=factory, limit=100) == 1
    notes = await pool.fetch("SELECT cell_id, only_meetings FROM dirty_cell")
    assert [(row["cell_id"], row["only_meetings"]) for row in notes] == [("cell-t", ["m-due"])]
    assert await release_rechecks(uow_factory=factory, limit=100) == 0  # the later one waits for its moment
    assert await pool.fetchval("SELECT meeting_id FROM score_recheck") == "m-later"


async def _periods(pool: asyncpg.Pool, cell_id: str) -> list[tuple[Any, ...]]:
    rows = await pool.fetch(
        "SELECT period, rating, score, regular_held, thematic_held, present, counted, flags FROM cell_period"
        " WHERE cell_id = $1 ORDER BY period",
        cell_id,
    )
    return [tuple(row) for row in rows]


async def test_a_round_commits_its_meeting_scores_before_their_periods_and_periods_left_are_refreshed_later(
    world: tuple[asyncpg.Pool, Callable[[], EvaluationUnitOfWork]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12: a meeting's score waited for its cell's periods to be refreshed in the same transaction. The round
    now commits the meetings' scores (and their events) first, with a note per cell of the months whose periods to
    refresh; a period refresh that fails leaves those notes, and the next round rates the periods as one would have."""
    pool, factory = world
    for batch in by_type(cell_history(committee_id="ward", cell_id="cell-ref", prefix="ref")):
        await deliver(factory, batch)
    assert await score_dirty(uow_factory=factory, limit=100) is False
    reference = await _periods(pool, "cell-ref")
    assert reference
    before = await published(pool)

    for batch in by_type(cell_history(committee_id="ward", cell_id="cell-p", prefix="p")):
        await deliver(factory, batch)

    async def unavailable(*args: Any, **kwargs: Any) -> int:
        raise ConnectionError("the periods cannot be refreshed now")

    monkeypatch.setattr(scores, "refresh_cells_periods", unavailable)
    assert await score_dirty(uow_factory=factory, limit=100) is True  # periods left: more to do
    assert await pool.fetchval("SELECT count(*) FROM meeting_score WHERE cell_id = 'cell-p'") == 4
    middle = await published(pool)
    assert middle["score.meeting.updated.v1"] - before["score.meeting.updated.v1"] == 4  # the scores are out
    assert middle["score.cell.updated.v1"] == before["score.cell.updated.v1"]
    assert await _periods(pool, "cell-p") == []
    notes = await pool.fetch("SELECT cell_id, since, only_meetings, months, attempts FROM dirty_cell")
    assert [(row["cell_id"], row["since"], row["only_meetings"]) for row in notes] == [("cell-p", None, [])]
    assert notes[0]["months"]  # the months the committed scores moved, durable
    assert notes[0]["attempts"] == 1  # deferred as a failed cell's notes are: no busy loop
    assert await score_dirty(uow_factory=factory, limit=100) is False  # not due yet

    monkeypatch.undo()
    await pool.execute("UPDATE dirty_cell SET not_before = NULL")  # its time has come
    assert await score_dirty(uow_factory=factory, limit=100) is False
    assert await pool.fetchval("SELECT count(*) FROM dirty_cell") == 0
    assert await _periods(pool, "cell-p") == reference  # as the same history scored in one round rates them
    after = await published(pool)
    assert after["score.meeting.updated.v1"] == middle["score.meeting.updated.v1"]  # the scores not again
    assert (
        after["score.cell.updated.v1"] - middle["score.cell.updated.v1"]
        == before["score.cell.updated.v1"]  # cell-ref's, in the same number
    )


async def test_a_worker_scores_its_next_round_while_the_previous_rounds_periods_are_refreshed(
    world: tuple[asyncpg.Pool, Callable[[], EvaluationUnitOfWork]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12: the facts committed while a round refreshed its periods waited for that refresh before their round
    began. A worker's round commits its meetings' scores, then refreshes their periods beside its next round."""
    pool, _ = world
    wanted = asyncio.Event()
    factory = uow_factory_for(pool, today=lambda: date(2026, 6, 20), scoring_wanted=wanted)
    settings = Settings(
        # one worker; a round coalescing (the consumer busy) waits 0.2 s at most
        scoring_workers=1,
        scoring_settle_seconds=0.05,
        scoring_max_wait_seconds=0.2,
        scoring_poll_seconds=60,
    )
    app = EvaluationContext(settings=settings, pool=pool, uow_factory=factory, scoring_wanted=wanted)
    refreshing, release = asyncio.Event(), asyncio.Event()
    refresh = scores.refresh_cells_periods

    async def held_for_cell_x(uow: Any, months_of: Any, **kwargs: Any) -> int:
        if "cell-x" in months_of:
            refreshing.set()
            await release.wait()
        return await refresh(uow, months_of, **kwargs)

    monkeypatch.setattr(scores, "refresh_cells_periods", held_for_cell_x)

    async def scored(cell_id: str) -> int:
        return int(await pool.fetchval("SELECT count(*) FROM meeting_score WHERE cell_id = $1", cell_id))

    async def rated(cell_id: str) -> int:
        return int(await pool.fetchval("SELECT count(*) FROM cell_period WHERE cell_id = $1", cell_id))

    worker = asyncio.create_task(scoring_worker(app))
    try:
        for cell_id in ("cell-x", "cell-y"):
            facts, _ = split(cell_history(committee_id="ward", cell_id=cell_id, prefix=cell_id), "meeting.scheduled.v1")
            with app.facts_activity.delivery(batch=False):
                await deliver(factory, facts)
            if cell_id == "cell-x":
                await asyncio.wait_for(refreshing.wait(), timeout=20)
                assert await scored("cell-x") > 0  # committed before its periods
        await eventually(lambda: scored("cell-y"), timeout=10)  # not held up by cell-x's periods
        assert not release.is_set() and await rated("cell-x") == 0
        release.set()
        await eventually(lambda: pool.fetchval("SELECT count(*) = 0 FROM dirty_cell"), timeout=20)
        assert await rated("cell-x") > 0 and await rated("cell-y") > 0
    finally:
        release.set()
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker


async def test_a_tree_loaded_before_its_history_publishes_each_closed_period_once_with_its_final_value(
    world: tuple[asyncpg.Pool, Callable[[], EvaluationUnitOfWork]],
) -> None:
    """Issue 12: a province loaded as batches sends its tree first and each cell's meetings batches later. A round
    that ran in between published every closed period of a cell without meetings yet as Poor (no regular meeting),
    then again once its meetings came: 858 of 6,300 periods twice in the province-year preset at --scale 0.03. While
    batches flow, such a cell's periods wait for its meetings; a cell whose meetings never come (cell-bare) still
    has each closed month published Poor, once, when the batches stop."""
    pool, _ = world
    wanted = asyncio.Event()
    factory = uow_factory_for(pool, today=lambda: date(2026, 6, 20), scoring_wanted=wanted)
    settings = Settings(scoring_poll_seconds=0.2, period_hold_quiet_seconds=5.0)
    app = EvaluationContext(settings=settings, pool=pool, uow_factory=factory, scoring_wanted=wanted)
    worker = asyncio.create_task(scoring_worker(app))
    try:
        history = cell_history(committee_id="ward", cell_id="cell-h", prefix="hh")
        bare = [event for event in cell_history(committee_id="ward", cell_id="cell-bare", prefix="hb")][1:2]
        tree = [event for event in history if event["type"] in {"org.unit.upserted.v1", "member.upserted.v1"}]
        meetings = [event for event in history if event not in tree]
        with app.facts_activity.delivery(batch=False, several=True):  # the tree's batch message
            await deliver(factory, tree + bare)
        # the round taking the tree's notes has run and refreshed their periods (held ones wait, due later)
        await eventually(lambda: pool.fetchval("SELECT count(*) = 0 FROM dirty_cell WHERE not_before IS NULL"))
        for batch in by_type(meetings):  # the history's batch messages, one type each
            with app.facts_activity.delivery(batch=False, several=True):
                await deliver(factory, batch)
        await eventually(lambda: pool.fetchval("SELECT count(*) = 0 FROM dirty_cell"), timeout=60)
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
    rows = await pool.fetch(
        "SELECT payload->'data' AS data FROM outbox WHERE type = 'score.cell.updated.v1' ORDER BY id"
    )
    sent = [json.loads(row["data"]) for row in rows]
    closed = {"2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-Q1"}
    for cell_id in ("cell-h", "cell-bare"):
        periods = Counter(data["period"] for data in sent if data["cell_id"] == cell_id)
        assert closed <= periods.keys(), (cell_id, periods)
        assert set(periods.values()) == {1}, (cell_id, periods)  # each once
        stored = {
            row["period"]: row for row in await pool.fetch("SELECT * FROM cell_period WHERE cell_id = $1", cell_id)
        }
        for data in sent:  # what was published is the final value
            if data["cell_id"] == cell_id:
                kept = stored[data["period"]]
                assert (data["rating"], data["score"]) == (kept["rating"], kept["score"])  # the score exact
    bare_months = [data for data in sent if data["cell_id"] == "cell-bare" and data["period"] in closed]
    assert {data["rating"] for data in bare_months} == {"poor"}  # a month that had no meeting is still published Poor
    held_months = {data["period"]: data for data in sent if data["cell_id"] == "cell-h"}
    assert held_months["2026-03"]["regular_held"] == 1  # cell-h's March with its meeting, not Poor first
