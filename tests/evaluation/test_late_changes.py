"""A closed month's result changed by a meeting recorded late is noted, so officers see it changed.

The finding (a new user's trial): a regular meeting held on 30 November and recorded on 4 December is November's result
by the rule "a month's result is its latest held regular meeting's" (DOMAIN.md "Periods"), and the month's score and
rating moved after the month closed without a word to anyone. The rule stays; evaluation now keeps a note of such a
change (which meeting, when, the figures before and after), answered with the month by `cell_periods`, the ranking,
the report and the roll-up, and the pages and the report's export say it. `score.cell.updated.v1` is published again
as CONTRACT.md says ("again whenever a late fact changes it") and carries no new field.
"""

import copy
import json
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.evaluation import queries
from services.evaluation.bootstrap import prepare
from services.evaluation.handlers import FACT_HANDLERS, adopt_framework, rescore, scores
from services.evaluation.handlers.closing import close_periods
from services.evaluation.handlers.coalesced import defer_touched, release_rechecks, score_dirty
from services.evaluation.handlers.rescoring import run_rescore_job, start_rescore_job
from shared.contracts import evaluation_rpc as evaluation
from shared.contracts.frameworks import FRAMEWORKS_DIR
from shared.contracts.registry import read_event
from shared.envelope import parse_envelope
from shared.rpc import RpcClient
from tests.evaluation.private_db import private_pool
from tests.evaluation.stream import at, fact, publish
from tests.evaluation.test_cell_existence import Clock, apply, held
from tests.evaluation.waiting import applied_and_scored, current_reply
from tests.support.ids import random_id
from tests.support.rpc import ask, evaluation_rpc
from tests.support.running import eventually

TODAY = date(2026, 12, 4)
NOVEMBER = date(2026, 11, 20)
CLOCK = Clock(TODAY)
"""The evaluation service's today (its month is the running one): set by each test."""
CONTRACT_FIELDS = {
    "cell_id",
    "period",
    "rating",
    "score",
    "regular_held",
    "thematic_held",
    "attendance_rate",
    "speaking_rate",
    "flags",
}
"""The `score.cell.updated.v1` data fields CONTRACT.md fixes: a late change adds none."""


def units(committee_id: str, cell_id: str, *, time: datetime) -> list[dict[str, Any]]:
    """A ward and one cell of it, known since `time`."""
    ward = {"id": committee_id, "name": "Đảng ủy phường 9", "kind": "committee", "parent_id": None}
    cell = {"id": cell_id, "name": "Chi bộ khu phố 9", "kind": "cell", "parent_id": committee_id}
    return [fact("org.unit.upserted.v1", ward, time=time), fact("org.unit.upserted.v1", cell, time=time)]


def recorded(events: list[dict[str, Any]], *, on: datetime) -> list[dict[str, Any]]:
    """The facts as sent when the secretary recorded them, all on `on` (a meeting recorded late)."""
    return [{**event, "time": on.isoformat()} for event in events]


def short(events: list[dict[str, Any]], *, minutes: int) -> list[dict[str, Any]]:
    """A held meeting (tests.evaluation.test_cell_existence.held) whose minutes say it lasted `minutes`."""
    *rest, submitted = events
    start = datetime.fromisoformat(submitted["data"]["started_at"])
    data = {**submitted["data"], "ended_at": (start + timedelta(minutes=minutes)).isoformat()}
    return [*rest, {**submitted, "data": data}]


@pytest.fixture(scope="module")
async def rpc(amqp_url: str, database_url: str) -> AsyncIterator[RpcClient]:
    """The evaluation service serving in this process (its today CLOCK's), and a client."""
    async with evaluation_rpc(amqp_url, database_url, today=CLOCK) as client:
        yield client


async def send(amqp_url: str, db: asyncpg.Connection, cell_id: str, events: list[dict[str, Any]]) -> None:
    """Publish the facts on chibo.events and wait until evaluation applied and scored them."""
    await publish(amqp_url, events)
    await eventually(
        lambda: applied_and_scored(db, event_ids=[e["id"] for e in events], cell_ids=[cell_id]), timeout=60
    )


async def notes(db: asyncpg.Connection, cell_id: str) -> list[dict[str, Any]]:
    rows = await db.fetch("SELECT * FROM evaluation.period_late_change WHERE cell_id = $1 ORDER BY id", cell_id)
    return [dict(row) for row in rows]


async def month_row(db: asyncpg.Connection, cell_id: str, period: str) -> asyncpg.Record:
    return await db.fetchrow("SELECT * FROM evaluation.cell_period WHERE cell_id = $1 AND period = $2", cell_id, period)


async def a_month_with_a_meeting(amqp_url: str, db: asyncpg.Connection) -> tuple[str, str, asyncpg.Record]:
    """A ward and a cell rated while November ran, its 5 November meeting (70 minutes) recorded then, November's
    result; then 4 December comes (November over). The cell's id, the ward's, and its November row."""
    CLOCK.now = NOVEMBER
    committee_id, cell_id = random_id("ward"), random_id("cell")
    await send(amqp_url, db, cell_id, units(committee_id, cell_id, time=at(11, 1, 8)))
    await send(amqp_url, db, cell_id, short(held(cell_id, random_id("mtg"), at(11, 5)), minutes=70))
    CLOCK.now = TODAY
    return committee_id, cell_id, await month_row(db, cell_id, "2026-11")


async def test_a_regular_meeting_recorded_late_for_a_closed_month_is_noted_with_its_old_and_new_figures(
    rpc: RpcClient, amqp_url: str, db: asyncpg.Connection
) -> None:
    committee_id, cell_id, before = await a_month_with_a_meeting(amqp_url, db)
    assert await notes(db, cell_id) == []  # recorded in its own month
    marker = await db.fetchval("SELECT coalesce(max(id), 0) FROM evaluation.outbox")
    late_id = random_id("mtg")
    await send(amqp_url, db, cell_id, recorded(held(cell_id, late_id, at(11, 30)), on=at(12, 4, 9)))

    after = await month_row(db, cell_id, "2026-11")
    assert after["score"] > before["score"]  # the rule stands: the latest held regular meeting is the month's
    added = await notes(db, cell_id)
    assert [(n["period"], n["meeting_id"]) for n in added] == [("2026-11", late_id)]
    note = added[0]
    assert (note["old_rating"], note["old_score"]) == (before["rating"], before["score"])
    assert (note["new_rating"], note["new_score"]) == (after["rating"], pytest.approx(after["score"]))
    assert datetime.now(note["changed_at"].tzinfo) - note["changed_at"] < timedelta(minutes=5)

    periods = await ask(rpc, evaluation.GetCellPeriods(cell_id=cell_id, year=2026))
    by_period = {item["period"]: item for item in periods["periods"]}
    late = by_period["2026-11"]["late_change"]
    assert late is not None
    assert (late["meeting_id"], late["new_score"], late["new_rating"]) == (
        late_id,
        pytest.approx(after["score"]),
        after["rating"],
    )
    assert (late["old_score"], late["old_rating"], late["changes"]) == (before["score"], before["rating"], 1)
    assert by_period["2026-Q4"]["late_change"] is None  # the month says it; its quarter and year follow it

    report = await current_reply(
        rpc, evaluation.GetCommitteeReport(committee_id=committee_id, period="2026-11", after_cell=None, limit=10)
    )
    assert [item["late_change"]["meeting_id"] for item in report["items"]] == [late_id]
    rollup = await current_reply(rpc, evaluation.GetCommitteeRollup(committee_id=committee_id, period="2026-11"))
    assert [item["cell_id"] for item in rollup["late_changes"]] == [cell_id]
    assert rollup["late_changes_total"] == 1
    # paged: the page after the first lists none of them and still counts them all
    past = await current_reply(
        rpc, evaluation.GetCommitteeRollup(committee_id=committee_id, period="2026-11", late_changes_offset=1)
    )
    assert (past["late_changes"], past["late_changes_total"]) == ([], 1)

    republished = await db.fetch(
        "SELECT payload->'data' AS data FROM evaluation.outbox WHERE id > $1 AND type = 'score.cell.updated.v1'"
        " AND payload->'data'->>'cell_id' = $2",
        marker,
        cell_id,
    )
    months = [json.loads(row["data"]) for row in republished]
    assert "2026-11" in {data["period"] for data in months}  # published again, as CONTRACT.md says
    assert all(set(data) == CONTRACT_FIELDS for data in months)  # and with the contract's fields only


async def test_a_meeting_recorded_in_its_own_month_leaves_no_note(
    rpc: RpcClient, amqp_url: str, db: asyncpg.Connection
) -> None:
    CLOCK.now = TODAY
    committee_id, cell_id = random_id("ward"), random_id("cell")
    await send(amqp_url, db, cell_id, units(committee_id, cell_id, time=at(12, 1, 8)))
    await send(amqp_url, db, cell_id, short(held(cell_id, random_id("mtg"), at(12, 2)), minutes=70))
    await send(amqp_url, db, cell_id, held(cell_id, random_id("mtg"), at(12, 3)))  # December's result changes: it runs
    assert (await month_row(db, cell_id, "2026-12"))["regular_held"] == 2
    assert await notes(db, cell_id) == []
    periods = await ask(rpc, evaluation.GetCellPeriods(cell_id=cell_id, year=2026))
    assert [item["late_change"] for item in periods["periods"]] == [None] * len(periods["periods"])


async def test_the_same_late_fact_delivered_again_adds_no_second_note(
    rpc: RpcClient, amqp_url: str, db: asyncpg.Connection
) -> None:
    _, cell_id, _ = await a_month_with_a_meeting(amqp_url, db)
    late = recorded(held(cell_id, random_id("mtg"), at(11, 30)), on=at(12, 4, 9))
    await send(amqp_url, db, cell_id, late)
    noted = await notes(db, cell_id)
    await send(amqp_url, db, cell_id, late)  # the same events again: duplicates
    resent = [{**event, "id": random_id("again")} for event in late]  # the same facts sent again under new ids
    await send(amqp_url, db, cell_id, resent)
    assert await notes(db, cell_id) == noted


async def test_a_month_closed_by_the_month_close_is_noted_once_when_a_late_meeting_changes_it(
    database_url: str,
) -> None:
    """The trial's sequence on a private schema: November's meeting recorded in November, the month closed on 1
    December, the 30 November meeting recorded on 4 December: one note, from November's closed figures to the new."""
    clock = Clock(date(2026, 11, 20))
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=clock)
        await apply(factory, units("w1", "c1", time=at(11, 1, 8)))
        await apply(factory, short(held("c1", "c1-early", at(11, 5)), minutes=70))
        assert "in_progress" in (await pool.fetchval("SELECT flags FROM cell_period WHERE period = '2026-11'"))
        clock.now = TODAY
        await close_periods(uow_factory=factory)
        closed = await pool.fetchrow("SELECT rating, score, flags FROM cell_period WHERE period = '2026-11'")
        assert "in_progress" not in closed["flags"]
        assert await pool.fetchval("SELECT count(*) FROM period_late_change") == 0  # closing is no late change
        await apply(factory, recorded(held("c1", "c1-late", at(11, 30)), on=at(12, 4, 9)))
        rows = await pool.fetch("SELECT * FROM period_late_change")
        now = await pool.fetchrow("SELECT rating, score FROM cell_period WHERE period = '2026-11'")
        assert [
            (r["period"], r["meeting_id"], r["old_rating"], r["old_score"], r["new_rating"], r["new_score"])
            for r in rows
        ] == [("2026-11", "c1-late", closed["rating"], closed["score"], now["rating"], now["score"])]
        async with pool.acquire() as conn:
            rollup = await queries.committee_rollup(conn, "w1", "2026-11", today=TODAY)
            quarter = await queries.committee_rollup(conn, "w1", "2026-Q4", today=TODAY)
        assert [item["late_change"]["old_score"] for item in rollup["late_changes"]] == [closed["score"]]
        assert quarter["late_changes"] == []


async def test_a_history_loaded_after_its_months_closed_leaves_no_note(
    rpc: RpcClient, amqp_url: str, db: asyncpg.Connection
) -> None:
    """A tree and its November history loaded on 4 December (the demo province, a province's backfill): November is
    rated for the first time then, Poor before its meetings are read, which no officer saw close."""
    CLOCK.now = TODAY
    committee_id, cell_id = random_id("ward"), random_id("cell")
    await send(amqp_url, db, cell_id, units(committee_id, cell_id, time=at(11, 1, 8)))
    assert (await month_row(db, cell_id, "2026-11"))["rating"] == "poor"
    await send(amqp_url, db, cell_id, short(held(cell_id, random_id("mtg"), at(11, 5)), minutes=70))
    await send(amqp_url, db, cell_id, held(cell_id, random_id("mtg"), at(11, 30)))
    assert (await month_row(db, cell_id, "2026-11"))["regular_held"] == 2
    assert await notes(db, cell_id) == []


async def test_a_quiet_month_the_month_close_rated_poor_is_noted_when_its_meeting_is_recorded_late(
    database_url: str,
) -> None:
    """A cell rated since October with no fact in November: the month close stores its November first, Poor without
    a meeting (what the superior committee is told); the meeting of 28 November recorded on 4 December changes it."""
    clock = Clock(date(2026, 10, 20))
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=clock)
        await apply(factory, units("w1", "c1", time=at(10, 1, 8)))
        assert await pool.fetchval("SELECT count(*) FROM cell_period WHERE period = '2026-11'") == 0
        clock.now = TODAY
        await close_periods(uow_factory=factory)
        closed = await pool.fetchrow("SELECT rating, score FROM cell_period WHERE period = '2026-11'")
        assert (closed["rating"], closed["score"]) == ("poor", 0.0)
        await apply(factory, recorded(held("c1", "c1-late", at(11, 28)), on=at(12, 4, 9)))
        rows = await pool.fetch("SELECT * FROM period_late_change")
        assert [(r["period"], r["meeting_id"], r["old_rating"], r["old_score"]) for r in rows] == [
            ("2026-11", "c1-late", "poor", 0.0)
        ]


async def test_a_month_deleted_and_rated_again_keeps_the_month_it_was_first_rated_in(database_url: str) -> None:
    """November rated on time (by the month close, Poor without a meeting), then on 4 December a snapshot says the
    cell ended in October (its November row goes: outside its span) and another corrects it (November is rated
    again): the row written again keeps `rated_from` 2026-11, so the 28 November meeting recorded afterwards is
    still noted as a late change (it was rated as 2026-12, a month first rated late, and the change went unsaid). The
    snapshot ending the cell in October is noted too (h340: November no longer counted it, kind "unit_closed"); the
    month, counted again and changed by the meeting, reads as a changed result from the figures it closed with."""
    clock = Clock(date(2026, 10, 20))
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=clock)
        await apply(factory, units("w1", "c1", time=at(10, 1, 8)))
        clock.now = TODAY
        await close_periods(uow_factory=factory)
        assert await pool.fetchval("SELECT rated_from FROM cell_period WHERE period = '2026-11'") == "2026-11"
        cell = {"id": "c1", "name": "Chi bộ khu phố 9", "kind": "cell", "parent_id": "w1"}
        await apply(factory, [fact("org.unit.upserted.v1", cell | {"active": False}, time=at(10, 25, 8))])
        assert await pool.fetchval("SELECT count(*) FROM cell_period WHERE period = '2026-11'") == 0
        await apply(factory, [fact("org.unit.upserted.v1", cell | {"active": True}, time=at(12, 4, 8))])
        rated = await pool.fetchrow("SELECT rating, rated_from FROM cell_period WHERE period = '2026-11'")
        assert (rated["rating"], rated["rated_from"]) == ("poor", "2026-11")
        await apply(factory, recorded(held("c1", "c1-late", at(11, 28)), on=at(12, 4, 9)))
        rows = await pool.fetch("SELECT period, kind, meeting_id, old_rating FROM period_late_change ORDER BY id")
        assert [tuple(row) for row in rows] == [
            ("2026-11", "unit_closed", None, "poor"),
            ("2026-11", "result", "c1-late", "poor"),
        ]
        async with pool.acquire() as conn:
            late = (await queries.late_changes(conn, ["c1"], ["2026-11"]))[("c1", "2026-11")]
        assert (late["kind"], late["meeting_id"], late["old_rating"], late["changes"]) == (
            "result",
            "c1-late",
            "poor",
            1,  # both notes left on one day: `changes` counts days, not notes (the arrival order decides those)
        )


class Moment:
    """The scoring moment (scores.clock), set by a test."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


async def received(factory: Any, events: list[dict[str, Any]]) -> None:
    """Handle each fact in its own transaction as the consumer does: stored, its cell noted for the scoring worker
    (defer_touched), not scored yet."""
    for raw in events:
        event = read_event(parse_envelope(json.dumps(raw)))
        async with factory() as uow:
            await FACT_HANDLERS[event.type](event, uow)
            await defer_touched(uow)
            await uow.commit()


async def test_a_final_documents_window_running_out_after_the_month_closed_is_no_late_record(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 30 November meeting recorded that evening, its minutes and resolution not published yet (due within 48
    hours of its end, by 2 December): the month close rates November, then the window runs out on 2 December and
    the recheck scores the meeting again. No fact came after November closed: no note."""
    clock, moment = Clock(date(2026, 11, 30)), Moment(at(11, 30, 21, 30))
    monkeypatch.setattr(scores, "clock", moment)
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=clock)
        await received(factory, [*units("w1", "c1", time=at(11, 1, 8)), *held("c1", "c1-m", at(11, 30))])
        await score_dirty(uow_factory=factory, limit=100)
        due = await pool.fetchval("SELECT due_at FROM score_recheck WHERE meeting_id = 'c1-m'")
        assert due is not None  # the documents are due, not late yet
        clock.now, moment.moment = date(2026, 12, 1), at(12, 1, 8)
        await close_periods(uow_factory=factory)
        closed = await month_row(pool, "c1", "2026-11")
        clock.now, moment.moment = date(2026, 12, 3), due + timedelta(hours=12)
        await pool.execute("UPDATE score_recheck SET due_at = now() - interval '1 second'")  # the database's clock
        assert await release_rechecks(uow_factory=factory, limit=100) == 1
        await score_dirty(uow_factory=factory, limit=100)
        line = await pool.fetchval(
            "SELECT c->>'reason' FROM meeting_score, jsonb_array_elements(criteria) c"
            " WHERE meeting_id = 'c1-m' AND c->>'code' = 'closing.final_documents'"
        )
        assert "not published within 48 h" in line  # the recheck did score it: the window is over
        assert (await month_row(pool, "c1", "2026-11"))["score"] == closed["score"]
        assert await pool.fetch("SELECT * FROM period_late_change") == []


async def test_a_fact_received_before_the_month_closed_and_scored_after_is_no_late_record(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 30 November meeting's facts received on 30 November, the scoring worker behind (the month's last evening
    is busy): the month close runs first and rates November without the meeting (Poor), then the worker scores it
    and November becomes the meeting's result. Nothing was recorded after November closed: no note. The same
    meeting received on 4 December is noted."""
    clock = Clock(date(2026, 11, 30))
    monkeypatch.setattr(scores, "clock", Moment(at(12, 4, 10)))
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=clock)
        await received(factory, units("w1", "c1", time=at(11, 1, 8)) + units("w1", "c2", time=at(11, 1, 8))[1:])
        await score_dirty(uow_factory=factory, limit=100)
        await received(factory, held("c1", "c1-m", at(11, 30)))
        clock.now = date(2026, 12, 1)
        await close_periods(uow_factory=factory)
        assert (await month_row(pool, "c1", "2026-11"))["rating"] == "poor"  # the close went first
        await score_dirty(uow_factory=factory, limit=100)
        assert (await month_row(pool, "c1", "2026-11"))["regular_held"] == 1
        assert await pool.fetch("SELECT * FROM period_late_change") == []
        clock.now = TODAY
        await received(factory, recorded(held("c2", "c2-m", at(11, 30)), on=at(12, 4, 9)))
        await score_dirty(uow_factory=factory, limit=100)
        rows = await pool.fetch("SELECT cell_id, period, meeting_id, old_rating FROM period_late_change")
        assert [tuple(row) for row in rows] == [("c2", "2026-11", "c2-m", "poor")]


@pytest.mark.parametrize("reason", ["cancelled", "not_held"])
async def test_a_closed_months_only_meeting_withdrawn_late_is_noted_with_that_meeting(
    rpc: RpcClient, amqp_url: str, db: asyncpg.Connection, reason: str
) -> None:
    """A new user's November went Tốt→Kém when its only held meeting was cancelled on 4 December (its score withdrawn)
    and nothing said so: the note named no meeting and read as a meeting recorded late. It is kind "withdrawn" now,
    naming the withdrawn meeting and its start, on the cell's periods, the roll-up and the report."""
    CLOCK.now = NOVEMBER
    committee_id, cell_id, meeting_id = random_id("ward"), random_id("cell"), random_id("mtg")
    await send(amqp_url, db, cell_id, units(committee_id, cell_id, time=at(11, 1, 8)))
    await send(amqp_url, db, cell_id, held(cell_id, meeting_id, at(11, 5)))
    CLOCK.now = TODAY
    before = await month_row(db, cell_id, "2026-11")
    assert before["regular_held"] == 1
    cancelled = fact("meeting.cancelled.v1", {"meeting_id": meeting_id, "reason": reason}, time=at(12, 4, 9))
    await send(amqp_url, db, cell_id, [cancelled])
    await eventually(lambda: _rated(db, cell_id, "2026-11", "poor"), timeout=60)

    added = await notes(db, cell_id)
    assert [(n["period"], n["meeting_id"], n["kind"]) for n in added] == [("2026-11", meeting_id, "withdrawn")]
    assert (added[0]["old_rating"], added[0]["new_rating"], added[0]["new_score"]) == (before["rating"], "poor", 0.0)
    periods = await ask(rpc, evaluation.GetCellPeriods(cell_id=cell_id, year=2026))
    late = {item["period"]: item for item in periods["periods"]}["2026-11"]["late_change"]
    assert (late["kind"], late["meeting_id"], late["meeting_cancelled"]) == ("withdrawn", meeting_id, True)
    assert datetime.fromisoformat(late["meeting_starts_at"]) == at(11, 5)
    assert (late["old_rating"], late["new_rating"]) == (before["rating"], "poor")
    rollup = await current_reply(rpc, evaluation.GetCommitteeRollup(committee_id=committee_id, period="2026-11"))
    assert [(item["cell_id"], item["late_change"]["kind"]) for item in rollup["late_changes"]] == [
        (cell_id, "withdrawn")
    ]
    report = await current_reply(
        rpc, evaluation.GetCommitteeReport(committee_id=committee_id, period="2026-11", after_cell=None, limit=10)
    )
    assert [item["late_change"]["kind"] for item in report["items"]] == ["withdrawn"]


async def test_a_meeting_recorded_late_then_withdrawn_is_noted(
    rpc: RpcClient, amqp_url: str, db: asyncpg.Connection
) -> None:
    """A month first rated after it closed (its cell's tree sent in December) that then showed a held meeting (Tốt)
    was shown to officers: its meeting's later cancellation changes what they saw and is noted, though the month's
    row was first stored late (a quiet history loaded later still leaves none)."""
    CLOCK.now = TODAY
    committee_id, cell_id, meeting_id = random_id("ward"), random_id("cell"), random_id("mtg")
    await send(amqp_url, db, cell_id, units(committee_id, cell_id, time=at(11, 1, 8)))
    await send(amqp_url, db, cell_id, recorded(held(cell_id, meeting_id, at(11, 5)), on=at(12, 2, 9)))
    shown = await month_row(db, cell_id, "2026-11")
    assert shown["regular_held"] == 1 and await notes(db, cell_id) == []
    cancelled = fact("meeting.cancelled.v1", {"meeting_id": meeting_id, "reason": "cancelled"}, time=at(12, 4, 9))
    await send(amqp_url, db, cell_id, [cancelled])
    await eventually(lambda: _rated(db, cell_id, "2026-11", "poor"), timeout=60)
    added = await notes(db, cell_id)
    assert [(n["meeting_id"], n["kind"], n["old_rating"]) for n in added] == [
        (meeting_id, "withdrawn", shown["rating"])
    ]


async def test_a_rescore_that_changes_a_closed_month_is_noted_as_rescored_under_its_framework(
    database_url: str,
) -> None:
    """October rated while it ran, then on 5 December an operator adopts a framework's next version and re-scores
    October: its result moves, and the month says it was re-scored (kind "rescored", the framework named), not that a
    fact came late; a re-score that moves nothing notes nothing."""
    clock = Clock(date(2026, 10, 20))
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=clock)
        await apply(factory, units("w1", "c1", time=at(10, 1, 8)))
        await apply(factory, short(held("c1", "c1-oct", at(10, 5)), minutes=70))
        october = "SELECT rating, score FROM cell_period WHERE cell_id = 'c1' AND period = '2026-10'"
        before = await pool.fetchrow(october)
        clock.now = date(2026, 12, 5)
        await rescore(uow_factory=factory, unit_id="w1", period_from="2026-10", period_to="2026-10")
        assert await pool.fetchval("SELECT count(*) FROM period_late_change") == 0  # nothing moved
        async with factory() as uow:
            await adopt_framework(uow, document=_next_version(60), committee_id=None)
            await uow.commit()
        await rescore(uow_factory=factory, unit_id="w1", period_from="2026-10", period_to="2026-10")
        after = await pool.fetchrow(october)
        assert after["score"] > before["score"]
        rows = await pool.fetch("SELECT * FROM period_late_change")
        assert [
            (r["period"], r["kind"], r["meeting_id"], r["framework_id"], r["framework_version"], r["old_score"])
            for r in rows
        ] == [("2026-10", "rescored", "c1-oct", "hd42-2025", "2", before["score"])]
        async with pool.acquire() as conn:
            rollup = await queries.committee_rollup(conn, "w1", "2026-10", today=date(2026, 12, 5))
            periods = await queries.cell_periods(conn, "c1", 2026, today=date(2026, 12, 5))
        late = rollup["late_changes"][0]["late_change"]
        assert (late["kind"], late["framework_version"]) == ("rescored", "2")
        assert late["new_score"] == pytest.approx(after["score"])
        assert late["framework_name"]
        assert {p["period"]: p for p in periods}["2026-10"]["late_change"]["kind"] == "rescored"


def _next_version(default_minutes: int) -> dict[str, Any]:
    """hd42-2025 version 2: only the default duration a meeting needs differs."""
    document = copy.deepcopy(json.loads((FRAMEWORKS_DIR / "hd42-2025.v1.json").read_text(encoding="utf-8")))
    document["version"] = "2"
    duration = next(item for group in document["groups"] for item in group["items"] if item["code"] == "duration")
    duration["rule"]["required_minutes"]["default"] = default_minutes
    return document


async def _rated(db: asyncpg.Connection, cell_id: str, period: str, rating: str) -> bool:
    row = await month_row(db, cell_id, period)
    return row is not None and row["rating"] == rating


def _without_cell(late: dict[str, Any], cell_id: str) -> dict[str, Any]:
    """A `late_change` with its meeting named without its cell's id, to compare two cells' notes."""
    return {**late, "meeting_id": (late["meeting_id"] or "").removeprefix(cell_id)}


async def test_a_months_count_of_late_records_is_the_same_whether_its_facts_came_one_by_one_or_together(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two cells shown November with a short meeting; on 4 December two more November meetings of each are recorded
    late, the facts of one cell scored one by one (each arrival moves the month: several notes), the other's scored
    together (one note). Both months read alike, `changes` included: counted as the days its result was changed late
    on (docs/architecture.md), not the arrivals that happened to move it (CONTRACT.md convergence)."""
    clock = Clock(NOVEMBER)
    monkeypatch.setattr(scores, "clock", Moment(at(12, 4, 10)))
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=clock)
        for cell_id in ("c1", "c2"):
            await apply(factory, units("w1", cell_id, time=at(11, 1, 8))[1 if cell_id == "c2" else 0 :])
            await apply(factory, short(held(cell_id, f"{cell_id}-m0", at(11, 5)), minutes=20))
        clock.now = TODAY

        def late_facts(cell_id: str) -> list[dict[str, Any]]:
            first = short(held(cell_id, f"{cell_id}-m1", at(11, 20)), minutes=60)
            return recorded(first + held(cell_id, f"{cell_id}-m2", at(11, 28)), on=at(12, 4, 9))

        await apply(factory, late_facts("c1"))
        await received(factory, late_facts("c2"))
        await score_dirty(uow_factory=factory, limit=100)
        counts = await pool.fetch("SELECT cell_id, count(*) FROM period_late_change GROUP BY cell_id ORDER BY 1")
        assert [tuple(row) for row in counts][0][1] > 1  # the forward order did leave several notes
        async with pool.acquire() as conn:
            noted = await queries.late_changes(conn, ["c1", "c2"], ["2026-11"])
        forward, together = noted[("c1", "2026-11")], noted[("c2", "2026-11")]
        assert forward["changes"] == 1, forward
        assert _without_cell(forward, "c1") == _without_cell(together, "c2")


async def test_a_meeting_recorded_late_then_cancelled_ends_alike_whichever_came_first(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two cells shown November with a short meeting; on 4 December a longer November meeting of each is recorded
    late and cancelled: one cell's meeting held first (November rose, then fell back: a "withdrawn" note going from
    its figures to the same ones), the other's cancellation known first (never held: no note). The meeting was never
    part of the month as it closed, so its withdrawal is no change to what officers were shown: both read no note
    (CONTRACT.md convergence)."""
    clock = Clock(NOVEMBER)
    monkeypatch.setattr(scores, "clock", Moment(at(12, 4, 10)))
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=clock)
        for cell_id in ("c1", "c2"):
            await apply(factory, units("w1", cell_id, time=at(11, 1, 8))[1 if cell_id == "c2" else 0 :])
            await apply(factory, short(held(cell_id, f"{cell_id}-m0", at(11, 5)), minutes=20))
        clock.now = TODAY

        def cancelled(cell_id: str) -> dict[str, Any]:
            return fact("meeting.cancelled.v1", {"meeting_id": f"{cell_id}-m1", "reason": "cancelled"}, time=at(12, 4))

        await apply(factory, recorded(held("c1", "c1-m1", at(11, 28)), on=at(12, 4, 9)) + [cancelled("c1")])
        await apply(factory, [cancelled("c2"), *recorded(held("c2", "c2-m1", at(11, 28)), on=at(12, 4, 9))])
        rows = {row["cell_id"]: row for row in await pool.fetch("SELECT * FROM cell_period WHERE period = '2026-11'")}
        assert round(rows["c1"]["score"], 2) == round(rows["c2"]["score"], 2)  # the month as it closed, in both
        async with pool.acquire() as conn:
            noted = await queries.late_changes(conn, ["c1", "c2"], ["2026-11"])
        assert noted == {}


async def test_a_month_first_stored_late_whose_late_meeting_was_cancelled_ends_alike_whichever_came_first(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two cells whose tree is sent on 4 December, November closed (each month first stored late); a November meeting
    of each recorded late and cancelled: one cell's meeting facts arrive first, the other's cancellation. The same
    facts end in the same month and the same note, whichever came first (CONTRACT.md convergence)."""
    clock = Clock(TODAY)
    monkeypatch.setattr(scores, "clock", Moment(at(12, 4, 10)))
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=clock)
        for cell_id in ("c1", "c2"):
            await apply(factory, units("w1", cell_id, time=at(11, 1, 8))[1 if cell_id == "c2" else 0 :])

        def cancelled(cell_id: str) -> dict[str, Any]:
            return fact("meeting.cancelled.v1", {"meeting_id": f"{cell_id}-m1", "reason": "cancelled"}, time=at(12, 4))

        await apply(factory, recorded(held("c1", "c1-m1", at(11, 5)), on=at(12, 2, 9)) + [cancelled("c1")])
        await apply(factory, [cancelled("c2"), *recorded(held("c2", "c2-m1", at(11, 5)), on=at(12, 2, 9))])
        rows = {row["cell_id"]: row for row in await pool.fetch("SELECT * FROM cell_period WHERE period = '2026-11'")}
        assert [(rows[c]["rating"], rows[c]["score"]) for c in ("c1", "c2")] == [("poor", 0.0)] * 2
        async with pool.acquire() as conn:
            noted = await queries.late_changes(conn, ["c1", "c2"], ["2026-11"])
        said = {cell_id: noted.get((cell_id, "2026-11")) for cell_id in ("c1", "c2")}
        assert [None if late is None else _without_cell(late, cell_id) for cell_id, late in said.items()] == [
            None if said["c1"] is None else _without_cell(said["c1"], "c1")
        ] * 2, said
        # h358's note: the month showed the meeting once recorded, its cancellation is said in either order
        assert said["c2"] is not None and (said["c2"]["kind"], said["c2"]["meeting_id"]) == ("withdrawn", "c2-m1")
        assert (said["c2"]["new_rating"], said["c2"]["new_score"]) == ("poor", 0.0)
        # another fact about the cancelled meeting (its roster sent again) notes its withdrawal no second time
        roster = held("c2", "c2-m1", at(11, 5))[1]
        await apply(factory, recorded([{**roster, "id": random_id("evt")}], on=at(12, 4, 11)))
        count = "SELECT count(*) FROM period_late_change WHERE cell_id = $1"
        assert [await pool.fetchval(count, cell_id) for cell_id in ("c1", "c2")] == [1, 1]


async def test_a_rescore_job_notes_no_old_withdrawal_it_did_not_make(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three cells whose tree was sent on 4 December (November first stored late), a November meeting of each recorded
    late and cancelled that day, in either order. c1 and c2 hold such data as stored before the month's notes existed
    (h358, h395: no note); c3 keeps its note. On 6 December the committee's re-score job (the rescore page's) goes
    over November and changes nothing: no cell's month reads a change dated that day, and c3's note stays as it was,
    dated at the cancellation (the re-score changed none of it, so it notes none)."""
    clock = Clock(TODAY)
    monkeypatch.setattr(scores, "clock", Moment(at(12, 4, 10)))
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=clock)
        for cell_id in ("c1", "c2", "c3"):
            await apply(factory, units("w1", cell_id, time=at(11, 1, 8))[0 if cell_id == "c1" else 1 :])

        def cancelled(cell_id: str) -> dict[str, Any]:
            return fact("meeting.cancelled.v1", {"meeting_id": f"{cell_id}-m1", "reason": "cancelled"}, time=at(12, 4))

        await apply(factory, recorded(held("c1", "c1-m1", at(11, 5)), on=at(12, 2, 9)) + [cancelled("c1")])
        for cell_id in ("c2", "c3"):
            await apply(
                factory, [cancelled(cell_id), *recorded(held(cell_id, f"{cell_id}-m1", at(11, 5)), on=at(12, 2))]
            )
        kept = await _notes(pool, "c3")
        assert [(n["kind"], n["meeting_id"]) for n in kept] == [("withdrawn", "c3-m1")]
        await pool.execute("DELETE FROM period_late_change WHERE cell_id IN ('c1', 'c2')")
        before = {row["cell_id"]: dict(row) for row in await pool.fetch("SELECT * FROM cell_period")}

        clock.now = date(2026, 12, 6)
        monkeypatch.setattr(scores, "clock", Moment(at(12, 6, 10)))
        async with factory() as uow:
            await start_rescore_job(uow, job_id="job-1", unit_id="w1", period_from="2026-11", period_to="2026-11")
            await uow.commit()
        assert await run_rescore_job(uow_factory=factory, stale_after_seconds=300) == "job-1"
        job = await pool.fetchrow("SELECT * FROM rescore_job WHERE job_id = 'job-1'")
        assert (job["status"], job["changed"]) == ("done", 0)
        assert {row["cell_id"]: dict(row) for row in await pool.fetch("SELECT * FROM cell_period")} == before

        async with pool.acquire() as conn:
            rollup = await queries.committee_rollup(conn, "w1", "2026-11", today=date(2026, 12, 6))
            months = {
                cell_id: {
                    p["period"]: p for p in await queries.cell_periods(conn, cell_id, 2026, today=date(2026, 12, 6))
                }
                for cell_id in ("c1", "c2", "c3")
            }
        assert [months[cell_id]["2026-11"]["late_change"] for cell_id in ("c1", "c2")] == [None, None]
        c3 = months["c3"]["2026-11"]["late_change"]
        assert (c3["kind"], c3["meeting_id"], c3["changes"]) == ("withdrawn", "c3-m1", 1)
        assert [(line["cell_id"], line["late_change"]["kind"]) for line in rollup["late_changes"]] == [
            ("c3", "withdrawn")
        ]
        assert [(n["kind"], n["meeting_id"], n["changed_at"]) for n in await _notes(pool, "c3")] == [
            (n["kind"], n["meeting_id"], n["changed_at"]) for n in kept
        ]


async def _notes(pool: asyncpg.Pool, cell_id: str) -> list[dict[str, Any]]:
    """A private database's notes of a cell, in the order stored."""
    rows = await pool.fetch("SELECT * FROM period_late_change WHERE cell_id = $1 ORDER BY id", cell_id)
    return [dict(row) for row in rows]
