"""Snapshots of one time are ordered by id in code point order in every service, whatever the database's default
collation: on a database made with an ICU collation (as a province's server may be), SQL and Python agree.

Under vi-VN ICU "Z" sorts after "a"; by code point (Python, CONTRACT.md's tie-break) "a" is after "Z". So of two
snapshots of one subject at one time, with ids "…-Z" and "…-a", the one with id "…-a" must be the one stored, in both
arrival orders, and as a batch."""

import asyncio
import functools
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from services.evaluation.bootstrap import SERVICE_DIR as EVALUATION_DIR
from services.evaluation.bootstrap import prepare as prepare_evaluation
from services.evaluation.repository.facts import PgFactRepository
from services.meetings.bootstrap import SERVICE_DIR as MEETINGS_DIR
from services.meetings.bulk.load import bulk_load_lines
from services.notifications.bootstrap import SERVICE_DIR as NOTIFICATIONS_DIR
from services.notifications.config import Settings
from shared.contracts.registry import read_event
from shared.db import apply_migrations, create_pool, migration_files
from shared.envelope import CloudEvent, now, parse_envelope
from tests.evaluation.applying import apply_facts
from tests.evaluation.stream import at, fact
from tests.meetings.applying import ingest
from tests.meetings.events import BASE_TIME, member, raw_event, scheduled, unit
from tests.notifications.applying import apply_events
from tests.notifications.events import Province, cell_rated, event
from tests.notifications.fakes import Clock

ICU_DATABASE = "CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'vi-VN' LOCALE 'C.UTF-8'"


@asynccontextmanager
async def icu_pool(database_url: str, *, schema: str, service_dir: Any) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a new database whose default collation is vi-VN ICU, with the service's migrations applied."""
    name = f"chibo_icu_{uuid.uuid4().hex[:10]}"
    parts = urlsplit(database_url)
    admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    try:
        await admin.execute(ICU_DATABASE.format(name=name))
        url = urlunsplit(parts._replace(path="/" + name))
        await apply_migrations(url, schema=schema, files=migration_files(service_dir))
        pool = await create_pool(url, schema=schema, min_size=1, max_size=3)
        try:
            # the premise: this database's default order is not code point order
            assert await pool.fetchval("SELECT 'a' < 'Z'") and not await pool.fetchval("SELECT 'a' COLLATE \"C\" < 'Z'")
            yield pool
        finally:
            await pool.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def tie(prefix: str) -> tuple[str, str]:
    """(loser, winner) ids of a tie: the winner is the larger by code point, the smaller under vi-VN ICU."""
    loser, winner = f"{prefix}-Z", f"{prefix}-a"
    assert loser < winner
    return loser, winner


def both_orders(pair: tuple[Any, Any]) -> list[list[Any]]:
    """The pair in either arrival order."""
    return [[pair[0], pair[1]], [pair[1], pair[0]]]


# meetings: the handlers ingest raw events as the consumer does


async def test_meetings_keeps_the_code_point_winner_of_a_tie(database_url: str) -> None:
    async with icu_pool(database_url, schema="meetings", service_dir=MEETINGS_DIR) as pool:
        for n, order in enumerate(both_orders((0, 1))):
            p = f"t{uuid.uuid4().hex[:8]}"
            committee, cell, member_id, meeting_id = f"{p}-w", f"{p}-c", f"{p}-dv", f"{p}-m"
            await ingest(pool, [unit(committee, kind="committee"), unit(cell, parent_id=committee)])
            ids = [tie(f"{p}-u"), tie(f"{p}-v"), tie(f"{p}-s")]
            units = [unit(cell, parent_id=committee, name=f"Chi bộ {i}", id=ids[0][i]) for i in (0, 1)]
            members = [
                member(member_id, cell, data={"full_name": f"Nguyễn Văn {i}"}, id=ids[1][i], time=BASE_TIME)
                for i in (0, 1)
            ]
            starts = BASE_TIME + timedelta(days=10)
            meetings = [
                scheduled(meeting_id, cell, starts_at=starts, data={"location": f"Hội trường {i}"}, id=ids[2][i])
                for i in (0, 1)
            ]
            for pair in (units, members, meetings):
                await ingest(pool, [pair[i] for i in order])
            async with pool.acquire() as conn:
                stored = await conn.fetchrow("SELECT name, version_id FROM org_unit WHERE id = $1", cell)
                assert (stored["name"], stored["version_id"]) == ("Chi bộ 1", ids[0][1]), n
                stored = await conn.fetchrow("SELECT full_name, version_id FROM member WHERE id = $1", member_id)
                assert (stored["full_name"], stored["version_id"]) == ("Nguyễn Văn 1", ids[1][1]), n
                stored = await conn.fetchrow(
                    "SELECT location, location_id, schedule_id FROM meeting WHERE meeting_id = $1", meeting_id
                )
                assert tuple(stored) == ("Hội trường 1", ids[2][1], ids[2][1]), n


async def test_a_meetings_bulk_chunk_keeps_the_code_point_winner_of_a_tie(database_url: str) -> None:
    async with icu_pool(database_url, schema="meetings", service_dir=MEETINGS_DIR) as pool:
        for n, order in enumerate(both_orders((0, 1))):
            p = f"t{uuid.uuid4().hex[:8]}"
            committee, cell, member_id = f"{p}-w", f"{p}-c", f"{p}-dv"
            ids = [tie(f"{p}-u"), tie(f"{p}-v"), tie(f"{p}-a")]
            units = [unit(cell, parent_id=committee, name=f"Chi bộ {i}", id=ids[0][i]) for i in (0, 1)]
            members = [
                member(member_id, cell, data={"full_name": f"Nguyễn Văn {i}"}, id=ids[1][i], time=BASE_TIME)
                for i in (0, 1)
            ]
            monitors = [
                raw_event(
                    "monitor.assigned.v1",
                    {"person_id": f"{p}-gs", "full_name": f"Võ Minh {i}", "committee_id": committee, "cell_id": cell},
                    id=ids[2][i],
                )
                for i in (0, 1)
            ]
            lines = [unit(committee, kind="committee")] + [
                pair[i] for pair in (units, members, monitors) for i in order
            ]
            report = await bulk_load_lines(
                (json.dumps(line) for line in lines), pool, total=len(lines), chunk_size=100, progress=False
            )
            assert report.outcomes["accepted"] == len(lines), report.outcomes
            async with pool.acquire() as conn:
                stored = await conn.fetchrow("SELECT name, version_id FROM org_unit WHERE id = $1", cell)
                assert (stored["name"], stored["version_id"]) == ("Chi bộ 1", ids[0][1]), n
                stored = await conn.fetchrow("SELECT full_name, version_id FROM member WHERE id = $1", member_id)
                assert (stored["full_name"], stored["version_id"]) == ("Nguyễn Văn 1", ids[1][1]), n
                stored = await conn.fetchrow(
                    "SELECT full_name, version_id FROM monitor_assignment WHERE cell_id = $1", cell
                )
                assert (stored["full_name"], stored["version_id"]) == ("Võ Minh 1", ids[2][1]), n


# evaluation: the fact handlers, one by one and a run of members at once


def _read(raw: dict[str, Any]) -> Any:
    return read_event(parse_envelope(json.dumps(raw)))


async def test_evaluation_keeps_the_code_point_winner_of_a_tie(database_url: str) -> None:
    async with icu_pool(database_url, schema="evaluation", service_dir=EVALUATION_DIR) as pool:
        factory: Callable[[], Any] = await prepare_evaluation(pool, today=lambda: date(2026, 6, 20))
        for batch in (False, True):
            for n, order in enumerate(both_orders((0, 1))):
                p = f"t{uuid.uuid4().hex[:8]}"
                cell, member_id, meeting_id = f"{p}-c", f"{p}-dv", f"{p}-m"
                ids = [tie(f"{p}-u"), tie(f"{p}-v"), tie(f"{p}-s")]
                units = [
                    fact(
                        "org.unit.upserted.v1",
                        {"id": cell, "name": "Chi bộ", "kind": "cell", "parent_id": None, "active": i == 1},
                        time=at(1, 2),
                        event_id=ids[0][i],
                    )
                    for i in (0, 1)
                ]
                statuses = ["probationary", "official"]  # never a committee member: a batch writes them at once
                members = [
                    fact(
                        "member.upserted.v1",
                        {
                            "id": member_id,
                            "full_name": "Lê Văn Đức",
                            "cell_id": cell,
                            "status": statuses[i],
                            "role": "member",
                        },
                        time=at(1, 3),
                        event_id=ids[1][i],
                    )
                    for i in (0, 1)
                ]
                kinds = ["regular", "extraordinary"]
                meetings = [
                    fact(
                        "meeting.scheduled.v1",
                        {
                            "meeting_id": meeting_id,
                            "cell_id": cell,
                            "kind": kinds[i],
                            "starts_at": at(3, 5).isoformat(),
                            "location": "Nhà văn hóa",
                            "agenda": ["Thường kỳ"],
                        },
                        time=at(3, 1),
                        event_id=ids[2][i],
                    )
                    for i in (0, 1)
                ]
                for pair in (units, members, meetings):
                    events = [_read(pair[i]) for i in order]
                    await apply_facts(factory, events, batch=batch)
                where = (batch, n)
                stored = await pool.fetchrow("SELECT active, fact_id FROM unit WHERE id = $1", cell)
                assert tuple(stored) == (True, ids[0][1]), where
                stored = await pool.fetchrow("SELECT status, fact_id FROM member WHERE id = $1", member_id)
                assert tuple(stored) == ("official", ids[1][1]), where
                stored = await pool.fetchrow("SELECT kind, fact_id FROM meeting WHERE meeting_id = $1", meeting_id)
                assert tuple(stored) == ("extraordinary", ids[2][1]), where


# notifications: the projection's handlers, one by one and as a batch


def _cell_score(cell: str, rating: str, *, time: datetime, event_id: str) -> CloudEvent:
    return cell_rated(cell, "2026-01", rating, time=time, event_id=event_id)


def _meeting_score(cell: str, meeting_id: str, rating: str, *, time: datetime, event_id: str) -> CloudEvent:
    return event(
        "score.meeting.updated.v1",
        {
            "meeting_id": meeting_id,
            "cell_id": cell,
            "framework": {"id": "f", "version": "1"},
            "score": {"good": 90.0, "poor": 40.0}[rating],
            "rating": rating,
            "provisional": False,
            "criteria": [],
        },
        source="urn:chibo:evaluation",
        time=time,
        event_id=event_id,
    )


async def test_notifications_keeps_the_code_point_winner_of_a_tie(database_url: str) -> None:
    settings = Settings(database_url=database_url)
    clock = Clock(now())
    async with icu_pool(database_url, schema="notifications", service_dir=NOTIFICATIONS_DIR) as pool:
        handle = functools.partial(apply_events, pool, settings, clock)

        for batch in (False, True):
            for n, order in enumerate(both_orders((0, 1))):
                p = Province()
                for item in p.setup():
                    await handle([item], batch=False)
                t = clock.value - timedelta(hours=1)
                ids = [tie(f"{p.cell}-u"), tie(f"{p.cell}-p"), tie(f"{p.cell}-s")]
                units = [
                    event(
                        "org.unit.upserted.v1",
                        {"id": p.cell, "name": f"Chi bộ {i}", "kind": "cell", "parent_id": p.committee},
                        time=p.origin + timedelta(days=1),
                        event_id=ids[0][i],
                    )
                    for i in (0, 1)
                ]
                ratings = ["poor", "good"]
                periods = [_cell_score(p.cell, ratings[i], time=t, event_id=ids[1][i]) for i in (0, 1)]
                meeting_id = f"{p.cell}-m1"
                scores = [_meeting_score(p.cell, meeting_id, ratings[i], time=t, event_id=ids[2][i]) for i in (0, 1)]
                for pair in (units, periods, scores):
                    await handle([pair[i] for i in order], batch=batch)
                where = (batch, n)
                stored = await pool.fetchrow("SELECT name, version_id FROM unit WHERE id = $1", p.cell)
                assert tuple(stored) == ("Chi bộ 1", ids[0][1]), where
                stored = await pool.fetchrow("SELECT rating, version_id FROM cell_score WHERE cell_id = $1", p.cell)
                assert tuple(stored) == ("good", ids[1][1]), where
                stored = await pool.fetchrow(
                    "SELECT rating, version_id FROM meeting_score WHERE meeting_id = $1", meeting_id
                )
                assert tuple(stored) == ("good", ids[2][1]), where


# evaluation's cell locks: a handler locks cells one by one in Python's sorted order, a batch in one statement; both
# must take them in the same order or two transactions deadlock


async def test_evaluation_locks_cells_in_the_order_python_sorts_them(database_url: str) -> None:
    async with icu_pool(database_url, schema="evaluation", service_dir=EVALUATION_DIR) as pool:
        p = f"t{uuid.uuid4().hex[:8]}"
        cells = sorted([f"{p}-a", f"{p}-Z"])  # code point order: "…-Z" first
        one_by_one, at_once = await pool.acquire(), await pool.acquire()
        try:
            first = one_by_one.transaction()
            second = at_once.transaction()
            await first.start()
            await second.start()
            await PgFactRepository(one_by_one).lock_cell(cells[0])
            batch = asyncio.create_task(PgFactRepository(at_once).lock_cells(list(reversed(cells))))
            await asyncio.sleep(0.3)  # the batch waits for cells[0] (and holds nothing) or holds cells[1]
            # in a deadlock PostgreSQL cancels one of the two after deadlock_timeout (1 s)
            await asyncio.wait_for(PgFactRepository(one_by_one).lock_cell(cells[1]), timeout=5)
            await first.commit()
            await asyncio.wait_for(batch, timeout=5)
            await second.commit()
        finally:
            await pool.release(one_by_one)
            await pool.release(at_once)


# every column that orders snapshots, not only those the scenarios above reach

VERSION_COLUMNS = {
    "meetings": {
        ("meeting", "schedule_id"),
        ("meeting", "start_id"),
        ("meeting", "location_id"),
        ("meeting", "cancel_id"),
        ("meeting", "first_cancel_id"),
        ("meeting", "approval_id"),
        ("document", "origin_id"),
        ("assessment", "origin_id"),
    },
    "evaluation": set(),
    "notifications": {
        ("meeting", "scheduled_id"),
        ("meeting", "rescheduled_id"),
        ("meeting", "cancel_id"),
        ("meeting", "minutes_id"),
        ("meeting", "roster_id"),
        ("member_figures", "cause_id"),
        ("member_figures", "event_id"),
    },
}
SERVICE_DIRS = {"meetings": MEETINGS_DIR, "evaluation": EVALUATION_DIR, "notifications": NOTIFICATIONS_DIR}


async def test_every_version_column_compares_by_code_point(database_url: str) -> None:
    for schema, named in VERSION_COLUMNS.items():
        async with icu_pool(database_url, schema=schema, service_dir=SERVICE_DIRS[schema]) as pool:
            rows = await pool.fetch(
                "SELECT table_name, column_name, collation_name FROM information_schema.columns"
                " WHERE table_schema = $1 AND (column_name IN ('version_id', 'fact_id') OR (table_name, column_name)"
                " IN (SELECT * FROM unnest($2::text[], $3::text[])))",
                schema,
                [table for table, _ in named],
                [column for _, column in named],
            )
            found = {(row["table_name"], row["column_name"]): row["collation_name"] for row in rows}
            assert named <= found.keys() and len(found) > len(named), (schema, found)
            assert {key: collation for key, collation in found.items() if collation != "C"} == {}, schema
