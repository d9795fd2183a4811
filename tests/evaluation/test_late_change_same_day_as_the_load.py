"""A province loads its history on 6 December (November first rated that morning, after it closed), and later that
same day a secretary records a regular meeting of 30 November that moves November (Tốt 100 -> Trung bình): no
`late_change` anywhere, since the rule of migration 0045 only counted a fact received on a later DAY than the
month's first rating (`rated_on`). A load's batches may also arrive over hours, out of order, and past midnight: the
day is not what tells the load's own facts from a late recording.

What tells them apart is when the fact happened (its `time`, CONTRACT.md: the source's own attribute): a load's
facts all happened before the load ran, so before it first rated the month, in whatever batch and order they
arrive; a fact recorded after the month was first rated (`rated_at`, migration 0046) that changes it is a late
change, on the same day or any later one (failed before: no note)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.evaluation import queries
from services.evaluation.bootstrap import prepare
from services.evaluation.handlers import scores
from tests.evaluation.private_db import private_pool
from tests.evaluation.stream import at
from tests.evaluation.test_cell_existence import Clock, apply, held
from tests.evaluation.test_late_changes import recorded, short, units


class Moment:
    """The scoring moment (scores.clock), as the test sets it."""

    def __init__(self, moment: datetime) -> None:
        self.now = moment

    def __call__(self) -> datetime:
        return self.now


@asynccontextmanager
async def november_loaded(
    database_url: str, monkeypatch: pytest.MonkeyPatch, moment: datetime
) -> AsyncIterator[tuple[asyncpg.Pool, Any, Clock, Moment]]:
    """A private database on which a history load at `moment` (Vietnam time; its day the service's today, both set
    on the yielded Clock and Moment) rated November: the tree as of 1 November (w1 over c1) and November's regular
    meeting of the 4th. Yields (pool, unit-of-work factory, clock, moment)."""
    clock, now = Clock(moment.date()), Moment(moment)
    monkeypatch.setattr(scores, "clock", now)
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=clock)
        await apply(factory, units("w1", "c1", time=at(11, 1, 8)))
        await apply(factory, held("c1", "c1-nov", at(11, 4, 19, 30)))
        yield pool, factory, clock, now


async def test_a_meeting_recorded_the_day_of_the_history_load_notes_the_closed_month_it_changed(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_day = at(12, 6, 8)  # the history exported at 08:00 on 6 December, loaded from then on
    # the load's first batches: the tree and November's regular meeting of the 4th, as the history holds them
    async with november_loaded(database_url, monkeypatch, load_day + timedelta(minutes=5)) as (
        pool,
        factory,
        _,
        moment,
    ):
        first = await pool.fetchrow("SELECT rating, score, rated_from FROM cell_period WHERE period = '2026-11'")
        assert first["rated_from"] == "2026-12"  # first rated after it closed
        # a later batch of the same load, an hour on: a shorter regular meeting of 20 November, exported at 08:00
        moment.now = load_day + timedelta(hours=1)
        await apply(factory, recorded(short(held("c1", "c1-nov20", at(11, 20, 8)), minutes=80), on=load_day))
        loaded = await pool.fetchrow("SELECT rating, score FROM cell_period WHERE period = '2026-11'")
        assert (loaded["rating"], loaded["score"]) != (first["rating"], first["score"])
        assert await pool.fetchval("SELECT count(*) FROM period_late_change") == 0  # the load's own facts: no note
        # at 14:00 the same day the secretary records a weaker regular meeting held at 08:00 on 30 November
        moment.now = at(12, 6, 14, 1)
        await apply(factory, recorded(short(held("c1", "c1-late", at(11, 30, 8)), minutes=60), on=at(12, 6, 14)))
        changed = await pool.fetchrow("SELECT rating, score FROM cell_period WHERE period = '2026-11'")
        assert (changed["rating"], changed["score"]) != (loaded["rating"], loaded["score"])
        async with pool.acquire() as conn:
            noted = await queries.late_changes(conn, ["c1"], ["2026-11"])
        late = noted.get(("c1", "2026-11"))
        assert late is not None, "November changed the day of the load, after the load rated it, unsaid"
        assert (late["meeting_id"], late["old_rating"], late["new_rating"]) == (
            "c1-late",
            loaded["rating"],
            changed["rating"],
        )


async def test_a_backfill_days_after_the_load_with_the_facts_own_past_times_notes_the_closed_month(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A partner backfills a November meeting three days after the load, its events carrying the times they had in
    the partner's system (November): they happened before the load's first rating, yet were no part of the load,
    and the month shown for three days changes (trial 54: an April backfill with April times changed a closed month
    with no note; the rule of 0046 alone judged it by the facts' times; failed before: no note)."""
    async with november_loaded(database_url, monkeypatch, at(12, 6, 8, 5)) as (pool, factory, clock, moment):
        loaded = await pool.fetchrow("SELECT rating, score FROM cell_period WHERE period = '2026-11'")
        clock.now, moment.now = date(2026, 12, 9), at(12, 9, 10)
        backfill = recorded(short(held("c1", "c1-nov25", at(11, 25, 8)), minutes=60), on=at(11, 25, 10))
        await apply(factory, backfill)
        changed = await pool.fetchrow("SELECT rating, score FROM cell_period WHERE period = '2026-11'")
        assert (changed["rating"], changed["score"]) != (loaded["rating"], loaded["score"])
        async with pool.acquire() as conn:
            noted = await queries.late_changes(conn, ["c1"], ["2026-11"])
        late = noted.get(("c1", "2026-11"))
        assert late is not None, "a backfill three days after the load changed November unsaid"
        assert (late["old_rating"], late["new_rating"]) == (loaded["rating"], changed["rating"])
