"""The operators' command line (`python -m shared.ops`) prints every time as RFC 3339: `held list` and `rejections
list` printed PostgreSQL's text of a timestamptz (`2026-12-03 05:20:17.123+00`: a space, an offset without its
minutes), and any other time Python's str() (`2026-12-03 05:20:17+00:00`), which a script reading the JSON as RFC 3339
(as the API writes times) refused."""

import asyncio
import io
import json
import re
from datetime import date, datetime
from typing import Any

import asyncpg
import pytest

from shared.db import apply_migrations, migration_files
from shared.ops import __main__ as cli
from tests.support.ids import random_id
from tests.support.ops import ROOT, ops

RFC3339 = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$")


async def test_held_events_and_rejections_are_listed_with_rfc3339_times(amqp_url: str, database_url: str) -> None:
    await apply_migrations(database_url, schema="gateway", files=migration_files(ROOT / "services" / "gateway"))
    await apply_migrations(database_url, schema="meetings", files=migration_files(ROOT / "services" / "meetings"))
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "meetings"})
    held, rejected = random_id("held"), random_id("rej")
    try:
        await conn.execute(
            "INSERT INTO held_event (source, event_id, type, raw, waiting_for, reason, route, held_at)"
            " VALUES ('urn:test', $1, 't', '{}'::jsonb, 'unit:x', 'waiting', 'test', now() - interval '1 hour')",
            held,
        )
        await conn.execute(
            "INSERT INTO rejection (rejection_id, source, event_id, type, reason, raw, route, received_at, status,"
            " last_replay_at, dismissed_at, dismissed_by, dismissal_reason)"
            " VALUES ($1, 'urn:test', $1, 't', 'bad', '{}', 'test', now() - interval '2 hours', 'dismissed',"
            " now() - interval '1 hour', now(), 'cli:test', 'rác')",
            rejected,
        )
        listed = await asyncio.to_thread(ops, amqp_url, database_url, "held", "list", "--limit", "1000")
        [row] = [item for item in listed["items"] if item["event_id"] == held]
        assert RFC3339.match(row["held_at"]), row
        listed = await asyncio.to_thread(
            ops, amqp_url, database_url, "rejections", "list", "--status", "dismissed", "--limit", "1000"
        )
        [row] = [item for item in listed["items"] if item["rejection_id"] == rejected]
        for key in ("received_at", "last_replay_at", "dismissed_at"):
            assert RFC3339.match(row[key]), (key, row)
    finally:
        await conn.execute("DELETE FROM held_event WHERE event_id = $1", held)
        await conn.execute("DELETE FROM rejection WHERE rejection_id = $1", rejected)
        await conn.close()


def test_every_time_the_command_line_prints_is_rfc3339(monkeypatch: pytest.MonkeyPatch) -> None:
    async def run(*_: Any) -> dict[str, Any]:
        return {
            "aware": datetime.fromisoformat("2026-12-03T05:20:17.5+07:00"),
            "naive": datetime(2026, 12, 3, 5, 20, 17),  # an AMQP timestamp read without its zone: UTC
            "nested": [{"at": datetime.fromisoformat("2026-12-03T05:20:17+00:00")}],
            "day": date(2026, 12, 3),
        }

    printed = io.StringIO()
    monkeypatch.setattr(cli, "run", run)
    monkeypatch.setattr(cli.sys, "stdout", printed)
    assert cli.main(["held", "list"]) == 0
    answer = json.loads(printed.getvalue())
    assert answer["aware"] == "2026-12-03T05:20:17.500000+07:00"
    assert answer["naive"] == "2026-12-03T05:20:17Z"  # as the API writes a UTC time
    assert RFC3339.match(answer["nested"][0]["at"])
    assert answer["day"] == "2026-12-03"
