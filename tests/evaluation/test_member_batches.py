"""Runs of member.upserted.v1 and meeting.scheduled.v1 applied at once (FACT_BATCH_HANDLERS) store and touch what the
same events one by one store and touch."""

import asyncio
import json
from datetime import date
from typing import Any

import asyncpg

from services.evaluation.bootstrap import prepare
from services.evaluation.handlers import FACT_HANDLERS
from services.evaluation.handlers.facts import FACT_BATCH_HANDLERS, lock_order
from services.evaluation.handlers.pending import write_pending
from shared.contracts.registry import read_event
from shared.envelope import Event, parse_envelope
from tests.evaluation.private_db import private_pool
from tests.evaluation.stream import at, fact, regular_meeting
from tests.support.private_db import StatementLog


def member(member_id: str, role: str, *, month: int, day: int, cell: str = "c1", event_id: str | None = None) -> dict:
    data = {"id": member_id, "full_name": "Nguyễn Thị Hương", "cell_id": cell, "status": "official", "role": role}
    return fact("member.upserted.v1", data, time=at(month, day), event_id=event_id)


EARLIER = [
    regular_meeting("m3", 3),
    regular_meeting("m6", 6),
    member("k-old", "committee_member", month=1, day=2),  # stored as a committee member before the run
]
RUN = [
    member("a1", "member", month=2, day=1),
    member("a1", "member", month=4, day=1, cell="c2"),  # newer: moves cell
    member("a1", "member", month=3, day=1),  # older, arrives last: kept in the history only
    member("a2", "member", month=2, day=1, event_id="z-tie"),
    member("a2", "member", month=2, day=1, event_id="a-tie"),  # same time: the id decides
    member("k-new", "member", month=1, day=3),
    member("k-new", "committee_member", month=7, day=1),  # becomes committee within the run (after m6)
    member("k-new", "committee_member", month=8, day=1, cell="c2"),  # then moves: both cells' histories change
    member("k-old", "member", month=5, day=1),  # a former committee member steps down
    member("b1", "deputy_secretary", month=2, day=2),
    member("b1", "deputy_secretary", month=2, day=2),  # the same snapshot again (another id)
]


def _events(raws: list[dict]) -> list[Event[Any]]:
    return [read_event(parse_envelope(json.dumps(raw))) for raw in raws]


async def _stored(pool: asyncpg.Pool) -> dict[str, list[str]]:
    tables = {}
    for table in ("member", "member_snapshot", "meeting", "meeting_reschedule", "unit", "unit_snapshot"):
        rows = await pool.fetch(f"SELECT (to_jsonb(t) - 'received_at')::text AS row FROM {table} t")
        tables[table] = sorted(row["row"] for row in rows)
    return tables


async def _apply_run(
    database_url: str, earlier: list[dict], raws: list[dict], *, together: bool, pending: bool = False
) -> tuple[dict[str, list[str]], list[Any]]:
    """On a private database: the `earlier` facts applied one by one (then the pending ones written, if `pending`),
    then the run `raws` in the consumer's order, through its type's batch handler if `together`, else one by one.
    What is stored then (_stored) and the (cell, note) pairs the run touched, sorted."""
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=lambda: date(2026, 6, 20))
        async with factory() as uow:
            for event in _events(earlier):
                await FACT_HANDLERS[event.type](event, uow)
            if pending:
                await write_pending(uow)
            list(uow.touched.take())
            await uow.commit()
        run = sorted(_events(raws), key=lock_order)  # the consumer's order
        async with factory() as uow:
            if together:
                await FACT_BATCH_HANDLERS[run[0].type](run, uow)
            else:
                for event in run:
                    await FACT_HANDLERS[event.type](event, uow)
            touched = sorted((cell, repr(note)) for cell, note in uow.touched.take())
            await uow.commit()
        return await _stored(pool), touched


async def test_a_run_of_member_snapshots_stores_and_touches_what_one_by_one_does(database_url: str) -> None:
    one_by_one = await _apply_run(database_url, EARLIER, RUN, together=False, pending=True)
    together = await _apply_run(database_url, EARLIER, RUN, together=True, pending=True)
    assert together == one_by_one
    stored = {json.loads(row)["id"]: json.loads(row) for row in together[0]["member"]}
    assert stored["a1"]["cell_id"] == "c2" and stored["a2"]["fact_id"] == "z-tie"
    assert len(together[0]["member_snapshot"]) == 12
    assert together[1], "the committee changes touched the cell's meetings"


async def test_the_committee_changes_of_a_run_touch_the_meetings_whose_committee_changed(database_url: str) -> None:
    """A pin (h392; passed before and after the run read each cell's meetings' starts once): of c1's m3 and m6,
    only m6 (after k-new became a committee member on 1 July) had its "has a committee" changed by the run, one by
    one and together; c2 has no meeting."""
    for together in (False, True):
        _, touched = await _apply_run(database_url, EARLIER, RUN, together=together, pending=True)
        assert [(cell, note.split("only=")[1].split(",")[0]) for cell, note in touched] == [("c1", "{'m6'}")]


def scheduled(meeting_id: str, *, month: int, day: int, cell: str = "c1", sent: tuple[int, int] = (1, 1)) -> dict:
    data = {
        "meeting_id": meeting_id,
        "cell_id": cell,
        "kind": "regular",
        "starts_at": at(month, day).isoformat(),
        "location": "Hội trường thôn",
        "agenda": ["Thường kỳ"],
        "committee_prepared": True,
    }
    return fact("meeting.scheduled.v1", data, time=at(*sent))


MEETINGS_EARLIER = [
    scheduled("s-moved", month=3, day=5, sent=(2, 1)),
    scheduled("s-stale", month=4, day=5, sent=(3, 1)),
    scheduled("s-resched", month=5, day=5, sent=(3, 1)),
    fact("meeting.rescheduled.v1", {"meeting_id": "s-resched", "starts_at": at(5, 20).isoformat()}, time=at(4, 1)),
]
MEETINGS_RUN = [
    scheduled("s-new", month=7, day=5, sent=(6, 1)),
    scheduled("s-moved", month=8, day=5, sent=(6, 2)),  # newer: moves its month (never its cell: h314 refuses that)
    scheduled("s-other", month=7, day=6, cell="c2", sent=(6, 1)),
    scheduled("s-stale", month=9, day=5, sent=(2, 1)),  # older than the stored one: changes nothing
    scheduled("s-resched", month=5, day=6, sent=(3, 2)),  # newer schedule, the later reschedule still decides
    scheduled("s-twice", month=6, day=5, sent=(5, 2)),
    scheduled("s-twice", month=6, day=9, sent=(5, 1)),  # the older snapshot second
]


async def test_a_run_of_meeting_schedules_stores_and_touches_what_one_by_one_does(database_url: str) -> None:
    one_by_one = await _apply_run(database_url, MEETINGS_EARLIER, MEETINGS_RUN, together=False)
    together = await _apply_run(database_url, MEETINGS_EARLIER, MEETINGS_RUN, together=True)
    assert together == one_by_one
    stored = {json.loads(row)["meeting_id"]: json.loads(row) for row in together[0]["meeting"]}
    assert stored["s-moved"]["starts_at"].startswith("2026-08-05")
    assert stored["s-stale"]["starts_at"].startswith("2026-04-05")
    assert {cell for cell, _ in together[1]} == {"c1", "c2"}


async def _committee_run(database_url: str, size: int) -> tuple[list[str], int]:
    """A run of `size` committee members of three cells (c0, c1, c2) applied at once on a private database: the
    statements it sent, and the advisory locks its transaction held before committing."""
    run = sorted(
        _events([member(f"k{n:02d}", "committee_member", month=2, day=1, cell=f"c{n % 3}") for n in range(size)]),
        key=lock_order,
    )
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=lambda: date(2026, 6, 20))
        async with factory() as uow:
            sent: list[str] = []
            log = StatementLog(sent)
            uow.connection.add_query_logger(log)
            await FACT_BATCH_HANDLERS["member.upserted.v1"](run, uow)
            uow.connection.remove_query_logger(log)
            held = await uow.connection.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
            )
            await uow.commit()
    return sent, held


async def test_a_run_of_committee_members_takes_its_locks_in_two_statements(database_url: str) -> None:
    """Issue 12 (pgstats): committee members were locked one statement per subject and per cell; a run of them now
    takes every subject lock in one statement and every cell lock in one, in key order, and the same locks."""
    sent, held = await _committee_run(database_url, 8)
    # statements that only lock (a member's write also locks the cells it names, held already here: h373)
    locks = [query for query in sent if "pg_advisory_xact_lock" in query and "INSERT" not in query]
    assert len(locks) == 2, locks
    assert held == 8 + 3  # every member's subject and every cell: none dropped


async def test_a_run_of_committee_members_reads_each_cell_history_twice_whatever_its_size(database_url: str) -> None:
    """Issue 12 (a committee member cost five statements, 450 of 800 for 4,000 facts of a province-year in 1,000-fact
    batches): the run reads every member's cells in one statement, the cells' committee histories once before and
    once after its writes, their meetings' starts once, and writes every member in two statements; each member's
    change is replayed in memory between the two reads (the touches are pinned by the one-by-one comparison above).
    Before: 3 + 9 history reads, 9 writes, 3 reads of starts for 9 members."""
    for size in (9, 30):
        sent, _ = await _committee_run(database_url, size)
        cells_reads = [
            query for query in sent if query.startswith("SELECT DISTINCT") and "cell_id FROM member_snapshot" in query
        ]
        histories = [query for query in sent if query.startswith("SELECT k.key, s.member_id")]
        starts = [query for query in sent if query.startswith("SELECT m.cell_id, m.meeting_id, CASE WHEN")]
        writes = [query for query in sent if "INSERT INTO member" in query]
        assert (len(cells_reads), len(histories), len(starts), len(writes)) == (1, 2, 1, 2), size
        assert len(sent) <= 9, "\n".join(sent)


async def test_runs_naming_the_same_committee_members_in_other_orders_do_not_deadlock(database_url: str) -> None:
    """Two transactions applying runs of the same committee members (their cells crossed), offered in opposite
    orders side by side: the subjects, then the cells, are locked in one global order, so one waits for the other
    and both commit (one by one in input order, each held one subject or cell the other wanted next)."""
    raws = [member(f"x{n}", "committee_member", month=2, day=1, cell=f"c{n}") for n in range(4)]
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=lambda: date(2026, 6, 20))

        async def apply(events: list[Event[Any]]) -> None:
            async with factory() as uow:
                await FACT_BATCH_HANDLERS["member.upserted.v1"](events, uow)
                await uow.commit()

        for _ in range(3):
            await asyncio.wait_for(asyncio.gather(apply(_events(raws)), apply(_events(raws[::-1]))), timeout=30)
        assert await pool.fetchval("SELECT count(*) FROM member") == 4


async def _batch_statements(factory: Any, run: list[Event[Any]]) -> tuple[list[str], int]:
    """`run` (one type) applied by its batch handler in the consumer's order in one unit of `factory`, committed:
    the statements it sent and the cells it touched."""
    async with factory() as uow:
        sent: list[str] = []
        log = StatementLog(sent)
        uow.connection.add_query_logger(log)
        await FACT_BATCH_HANDLERS[run[0].type](sorted(run, key=lock_order), uow)
        uow.connection.remove_query_logger(log)
        touched = len(list(uow.touched.take()))
        await uow.commit()
    return sent, touched


def rescheduled(meeting_id: str, *, month: int, day: int, sent: tuple[int, int]) -> dict:
    data = {"meeting_id": meeting_id, "starts_at": at(month, day).isoformat()}
    return fact("meeting.rescheduled.v1", data, time=at(*sent))


RESCHEDULES_EARLIER = [
    scheduled("r-plain", month=3, day=5, sent=(2, 1)),
    scheduled("r-other", month=3, day=6, cell="c2", sent=(2, 1)),
    scheduled("r-kept", month=4, day=5, sent=(2, 1)),
    rescheduled("r-kept", month=4, day=20, sent=(3, 1)),
    scheduled("r-twice", month=5, day=5, sent=(2, 1)),
    scheduled("r-later", month=6, day=5, sent=(2, 1)),
]
RESCHEDULES_RUN = [
    rescheduled("r-plain", month=7, day=5, sent=(3, 2)),  # moves past r-twice and r-later
    rescheduled("r-other", month=2, day=6, sent=(3, 2)),  # moves earlier, in its own cell
    rescheduled("r-kept", month=8, day=5, sent=(2, 15)),  # older than the stored reschedule: changes nothing
    rescheduled("r-twice", month=5, day=9, sent=(3, 5)),
    rescheduled("r-twice", month=5, day=7, sent=(3, 4)),  # the older one second
    rescheduled("r-unknown", month=5, day=7, sent=(3, 4)),  # no schedule yet: stored, touches no cell
]


async def test_a_run_of_meeting_reschedules_stores_and_touches_what_one_by_one_does(database_url: str) -> None:
    one_by_one = await _apply_run(database_url, RESCHEDULES_EARLIER, RESCHEDULES_RUN, together=False)
    together = await _apply_run(database_url, RESCHEDULES_EARLIER, RESCHEDULES_RUN, together=True)
    assert together == one_by_one
    assert {cell for cell, _ in together[1]} == {"c1", "c2"}


async def test_a_run_of_meeting_reschedules_sends_four_statements_whatever_its_size(database_url: str) -> None:
    """Issue 12 (pg_stat_statements, 1,000-fact batches: each reschedule was locked, read, written and read again
    alone, 3 statements a fact): a run of reschedules naming each meeting once is locked, read, written and read
    again in four statements."""
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=lambda: date(2026, 6, 20))
        for size in (5, 40):
            earlier = _events([scheduled(f"n{size}-{n:02d}", month=3, day=1 + n % 20) for n in range(size)])
            run = _events([rescheduled(f"n{size}-{n:02d}", month=4, day=1 + n % 20, sent=(2, 1)) for n in range(size)])
            async with factory() as uow:
                for event in earlier:
                    await FACT_HANDLERS[event.type](event, uow)
                list(uow.touched.take())
                await uow.commit()
            sent, touched = await _batch_statements(factory, run)
            assert touched == 1  # c1, from the earliest start on
            assert len(sent) == 4, "\n".join(sent)


def unit_fact(unit_id: str, kind: str, parent: str | None, *, sent: tuple[int, int], active: bool = True) -> dict:
    data = {"id": unit_id, "name": "Chi bộ khu phố 7", "kind": kind, "parent_id": parent, "active": active}
    return fact("org.unit.upserted.v1", data, time=at(*sent))


UNITS_EARLIER = [
    unit_fact("ward", "committee", None, sent=(1, 1)),
    unit_fact("ward-2", "committee", None, sent=(1, 1)),
    unit_fact("c1", "cell", "ward", sent=(1, 1)),
    unit_fact("c2", "cell", "ward", sent=(1, 1)),
    unit_fact("c6", "cell", "ward", sent=(1, 1)),
    regular_meeting("m3", 3),
]
UNITS_RUN = [
    unit_fact("c6", "cell", "ward", sent=(2, 1)),  # the tree sent again: a plain newer snapshot
    unit_fact("c2", "cell", "ward-2", sent=(2, 1)),  # moved: one by one
    unit_fact("c3", "cell", "ward", sent=(2, 1)),  # new
    unit_fact("c4", "cell", "ward", sent=(2, 1), active=False),  # new, inactive
    unit_fact("c5", "cell", "ward", sent=(2, 1)),
    unit_fact("c5", "cell", "ward", sent=(1, 20)),  # named twice, the older second: one by one
    unit_fact("c1", "cell", "ward", sent=(1, 1)) | {"id": "c1-same-time"},  # c1's first time again, another id
]


async def test_a_run_of_unit_snapshots_stores_and_touches_what_one_by_one_does(database_url: str) -> None:
    one_by_one = await _apply_run(database_url, UNITS_EARLIER, UNITS_RUN, together=False, pending=True)
    together = await _apply_run(database_url, UNITS_EARLIER, UNITS_RUN, together=True, pending=True)
    assert together == one_by_one
    assert {cell for cell, _ in together[1]} >= {"c3", "c4"}


async def test_a_run_of_new_units_sends_four_statements_whatever_its_size(database_url: str) -> None:
    """Issue 12 (pg_stat_statements, 1,000-fact batches: each unit was read twice and written twice alone, four
    statements a fact): a run of units not stored yet (a tree's first load) reads the stored ones and the
    adoptions, and writes the snapshots and the units, four statements whatever its size."""
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=lambda: date(2026, 6, 20))
        for size in (5, 40):
            run = _events([unit_fact(f"u{size}-{n:02d}", "cell", "ward", sent=(2, 1)) for n in range(size)])
            sent, touched = await _batch_statements(factory, run)
            assert touched == size  # each new cell's span
            assert len(sent) <= 4, "\n".join(sent)
