"""Snapshots whose times differ below the microsecond are ordered by time, not by id, in every service.

RFC 3339 allows nine fraction digits and CONTRACT.md accepts them; PostgreSQL and Python keep six. Of two snapshots
of one subject 100 ns apart, the later must win (CONTRACT.md: the latest `time` wins, ties broken by id), in both
arrival orders, one by one and as a batch. Each pair gives the earlier snapshot the higher id (`…-b`), so a tie at the
microsecond would keep it; and what a service re-publishes keeps every digit of the time it received."""

import functools
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from services.evaluation.bootstrap import SERVICE_DIR as EVALUATION_DIR
from services.evaluation.bootstrap import prepare as prepare_evaluation
from services.evaluation.domain.facts import Assessment, MemberSnapshot, snapshot_at
from services.evaluation.domain.scoring import manual_points
from services.evaluation.repository.results import PgResultRepository
from services.meetings.bootstrap import SERVICE_DIR as MEETINGS_DIR
from services.meetings.bulk.load import bulk_load_lines
from services.meetings.queries import get_meeting
from services.meetings.unit_of_work import SCHEMA as MEETINGS_SCHEMA
from services.notifications.bootstrap import SERVICE_DIR as NOTIFICATIONS_DIR
from services.notifications.config import Settings as NotificationsSettings
from services.notifications.handlers import BATCH_HANDLERS, HANDLERS
from services.notifications.unit_of_work import NotificationsUnitOfWork
from shared.contracts.registry import read_event
from shared.db import apply_migrations, create_pool, migration_files
from shared.envelope import CloudEvent, keep_time_ns, now, parse_envelope, sub_microsecond, time_text
from tests.evaluation.applying import apply_facts
from tests.evaluation.builders import framework
from tests.evaluation.stream import at, fact
from tests.meetings.applying import ingest
from tests.meetings.events import BASE_TIME, attendance, member, minutes, raw_event, scheduled, unit
from tests.notifications.applying import apply_events
from tests.notifications.events import Province
from tests.notifications.fakes import Clock


@asynccontextmanager
async def service_pool(database_url: str, *, schema: str, service_dir: Any) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the service's migrated schema of the test database."""
    await apply_migrations(database_url, schema=schema, files=migration_files(service_dir))
    pool = await create_pool(database_url, schema=schema, min_size=1, max_size=3)
    try:
        yield pool
    finally:
        await pool.close()


def apart(day: int, *, hour: int = 20) -> tuple[str, str]:
    """(earlier, later) times 100 ns apart on 2026-01-`day` at `hour`:00 (+07:00): one microsecond holds both."""
    moment = f"2026-01-{day:02d}T{hour:02d}:00:00.000000"
    return f"{moment}100+07:00", f"{moment}200+07:00"


def ids(prefix: str) -> tuple[str, str]:
    """(earlier's id, later's id): the earlier snapshot has the higher id, so a tie keeps the wrong one."""
    earlier, later = f"{prefix}-b", f"{prefix}-a"
    assert earlier > later
    return earlier, later


def both_orders(pair: list[Any]) -> list[list[Any]]:
    """The (earlier, later) pair in either arrival order."""
    return [[pair[0], pair[1]], [pair[1], pair[0]]]


async def published_time(pool: asyncpg.Pool, origin_id: str) -> list[str]:
    """The `time` of every fact meetings re-published of the event `origin_id`."""
    rows = await pool.fetch("SELECT payload->>'time' AS time FROM outbox WHERE payload->>'originid' = $1", origin_id)
    return [row["time"] for row in rows]


# meetings: the handlers ingest raw events as the consumer does, and a bulk chunk


async def test_meetings_keeps_the_later_of_two_snapshots_in_one_microsecond(database_url: str) -> None:
    async with service_pool(database_url, schema=MEETINGS_SCHEMA, service_dir=MEETINGS_DIR) as pool:
        for batch, n in ((False, 0), (False, 1), (True, 0), (True, 1)):
            p = f"n{uuid.uuid4().hex[:8]}"
            committee, cell, chair, other, meeting_id = f"{p}-w", f"{p}-c", f"{p}-dv", f"{p}-dv2", f"{p}-m"
            await ingest(
                pool,
                [
                    unit(committee, kind="committee"),
                    unit(cell, parent_id=committee),
                    member(chair, cell, time=BASE_TIME),
                    member(other, cell, time=BASE_TIME),
                ],
            )
            times = apart(2, hour=7)
            starts = BASE_TIME + timedelta(days=2)  # 2026-01-03 08:00 (+07:00)
            pairs: dict[str, list[dict[str, Any]]] = {}
            k = ids(f"{p}-u")
            pairs["unit"] = [
                unit(cell, parent_id=committee, name=name, id=k[i], time=times[i])
                for i, name in enumerate(("Chi bộ cũ", "Chi bộ mới"))
            ]
            k = ids(f"{p}-v")
            pairs["member"] = [
                member(other, cell, data={"full_name": name}, id=k[i], time=times[i])
                for i, name in enumerate(("Lê Văn Cũ", "Lê Văn Mới"))
            ]
            k = ids(f"{p}-g")
            pairs["monitor"] = [
                raw_event(
                    "monitor.assigned.v1",
                    {"person_id": f"{p}-gs", "full_name": name, "committee_id": committee, "cell_id": cell},
                    id=k[i],
                    time=times[i],
                )
                for i, name in enumerate(("Võ Minh Cũ", "Võ Minh Mới"))
            ]
            k = ids(f"{p}-s")
            pairs["schedule"] = [
                scheduled(meeting_id, cell, starts_at=starts, data={"location": place}, id=k[i], time=apart(2)[i])
                for i, place in enumerate(("Hội trường cũ", "Hội trường mới"))
            ]
            k = ids(f"{p}-r")
            moves = [starts + timedelta(hours=2), starts + timedelta(hours=1)]
            pairs["reschedule"] = [
                raw_event(
                    "meeting.rescheduled.v1",
                    {"meeting_id": meeting_id, "starts_at": moves[i].isoformat()},
                    id=k[i],
                    time=apart(2, hour=21)[i],
                )
                for i in (0, 1)
            ]
            k = ids(f"{p}-a")
            pairs["roster"] = [
                attendance(meeting_id, {chair: "present", other: status}, id=k[i], time=apart(3)[i])
                for i, status in enumerate(("excused", "present"))
            ]
            task = {"task_id": "t1", "assignee_id": other, "description": "Vận động hội viên", "due_on": "2026-12-31"}
            k = ids(f"{p}-n")
            pairs["minutes"] = [
                minutes(
                    meeting_id,
                    chair_id=chair,
                    started_at=moves[1],
                    tasks=[task],
                    data={"content": content},
                    id=k[i],
                    time=apart(4)[i],
                )
                for i, content in enumerate(("Nội dung cũ", "Nội dung mới"))
            ]
            k = ids(f"{p}-o")
            adopted = [moves[1] + timedelta(hours=4), moves[1] + timedelta(hours=3)]
            pairs["approval"] = [
                raw_event(
                    "minutes.approved.v1",
                    {"meeting_id": meeting_id, "approved_at": adopted[i].isoformat()},
                    id=k[i],
                    time=apart(5)[i],
                )
                for i in (0, 1)
            ]
            k = ids(f"{p}-t")
            pairs["completion"] = [
                raw_event(
                    "task.completed.v1",
                    {"task_id": "t1", "meeting_id": meeting_id, "completed_on": done},
                    id=k[i],
                    time=apart(6)[i],
                )
                for i, done in enumerate(("2026-01-05", "2026-01-06"))
            ]
            k = ids(f"{p}-e")
            pairs["assessment"] = [
                raw_event(
                    "meeting.assessed.v1",
                    {
                        "meeting_id": meeting_id,
                        "assessor": {"role": "cell_committee"},
                        "points": {"conduct.procedure": points},
                        "comment": comment,
                    },
                    id=k[i],
                    time=apart(6, hour=21)[i],
                )
                for i, (points, comment) in enumerate(((3, "Đánh giá cũ"), (4, "Đánh giá mới")))
            ]
            k = ids(f"{p}-x")
            pairs["cancel"] = [
                raw_event(
                    "meeting.cancelled.v1", {"meeting_id": meeting_id, "reason": reason}, id=k[i], time=apart(7)[i]
                )
                for i, reason in enumerate(("Lý do cũ", "Lý do mới"))
            ]
            for pair in pairs.values():
                await ingest(pool, both_orders(pair)[n], batch=batch)
            where = (batch, n)
            row = await pool.fetchrow("SELECT name FROM org_unit WHERE id = $1", cell)
            assert row["name"] == "Chi bộ mới", where
            row = await pool.fetchrow("SELECT full_name FROM member WHERE id = $1", other)
            assert row["full_name"] == "Lê Văn Mới", where
            row = await pool.fetchrow("SELECT full_name FROM monitor_assignment WHERE cell_id = $1", cell)
            assert row["full_name"] == "Võ Minh Mới", where
            row = await pool.fetchrow(
                "SELECT location, starts_at, approved_at, cancel_reason FROM meeting WHERE meeting_id = $1", meeting_id
            )
            assert tuple(row) == ("Hội trường mới", moves[1], adopted[1], "Lý do mới"), where
            row = await pool.fetchrow(
                "SELECT status FROM attendance WHERE meeting_id = $1 AND member_id = $2", meeting_id, other
            )
            assert row["status"] == "present", where
            row = await pool.fetchrow("SELECT content FROM minutes WHERE meeting_id = $1", meeting_id)
            assert row["content"] == "Nội dung mới", where
            row = await pool.fetchrow(
                "SELECT completed_on::text AS done FROM task_completion WHERE meeting_id = $1", meeting_id
            )
            assert row["done"] == "2026-01-06", where
            # a meeting's assessments are listed oldest first: the page takes the last of a role as its word
            async with pool.acquire() as conn:
                shown = await get_meeting(conn, meeting_id)
            assert shown is not None
            assert [entry["comment"] for entry in shown["assessments"]] == ["Đánh giá cũ", "Đánh giá mới"], where
            # the facts re-published keep the nanoseconds their events came with
            for name, pair in pairs.items():
                later = pair[1]
                published = await published_time(pool, later["id"])
                assert published and {sub_microsecond(time) for time in published} == {200}, (name, published)


async def test_a_meetings_bulk_chunk_keeps_the_later_of_two_snapshots_in_one_microsecond(database_url: str) -> None:
    async with service_pool(database_url, schema=MEETINGS_SCHEMA, service_dir=MEETINGS_DIR) as pool:
        for n in (0, 1):
            p = f"n{uuid.uuid4().hex[:8]}"
            committee, cell, member_id = f"{p}-w", f"{p}-c", f"{p}-dv"
            times = apart(2)
            k = [ids(f"{p}-u"), ids(f"{p}-v"), ids(f"{p}-g")]
            units = [
                unit(cell, parent_id=committee, name=name, id=k[0][i], time=times[i])
                for i, name in enumerate(("Chi bộ cũ", "Chi bộ mới"))
            ]
            members = [
                member(member_id, cell, data={"full_name": name}, id=k[1][i], time=times[i])
                for i, name in enumerate(("Lê Văn Cũ", "Lê Văn Mới"))
            ]
            monitors = [
                raw_event(
                    "monitor.assigned.v1",
                    {"person_id": f"{p}-gs", "full_name": name, "committee_id": committee, "cell_id": cell},
                    id=k[2][i],
                    time=times[i],
                )
                for i, name in enumerate(("Võ Minh Cũ", "Võ Minh Mới"))
            ]
            lines = [unit(committee, kind="committee")] + [
                event for pair in (units, members, monitors) for event in both_orders(pair)[n]
            ]
            report = await bulk_load_lines(
                (json.dumps(line) for line in lines), pool, total=len(lines), chunk_size=100, progress=False
            )
            assert report.outcomes["accepted"] == len(lines), report.outcomes
            row = await pool.fetchrow("SELECT name FROM org_unit WHERE id = $1", cell)
            assert row["name"] == "Chi bộ mới", n
            row = await pool.fetchrow("SELECT full_name FROM member WHERE id = $1", member_id)
            assert row["full_name"] == "Lê Văn Mới", n
            row = await pool.fetchrow("SELECT full_name FROM monitor_assignment WHERE cell_id = $1", cell)
            assert row["full_name"] == "Võ Minh Mới", n
            for pair in (units, members, monitors):
                published = await published_time(pool, pair[1]["id"])
                assert published and {sub_microsecond(time) for time in published} == {200}, (n, published)


# evaluation: the fact handlers, each event in its own transaction and a run of them at once


def _read(raw: dict[str, Any]) -> Any:
    return read_event(parse_envelope(json.dumps(raw)))


def _fact(event_type: str, data: dict[str, Any], *, time: str, event_id: str) -> dict[str, Any]:
    """A fact as meetings re-publishes it, at `time` (RFC 3339 text with nine fraction digits)."""
    return {**fact(event_type, data, time=at(1, 1), event_id=event_id), "time": time}


def evaluation_pairs(p: str) -> dict[str, list[dict[str, Any]]]:
    """(earlier, later) facts of every kind evaluation keeps the latest of, 100 ns apart, about the run `p`."""
    cell, member_id, meeting_id = f"{p}-c", f"{p}-dv", f"{p}-m"
    pairs: dict[str, list[dict[str, Any]]] = {}

    def pair(kind: str, event_type: str, values: tuple[dict[str, Any], dict[str, Any]], *, day: int) -> None:
        k, times = ids(f"{p}-{kind}"), apart(day)
        pairs[kind] = [_fact(event_type, values[i], time=times[i], event_id=k[i]) for i in (0, 1)]

    unit_data = {"id": cell, "name": "Chi bộ", "kind": "cell", "parent_id": None}
    pair("unit", "org.unit.upserted.v1", ({**unit_data, "active": False}, {**unit_data, "active": True}), day=2)
    member_data = {"id": member_id, "full_name": "Lê Văn Đức", "cell_id": cell, "role": "member"}
    statuses = ({**member_data, "status": "probationary"}, {**member_data, "status": "official"})
    pair("member", "member.upserted.v1", statuses, day=2)
    starts = at(1, 10, 19)
    meeting_data = {
        "meeting_id": meeting_id,
        "cell_id": cell,
        "starts_at": starts.isoformat(),
        "location": "Nhà văn hóa",
        "agenda": ["Thường kỳ"],
    }
    kinds = ({**meeting_data, "kind": "regular"}, {**meeting_data, "kind": "extraordinary"})
    pair("schedule", "meeting.scheduled.v1", kinds, day=3)
    moves = tuple({"meeting_id": meeting_id, "starts_at": (starts + timedelta(hours=h)).isoformat()} for h in (2, 1))
    pair("reschedule", "meeting.rescheduled.v1", (moves[0], moves[1]), day=4)
    rosters = tuple(
        {"meeting_id": meeting_id, "records": [{"member_id": member_id, "status": status, "reason": "ốm"}]}
        for status in ("excused", "present")
    )
    pair("roster", "attendance.recorded.v1", (rosters[0], rosters[1]), day=11)
    started = starts + timedelta(hours=1)
    minutes_data = {
        "meeting_id": meeting_id,
        "started_at": started.isoformat(),
        "ended_at": (started + timedelta(minutes=100)).isoformat(),
        "chair_id": member_id,
        "recorder_id": member_id,
        "speakers": [member_id],
        "resolutions": [{"text": "Thông qua", "votes_for": 1, "votes_against": 0, "abstentions": 0}],
        "tasks": [{"task_id": "t1", "assignee_id": member_id, "description": "Vận động", "due_on": "2026-12-31"}],
    }
    contents = ({**minutes_data, "content": "Nội dung cũ"}, {**minutes_data, "content": "Nội dung mới"})
    pair("minutes", "minutes.submitted.v1", contents, day=11)
    adopted = tuple(
        {"meeting_id": meeting_id, "approved_at": (started + timedelta(hours=h)).isoformat()} for h in (4, 3)
    )
    pair("approval", "minutes.approved.v1", (adopted[0], adopted[1]), day=12)
    done = tuple(
        {"task_id": "t1", "meeting_id": meeting_id, "completed_on": day} for day in ("2026-01-13", "2026-01-14")
    )
    pair("completion", "task.completed.v1", (done[0], done[1]), day=14)
    assessed = tuple(
        {"meeting_id": meeting_id, "assessor": {"role": "cell_committee"}, "points": {"conduct.procedure": points}}
        for points in (3, 4)
    )
    pair("assessment", "meeting.assessed.v1", (assessed[0], assessed[1]), day=12)
    removals = tuple(
        {"id": member_id, "reason": "transferred", "effective_on": day} for day in ("2026-02-01", "2026-03-01")
    )
    pair("removal", "member.removed.v1", (removals[0], removals[1]), day=15)
    return pairs


async def test_evaluation_keeps_the_later_of_two_facts_in_one_microsecond(database_url: str) -> None:
    async with service_pool(database_url, schema="evaluation", service_dir=EVALUATION_DIR) as pool:
        factory: Callable[[], Any] = await prepare_evaluation(pool, today=lambda: date(2026, 6, 20))

        apply = functools.partial(apply_facts, factory)

        for batch in (False, True):
            for n in (0, 1):
                p = f"n{uuid.uuid4().hex[:8]}"
                pairs = evaluation_pairs(p)
                for pair in pairs.values():
                    events = [_read(raw) for raw in both_orders(pair)[n]]
                    if batch:
                        await apply(events, batch=True)
                    else:
                        for item in events:
                            await apply([item], batch=False)
                later = {kind: pair[1]["data"] for kind, pair in pairs.items()}
                where = (batch, n)
                cell, member_id, meeting_id = f"{p}-c", f"{p}-dv", f"{p}-m"
                assert await pool.fetchval("SELECT active FROM unit WHERE id = $1", cell) is True, where
                assert await pool.fetchval("SELECT status FROM member WHERE id = $1", member_id) == "official", where
                kind = await pool.fetchval("SELECT kind FROM meeting WHERE meeting_id = $1", meeting_id)
                assert kind == "extraordinary", where
                moved = await pool.fetchval(
                    "SELECT starts_at FROM meeting_reschedule WHERE meeting_id = $1", meeting_id
                )
                assert moved == datetime.fromisoformat(later["reschedule"]["starts_at"]), where
                roster = await pool.fetchval("SELECT records::text FROM attendance WHERE meeting_id = $1", meeting_id)
                assert json.loads(roster) == {member_id: "present"}, where
                content = await pool.fetchval("SELECT data->>'content' FROM minutes WHERE meeting_id = $1", meeting_id)
                assert content == "Nội dung mới", where
                approved = await pool.fetchval("SELECT approved_at FROM approval WHERE meeting_id = $1", meeting_id)
                assert approved == datetime.fromisoformat(later["approval"]["approved_at"]), where
                completed = await pool.fetchval(
                    "SELECT completed_on::text FROM task_completion WHERE meeting_id = $1", meeting_id
                )
                assert completed == "2026-01-14", where
                removed = await pool.fetchval(
                    "SELECT effective_on::text FROM member_removal WHERE member_id = $1", member_id
                )
                assert removed == "2026-03-01", where
                async with pool.acquire() as conn:
                    listed = (await PgResultRepository(conn).scoring_inputs([meeting_id])).assessments[meeting_id]
                assert [stamp.event_id for _, stamp, _ in listed] == list(ids(f"{p}-assessment")), where


def test_the_latest_assessment_of_a_role_and_snapshot_of_a_member_win_below_the_microsecond() -> None:
    moment = at(1, 2)
    earlier, later = ids("e")
    assessments = (
        Assessment(role="cell_committee", time=moment, event_id=earlier, points={"conduct.procedure": 3}, ns=100),
        Assessment(role="cell_committee", time=moment, event_id=later, points={"conduct.procedure": 4}, ns=200),
    )
    item = next(item for item in framework().items if item.code == "conduct.procedure")
    assert manual_points(item, assessments)[0] == 4
    snapshots = [
        MemberSnapshot(member_id="dv", time=moment, event_id=earlier, cell_id="c1", role="member", ns=100),
        MemberSnapshot(member_id="dv", time=moment, event_id=later, cell_id="c2", role="member", ns=200),
    ]
    found = snapshot_at(snapshots, moment + timedelta(days=1))
    assert found is not None and found.cell_id == "c2"


# notifications: the projection's handlers, one by one and as a batch


def _announced(raw: dict[str, Any]) -> CloudEvent:
    """A fact as meetings publishes it, read as the consumer reads it (its time's every digit kept)."""
    return parse_envelope(json.dumps({"specversion": "1.0", "source": "urn:chibo:meetings", **raw}))


def notification_pairs(p: Province) -> dict[str, list[CloudEvent]]:
    """(earlier, later) facts of every kind notifications keeps the latest of, 100 ns apart, about `p`'s cell."""
    meeting_id = f"{p.cell}-m1"
    pairs: dict[str, list[CloudEvent]] = {}

    def pair(kind: str, event_type: str, values: tuple[dict[str, Any], dict[str, Any]], *, days: int) -> None:
        moment = p.origin + timedelta(days=days)
        k = ids(f"{p.cell}-{kind}")
        pairs[kind] = [
            _announced({"id": k[i], "type": event_type, "time": time_text(moment, (100, 200)[i]), "data": values[i]})
            for i in (0, 1)
        ]

    unit_data = {"id": p.cell, "kind": "cell", "parent_id": p.committee}
    names = ({**unit_data, "name": "Chi bộ cũ"}, {**unit_data, "name": "Chi bộ mới"})
    pair("unit", "org.unit.upserted.v1", names, days=1)
    member_data = {"id": p.member, "cell_id": p.cell, "status": "official", "role": "member"}
    people = ({**member_data, "full_name": "Lê Văn Cũ"}, {**member_data, "full_name": "Lê Văn Mới"})
    pair("member", "member.upserted.v1", people, days=1)
    monitor_data = {"person_id": p.monitor, "committee_id": p.committee, "cell_id": p.cell}
    monitors = ({**monitor_data, "full_name": "Võ Minh Cũ"}, {**monitor_data, "full_name": "Võ Minh Mới"})
    pair("monitor", "monitor.assigned.v1", monitors, days=1)
    starts = p.origin + timedelta(days=10)
    meeting_data = {
        "meeting_id": meeting_id,
        "cell_id": p.cell,
        "kind": "regular",
        "starts_at": starts.isoformat(),
        "agenda": ["Thường kỳ"],
    }
    places = ({**meeting_data, "location": "Hội trường cũ"}, {**meeting_data, "location": "Hội trường mới"})
    pair("schedule", "meeting.scheduled.v1", places, days=2)
    moves = tuple({"meeting_id": meeting_id, "starts_at": (starts + timedelta(hours=h)).isoformat()} for h in (2, 1))
    pair("reschedule", "meeting.rescheduled.v1", (moves[0], moves[1]), days=3)
    rosters = tuple(
        {"meeting_id": meeting_id, "records": [{"member_id": p.member, "status": status, "reason": "ốm"}]}
        for status in ("absent", "excused")
    )
    pair("roster", "attendance.recorded.v1", (rosters[0], rosters[1]), days=11)
    ends = tuple(starts + timedelta(hours=h) for h in (4, 3))
    minutes_data = {
        "meeting_id": meeting_id,
        "chair_id": p.secretary,
        "recorder_id": p.deputy,
        "speakers": [],
        "resolutions": [],
        "tasks": [],
    }
    minutes = tuple(
        {**minutes_data, "started_at": (end - timedelta(hours=2)).isoformat(), "ended_at": end.isoformat()}
        for end in ends
    )
    pair("minutes", "minutes.submitted.v1", (minutes[0], minutes[1]), days=11)
    reasons = tuple({"meeting_id": meeting_id, "reason": reason} for reason in ("Lý do cũ", "Lý do mới"))
    pair("cancel", "meeting.cancelled.v1", (reasons[0], reasons[1]), days=12)
    figures = tuple(
        {
            "member_id": p.member,
            "cell_id": p.cell,
            "meeting_id": meeting_id,
            "full_name": "Lê Văn Đức",
            "consecutive_absences": absences,
            "consecutive_excused_absences": 0,
            "unexcused_months_last_year": 0,
        }
        for absences in (1, 0)
    )
    pair("figures", "member.attendance.updated.v1", (figures[0], figures[1]), days=12)
    removals = tuple(
        {"id": p.member, "reason": "transferred", "effective_on": (starts + timedelta(days=d)).date().isoformat()}
        for d in (30, 31)
    )
    pair("removal", "member.removed.v1", (removals[0], removals[1]), days=13)
    return pairs


async def test_notifications_keeps_the_later_of_two_snapshots_in_one_microsecond(database_url: str) -> None:
    settings = NotificationsSettings(database_url=database_url)
    clock = Clock(now())
    async with service_pool(database_url, schema="notifications", service_dir=NOTIFICATIONS_DIR) as pool:
        handle = functools.partial(apply_events, pool, settings, clock)

        for batch in (False, True):
            for n in (0, 1):
                p = Province()
                for item in p.setup():
                    await handle([item], batch=False)
                pairs = notification_pairs(p)
                for pair in pairs.values():
                    events = both_orders(pair)[n]
                    if batch:
                        await handle(events, batch=True)
                    else:
                        for item in events:
                            await handle([item], batch=False)
                where = (batch, n)
                meeting_id = f"{p.cell}-m1"
                assert await pool.fetchval("SELECT name FROM unit WHERE id = $1", p.cell) == "Chi bộ mới", where
                member_row = await pool.fetchrow(
                    "SELECT full_name, removed, version_id FROM member WHERE id = $1", p.member
                )
                assert tuple(member_row) == ("Lê Văn Mới", True, ids(f"{p.cell}-removal")[1]), where
                name = await pool.fetchval("SELECT full_name FROM monitor WHERE person_id = $1", p.monitor)
                assert name == "Võ Minh Mới", where
                row = await pool.fetchrow(
                    "SELECT location, rescheduled_starts_at, ended_at, cancel_reason FROM meeting"
                    " WHERE meeting_id = $1",
                    meeting_id,
                )
                later = {kind: pair[1].data for kind, pair in pairs.items()}
                assert tuple(row) == (
                    "Hội trường mới",
                    datetime.fromisoformat(later["reschedule"]["starts_at"]),
                    datetime.fromisoformat(later["minutes"]["ended_at"]),
                    "Lý do mới",
                ), where
                status = await pool.fetchval(
                    "SELECT status FROM meeting_attendance WHERE meeting_id = $1 AND member_id = $2",
                    meeting_id,
                    p.member,
                )
                assert status == "excused", where
                async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
                    history = (await uow.projection.figure_histories([p.member]))[p.member]
                assert [figure.event_id for figure in history] == list(ids(f"{p.cell}-figures")), where


async def test_notifications_orders_minutes_of_one_time_by_the_incoming_id_not_the_republished_one(
    database_url: str,
) -> None:
    # meetings re-publishes each fact under an id of its own (`originid` keeps the incoming one): two minutes of the
    # same time are ordered by the incoming ids (CONTRACT.md), never by the ids assigned on the way
    settings = NotificationsSettings(database_url=database_url)
    clock = Clock(now())
    async with service_pool(database_url, schema="notifications", service_dir=NOTIFICATIONS_DIR) as pool:
        for batch in (False, True):
            for n in (0, 1):
                p = Province()
                for item in p.setup():
                    async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
                        await HANDLERS[read_event(item).type](read_event(item), uow)
                        await uow.commit()
                earlier, later = notification_pairs(p)["minutes"]
                moment = time_text(p.origin + timedelta(days=11), 100)
                # one time to the nanosecond: the higher incoming id (`-in-b`) wins, though it travels under the
                # lower id assigned on the way (`a-1`)
                pair = [
                    earlier.model_copy(update={"time": earlier.time, "originid": f"{p.cell}-in-a", "id": "z-1"}),
                    later.model_copy(update={"time": later.time, "originid": f"{p.cell}-in-b", "id": "a-1"}),
                ]
                for envelope in pair:
                    keep_time_ns(envelope, sub_microsecond(moment))
                read = [read_event(envelope) for envelope in both_orders(pair)[n]]
                async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
                    if batch:
                        await BATCH_HANDLERS[read[0].type](read, uow)
                    else:
                        for fact_read in read:
                            await HANDLERS[fact_read.type](fact_read, uow)
                    await uow.commit()
                ended = await pool.fetchval("SELECT ended_at FROM meeting WHERE meeting_id = $1", f"{p.cell}-m1")
                assert ended == datetime.fromisoformat(later.data["ended_at"]), (batch, n)
