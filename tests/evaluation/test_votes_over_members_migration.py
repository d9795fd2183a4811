"""0038_votes_over_members_rescored.sql: scores stored before `closing.resolution_adopted` judged the votes of
minutes with no roster against the cell's members (an integration's 99999 votes in a cell of 12, no roster, scored
full points) are rescored once: the migration notes the held meetings with minutes with votes and no roster for the
scoring worker, which rescores them; a meeting with a roster is not noted.

Over a fresh database, scored as the release before it scored (its rule), then the migration's statement run. The
database has every migration: one stopped before 0038 would be written by today's code, which reads the columns later
migrations add (test_implausible_counts_migration.py, tests/shared/test_migration_seeding.py)."""

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from services.evaluation.bootstrap import prepare
from services.evaluation.domain import rules
from shared.envelope import now
from tests.evaluation.migration_cases import migrated, noted_by, score_all_noted, statement
from tests.evaluation.stream import ward_with_cell
from tests.evaluation.test_cell_existence import apply, held
from tests.evaluation.test_implausible_counts_migration import lines

MIGRATION = "0038_votes_over_members_rescored.sql"

STATEMENT = statement(MIGRATION)


def unrostered(events: list[dict[str, Any]], votes_for: int) -> list[dict[str, Any]]:
    """The held meeting's events without its roster, its resolution voted by `votes_for` for."""
    for event in events:
        if event["type"] == "minutes.submitted.v1":
            event["data"]["resolutions"][0]["votes_for"] = votes_for
    return [event for event in events if event["type"] != "attendance.recorded.v1"]


def adopted_before(rule: Any, item: Any, facts: Any) -> Any:
    """`closing.resolution_adopted` as the release before 0038 scored it: with no roster, the votes not judged."""
    return rules._resolution_adopted(rule, item, replace(facts, cell_members=None))


async def test_the_migration_rescores_the_meetings_with_minutes_and_no_roster(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = now().replace(microsecond=0)
    start = real - timedelta(days=3)
    async with migrated(database_url, MIGRATION) as pool:
        factory = await prepare(pool)
        events = ward_with_cell("cell-a", time=real - timedelta(days=30))
        events += unrostered(held("cell-a", "mtg-over", start), 99999)
        events += unrostered(held("cell-a", "mtg-within", start - timedelta(days=1)), 2)
        events += ward_with_cell("cell-b", time=real - timedelta(days=30)) + held("cell-b", "mtg-rostered", start)
        with monkeypatch.context() as release_before:  # scored as the release before 0038 scored
            release_before.setitem(rules.AUTOMATIC, "resolution_adopted", adopted_before)
            await apply(factory, events)
        assert (await lines(pool, "mtg-over"))["closing.resolution_adopted"] == 2
        await pool.execute("DELETE FROM dirty_cell")  # what the seeding left noted is not the migration's

        assert await noted_by(pool, STATEMENT) == [("cell-a", ["mtg-over", "mtg-within"])]
        await score_all_noted(factory)
        assert (await lines(pool, "mtg-over"))["closing.resolution_adopted"] == 0
        assert (await lines(pool, "mtg-within"))["closing.resolution_adopted"] == 2
        assert (await lines(pool, "mtg-rostered"))["closing.resolution_adopted"] == 2
