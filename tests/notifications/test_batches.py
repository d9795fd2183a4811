"""A batch decided at once (BATCH_HANDLERS, one unit of work) leaves what the same events one by one leave."""

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from services.notifications.config import Settings
from services.notifications.domain.settings import RuleOverride
from services.notifications.handlers import BATCH_HANDLERS, HANDLERS
from services.notifications.handlers.alerts import config_for, configs_for
from services.notifications.handlers.jobs import run_job
from services.notifications.reading import READING_MODELS
from services.notifications.repository.outgoing import Job
from services.notifications.unit_of_work import NotificationsUnitOfWork
from shared.contracts.registry import read_event
from shared.envelope import CloudEvent
from shared.envelope import now as wall_clock
from tests.notifications.events import Province, cell_rated, event
from tests.notifications.fakes import Clock
from tests.support.ids import random_id


def _meeting_score(p: Province, meeting_id: str, rating: str, *, provisional: bool, time: datetime) -> CloudEvent:
    return event(
        "score.meeting.updated.v1",
        {
            "meeting_id": meeting_id,
            "cell_id": p.cell,
            "framework": {"id": "f", "version": "1"},
            "score": {"good": 90.0, "fair": 75.0, "average": 55.0, "poor": 40.0}[rating],
            "rating": rating,
            "provisional": provisional,
            "criteria": [],
        },
        source="urn:chibo:evaluation",
        time=time,
        event_id=f"{p.cell}-s{time.timestamp():.0f}-{meeting_id[-2:]}-{rating}",
    )


ABSENTEE_NAMES = {"Nguyễn Văn Bình": "SECRETARY", "Trần Thị Hoa": "DEPUTY", "Lê Văn Đức": "MEMBER"}


def told(notices: list[tuple[Any, ...]]) -> set[tuple[str, str]]:
    """(absentee, meeting) of every absentee an unexcused-absence alert names (one alert per recipient names all of
    a meeting's, a correction's follow-up those it adds), in its title or its text after the greeting."""
    return {
        (who, row[1])
        for row in notices
        if row[0] == "unexcused_absence"
        for name, who in ABSENTEE_NAMES.items()
        if name in row[6] + row[7].partition("\n\n")[2]
    }


def _absences(p: Province, member_id: str, count: int, *, time: datetime) -> CloudEvent:
    return event(
        "member.attendance.updated.v1",
        {
            "member_id": member_id,
            "cell_id": p.cell,
            "meeting_id": f"{p.cell}-m1",
            "full_name": {p.member: "Lê Văn Đức", p.deputy: "Trần Thị Hoa"}[member_id],
            "consecutive_absences": count,
            "consecutive_excused_absences": 0,
            "unexcused_months_last_year": count - 1,
        },
        source="urn:chibo:evaluation",
        time=time,
        event_id=f"{p.cell}-a{count}-{member_id}",
    )


def _period(p: Province, period: str, rating: str, *, time: datetime, tag: str) -> CloudEvent:
    return cell_rated(p.cell, period, rating, time=time, event_id=f"{p.cell}-p{tag}")


def stream(p: Province, clock: datetime) -> list[CloudEvent]:
    """Scores and attendance histories of a recent, an old and an unknown meeting, copies and stale versions
    included, in runs of each type (ids derived from the province's, so two provinces compare)."""
    t = clock - timedelta(hours=1)
    recent, old, unknown = f"{p.cell}-m1", f"{p.cell}-m2", f"{p.cell}-m3"
    this_month = clock.strftime("%Y-%m")
    return [
        _meeting_score(p, recent, "average", provisional=True, time=t),
        _meeting_score(p, recent, "poor", provisional=False, time=t + timedelta(seconds=1)),
        _meeting_score(p, old, "poor", provisional=False, time=t),
        _meeting_score(p, unknown, "average", provisional=False, time=t),
        _absences(p, p.member, 4, time=t),
        _absences(p, p.deputy, 5, time=t),
        _absences(p, p.member, 6, time=t + timedelta(seconds=1)),
        _period(p, this_month, "poor", time=t + timedelta(seconds=5), tag="1"),
        _period(p, this_month, "average", time=t, tag="2"),  # older: loses to the one before
        _period(p, "2025-01", "poor", time=t, tag="3"),  # closed long ago: no check planned
        _period(p, f"{clock.year}-Q{(clock.month - 1) // 3 + 1}", "average", time=t, tag="4"),
        _period(p, f"{clock.year}-Q{(clock.month - 1) // 3 + 1}", "fair", time=t, tag="5"),  # same time: id wins
        _meeting_score(p, recent, "average", provisional=False, time=t + timedelta(seconds=2)),
        _absences(p, p.deputy, 7, time=t + timedelta(seconds=2)),
    ]


async def prepare(pool: asyncpg.Pool, settings: Settings, clock: Clock, p: Province) -> None:
    """The province and its recent and old meeting, both held (their minutes in), each event in its own unit of
    work."""
    recent = p.scheduled(f"{p.cell}-m1", clock.value - timedelta(days=2))
    old = p.scheduled(f"{p.cell}-m2", clock.value - timedelta(days=200))
    minutes = [  # at the clock's time, as the two provinces compare
        p.minutes(meeting_id, clock.value - timedelta(days=days, hours=-2)).model_copy(update={"time": clock.value})
        for meeting_id, days in ((f"{p.cell}-m1", 2), (f"{p.cell}-m2", 200))
    ]
    for item in [*p.setup(), recent, old, *minutes]:
        async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
            await HANDLERS[item.type](read_event(item), uow)
            await uow.commit()


async def one_by_one(pool: asyncpg.Pool, settings: Settings, clock: Clock, events: list[CloudEvent]) -> None:
    """Each event through its handler in its own unit of work."""
    for item in events:
        async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
            await HANDLERS[item.type](read_event(item), uow)
            await uow.commit()


async def as_batch(pool: asyncpg.Pool, settings: Settings, clock: Clock, events: list[CloudEvent]) -> None:
    """All events in one unit of work, each run of one type through its batch handler, the data read with the
    service's reading models (as consume_event does; one_by_one reads the contract's models)."""
    read = [read_event(item, READING_MODELS) for item in events]
    async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
        start = 0
        while start < len(read):
            end = start
            while end < len(read) and read[end].type == read[start].type:
                end += 1
            if read[start].type in BATCH_HANDLERS:
                await BATCH_HANDLERS[read[start].type](read[start:end], uow)
            else:
                for item in read[start:end]:
                    await HANDLERS[item.type](item, uow)
            start = end
        await uow.commit()


async def settle_scores(pool: asyncpg.Pool, settings: Settings, clock: Clock, p: Province) -> None:
    """Fire the province's meeting rating checks due at the clock's time, each as the schedule runner does."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT id, kind, subject_id, due_at, attempts, cursor FROM schedule WHERE kind = 'score.meeting'"
            " AND subject_id LIKE $1 AND done_at IS NULL AND due_at <= $2 ORDER BY subject_id",
            f"{p.cell}%",
            clock.value,
        )
    for row in rows:
        async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
            await run_job(Job(**dict(row)), uow)
            await uow.outgoing.finish_job(row["id"], now=clock.value)
            await uow.commit()


async def outcome(pool: asyncpg.Pool, p: Province) -> dict[str, Any]:
    """Notices, deliveries, planned checks and stored ratings about the province, its ids made generic."""
    names = {
        p.committee: "COMMITTEE",
        p.cell: "CELL",
        p.secretary: "SECRETARY",
        p.deputy: "DEPUTY",
        p.member: "MEMBER",
        p.exempt: "EXEMPT",
        p.monitor: "MONITOR",
    }

    def generic(value: Any) -> Any:
        if isinstance(value, str):
            for real, name in names.items():
                value = value.replace(real, name)
        elif isinstance(value, list | tuple):
            return tuple(generic(item) for item in value)
        return value

    async with pool.acquire() as conn:
        notices = await conn.fetch(
            "SELECT n.rule, n.subject_id, n.recipient_id, n.recipient_kind, n.recipient_emails, n.period, n.title,"
            " n.body, n.digest_pending, array_agg(d.channel || ':' || d.status ORDER BY d.channel) AS deliveries"
            " FROM notification n LEFT JOIN delivery d ON d.notification_id = n.id"
            " WHERE n.cell_id = $1 OR n.subject_id LIKE $2 GROUP BY n.id",
            p.cell,
            f"{p.cell}%",
        )
        jobs = await conn.fetch(
            "SELECT kind, subject_id, due_at, done_at FROM schedule WHERE subject_id LIKE $1", f"{p.cell}%"
        )
        scores = await conn.fetch(
            "SELECT period, rating, score, version_time, version_id FROM cell_score WHERE cell_id = $1"
            " UNION ALL SELECT meeting_id, rating || CASE WHEN provisional THEN '?' ELSE '' END, score, version_time,"
            " version_id || '@' || received_at::text FROM meeting_score WHERE cell_id = $1",
            p.cell,
        )
        meetings = await conn.fetch(
            "SELECT m.meeting_id, m.minutes_submitted_at, m.ended_at, array_agg(d.kind || '@' || d.published_at::text"
            " ORDER BY d.kind) AS documents FROM meeting m LEFT JOIN meeting_document d USING (meeting_id)"
            " WHERE m.meeting_id LIKE $1 GROUP BY m.meeting_id",
            f"{p.cell}%",
        )
        rosters = await conn.fetch(
            "SELECT meeting_id, member_id, status FROM meeting_attendance WHERE meeting_id LIKE $1", f"{p.cell}%"
        )

    def period(row: Any) -> dict[str, Any]:
        # a change notice is keyed by the version of the fact that made it, whose id is the run's own
        changed = row["period"].startswith("change:")
        # a correction's follow-up is keyed by a digest of the added members' ids, which are the run's own
        added = "|added:" in row["period"]
        return dict(row) | ({"period": "change"} if changed else {}) | ({"period": "added"} if added else {})

    return {
        "notices": sorted(tuple(generic(value) for value in period(row).values()) for row in notices),
        "jobs": sorted(tuple(generic(value) for value in row.values()) for row in jobs),
        "scores": sorted(tuple(generic(value) for value in row.values()) for row in scores),
        "meetings": sorted(tuple(generic(value) for value in row.values()) for row in meetings),
        "rosters": sorted(tuple(generic(value) for value in row.values()) for row in rosters),
    }


CROSSING_RULES = ("consecutive_absences", "unexcused_months")


def crossings_told(notices: list[tuple[Any, ...]]) -> Counter[tuple[str, str, str]]:
    """(rule, recipient, member) of every member an absence-threshold alert names to a recipient: one alert per
    recipient per meeting names all who crossed at it, so members announced in one batch share one alert where one
    by one the later ones come in a follow-up; either way each member reaches each recipient once."""
    return Counter(
        (row[0], row[2], who)
        for row in notices
        if row[0] in CROSSING_RULES
        for name, who in ABSENTEE_NAMES.items()
        if name in row[6] + row[7].partition("\n\n")[2]
    )


def without_crossings(found: dict[str, Any]) -> dict[str, Any]:
    """The outcome without the absence-threshold alerts (crossings_told compares them)."""
    return found | {"notices": [row for row in found["notices"] if row[0] not in CROSSING_RULES]}


async def test_a_batch_yields_the_same_notices_checks_and_ratings_as_the_same_events_one_by_one(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    clock = Clock(wall_clock().replace(microsecond=0))
    alone, together = Province(), Province()
    for p in (alone, together):
        await prepare(pool, settings, clock, p)

    await one_by_one(pool, settings, clock, stream(alone, clock.value))
    await as_batch(pool, settings, clock, stream(together, clock.value))

    expected = await outcome(pool, alone)
    assert expected["notices"], "the stream raises alerts"
    assert {row[0] for row in expected["notices"]} >= {"consecutive_absences"}
    assert {(row[0], row[1]) for row in expected["jobs"] if row[0] == "score.meeting"} == {
        ("score.meeting", "CELL-m1"),  # the recent meeting's latest score is low: its settled rating judged later
        ("score.meeting", "CELL-m3"),  # so is the unknown one's (the old one's raises nothing)
    }
    assert expected["jobs"] and expected["scores"]
    got = await outcome(pool, together)
    assert without_crossings(got) == without_crossings(expected)
    assert crossings_told(got["notices"]) == crossings_told(expected["notices"])
    assert crossings_told(got["notices"]) == Counter(
        {
            (rule, who, named): 1
            for rule in CROSSING_RULES
            for who in ("SECRETARY", "COMMITTEE")
            for named in ("MEMBER", "DEPUTY")
        }
        | {(rule, "DEPUTY", "MEMBER"): 1 for rule in CROSSING_RULES}
    )
    together_alerts = [row for row in got["notices"] if row[0] in CROSSING_RULES]
    assert len(together_alerts) == 2 * 3  # the batch: one alert per recipient and rule, naming both

    clock.value += timedelta(minutes=30)  # the scores settled: the checks fire alike
    for p in (alone, together):
        await settle_scores(pool, settings, clock, p)
    expected = await outcome(pool, alone)
    assert {row[0] for row in expected["notices"]} >= {"meeting_rated_low", "consecutive_absences"}
    got = await outcome(pool, together)
    assert without_crossings(got) == without_crossings(expected)
    assert crossings_told(got["notices"]) == crossings_told(expected["notices"])


async def test_a_batch_seen_again_changes_nothing(pool: asyncpg.Pool, settings: Settings) -> None:
    clock = Clock(wall_clock().replace(microsecond=0))
    p = Province()
    await prepare(pool, settings, clock, p)
    await as_batch(pool, settings, clock, stream(p, clock.value))
    first = await outcome(pool, p)

    await as_batch(pool, settings, clock, stream(p, clock.value))  # handlers alone, no inbox: still no new notice

    assert await outcome(pool, p) == first


async def test_the_settings_of_many_cells_at_once_are_those_of_each_alone(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    clock = Clock(wall_clock())
    p = Province()
    await prepare(pool, settings, clock, p)
    orphan, unknown_parent = random_id("cell"), random_id("ward")  # its committee not known yet
    await one_by_one(
        pool,
        settings,
        clock,
        [
            event(
                "org.unit.upserted.v1",
                {"id": orphan, "name": "Chi bộ mới", "kind": "cell", "parent_id": unknown_parent},
            )
        ],
    )
    async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
        for unit_id, more_than in ((unknown_parent, 5), (p.committee, 7)):
            await uow.projection.set_rule_override(
                RuleOverride(unit_id=unit_id, rule="consecutive_absences", params={"more_than": more_than})
            )
        cells = [orphan, p.cell, random_id("nowhere")]
        alone = {cell_id: await config_for(cell_id, uow) for cell_id in cells}
        uow.configs.clear()
        together = await configs_for(cells, uow)
    assert together == alone
    assert [config.param("consecutive_absences", "more_than") for config in together.values()] == [5, 7, 3]


def _newcomer(p: Province, member_id: str) -> CloudEvent:
    return event(
        "member.upserted.v1",
        {
            "id": member_id,
            "full_name": "Đỗ Thị Mai",
            "cell_id": p.cell,
            "status": "official",
            "role": "member",
            "email": p.email(member_id),
        },
        event_id=f"{p.cell}-n{member_id[-4:]}",
    )


async def test_newcomers_in_one_transaction_hear_of_every_meeting_ahead_even_one_scheduled_between_them(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    clock = Clock(wall_clock().replace(microsecond=0))
    alone, together = Province(), Province()
    for p in (alone, together):
        await prepare(pool, settings, clock, p)
        await one_by_one(pool, settings, clock, [p.scheduled(f"{p.cell}-m4", clock.value + timedelta(days=3))])

    def newcomers(p: Province) -> list[CloudEvent]:
        later = p.scheduled(f"{p.cell}-m5", clock.value + timedelta(days=9))
        return [_newcomer(p, f"{p.cell}-x1"), _newcomer(p, f"{p.cell}-x2"), later, _newcomer(p, f"{p.cell}-x3")]

    await one_by_one(pool, settings, clock, newcomers(alone))
    await as_batch(pool, settings, clock, newcomers(together))

    expected = await outcome(pool, alone)
    heard = {(row[1], row[2]) for row in expected["notices"] if row[0] == "meeting_scheduled"}
    assert {("CELL-m4", "CELL-x1"), ("CELL-m4", "CELL-x3"), ("CELL-m5", "CELL-x1"), ("CELL-m5", "CELL-x3")} <= heard
    assert await outcome(pool, together) == expected


def _documents(p: Province, meeting_id: str, kinds: list[str], *, at: datetime, tag: str) -> CloudEvent:
    return event(
        "documents.published.v1",
        {
            "meeting_id": meeting_id,
            "published_at": at.isoformat(),
            "items": [{"title": f"Tài liệu {kind}", "kind": kind} for kind in kinds],
        },
        event_id=f"{p.cell}-d{tag}",
    )


def _minutes(p: Province, meeting_id: str, *, ended_at: datetime, time: datetime, tag: str) -> CloudEvent:
    return event(
        "minutes.submitted.v1",
        {
            "meeting_id": meeting_id,
            "started_at": (ended_at - timedelta(hours=2)).isoformat(),
            "ended_at": ended_at.isoformat(),
            "chair_id": p.secretary,
            "recorder_id": p.deputy,
            "speakers": [],
            "resolutions": [],
            "tasks": [],
        },
        time=time,
        event_id=f"{p.cell}-n{tag}",
    )


async def test_documents_and_minutes_in_one_transaction_are_stored_as_one_by_one(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    clock = Clock(wall_clock().replace(microsecond=0))
    alone, together = Province(), Province()
    for p in (alone, together):
        await prepare(pool, settings, clock, p)

    def papers(p: Province) -> list[CloudEvent]:
        t = clock.value - timedelta(days=3)
        known, unknown = f"{p.cell}-m1", f"{p.cell}-m9"
        return [
            _documents(p, known, ["content", "draft_resolution"], at=t, tag="1"),
            _documents(p, known, ["content", "content", "minutes"], at=t - timedelta(hours=5), tag="2"),
            _documents(p, unknown, ["resolution"], at=t, tag="3"),
            _minutes(p, known, ended_at=t + timedelta(hours=3), time=t + timedelta(hours=4), tag="4"),
            _minutes(p, known, ended_at=t + timedelta(hours=2), time=t + timedelta(hours=9), tag="5"),
            _minutes(p, unknown, ended_at=t, time=t, tag="6"),
            _documents(p, known, ["minutes"], at=t - timedelta(hours=9), tag="7"),
        ]

    await one_by_one(pool, settings, clock, papers(alone))
    await as_batch(pool, settings, clock, papers(together))

    expected = await outcome(pool, alone)
    assert len(expected["meetings"]) == 3
    assert await outcome(pool, together) == expected


def _roster(p: Province, meeting_id: str, absent: list[str], *, time: datetime, tag: str) -> CloudEvent:
    people = [p.secretary, p.deputy, p.member, p.exempt]
    return event(
        "attendance.recorded.v1",
        {
            "meeting_id": meeting_id,
            "records": [
                {"member_id": person, "status": "absent" if person in absent else "present"} for person in people
            ],
        },
        time=time,
        event_id=f"{p.cell}-r{tag}",
    )


async def test_rosters_in_one_transaction_alert_and_store_as_one_by_one(pool: asyncpg.Pool, settings: Settings) -> None:
    clock = Clock(wall_clock().replace(microsecond=0))
    alone, together = Province(), Province()
    for p in (alone, together):
        await prepare(pool, settings, clock, p)

    def rosters(p: Province) -> list[CloudEvent]:
        t = clock.value - timedelta(hours=1)
        recent, old, unknown, later = f"{p.cell}-m1", f"{p.cell}-m2", f"{p.cell}-m8", f"{p.cell}-m5"
        return [
            _minutes(p, recent, ended_at=t, time=t, tag="1"),  # held before its rosters arrive
            _minutes(p, old, ended_at=t, time=t, tag="2"),
            p.scheduled(later, clock.value - timedelta(days=1)),
            _roster(p, recent, [p.member], time=t, tag="1"),
            _roster(p, old, [p.deputy], time=t, tag="2"),
            _roster(p, recent, [p.deputy], time=t + timedelta(seconds=1), tag="3"),  # newer: alerts again
            _roster(p, recent, [p.secretary], time=t - timedelta(seconds=1), tag="4"),  # stale: nothing
            _roster(p, unknown, [p.member], time=t, tag="5"),
            _roster(p, later, [p.member], time=t, tag="6"),  # no minutes yet: nothing until they arrive
            _minutes(p, later, ended_at=t, time=t, tag="3"),  # held now: its roster's absence alerts
            _minutes(p, unknown, ended_at=t, time=t, tag="4"),  # its meeting is not known: nothing
            _minutes(p, recent, ended_at=t, time=t + timedelta(seconds=1), tag="5"),  # again: nothing new
        ]

    await one_by_one(pool, settings, clock, rosters(alone))
    await as_batch(pool, settings, clock, rosters(together))

    expected = await outcome(pool, alone)
    # the held recent meetings' applied rosters, whichever of roster and minutes came first (the newer roster of m1
    # adds the deputy: told in a follow-up)
    assert told(expected["notices"]) == {("MEMBER", "CELL-m1"), ("DEPUTY", "CELL-m1"), ("MEMBER", "CELL-m5")}
    assert await outcome(pool, together) == expected


async def test_schedules_and_rosters_of_many_meetings_in_one_transaction_notify_and_alert_as_one_by_one(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """The batch handlers of meeting.scheduled.v1 and attendance.recorded.v1: stretches of meetings named once are
    stored at once, a meeting named twice goes one by one; notices, jobs, rosters and absence alerts as one by one."""
    clock = Clock(wall_clock().replace(microsecond=0))
    alone, together = Province(), Province()
    for p in (alone, together):
        await prepare(pool, settings, clock, p)

    def facts(p: Province) -> list[CloudEvent]:
        t = clock.value - timedelta(hours=1)
        recent, ahead, held, old, moved, late = (f"{p.cell}-m{i}" for i in (1, 6, 7, 8, 9, 10))
        return [
            *[
                _minutes(p, meeting_id, ended_at=t, time=t, tag=f"1{i}")
                for i, meeting_id in enumerate((held, recent, late))
            ],
            p.scheduled(ahead, clock.value + timedelta(days=3)),
            p.scheduled(held, clock.value - timedelta(days=2)),
            p.scheduled(moved, clock.value + timedelta(days=5)),
            p.scheduled(old, clock.value - timedelta(days=200)),
            p.scheduled(moved, clock.value + timedelta(days=6)),  # named twice in the run: one by one
            p.scheduled(recent, clock.value - timedelta(days=2)),  # known already: a newer snapshot
            _roster(p, held, [p.member], time=t, tag="11"),
            _roster(p, recent, [p.deputy], time=t, tag="12"),
            _roster(p, old, [p.deputy], time=t, tag="13"),
            _roster(p, late, [p.member], time=t, tag="14"),  # its meeting is not known yet
            _roster(p, ahead, [p.secretary], time=t, tag="15"),
            _roster(p, held, [p.deputy], time=t + timedelta(seconds=1), tag="16"),  # named twice: one by one
            p.scheduled(late, clock.value - timedelta(days=1)),  # its roster was stored before
        ]

    await one_by_one(pool, settings, clock, facts(alone))
    await as_batch(pool, settings, clock, facts(together))

    expected = await outcome(pool, alone)
    # the old meeting's roster stays silent, as does that of the one without minutes (m6)
    assert told(expected["notices"]) == {
        ("MEMBER", "CELL-m7"),
        ("DEPUTY", "CELL-m7"),
        ("DEPUTY", "CELL-m1"),
        ("MEMBER", "CELL-m10"),
    }
    assert {row[1] for row in expected["notices"] if row[0] == "meeting_scheduled"} >= {"CELL-m6", "CELL-m9"}
    assert len(expected["rosters"]) == 5 * 4
    assert await outcome(pool, together) == expected


def _member_snapshot(p: Province, member_id: str, *, status: str, role: str, time: datetime, tag: str) -> CloudEvent:
    return event(
        "member.upserted.v1",
        {
            "id": member_id,
            "full_name": f"Hoàng Văn {tag}",
            "cell_id": p.cell,
            "status": status,
            "role": role,
            "email": p.email(member_id),
            "admitted_on": (time - timedelta(days=300)).date().isoformat(),
        },
        time=time,
        event_id=f"{p.cell}-u{tag}",
    )


async def test_members_of_a_cell_without_meetings_ahead_are_stored_and_planned_as_one_by_one(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """The batch handler of member.upserted.v1: members of a cell with no meeting ahead are stored in one statement
    and their probation checks planned in one; stale and twice-named snapshots as one by one."""
    clock = Clock(wall_clock().replace(microsecond=0))
    alone, together = Province(), Province()
    for p in (alone, together):
        await prepare(pool, settings, clock, p)

    def members(p: Province) -> list[CloudEvent]:
        t = clock.value - timedelta(hours=1)
        x1, x2, x3 = f"{p.cell}-x1", f"{p.cell}-x2", f"{p.cell}-x3"
        return [
            _member_snapshot(p, x1, status="probationary", role="member", time=t, tag="1"),
            _member_snapshot(p, x2, status="probationary", role="member", time=t, tag="2"),
            _member_snapshot(p, x2, status="official", role="member", time=t + timedelta(seconds=1), tag="3"),
            _member_snapshot(p, x3, status="official", role="committee_member", time=t, tag="4"),
            _member_snapshot(p, p.member, status="official", role="member", time=t, tag="5"),  # newer: applied
            _member_snapshot(p, p.deputy, status="official", role="member", time=p.origin, tag="6"),  # stale
        ]

    await one_by_one(pool, settings, clock, members(alone))
    await as_batch(pool, settings, clock, members(together))

    async def stored(p: Province) -> list[tuple[Any, ...]]:
        async with pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT full_name, status, role, admitted_on, removed, version_id LIKE $1 || '%'"
                " FROM member WHERE cell_id = $1 ORDER BY 1, 2, 3",
                p.cell,
            )
        return [tuple(row.values()) for row in rows]

    expected = await outcome(pool, alone)
    probations = [row[1] for row in expected["jobs"] if row[0] == "member.probation"]
    assert probations == ["CELL-x1", "CELL-x2"]  # x2's official snapshot plans nothing and leaves the check
    assert await outcome(pool, together) == expected
    assert len(await stored(alone)) == 7
    assert await stored(together) == await stored(alone)


async def test_schedules_of_meetings_in_several_cells_in_one_transaction_notify_and_alert_as_one_by_one(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """A stretch of meeting.scheduled.v1 across cells (their contexts, settings, rosters and jobs read and written
    for the whole stretch at once): each cell's notices, deliveries, jobs and absence alerts as one by one (one cell
    with a reminder lead time of its own)."""
    clock = Clock(wall_clock().replace(microsecond=0))
    alone, together = (Province(), Province()), (Province(), Province())
    for p in (*alone, *together):
        await prepare(pool, settings, clock, p)
    for first, _ in (alone, together):  # the first cell's meetings come a day earlier and are not reminded of
        async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
            await uow.projection.set_rule_override(
                RuleOverride(unit_id=first.cell, rule="meeting_reminder", enabled=True, params={"hours_before": 48})
            )
            await uow.commit()

    def facts(a: Province, b: Province) -> list[CloudEvent]:
        t = clock.value - timedelta(hours=1)
        return [
            _minutes(a, f"{a.cell}-m5", ended_at=t, time=t, tag="21"),  # held: minutes before its meeting is known
            _roster(a, f"{a.cell}-m5", [a.member], time=t, tag="21"),  # stored before its meeting is known
            _roster(b, f"{b.cell}-m6", [b.member], time=t, tag="22"),  # no minutes: its schedule alerts nothing
            a.scheduled(f"{a.cell}-m3", clock.value + timedelta(days=2)),
            b.scheduled(f"{b.cell}-m3", clock.value + timedelta(days=3)),
            a.scheduled(f"{a.cell}-m4", clock.value + timedelta(days=4)),
            b.scheduled(f"{b.cell}-m4", clock.value - timedelta(days=300)),  # history: silent, no jobs
            a.scheduled(f"{a.cell}-m5", clock.value - timedelta(days=1)),  # held: its roster's absence alerts
            b.scheduled(f"{b.cell}-m5", clock.value + timedelta(days=5)),
            b.scheduled(f"{b.cell}-m6", clock.value - timedelta(days=1)),
        ]

    await one_by_one(pool, settings, clock, facts(*alone))
    await as_batch(pool, settings, clock, facts(*together))

    for expected_of, got_of in zip(alone, together, strict=True):
        expected = await outcome(pool, expected_of)
        assert await outcome(pool, got_of) == expected
    a, b = [await outcome(pool, p) for p in alone]
    assert {row[1] for row in a["notices"] if row[0] == "meeting_scheduled"} == {"CELL-m3", "CELL-m4"}
    assert {row[1] for row in b["notices"] if row[0] == "meeting_scheduled"} == {"CELL-m3", "CELL-m5"}
    assert told(a["notices"]) == {("MEMBER", "CELL-m5")}
    assert not [row for row in b["notices"] if row[0] == "unexcused_absence"]
    assert {row[1] for row in b["jobs"]} >= {"CELL-m3", "CELL-m5"} and "CELL-m4" not in {row[1] for row in b["jobs"]}
    reminder = {
        (cell, row[1]): row[2] for cell, o in (("a", a), ("b", b)) for row in o["jobs"] if row[0] == "meeting.reminder"
    }
    assert reminder["a", "CELL-m3"] == clock.value + timedelta(days=2) - timedelta(hours=48)
    assert reminder["b", "CELL-m3"] == clock.value + timedelta(days=3) - timedelta(hours=3)


async def test_a_batch_of_minutes_reads_the_absentees_of_all_its_held_recent_meetings_at_once(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """Issue 12: a batch's roster alerts are decided once (_roster_alerts_many), not meeting by meeting: the rosters'
    absentees of all its held, recent meetings in one query, whatever their number, and the alerts as one by one."""
    clock = Clock(wall_clock().replace(microsecond=0))
    alone, together = Province(), Province()
    for p in (alone, together):
        await prepare(pool, settings, clock, p)
    t = clock.value - timedelta(hours=1)

    def rosters(p: Province) -> list[CloudEvent]:
        ids = [f"{p.cell}-m{i}" for i in (3, 4, 5)]
        return [
            *[p.scheduled(meeting_id, clock.value - timedelta(days=1)) for meeting_id in ids],
            *[_roster(p, meeting_id, [p.member], time=t, tag=f"r{i}") for i, meeting_id in enumerate(ids)],
            _roster(p, f"{p.cell}-m2", [p.deputy], time=t, tag="old"),  # the old meeting: never alerts
        ]

    def minutes(p: Province) -> list[CloudEvent]:
        return [
            _minutes(p, f"{p.cell}-m{i}", ended_at=t, time=t, tag=f"m{i}") for i in (3, 4, 5, 2)
        ]  # all four held now

    await one_by_one(pool, settings, clock, [*rosters(alone), *minutes(alone)])
    await as_batch(pool, settings, clock, rosters(together))
    sent: list[str] = []
    read = [read_event(item, READING_MODELS) for item in minutes(together)]
    async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:

        def note(record: Any) -> None:
            sent.append(record.query)

        uow.connection.add_query_logger(note)
        await BATCH_HANDLERS["minutes.submitted.v1"](read, uow)
        uow.connection.remove_query_logger(note)
        await uow.commit()

    expected = await outcome(pool, alone)
    assert told(expected["notices"]) == {("MEMBER", "CELL-m3"), ("MEMBER", "CELL-m4"), ("MEMBER", "CELL-m5")}
    assert await outcome(pool, together) == expected
    assert len([query for query in sent if "FROM meeting_attendance" in query]) == 1
