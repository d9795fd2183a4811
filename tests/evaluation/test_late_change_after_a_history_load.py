"""A trial on the demo province (`make up`, its history loaded in December): a regular meeting of 30 November,
recorded on 6 December with its roster and minutes, moved Chi bộ thôn 1's November from Tốt 100 to Trung bình
63,3, and nothing said it changed late: `late_change` null on the cell's months, the ranking and the report, the
roll-up's `late_changes` empty. `domain.periods.late_change` leaves no note for a month whose row was first stored
after it ended (`rated_from` 2026-12 > 2026-11: "a history loaded later"), whatever came after that first rating.

A user sees a province loaded today with its closed months rated today; a fact about one of them received on a
later day is a late change (docs/architecture.md's own example: "a meeting of 30 November recorded on 4 December").
The rule now keeps the day a month was first rated (`rated_on`, migration 0045): the load's own facts, received that
day, leave no note as before; a fact received on a later day that changes the month does (failed before: no note)."""

from datetime import date

import pytest

from services.evaluation import queries
from tests.evaluation.stream import at
from tests.evaluation.test_cell_existence import apply, held
from tests.evaluation.test_late_change_same_day_as_the_load import november_loaded
from tests.evaluation.test_late_changes import recorded, short


async def test_a_meeting_recorded_days_after_the_history_load_notes_the_closed_month_it_changed(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the scoring moment on the test's days (scores.clock): the month's first rating is judged against it; the
    # history loaded on 1 December: the tree as of 1 November, November's regular meeting held on the 4th
    async with november_loaded(database_url, monkeypatch, at(12, 1, 10)) as (pool, factory, clock, moment):
        loaded = await pool.fetchrow("SELECT rating, score, rated_from FROM cell_period WHERE period = '2026-11'")
        assert loaded["rated_from"] == "2026-12"  # first rated after it closed
        assert await pool.fetchval("SELECT count(*) FROM period_late_change") == 0  # the load itself: no note
        # on 6 December the secretary records a weaker regular meeting held at 08:00 on 30 November
        clock.now, moment.now = date(2026, 12, 6), at(12, 6, 9, 1)
        await apply(factory, recorded(short(held("c1", "c1-late", at(11, 30, 8)), minutes=60), on=at(12, 6, 9)))
        changed = await pool.fetchrow("SELECT rating, score FROM cell_period WHERE period = '2026-11'")
        assert (changed["rating"], changed["score"]) != (loaded["rating"], loaded["score"])
        async with pool.acquire() as conn:
            noted = await queries.late_changes(conn, ["c1"], ["2026-11"])
            # what the cell's ratings, the ranking and the roll-up answer (the gateway's replies pass it through)
            months = await queries.cell_periods(conn, "c1", 2026, today=clock.now)
            ranking = await queries.committee_ranking(
                conn, "w1", "2026-11", order="desc", limit=10, offset=0, today=clock.now
            )
            rollup = await queries.committee_rollup(conn, "w1", "2026-11", today=clock.now)
        november = next(item for item in months if item["period"] == "2026-11")
        assert november["late_change"] is not None
        assert [item["late_change"] is not None for item in ranking["items"]] == [True], ranking
        assert [item["cell_id"] for item in rollup["late_changes"]] == ["c1"]
        late = noted.get(("c1", "2026-11"))
        assert late is not None, "November changed on 6 December, after the load rated it, unsaid"
        assert (late["meeting_id"], late["old_rating"], late["new_rating"]) == (
            "c1-late",
            loaded["rating"],
            changed["rating"],
        )
