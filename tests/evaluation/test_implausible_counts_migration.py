"""0036_implausible_counts_rescored.sql: scores stored before `conduct.speakers` gave 0 with nobody present and
`closing.resolution_adopted` 0 for more votes than members present (a user's roster of five absent scored 2 for "0 of
0 present spoke"; 99999 votes in a cell of 5 scored adopted) are rescored once: the migration notes those held
meetings for the scoring worker, which rescores them; a meeting with its members present and votes within them is
not noted.

Over a fresh database, scored as the release before it scored (its rules), then the migration's statement run. The
database has every migration: a database stopped at 0035 would be written by today's code, which reads the columns
later migrations add, so it could not be seeded (test_scores_not_begun_migration.py, tests/shared/
test_migration_seeding.py)."""

import json
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from services.evaluation.bootstrap import prepare
from services.evaluation.domain import rules
from shared.envelope import now
from shared.reasons import ReasonCode
from tests.evaluation.migration_cases import migrated, noted_by, score_all_noted, statement
from tests.evaluation.stream import fact, ward_with_cell
from tests.evaluation.test_cell_existence import apply, held

MIGRATION = "0036_implausible_counts_rescored.sql"

STATEMENT = statement(MIGRATION)


def all_absent(cell_id: str, meeting_id: str, *, time: Any) -> dict[str, Any]:
    """The meeting's roster with its three members absent."""
    records = [{"member_id": f"{cell_id}-m{n}", "status": "absent"} for n in (1, 2, 3)]
    return fact("attendance.recorded.v1", {"meeting_id": meeting_id, "records": records}, time=time)


def over_voted(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The held meeting's events with its resolution voted by 99999 for (three members present)."""
    for event in events:
        if event["type"] == "minutes.submitted.v1":
            event["data"]["resolutions"][0]["votes_for"] = 99999
    return events


def speakers_before(rule: Any, item: Any, facts: Any) -> Any:
    """`conduct.speakers` as the release before 0036 scored it: a share of nobody read as 0 %, banded."""
    if facts.minutes is None or facts.roster is None:
        return 0, rules.NO_MINUTES
    present = facts.count("present")
    share = facts.speakers_present / present if present else 0.0
    return rules.banded(share, rule.bands, rule.below_points), rules.only(ReasonCode.SPEAKERS_SHARE)


def adopted_before(rule: Any, item: Any, facts: Any) -> Any:
    """`closing.resolution_adopted` as the release before 0036 scored it: a majority of the votes, whatever their
    number."""
    if facts.minutes is None:
        return 0, rules.NO_MINUTES
    adopted = all(r.votes_for * 2 > r.votes_for + r.votes_against for r in facts.minutes.resolutions)
    return (item.max if adopted else 0), rules.only(ReasonCode.RESOLUTIONS_ADOPTED)


async def lines(pool: asyncpg.Pool, meeting_id: str) -> dict[str, float]:
    """The stored points of the two items the migration is about."""
    criteria = await pool.fetchval("SELECT criteria::text FROM meeting_score WHERE meeting_id = $1", meeting_id)
    points = {line["code"]: line["points"] for line in json.loads(criteria)}
    return {code: points[code] for code in ("conduct.speakers", "closing.resolution_adopted")}


async def test_the_migration_rescores_the_meetings_with_nobody_present_or_votes_beyond_them(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = now().replace(microsecond=0)
    start = real - timedelta(days=3)
    async with migrated(database_url, MIGRATION) as pool:
        factory = await prepare(pool)
        events = ward_with_cell("cell-a", time=real - timedelta(days=30))
        events += held("cell-a", "mtg-absent", start)
        events.append(all_absent("cell-a", "mtg-absent", time=start + timedelta(hours=3)))
        events += over_voted(held("cell-a", "mtg-votes", start - timedelta(days=1)))
        events += ward_with_cell("cell-b", time=real - timedelta(days=30)) + held("cell-b", "mtg-fine", start)
        with monkeypatch.context() as release_before:  # scored as the release before 0036 scored
            release_before.setitem(rules.AUTOMATIC, "speakers_share", speakers_before)
            release_before.setitem(rules.AUTOMATIC, "resolution_adopted", adopted_before)
            await apply(factory, events)
        assert await lines(pool, "mtg-absent") == {"conduct.speakers": 2, "closing.resolution_adopted": 2}
        assert await lines(pool, "mtg-votes") == {"conduct.speakers": 5, "closing.resolution_adopted": 2}
        await pool.execute("DELETE FROM dirty_cell")  # what the seeding left noted is not the migration's

        assert await noted_by(pool, STATEMENT) == [("cell-a", ["mtg-absent", "mtg-votes"])]
        await score_all_noted(factory)
        assert await lines(pool, "mtg-absent") == {"conduct.speakers": 0, "closing.resolution_adopted": 0}
        assert await lines(pool, "mtg-votes") == {"conduct.speakers": 5, "closing.resolution_adopted": 0}
