"""The fast roll-up read side (migration 0005: subtree_cell, summed deltas, ordered pages) equals the recursive walk.

A generated tree of any depth with mixed ratings, cells without a stored period, ties and zero scores is changed
step by step the way facts and scorers change it (a committee and a cell moved, a cell added mid-period, a parent
arriving after its children, a subtree deactivated and back, a cycle in bad data, cells that began or ended
within the periods and spans moved, periods rewritten, upserted and deleted); after each step every unit's roll-up,
ranking pages and period check equal the reference.
"""

import math
import random
from datetime import date
from typing import Any

import asyncpg
import pytest

from services.evaluation import queries
from shared.periods import period_months, previous_period
from tests.evaluation import rollup_reference as reference
from tests.evaluation.private_db import private_pool

PERIODS = ("2026-09", "2026-10", "2026-Q3", "2026-Q4", "2026")
CHECKED = ("2026-10", "2026-Q4", "2026")
CLOSED = date(2027, 1, 5)
"""The day the fast read side is asked on: every checked period closed, as the reference walk reads them."""
PAGES = (
    {"order": "asc", "limit": 7, "offset": 0},
    {"order": "desc", "limit": 7, "offset": 0},
    {"order": "desc", "limit": 5, "offset": 6},
    {"order": "asc", "limit": 4, "offset": 0, "weak_only": True},
    {"order": "asc", "limit": 3, "offset": 5, "weak_only": True},
)
MONTH_PAGES = (
    {"order": "asc", "limit": 4, "offset": 0, "weak_only": True, "met_only": True},
    {"order": "asc", "limit": 3, "offset": 2, "weak_only": True, "met_only": True},
)
"""The weakest of a month among the cells that held its regular meeting (the web's month in progress)."""
UNITS = [
    ("p", "committee", None, True),
    ("c1", "committee", "p", True),
    ("c2", "committee", "p", True),
    ("g1", "committee", "c1", True),
    ("g2", "committee", "c1", True),
    ("g3", "committee", "c2", True),
    ("d1", "committee", "c2", True),  # an older, deeper level (a district)
    ("g4", "committee", "d1", True),
    ("g5", "committee", "c2", False),  # inactive: its cells are nobody's
]


def _cells(rng: random.Random) -> list[tuple[str, str, str, str | None, bool]]:
    cells = []
    for parent in ("g1", "g2", "g3", "g4", "g5", "c1"):
        for n in range(rng.randint(3, 6)):
            cells.append((f"k-{parent}-{n}", "cell", parent, rng.random() > 0.1))
    return [(cell_id, f"Chi bộ {cell_id}", kind, parent, active) for cell_id, kind, parent, active in cells]


def _period_row(rng: random.Random, cell_id: str, period: str) -> tuple[object, ...]:
    choice = rng.random()
    # ties (0 and 50), integral, half and quarter scores (whose float sums are exact, so the walk's avg() is the exact
    # mean) and scores as a framework gives them (100 × points ÷ applicable maximum, never a tie when rounded)
    if choice < 0.1:
        score = 0.0
    elif choice < 0.25:
        score = 50.0
    elif choice < 0.6:
        score = rng.randint(0, 399) / 4
    else:
        maximum = rng.choice([95, 85, 63])
        score = 100 * rng.randint(0, maximum) / maximum
    rating = rng.choice(["good", "fair", "average", "poor"])
    counted = rng.randint(0, 20)
    present = rng.randint(0, counted)
    months = 1 if len(period) == 7 and "Q" not in period else 3 if "Q" in period else 12
    with_regular = rng.randint(0, months)
    regular_held = rng.randint(0, 2)
    if months == 1:
        # as evaluation stores a month: without its regular meeting it is Poor at 0 (what met_only counts on)
        regular_held = rng.randint(1, 2) if with_regular else 0
        if not with_regular:
            rating, score = "poor", 0.0
    return (
        cell_id,
        period,
        rating,
        score,
        regular_held,
        rng.randint(0, 1),
        present,
        counted,
        rng.randint(0, present),
        months,
        with_regular,
        # every meeting held (a row rated before evaluation kept the count: NULL), read by the ranking lines
        rng.choice([None, regular_held + rng.randint(0, 2)]),
    )


UPSERT = (
    "INSERT INTO cell_period (cell_id, period, rating, score, regular_held, thematic_held, present, counted,"
    " speakers_present, months_counted, months_with_regular, meetings_held)"
    " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::int[], $6::int[], $7::int[],"
    " $8::int[], $9::int[], $10::int[], $11::int[], $12::int[])"
    " ON CONFLICT (cell_id, period) DO UPDATE SET rating = EXCLUDED.rating, score = EXCLUDED.score,"
    " regular_held = EXCLUDED.regular_held, thematic_held = EXCLUDED.thematic_held, present = EXCLUDED.present,"
    " counted = EXCLUDED.counted, speakers_present = EXCLUDED.speakers_present,"
    " months_counted = EXCLUDED.months_counted, months_with_regular = EXCLUDED.months_with_regular,"
    " meetings_held = EXCLUDED.meetings_held"
)


async def _upsert(conn: asyncpg.Connection, rows: list[tuple[object, ...]]) -> None:
    """One statement inserting and updating periods, as the scorer's set-based write does."""
    await conn.execute(UPSERT, *[list(column) for column in zip(*rows, strict=True)])


async def _add_units(conn: asyncpg.Connection, units: list[tuple[str, str, str, str | None, bool]]) -> None:
    await conn.executemany(
        "INSERT INTO unit (id, name, kind, parent_id, active, fact_time, fact_id) VALUES ($1, $2, $3, $4, $5, now(),"
        " 'test')",
        units,
    )


async def _set_spans(conn: asyncpg.Connection, spans: list[tuple[str, str, str | None]]) -> None:
    """Store cells' spans and drop their periods wholly outside them, as the scorer does."""
    await conn.executemany(
        "INSERT INTO cell_span (cell_id, first_month, last_month) VALUES ($1, $2, $3)"
        " ON CONFLICT (cell_id) DO UPDATE SET first_month = EXCLUDED.first_month, last_month = EXCLUDED.last_month",
        spans,
    )
    await conn.executemany(
        "DELETE FROM cell_period WHERE cell_id = $1 AND NOT cell_in_period($2, $3, period)",
        spans,
    )


def _near_half_cent(score: float | None) -> bool:
    return score is not None and abs(score * 100 - math.floor(score * 100) - 0.5) < 1e-6


async def _align_half_cent_ties(
    conn: asyncpg.Connection, unit: str, period: str, fast: dict[str, Any], slow: dict[str, Any]
) -> None:
    """Where the mean lies on a half cent (say 36.875) up to float error, the walk's float8 sum (in its scan order)
    and the exact sum may round it to different cents: accept that cent, and only there."""
    means = [await reference.raw_score(conn, unit, each) for each in (period, previous_period(period))]
    for holder, key in ((fast, "score"), (fast["trend"], "previous_score"), (fast["trend"], "score_delta")):
        other = slow if holder is fast else slow["trend"]
        if holder[key] != other[key]:
            assert any(_near_half_cent(mean) for mean in means), (unit, period, key, holder[key], other[key], means)
            assert abs(holder[key] - other[key]) <= 0.02 + 1e-9
            holder[key] = other[key]


async def _assert_same(conn: asyncpg.Connection, step: str) -> None:
    units = [row["id"] for row in await conn.fetch("SELECT id FROM unit ORDER BY id")]
    checked = [unit for unit in units if not unit.startswith("k-")] + units[:: max(1, len(units) // 6)] + ["nobody"]
    # the many-unit read (GetUnitRollups, SUMS_MANY) gives each unit the figures its own read (SUMS) gives it
    many = {
        period: {
            item["committee_id"]: item
            for item in (await queries.unit_rollups(conn, checked, period, today=CLOSED))["items"]
        }
        for period in CHECKED
    }
    for unit in checked:
        direct = [
            row["id"] for row in await conn.fetch("SELECT id FROM unit WHERE parent_id = $1 AND kind = 'cell'", unit)
        ]
        for period in CHECKED:
            # the summary PDF's count of the cells directly under a unit: those the many-unit read lists with cells
            listed = (await queries.unit_rollups(conn, direct, period, today=CLOSED))["items"] if direct else []
            counted = await queries.direct_cells(conn, unit, period)
            assert counted == sum(1 for item in listed if item["cells"]), (step, unit, period)
            fast = reference.published(await queries.committee_rollup(conn, unit, period, today=CLOSED))
            # each step's few tree changes are applied by the read itself (nothing else holds the tree lock)
            assert (fast.pop("recalculating"), fast.pop("pending_tree_changes")) == (False, 0), (step, unit, period)
            alone = {k: v for k, v in fast.items() if k not in ("weakest", "late_changes", "late_changes_total")}
            data = await reference.has_data(conn, unit, period_months(period)[-1])
            assert reference.published(many[period].get(unit)) == (alone if data else None), (step, unit, period)
            slow = await reference.committee_rollup(conn, unit, period)
            if fast != slow:
                await _align_half_cent_ties(conn, unit, period, fast, slow)
            assert fast == slow, (step, unit, period)
            for page in PAGES + (MONTH_PAGES if len(period) == 7 and "Q" not in period else ()):
                fast = reference.published(await queries.committee_ranking(conn, unit, period, today=CLOSED, **page))  # type: ignore[arg-type]
                # as the roll-up's: nothing left waiting (the read before applied this step's few changes)
                assert (fast.pop("recalculating"), fast.pop("pending_tree_changes")) == (False, 0), (step, unit, period)
                slow = await reference.committee_ranking(conn, unit, period, **page)  # type: ignore[arg-type]
                assert fast == slow, (step, unit, period, page)
        for month in ("1999-01", "2026-08", "2026-09", "2026-12"):
            try:
                await queries.check_period_rated(conn, unit, month, today=CLOSED)
                rated = True
            except queries.PeriodNotRated:
                rated = False
            assert rated == await reference.has_data(conn, unit, month), (step, unit, month)


@pytest.mark.parametrize("large_subtree", [1, 2000], ids=["ordered-pages", "whole-subtree"])
async def test_fast_rollups_equal_the_recursive_walk_as_the_tree_and_periods_change(
    database_url: str, large_subtree: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the size from which pages are read off the ordered indexes is a tuning threshold: both strategies are checked
    monkeypatch.setattr(queries, "LARGE_SUBTREE", large_subtree)
    rng = random.Random(20261130 + large_subtree)
    async with private_pool(database_url) as pool, pool.acquire() as conn:
        cells = _cells(rng)
        committees = [(unit, f"Đảng ủy {unit}", kind, parent, active) for unit, kind, parent, active in UNITS]
        await _add_units(conn, committees)
        await _add_units(conn, cells)
        rows = [_period_row(rng, cell[0], period) for cell in cells for period in PERIODS if rng.random() > 0.15]
        await _upsert(conn, rows)
        await _assert_same(conn, "generated")

        await conn.execute("UPDATE unit SET parent_id = 'c2' WHERE id = 'g2'")
        await _assert_same(conn, "committee moved to another commune")

        await conn.execute("UPDATE unit SET parent_id = 'g3' WHERE id = 'k-g1-0'")
        await _upsert(conn, [_period_row(rng, "k-g1-0", "2026-10")])
        await _assert_same(conn, "cell moved between committees, then rescored")

        await _add_units(conn, [("k-new", "Chi bộ mới", "cell", "g1", True)])
        await _assert_same(conn, "cell added mid-period, nothing stored yet")
        await _upsert(conn, [_period_row(rng, "k-new", "2026-10"), _period_row(rng, "k-new", "2026-Q4")])
        await _assert_same(conn, "cell added mid-period, scored")

        await _add_units(conn, [("k-late", "Chi bộ sau", "cell", "g9", True)])
        await _upsert(conn, [_period_row(rng, "k-late", "2026-10")])
        await _assert_same(conn, "parent not known yet")
        await _add_units(conn, [("g9", "Đảng bộ 9", "committee", "c1", True)])
        await _assert_same(conn, "parent arrived")

        await conn.execute("UPDATE unit SET active = false WHERE id = 'c1'")
        await _assert_same(conn, "commune deactivated")
        await conn.execute("UPDATE unit SET active = true WHERE id IN ('c1', 'g5')")
        await _assert_same(conn, "commune and grassroots reactivated")

        await _add_units(
            conn,
            [
                ("x", "Vòng x", "committee", "y", True),
                ("y", "Vòng y", "committee", "x", True),
                ("k-x", "Chi bộ x", "cell", "x", True),
            ],
        )
        await _upsert(conn, [_period_row(rng, "k-x", "2026-10")])
        await _assert_same(conn, "a cycle in bad data")

        # cells that began or ended inside the checked periods (the scorer stores a span with its periods and drops
        # those wholly outside it): counted only in the periods they existed in, then a span moved earlier
        spans: list[tuple[str, str, str | None]] = [
            ("k-g1-1", "2026-10", None),
            ("k-g2-0", "2026-11", None),
            ("k-g3-0", "2026-01", "2026-09"),
        ]
        spans += [("k-g4-0", "2026-12", "2026-12"), ("k-c1-0", "2027-02", None), ("k-new", "2026-10", None)]
        await _set_spans(conn, spans)
        # a cell that ended before a checked month with a month stored before it: data up to the month, yet no cell
        # of it (not among the cells directly under its committee either)
        await _upsert(conn, [_period_row(rng, "k-g3-0", "2026-09")])
        await _assert_same(conn, "cells with spans")
        await conn.execute("UPDATE unit SET active = false WHERE id = 'k-g3-0'")
        await _assert_same(conn, "a cell made inactive counts in its span")
        moved: list[tuple[str, str, str | None]] = [
            ("k-g2-0", "2026-07", None),
            ("k-g3-0", "2026-01", None),
            ("k-c1-0", "2026-10", None),
        ]
        await _set_spans(conn, moved)
        spans = [span for span in spans if span[0] not in {cell for cell, _, _ in moved}] + moved
        await _upsert(conn, [_period_row(rng, "k-c1-0", period) for period in CHECKED])
        await _assert_same(conn, "spans moved")

        rewritten = [_period_row(rng, cell[0], period) for cell in cells for period in CHECKED if rng.random() > 0.5]
        await _upsert(conn, rewritten)
        await _set_spans(conn, spans)  # the scorer never writes a period outside a cell's span
        await conn.execute("DELETE FROM cell_period WHERE cell_id = ANY($1::text[])", [c[0] for c in cells[:3]])
        await conn.execute("UPDATE cell_period SET flags = '{in_progress}' WHERE period = '2026-Q4'")
        await _assert_same(conn, "periods rewritten, deleted, flagged")

        # scorers one cell at a time pile up deltas; a read folds them and the sums stay exact
        for _ in range(queries.COMPACT_PIECES + 5):
            await _upsert(conn, [_period_row(rng, rng.choice(cells)[0], "2026-10")])
        await _set_spans(conn, spans)
        await _assert_same(conn, "many small writes")
        pieces, keys = await conn.fetchrow(
            "SELECT count(*), count(DISTINCT period) FROM committee_period_delta WHERE committee_id = 'p'"
        )
        assert pieces == keys  # one row per period and per count key ('', '+month', '-month')

        # the background fold of every unit's appended deltas leaves the sums as they were
        for _ in range(3):
            await _upsert(conn, [_period_row(rng, rng.choice(cells)[0], "2026-Q4")])
        await _set_spans(conn, spans)
        assert await queries.fold_rollup_deltas(conn) > 0
        assert await conn.fetchval("SELECT count(*) FROM committee_period_delta WHERE NOT folded") == 0
        await _assert_same(conn, "deltas folded")
