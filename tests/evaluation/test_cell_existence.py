"""A cell counts only in the months it existed: its own periods and every roll-up above it (real database).

The defect: a cell created on 2026-10-20 was rated Poor for 2026-01..09, its year counted twelve months, and the
commune's closed May roll-up counted it (Poor, 0), so adding a cell rewrote closed history.
"""

import json
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

import services.evaluation
from services.evaluation import queries
from services.evaluation.bootstrap import prepare
from services.evaluation.handlers import FACT_HANDLERS, score_touched
from services.evaluation.handlers.closing import close_periods
from shared.contracts.registry import read_event
from shared.envelope import parse_envelope
from tests.evaluation.private_db import private_pool
from tests.evaluation.stream import at, cell_history, fact, unit


class Clock:
    """Today's date in Vietnam, as the test sets it."""

    def __init__(self, today: date) -> None:
        self.now = today

    def __call__(self) -> date:
        return self.now


def held(cell_id: str, meeting_id: str, start: datetime) -> list[dict[str, Any]]:
    """A regular meeting held with minutes and a full roster."""
    minutes = {
        "meeting_id": meeting_id,
        "started_at": start.isoformat(),
        "ended_at": (start + timedelta(minutes=95)).isoformat(),
        "chair_id": f"{cell_id}-m1",
        "recorder_id": f"{cell_id}-m2",
        "speakers": [f"{cell_id}-m1", f"{cell_id}-m2"],
        "resolutions": [{"text": "Nghị quyết", "votes_for": 3, "votes_against": 0, "abstentions": 0}],
        "tasks": [],
    }
    records = [{"member_id": f"{cell_id}-m{n}", "status": "present"} for n in (1, 2, 3)]
    scheduled = {
        "meeting_id": meeting_id,
        "cell_id": cell_id,
        "kind": "regular",
        "starts_at": start.isoformat(),
        "location": "Nhà văn hóa",
        "agenda": ["Kiểm điểm"],
    }
    return [
        fact("meeting.scheduled.v1", scheduled, time=start - timedelta(days=5)),
        fact("attendance.recorded.v1", {"meeting_id": meeting_id, "records": records}, time=start),
        fact("minutes.submitted.v1", minutes, time=start + timedelta(hours=2)),
    ]


async def apply(factory: Any, events: list[dict[str, Any]]) -> None:
    """Handle each fact in its own transaction and score it, as the consumer does."""
    for raw in events:
        event = read_event(parse_envelope(json.dumps(raw)))
        async with factory() as uow:
            await FACT_HANDLERS[event.type](event, uow)
            await score_touched(uow)
            await uow.commit()


async def periods(pool: asyncpg.Pool, cell_id: str) -> dict[str, asyncpg.Record]:
    """The stored periods of a cell."""
    rows = await pool.fetch("SELECT * FROM cell_period WHERE cell_id = $1", cell_id)
    return {row["period"]: row for row in rows}


async def published(pool: asyncpg.Pool, cell_id: str) -> set[str]:
    """Every period a score.cell.updated.v1 of the cell was put in the outbox for."""
    rows = await pool.fetch(
        "SELECT DISTINCT payload->'data'->>'period' AS period FROM outbox"
        " WHERE type = 'score.cell.updated.v1' AND payload->'data'->>'cell_id' = $1",
        cell_id,
    )
    return {row["period"] for row in rows}


async def rollup(pool: asyncpg.Pool, period: str) -> dict[str, Any]:
    async with pool.acquire() as conn:
        return await queries.committee_rollup(conn, "ward", period)


async def ranked(pool: asyncpg.Pool, period: str) -> list[str]:
    async with pool.acquire() as conn:
        page = await queries.committee_ranking(conn, "ward", period, order="asc", limit=50, offset=0)
    return [item["cell_id"] for item in page["items"]]


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[dict[str, Any]]:
    """The ward with an old cell (since 2026-01, meetings March to June) and, on 2026-12-01, a cell created
    2026-10-20 that met in October and November; November is closed."""
    clock = Clock(date(2026, 12, 1))
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=clock)
        events = cell_history(committee_id="ward", cell_id="cell-old", prefix="h")
        events.append(unit("cell-new", time=datetime.fromisoformat("2026-10-20T09:00:00+07:00")))
        events += held("cell-new", "new-10", at(10, 25)) + held("cell-new", "new-11", at(11, 5))
        await apply(factory, events)
        await close_periods(uow_factory=factory)
        yield {"pool": pool, "factory": factory, "clock": clock}


async def test_a_new_cell_is_not_rated_before_it_existed_and_its_year_counts_its_months(
    world: dict[str, Any],
) -> None:
    pool, factory, clock = world["pool"], world["factory"], world["clock"]
    found = await periods(pool, "cell-new")
    assert sorted(found) == ["2026", "2026-10", "2026-11", "2026-12", "2026-Q4"]
    assert not {f"2026-{month:02d}" for month in range(1, 10)} & await published(pool, "cell-new")
    assert not {"2026-Q1", "2026-Q2", "2026-Q3"} & await published(pool, "cell-new")
    october, november = found["2026-10"]["score"], found["2026-11"]["score"]
    # December is running without a meeting yet: not over, so not counted Poor in the running quarter and year
    assert found["2026"]["months_counted"] == 2 and found["2026-Q4"]["months_counted"] == 2
    assert found["2026"]["score"] == pytest.approx((october + november) / 2)
    assert "in_progress" in found["2026"]["flags"] and "in_progress" in found["2026-12"]["flags"]

    # the year ends: 2026 is final over October to December (December without a meeting is Poor, 0)
    clock.now = date(2027, 1, 2)
    await close_periods(uow_factory=factory)
    year = (await periods(pool, "cell-new"))["2026"]
    assert "in_progress" not in year["flags"] and year["months_counted"] == 3
    assert year["months_with_regular"] == 2 and year["score"] == pytest.approx((october + november) / 3)
    # scaled to 3 of 12 months: at most 2 × 3 // 12 = 0 Poor months for Average, so one Poor month makes it Poor
    assert year["rating"] == "poor"


async def test_a_committee_counts_a_cell_only_in_the_periods_it_existed_in(world: dict[str, Any]) -> None:
    pool = world["pool"]
    may = await rollup(pool, "2026-05")
    assert may["cells"] == 1 and may["by_rating"]["poor"] + may["by_rating"]["average"] <= 1
    old_may = (await periods(pool, "cell-old"))["2026-05"]["score"]
    assert may["score"] == round(old_may, 2)
    assert await ranked(pool, "2026-05") == ["cell-old"]
    assert "cell-new" not in [cell["cell_id"] for cell in may["weakest"]]
    year = await rollup(pool, "2026")
    assert year["cells"] == 2
    november = await rollup(pool, "2026-11")
    assert november["cells"] == 2 and sorted(await ranked(pool, "2026-11")) == ["cell-new", "cell-old"]


async def test_a_late_older_snapshot_moves_the_start_and_rates_the_months_it_now_covers(
    world: dict[str, Any],
) -> None:
    pool, factory = world["pool"], world["factory"]
    await apply(factory, [unit("cell-new", time=datetime.fromisoformat("2026-08-15T09:00:00+07:00"))])
    found = await periods(pool, "cell-new")
    assert sorted(found) == ["2026", "2026-08", "2026-09", "2026-10", "2026-11", "2026-12", "2026-Q3", "2026-Q4"]
    assert found["2026-08"]["rating"] == "poor" and found["2026-Q3"]["months_counted"] == 2
    assert found["2026"]["months_counted"] == 4  # August to November; December is running without a meeting
    assert {"2026-08", "2026-09", "2026-Q3"} <= await published(pool, "cell-new")
    assert (await rollup(pool, "2026-08"))["cells"] == 2
    assert (await rollup(pool, "2026-05"))["cells"] == 1
    # the same snapshot again, or a later one, changes nothing
    before = {period: row["score"] for period, row in found.items()}
    await apply(factory, [unit("cell-new", time=datetime.fromisoformat("2026-11-30T09:00:00+07:00"))])
    assert {period: row["score"] for period, row in (await periods(pool, "cell-new")).items()} == before


async def test_a_cell_made_inactive_is_not_rated_after_the_month_it_ended(world: dict[str, Any]) -> None:
    pool, factory, clock = world["pool"], world["factory"], world["clock"]
    await apply(factory, [unit("cell-new", time=datetime.fromisoformat("2026-11-20T09:00:00+07:00"), active=False)])
    assert sorted(await periods(pool, "cell-new")) == ["2026", "2026-10", "2026-11", "2026-Q4"]
    clock.now = date(2027, 2, 1)
    await close_periods(uow_factory=factory)
    found = await periods(pool, "cell-new")
    assert sorted(found) == ["2026", "2026-10", "2026-11", "2026-Q4"]
    assert found["2026"]["months_counted"] == 2 and "in_progress" not in found["2026"]["flags"]
    # December was published in progress before it ended; nothing of 2027 is
    assert not {"2027-01", "2027-Q1", "2027"} & await published(pool, "cell-new")


async def test_a_cell_made_inactive_still_counts_in_its_committees_periods_before_it_ended(
    world: dict[str, Any],
) -> None:
    """The defect: the tree walk stopped at an inactive cell, so deactivating it in November took it out of the
    ward's October and November roll-ups, rankings and the year too, rewriting closed history."""
    pool, factory, clock = world["pool"], world["factory"], world["clock"]
    november = await rollup(pool, "2026-11")
    await apply(factory, [unit("cell-new", time=datetime.fromisoformat("2026-11-20T09:00:00+07:00"), active=False)])
    clock.now = date(2027, 2, 1)
    await close_periods(uow_factory=factory)
    for period in ("2026-10", "2026-11", "2026-Q4", "2026"):
        assert (await rollup(pool, period))["cells"] == 2, period
    after = await rollup(pool, "2026-11")
    assert after["score"] == november["score"] and after["by_rating"] == november["by_rating"]
    assert sorted(await ranked(pool, "2026-11")) == ["cell-new", "cell-old"]
    # from the month after it ended, the ward has only the old cell
    for period in ("2026-12", "2027-01", "2027-Q1", "2027"):
        assert (await rollup(pool, period))["cells"] == 1, period
        assert await ranked(pool, period) == ["cell-old"], period


CREATED = datetime.fromisoformat("2026-12-01T10:00:00+07:00")
TODAY = date(2026, 12, 1)


async def rollup_on(pool: asyncpg.Pool, period: str, today: date) -> dict[str, Any]:
    """The ward's roll-up as asked on `today` (whether its quarter or year is still running)."""
    async with pool.acquire() as conn:
        return await queries.committee_rollup(conn, "ward", period, today=today)


async def ranking_on(pool: asyncpg.Pool, period: str, today: date, **page: Any) -> list[dict[str, Any]]:
    async with pool.acquire() as conn:
        found = await queries.committee_ranking(conn, "ward", period, limit=50, offset=0, today=today, **page)
    return list(found["items"])


@pytest.mark.parametrize("large_subtree", [1, 2000], ids=["ordered-pages", "whole-subtree"])
async def test_a_cell_set_up_in_the_running_month_without_a_meeting_has_its_quarter_and_year_not_rated(
    world: dict[str, Any], large_subtree: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """User trial: k1-cell, created on 1 December, read 2026-Q4 and 2026 Poor at 0 (in progress), and the ward's
    roll-ups counted it so ("0;Kém", among the weakest, lowering the average), while the older cells' running December
    was left out. The same rule for every cell: its running quarter and year are not rated yet (both read strategies
    of the roll-up and ranking: off the ordered indexes, and the whole subtree)."""
    monkeypatch.setattr(queries, "LARGE_SUBTREE", large_subtree)
    pool, factory, clock = world["pool"], world["factory"], world["clock"]
    before = {period: await rollup_on(pool, period, TODAY) for period in ("2026-Q4", "2026")}
    await apply(factory, [unit("k1-cell", time=CREATED)])
    found = await periods(pool, "k1-cell")
    assert sorted(found) == ["2026-12"]  # no 2026-Q4, no 2026: not rated yet
    month = found["2026-12"]  # the running month itself: Poor until its meeting (the pages: not met yet)
    assert (month["rating"], month["score"], "in_progress" in month["flags"]) == ("poor", 0, True)
    assert not {"2026-Q4", "2026"} & await published(pool, "k1-cell")
    for period in ("2026-Q4", "2026"):
        shown = await rollup_on(pool, period, TODAY)
        assert (shown["cells"], shown["not_rated"]) == (3, 1), period
        # out of the ratings, the score and its trend, the rates and the weakest: as before the cell was created
        for key in ("by_rating", "score", "regularity", "thematic_coverage", "trend", "weakest", "irregular"):
            assert shown[key] == before[period][key], (period, key)
        assert "k1-cell" not in [cell["cell_id"] for cell in shown["weakest"]]
        weak = await ranking_on(pool, period, TODAY, order="asc", weak_only=True)
        assert "k1-cell" not in [cell["cell_id"] for cell in weak]
        for order in ("asc", "desc"):
            items = await ranking_on(pool, period, TODAY, order=order)
            assert [item["cell_id"] for item in items][-1] == "k1-cell", (period, order)  # after every rated cell
            assert (items[-1]["score"], items[-1]["rating"]) == (None, None)
    # the running month still reads as evaluation rates it: k1-cell among the cells without the meeting yet
    december = await rollup_on(pool, "2026-12", TODAY)
    assert december["not_rated"] == 0 and december["irregular"] == december["cells"] == 3

    # December closes without a meeting: every period holding it counts it, Poor at 0 (issue 12), as for any cell
    clock.now = date(2027, 1, 2)
    await close_periods(uow_factory=factory)
    found = await periods(pool, "k1-cell")
    for period in ("2026-12", "2026-Q4", "2026"):
        row = found[period]
        assert (row["rating"], row["score"], row["months_counted"]) == ("poor", 0, 1), period
        assert "in_progress" not in row["flags"], period
    assert {"2026-Q4", "2026"} <= await published(pool, "k1-cell")
    quarter = await rollup_on(pool, "2026-Q4", clock.now)
    assert quarter["not_rated"] == 0 and "k1-cell" in [cell["cell_id"] for cell in quarter["weakest"]]


async def test_a_cell_set_up_in_the_running_month_is_rated_from_its_meeting_once_it_meets(
    world: dict[str, Any],
) -> None:
    pool, factory = world["pool"], world["factory"]
    await apply(factory, [unit("k1-cell", time=CREATED), *held("k1-cell", "k1-12", at(12, 1, 19))])
    found = await periods(pool, "k1-cell")
    assert sorted(found) == ["2026", "2026-12", "2026-Q4"]
    december = found["2026-12"]["score"]
    assert december > 0
    for period in ("2026-Q4", "2026"):
        row = found[period]
        assert (row["score"], row["months_counted"], row["months_with_regular"]) == (december, 1, 1), period
        assert row["rating"] == found["2026-12"]["rating"] and "in_progress" in row["flags"], period
        shown = await rollup_on(pool, period, TODAY)
        assert (shown["cells"], shown["not_rated"]) == (3, 0), period
        assert sum(shown["by_rating"].values()) == 3, period
    assert {"2026-Q4", "2026"} <= await published(pool, "k1-cell")
    # its only meeting cancelled: not rated yet again (the rows go, the roll-ups' sums with them)
    await apply(factory, [fact("meeting.cancelled.v1", {"meeting_id": "k1-12", "reason": "hoãn"}, time=at(12, 2))])
    assert sorted(await periods(pool, "k1-cell")) == ["2026-12"]
    assert (await rollup_on(pool, "2026-Q4", TODAY))["not_rated"] == 1


async def test_migration_0012_drops_the_rows_stored_poor_under_the_old_rule(world: dict[str, Any]) -> None:
    """An existing database keeps the Poor rows the old rule stored for such periods: migration 0012 drops them (and
    their roll-up sums), leaving every other row, in-progress ones included, as it was."""
    pool, factory = world["pool"], world["factory"]
    await apply(factory, [unit("k1-cell", time=CREATED)])
    expected = {period: await rollup_on(pool, period, TODAY) for period in ("2026-Q4", "2026")}
    others = await pool.fetch("SELECT * FROM cell_period WHERE cell_id <> 'k1-cell' ORDER BY cell_id, period")
    # what the old rule stored and published: the running month alone, Poor at 0
    await pool.execute(
        "INSERT INTO cell_period (cell_id, period, rating, score, regular_held, thematic_held, present, counted,"
        " speakers_present, months_counted, months_with_regular, flags)"
        " SELECT cell_id, p, rating, score, regular_held, thematic_held, present, counted, speakers_present,"
        " months_counted, months_with_regular, flags FROM cell_period, unnest(ARRAY['2026-Q4', '2026']) AS p"
        " WHERE cell_id = 'k1-cell' AND period = '2026-12'"
    )
    assert (await rollup_on(pool, "2026-Q4", TODAY))["not_rated"] == 0
    sql = (Path(services.evaluation.__file__).parent / "migrations" / "0012_unrated_running_periods.sql").read_text()
    await pool.execute(sql.replace("now()", "timestamptz '2026-12-01 12:00:00+07'"))
    assert sorted(await periods(pool, "k1-cell")) == ["2026-12"]
    for period, before in expected.items():
        assert await rollup_on(pool, period, TODAY) == before, period
    after = await pool.fetch("SELECT * FROM cell_period WHERE cell_id <> 'k1-cell' ORDER BY cell_id, period")
    assert [dict(row) for row in after] == [dict(row) for row in others]


async def cell_periods_on(pool: asyncpg.Pool, cell_id: str, year: int | None, today: date) -> dict[str, Any]:
    """The cell's periods as the `cell_periods` RPC lists them on `today`, by period (in their order)."""
    async with pool.acquire() as conn:
        return {item["period"]: item for item in await queries.cell_periods(conn, cell_id, year, today=today)}


async def test_a_cells_running_quarter_and_year_not_rated_yet_are_listed_not_rated(world: dict[str, Any]) -> None:
    """`GET /v1/cells/{c}/ratings` left k1-cell's 2026-Q4 and 2026 out while they were not rated yet (set up on
    1 December, not met): they are listed, `not_rated`, without rating or score, until the cell meets or December
    closes; the closed and rated periods read as stored."""
    pool, factory, clock = world["pool"], world["factory"], world["clock"]
    await apply(factory, [unit("k1-cell", time=CREATED)])
    listed = await cell_periods_on(pool, "k1-cell", 2026, TODAY)
    assert list(listed) == ["2026-12", "2026-Q4", "2026"]
    assert (listed["2026-12"]["rating"], listed["2026-12"].get("not_rated")) == ("poor", None)
    for period in ("2026-Q4", "2026"):
        item = listed[period]
        assert (item["rating"], item["score"], item["not_rated"], item["flags"]) == (None, None, True, ["in_progress"])
    assert list(await cell_periods_on(pool, "k1-cell", None, TODAY)) == list(listed)
    assert await cell_periods_on(pool, "k1-cell", 2025, TODAY) == {}
    # an older cell's running quarter and year are rated (its closed months count): nothing added
    old = await cell_periods_on(pool, "cell-old", 2026, TODAY)
    assert not [item for item in old.values() if item.get("not_rated")] and {"2026-Q4", "2026"} <= set(old)
    # it meets: rated; its only meeting cancelled: not rated again
    await apply(factory, held("k1-cell", "k1-12", at(12, 1, 19)))
    rated = await cell_periods_on(pool, "k1-cell", 2026, TODAY)
    assert [rated[p]["rating"] is not None and not rated[p].get("not_rated") for p in ("2026-Q4", "2026")] == [
        True,
        True,
    ]
    await apply(factory, [fact("meeting.cancelled.v1", {"meeting_id": "k1-12", "reason": "hoãn"}, time=at(12, 2))])
    again = await cell_periods_on(pool, "k1-cell", 2026, TODAY)
    assert [again[p].get("not_rated") for p in ("2026-Q4", "2026")] == [True, True]
    # December closes without a meeting: Poor, rated; the next running quarter and year are those not rated yet
    clock.now = date(2027, 1, 2)
    await close_periods(uow_factory=factory)
    closed = await cell_periods_on(pool, "k1-cell", 2026, clock.now)
    assert [(closed[p]["rating"], closed[p].get("not_rated")) for p in ("2026-Q4", "2026")] == [("poor", None)] * 2
    later = await cell_periods_on(pool, "k1-cell", 2027, clock.now)
    assert [p for p, item in later.items() if item.get("not_rated")] == ["2027-Q1", "2027"]


async def test_migration_0013_sums_the_thematic_coverage_of_the_cells_that_met_from_the_stored_periods(
    world: dict[str, Any],
) -> None:
    """An existing database has roll-up sums without `thematic_met`: migration 0013 adds them from the stored cell
    periods of every subtree, so a month's `met_thematic_coverage` reads as if the sums had always had it."""
    pool = world["pool"]
    expected = {period: await rollup_on(pool, period, TODAY) for period in ("2026-05", "2026-06", "2026-Q2")}
    assert expected["2026-05"]["met_thematic_coverage"] == 1.0  # cell-old's combined meeting in May
    await pool.execute("UPDATE committee_period_delta SET thematic_met = 0")
    assert (await rollup_on(pool, "2026-05", TODAY))["met_thematic_coverage"] == 0.0
    sql = (
        Path(services.evaluation.__file__).parent / "migrations" / "0013_thematic_coverage_of_cells_met.sql"
    ).read_text()
    await pool.execute(sql)
    for period, before in expected.items():
        assert await rollup_on(pool, period, TODAY) == before, period
