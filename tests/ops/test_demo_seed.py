"""A second `make up` does not seed the demo province again: deploy/seed_demo.py sends nothing when the database's
meetings service already took in every one of its events, and sends the seed otherwise.

The real meetings service (in-process) takes the seed in from a vhost and a database of this test's own.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from deploy.seed_demo import MEETINGS_SCHEMA, SOURCE, Seed, december_start, publisher, seed_unless_seeded, seeded
from services.meetings.bootstrap import SERVICE_DIR, create_app
from services.meetings.config import Settings
from services.meetings.unit_of_work import SCHEMA
from shared.db import apply_migrations, migration_files
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
    events = Seed(date(2026, 11, 25)).build()
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
    for event in Seed(date(2026, 11, 25)).build():
        if event["type"] == "monitor.assigned.v1":
            names.setdefault(event["data"]["person_id"], set()).add(event["data"]["full_name"])
    assert names and all(len(each) == 1 for each in names.values()), names


def test_every_demo_cell_appears_in_the_month_of_its_first_meeting() -> None:
    """A cell is rated from the month its unit first appears in: the tree was loaded on 1 November 2025 and the first
    meetings held on 4 December, so every cell, the strongest too, read Kém for November and for 2025."""
    appears: dict[str, str] = {}
    first_meeting: dict[str, str] = {}
    for event in Seed(date(2026, 11, 25)).build():
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


def test_decembers_meeting_stays_ahead_of_the_day_the_demo_is_seeded() -> None:
    """Seeded on 4 December at 19:45 in Vietnam, a meeting at 19:30 that day was already begun, and every web test of
    "a meeting ahead" failed from then on: the meeting moves to 19:30 of the next day, never past 31 December."""
    vietnam = ZoneInfo("Asia/Ho_Chi_Minh")
    assert december_start(datetime(2026, 11, 30, 9, 0, tzinfo=vietnam)) == datetime(2026, 12, 4, 19, 30, tzinfo=vietnam)
    assert december_start(datetime(2026, 12, 4, 19, 45, tzinfo=vietnam)) == datetime(
        2026, 12, 5, 19, 30, tzinfo=vietnam
    )
    assert december_start(datetime(2026, 12, 4, 12, 45, tzinfo=UTC)) == datetime(2026, 12, 5, 19, 30, tzinfo=vietnam)
    assert december_start(datetime(2027, 2, 1, 8, 0, tzinfo=vietnam)) == datetime(2026, 12, 31, 19, 30, tzinfo=vietnam)
