"""0031_scores_not_begun.sql: a meeting is scored only once it has begun (shared.plausible.meeting_begun; trial 34: a
meeting ahead read a provisional 21.67 Kém), and scores stored before that release of meetings still ahead are
withdrawn. The migration notes those meetings (no minutes, their start after the database's now) for the scoring
worker, which withdraws each (score.meeting.withdrawn.v1, reason not_held, in the outbox) and notes a recheck at its
start; a held meeting's score stays, republished by nobody.

Over a fresh database, the scores stored as a release before 0031 stored them (the scoring clock set after the start of
the meeting ahead), then the migration's statement run. The database has every migration: a database stopped at 0030
would be written by today's code, which reads columns added since (0032's `held_since`), so it could not be seeded."""

import json
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.evaluation.bootstrap import prepare
from services.evaluation.handlers import scores
from shared.envelope import now
from tests.evaluation.migration_cases import migrated, noted_by, score_all_noted, statement
from tests.evaluation.stream import fact, ward_with_cell
from tests.evaluation.test_cell_existence import apply, held

MIGRATION = "0031_scores_not_begun.sql"
STATEMENT = statement(MIGRATION)


class Clock:
    """The scoring moment, set by the test."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


def scheduled(cell_id: str, meeting_id: str, starts_at: datetime) -> dict[str, Any]:
    """meeting.scheduled.v1 of a regular meeting, sent three days before its start."""
    data = {
        "meeting_id": meeting_id,
        "cell_id": cell_id,
        "kind": "regular",
        "starts_at": starts_at.isoformat(),
        "location": "Nhà văn hóa",
        "agenda": ["Thường kỳ"],
    }
    return fact("meeting.scheduled.v1", data, time=starts_at - timedelta(days=3))


async def meeting_events(pool: asyncpg.Pool, after: int) -> list[tuple[str, dict[str, Any]]]:
    """The score.meeting.* events put in the outbox after row `after`: (type, data)."""
    rows = await pool.fetch(
        "SELECT type, (payload::jsonb->'data')::text AS data FROM outbox"
        " WHERE id > $1 AND type LIKE 'score.meeting.%' ORDER BY id",
        after,
    )
    return [(row["type"], json.loads(row["data"])) for row in rows]


async def test_the_migration_withdraws_the_scores_of_meetings_still_ahead_and_keeps_the_held(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = now().replace(microsecond=0)
    start = real + timedelta(days=2)  # ahead of the database's now() when the migration runs
    clock = Clock(start + timedelta(hours=1))  # a release before 0031 scored whatever it had
    monkeypatch.setattr(scores, "clock", clock)
    async with migrated(database_url, MIGRATION) as pool:
        factory = await prepare(pool)
        events = ward_with_cell("cell-a", time=real - timedelta(days=30))
        events += ward_with_cell("cell-b", time=real - timedelta(days=30))
        events += held("cell-a", "mtg-held", real - timedelta(days=2)) + [scheduled("cell-a", "mtg-ahead", start)]
        events += held("cell-b", "mtg-held-b", real - timedelta(days=2))
        await apply(factory, events)
        stored = {row["meeting_id"]: row for row in await pool.fetch("SELECT * FROM meeting_score")}
        assert sorted(stored) == ["mtg-ahead", "mtg-held", "mtg-held-b"]
        assert stored["mtg-ahead"]["provisional"] and not stored["mtg-ahead"]["held"]
        await pool.execute("DELETE FROM dirty_cell")  # what the seeding left noted is not the migration's
        last = await pool.fetchval("SELECT coalesce(max(id), 0) FROM outbox")

        clock.moment = real
        assert await noted_by(pool, STATEMENT) == [("cell-a", ["mtg-ahead"])]

        await score_all_noted(factory)
        assert await meeting_events(pool, last) == [
            ("score.meeting.withdrawn.v1", {"meeting_id": "mtg-ahead", "cell_id": "cell-a", "reason": "not_held"})
        ]
        kept = {row["meeting_id"]: row for row in await pool.fetch("SELECT * FROM meeting_score")}
        assert sorted(kept) == ["mtg-held", "mtg-held-b"]
        assert all(dict(kept[m]) == dict(stored[m]) for m in kept)  # the held scores untouched
        rechecks = await pool.fetch("SELECT due_at FROM score_recheck WHERE meeting_id = 'mtg-ahead'")
        assert [row["due_at"] for row in rechecks] == [start]  # its start scores it

        # the migration's statement again (as over a database migrated since): nothing is ahead and scored now
        await pool.execute(STATEMENT)
        assert await pool.fetchval("SELECT count(*) FROM dirty_cell") == 0
