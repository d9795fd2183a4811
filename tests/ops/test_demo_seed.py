"""A second `make up` does not seed the demo province again: deploy/seed_demo.py sends nothing when the database's
meetings service already took in every one of its events, and sends the seed otherwise.

The real meetings service (in-process) takes the seed in from a vhost and a database of this test's own.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from deploy.seed_demo import (
    AHEAD,
    MEETINGS_SCHEMA,
    SOURCE,
    DemoYear,
    Seed,
    month_id,
    publisher,
    seed_unless_seeded,
    seeded,
)
from services.meetings.bootstrap import SERVICE_DIR, create_app
from services.meetings.config import Settings
from services.meetings.unit_of_work import SCHEMA
from shared.db import apply_migrations, migration_files
from shared.periods import quarter_of
from tests.support.env import fresh_database, isolated_vhost
from tests.support.running import eventually, free_port, running_app

TAKE_IN_SECONDS = 300.0
"""How long the meetings service may take to take the demo's events in on a loaded machine."""


@pytest.fixture
def own(infra: tuple[str, str]) -> Iterator[tuple[str, str]]:
    """(amqp_url, database_url) of a vhost and an empty database of this test's own."""
    with isolated_vhost(infra[0]) as amqp_url, fresh_database(infra[1]) as database_url:
        yield amqp_url, database_url


async def test_the_seed_is_sent_until_meetings_took_it_all_in_then_skipped(own: tuple[str, str]) -> None:
    amqp_url, database_url = own
    assert MEETINGS_SCHEMA == SCHEMA
    events = Seed().build()
    assert not await seeded(database_url, events)  # an empty database: no meetings tables yet
    await apply_migrations(database_url, schema=SCHEMA, files=migration_files(SERVICE_DIR))
    assert not await seeded(database_url, events)  # the tables, nothing taken in

    settings = Settings(
        amqp_url=amqp_url,
        database_url=database_url,
        http_port=free_port(),
        relay_poll_seconds=0.2,
        system_publishers=[publisher(amqp_url)],  # as `make up` runs the seed: its urn:chibo: source is the system's
    )
    async with running_app(create_app(settings), port=settings.http_port):
        # not seeded: the seed is sent, and meetings takes every event in
        assert await seed_unless_seeded(amqp_url, database_url, events) == {
            "seeded_events": len(events),
            "source": SOURCE,
        }
        await eventually(lambda: seeded(database_url, events), timeout=TAKE_IN_SECONDS, interval=0.2)

        # seeded: nothing is sent
        assert await seed_unless_seeded(amqp_url, database_url, events) == {
            "seeded_events": 0,
            "already_seeded": len(events),
            "source": SOURCE,
        }

        # one event missing (a seed cut short): not seeded, so the seed is sent again and the gap is filled
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(
                f"DELETE FROM {SCHEMA}.processed_message WHERE source = $1 AND event_id = $2", SOURCE, events[-1]["id"]
            )
        finally:
            await conn.close()
        assert not await seeded(database_url, events)
        assert (await seed_unless_seeded(amqp_url, database_url, events))["seeded_events"] == len(events)
        await eventually(lambda: seeded(database_url, events), timeout=TAKE_IN_SECONDS, interval=0.2)


def test_a_monitor_of_the_demo_has_one_name_in_every_cell_they_follow() -> None:
    """The seed drew a new name for `<committee>-uv1` at each of its cells: one person, three names on the pages."""
    names: dict[str, set[str]] = {}
    for event in Seed().build():
        if event["type"] == "monitor.assigned.v1":
            names.setdefault(event["data"]["person_id"], set()).add(event["data"]["full_name"])
    assert names and all(len(each) == 1 for each in names.values()), names


VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
SEEDED_AT = [
    datetime(2026, 12, 4, 21, 15, tzinfo=VIETNAM),
    datetime(2027, 1, 15, 10, 0, tzinfo=VIETNAM),
    datetime(2027, 3, 31, 7, 0, tzinfo=VIETNAM),
    datetime(2027, 3, 31, 22, 30, tzinfo=VIETNAM),
    datetime(2027, 12, 31, 16, 0, tzinfo=UTC),  # 23:00 in Vietnam, the year's last evening
    datetime(2028, 2, 29, 12, 0, tzinfo=VIETNAM),
]
"""Seeding moments the demo's calendar is checked at: one a test may not leave to the day it runs on."""


@pytest.mark.parametrize("now", [None, *SEEDED_AT], ids=str)
def test_every_demo_cell_appears_in_the_month_of_its_first_meeting(now: datetime | None) -> None:
    """A cell is rated from the month its unit first appears in: with the tree loaded a month before the first
    meetings, every cell, the strongest too, read Kém for that month and its year."""
    appears: dict[str, str] = {}
    first_meeting: dict[str, str] = {}
    for event in Seed(now).build():
        data = event["data"]
        if event["type"] == "org.unit.upserted.v1" and data["kind"] == "cell":
            appears.setdefault(data["id"], event["time"][:7])
        elif event["type"] == "meeting.scheduled.v1":
            month = data["starts_at"][:7]
            first_meeting[data["cell_id"]] = min(first_meeting.get(data["cell_id"], month), month)
        # nothing about a cell is dated before the cell is
        if "cell_id" in data and data["cell_id"] in appears:
            assert event["time"][:7] >= appears[data["cell_id"]], event["id"]
    assert appears and appears == first_meeting


def test_this_months_meeting_stays_ahead_of_the_moment_the_demo_is_seeded() -> None:
    """Seeded on 4 December at 19:45 in Vietnam, a meeting at 19:30 that day was already begun, and every web test of
    "a meeting ahead" failed from then on: the meeting is on the 4th, or at the first 19:30 at least 12 h ahead; on a
    month's last day after 07:30 that is 19:30 on the 1st of the next month (ahead wins over within the month)."""
    vietnam = VIETNAM

    def ahead(now: datetime) -> datetime:
        return DemoYear.at(now).meeting_ahead

    assert ahead(datetime(2026, 12, 1, 9, 0, tzinfo=vietnam)) == datetime(2026, 12, 4, 19, 30, tzinfo=vietnam)
    assert ahead(datetime(2026, 12, 4, 7, 29, tzinfo=vietnam)) == datetime(2026, 12, 4, 19, 30, tzinfo=vietnam)
    assert ahead(datetime(2026, 12, 4, 19, 45, tzinfo=vietnam)) == datetime(2026, 12, 5, 19, 30, tzinfo=vietnam)
    assert ahead(datetime(2026, 12, 4, 12, 45, tzinfo=UTC)) == datetime(2026, 12, 5, 19, 30, tzinfo=vietnam)
    assert ahead(datetime(2027, 1, 15, 10, 0, tzinfo=vietnam)) == datetime(2027, 1, 16, 19, 30, tzinfo=vietnam)
    # the last day of a month: within it while 19:30 is still 12 h ahead, on the 1st of the next month after that
    assert ahead(datetime(2027, 3, 31, 7, 30, tzinfo=vietnam)) == datetime(2027, 3, 31, 19, 30, tzinfo=vietnam)
    assert ahead(datetime(2027, 3, 31, 7, 31, tzinfo=vietnam)) == datetime(2027, 4, 1, 19, 30, tzinfo=vietnam)
    assert ahead(datetime(2027, 3, 31, 22, 30, tzinfo=vietnam)) == datetime(2027, 4, 1, 19, 30, tzinfo=vietnam)
    assert ahead(datetime(2027, 12, 31, 16, 0, tzinfo=UTC)) == datetime(2028, 1, 1, 19, 30, tzinfo=vietnam)


def months_back(now: datetime, count: int) -> list[str]:
    """The `count` months before the Vietnam month of `now`, oldest first, `YYYY-MM` (counted here on their own)."""
    year, month = now.astimezone(VIETNAM).year, now.astimezone(VIETNAM).month
    found: list[str] = []
    for _ in range(count):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        found.insert(0, f"{year:04d}-{month:02d}")
    return found


@pytest.mark.parametrize("now", SEEDED_AT, ids=str)
def test_the_demo_year_moves_with_the_calendar(now: datetime) -> None:
    """From January 2027 a demo fixed to December 2025 - November 2026 had this month's meeting in the past: the year of
    history is the twelve months ending with last month, the tree loaded on the 1st of the first, this month's
    meeting ahead of the seeding moment, its notice and nothing else after it; the same moment, the same seed."""
    year = DemoYear.at(now)
    local = now.astimezone(VIETNAM)
    history = months_back(now, 12)
    running = f"{local.year:04d}-{local.month:02d}"
    assert [month_id(m) for m in year.months] == history and year.period == history[-1] and year.running == running
    assert year.setup == datetime.fromisoformat(history[0] + "-01T08:00:00+07:00")

    events = Seed(now).build()
    assert events == Seed(now).build()  # deterministic for a given moment
    assert events[0]["time"] == year.setup.isoformat()
    assert all(year.setup <= datetime.fromisoformat(e["time"]) <= now for e in events)  # no event from the future
    scheduled = [e["data"] for e in events if e["type"] == "meeting.scheduled.v1"]
    held = {e["data"]["meeting_id"] for e in events if e["type"] == "minutes.submitted.v1"}
    cells = {data["cell_id"] for data in scheduled}
    assert len(cells) == 6
    for cell in cells:
        meetings = {d["meeting_id"]: d for d in scheduled if d["cell_id"] == cell}
        months = sorted(datetime.fromisoformat(d["starts_at"]).strftime("%Y-%m") for d in meetings.values())
        skipped = {m for m in history if m[5:] in ("04", "10")} if cell == "demo-cb-tram-yte" else set()
        assert (
            {year.meeting_id(cell, m) for m in history if m not in skipped}
            == set(meetings) - {year.meeting_id(cell, running)}
            == {m for m in held if m.startswith(cell + "-2")}
        )
        assert months[:-1] == [m for m in history if m not in skipped]

        # this month's meeting: ahead, no minutes, scheduled a few days before it, within this month but on the last
        # day once its 19:30 is less than 12 h ahead
        ahead = meetings[year.meeting_id(cell, running)]
        starts = datetime.fromisoformat(ahead["starts_at"])
        assert starts >= now + AHEAD and starts.astimezone(VIETNAM).time().isoformat() == "19:30:00"
        last_day = (local + timedelta(days=1)).month != local.month
        if last_day and local.time().isoformat() > "07:30":
            assert starts.astimezone(VIETNAM).date() == local.date() + timedelta(days=1)  # the 1st of next month
        else:
            assert month_id(starts.astimezone(VIETNAM).date()) == running
        assert ahead["kind"] == "regular" and ahead["meeting_id"] not in held

        # quarters: the first month regular; a thematic meeting in each quarter's latest month held after it (the
        # weak cell in the 1st and 3rd quarters only)
        kinds = {
            month_id(datetime.fromisoformat(d["starts_at"]).date()): d["kind"]
            for d in meetings.values()
            if d is not ahead
        }
        assert kinds[history[0]] == "regular"
        for quarter in {quarter_of(datetime.fromisoformat(m + "-15T12:00:00+07:00")) for m in history}:
            in_it = [m for m in history[1:] if quarter_of(datetime.fromisoformat(m + "-15T12:00:00+07:00")) == quarter]
            thematic = [m for m in in_it if kinds.get(m) == "combined"]
            expected = in_it[-1:] if cell != "demo-cb-thon-2" or quarter[-1] in "13" else []
            assert thematic == [m for m in expected if m not in skipped], (cell, quarter)


def test_a_first_month_alone_in_its_quarter_leaves_that_quarter_without_a_thematic_meeting() -> None:
    """The demo's story: seeded in a quarter's last month, the history's first month is the only one of its quarter and
    is regular, so that quarter is Poor without its thematic meeting (2025-Q4 of the demo seeded in December 2026)."""
    for now, quarter in (
        (datetime(2026, 12, 4, 21, 15, tzinfo=VIETNAM), "2025-Q4"),
        (datetime(2027, 3, 31, 22, 30, tzinfo=VIETNAM), "2026-Q1"),
    ):
        year = DemoYear.at(now)
        assert quarter_of(datetime.combine(year.months[0], datetime.min.time(), tzinfo=VIETNAM)) == quarter
        assert all(
            quarter_of(datetime.combine(m, datetime.min.time(), tzinfo=VIETNAM)) != quarter for m in year.months[1:]
        )
        assert not any(
            quarter_of(datetime.combine(m, datetime.min.time(), tzinfo=VIETNAM)) == quarter
            for m in year.thematic("good")
        )
    seeded_in_january = DemoYear.at(datetime(2027, 1, 15, 10, 0, tzinfo=VIETNAM))
    assert [month_id(m) for m in sorted(seeded_in_january.thematic("good"))] == [
        "2026-03",
        "2026-06",
        "2026-09",
        "2026-12",
    ]
    assert [month_id(m) for m in sorted(seeded_in_january.thematic("weak"))] == ["2026-03", "2026-09"]
    assert seeded_in_january.admitted_on == date(2026, 2, 6)
