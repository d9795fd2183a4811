"""A half-year's ranking and report pages chosen in one statement (queries.half_year_page, issue 12: a province's
2026-H1 ranking took 1.2 s and each 5,000-row report page 1.5 s building a line per cell) give exactly what the
line-by-line path they replaced gave (queries.half_year_lines ranked and paged in Python, kept here as
`_ranked` and `_per_cell_report`): the same lines in the same order, the same totals, the same raw scores to the bit
(a report's cursor carries one), on the generated tree of test_half_year_totals (spans within quarters, quarters
without a row, rows counting fewer months, float sums that are not exact, tied scores, cell ids whose Python order
is no collation's, quarters flagged provisional, in progress or otherwise, in a database whose default collation is
vi-VN ICU, not code point order), every half-year read before it began, while its quarters run and after it closed."""

import json
import random
from typing import Any, Literal

import asyncpg

from services.evaluation import queries
from services.evaluation.bootstrap import SERVICE_DIR
from tests.evaluation.test_half_year_totals import COMMITTEES, HALVES, SPANS, TODAYS, _cells, _quarter_row
from tests.evaluation.test_rollup_fast import _add_units, _set_spans, _upsert
from tests.shared.test_code_point_ties import icu_pool

QUARTERS = ("2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3")
SETTLED = {"recalculating": False, "pending_tree_changes": 0}
"""What every reply read off the tree says once its changes are applied (queries.tree_refresh_state)."""
REPORT_KEYS = ("cell_id", "period", "name", "parent_id", "rating", "regular_held", "thematic_held")


def _ranked(lines: list[dict[str, Any]], *, descending: bool = True) -> list[dict[str, Any]]:
    """The per-cell ranking: by score (descending unless asked), ties by id in Python's order, not rated last."""
    rated = sorted(
        (line for line in lines if line["score"] is not None),
        key=lambda line: ((-1 if descending else 1) * line["score"], line["cell_id"]),
    )
    return rated + [line for line in lines if line["score"] is None]


def _weak(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The per-cell weakest cells: rated Average or Poor in a quarter, most quarters Poor first, then most Average,
    then the lowest score (none last), ties by id in Python's order."""

    def count(line: dict[str, Any], rating: str) -> int:
        return sum(1 for found in line["quarter_ratings"].values() if found == rating)

    weak = [line for line in lines if count(line, "poor") or count(line, "average")]
    return sorted(
        weak,
        key=lambda line: (
            -count(line, "poor"),
            -count(line, "average"),
            line["score"] is None,
            line["score"] or 0.0,
            line["cell_id"],
        ),
    )


def _per_cell_report(lines: list[dict[str, Any]], after: tuple[float | None, str | None], limit: int) -> dict[str, Any]:
    """A report page as the per-cell path read it: every line ranked, the page after the cursor's line."""
    ranked = _ranked(lines)
    after_score, after_cell = after
    if after_cell is not None:
        keys = [(line["score"], line["cell_id"]) for line in ranked]
        start = next((index + 1 for index, key in enumerate(keys) if key == (after_score, after_cell)), len(ranked))
        ranked = ranked[start:]
    page = ranked[:limit]
    items = [
        {key: line[key] for key in REPORT_KEYS}
        | {
            "meetings_held": line["meetings_held"],
            "score": line["score"],
            "attendance_rate": line["attendance_rate"],
            "speaking_rate": line["speaking_rate"],
            "flags": line["flags"],
            "not_rated": line["not_rated"],
            "quarter_ratings": line["quarter_ratings"],
            "quarter_provisional": line["quarter_provisional"],
            "quarter_reasons": line["quarter_reasons"],
            "late_change": None,
            "rating_reason": None,
        }
        for line in page
    ]
    last = page[-1] if len(page) == limit and len(ranked) > limit else None
    following = {"after_score": last["score"], "after_cell": last["cell_id"]} if last is not None else None
    return {"items": items, "next": following}


async def _assert_same(conn: asyncpg.Connection, units: list[str]) -> None:
    for today in TODAYS:
        for half in HALVES:
            for unit in units:
                lines = await queries.half_year_lines(conn, unit, half, today=today)
                for descending in (True, False):
                    ranked = _ranked(lines, descending=descending)
                    total, page = await queries.half_year_page(
                        conn, unit, half, today=today, descending=descending, limit=len(lines) + 1
                    )
                    assert total == len(lines), (unit, half, today)
                    assert [line for line, _ in page] == ranked, (unit, half, today, descending)
                    # the statement's raw scores are the lines' floats, bit for bit (a report's cursor is one)
                    scores = [None if score is None else score.hex() for _, score in page]
                    assert scores == [None if line["score"] is None else line["score"].hex() for line in ranked]
                    order: Literal["asc", "desc"] = "desc" if descending else "asc"
                    for limit, offset in ((5, 0), (5, 5), (3, max(0, len(lines) - 2)), (10, len(lines) + 3)):
                        got = await queries.committee_ranking(
                            conn, unit, half, order=order, limit=limit, offset=offset, today=today
                        )
                        expected = [
                            queries._rank_item(line) | {"rank": None if line["score"] is None else offset + place}
                            for place, line in enumerate(ranked[offset : offset + limit], start=1)
                        ]
                        assert (
                            got == {"items": expected, "total": len(lines), "limit": limit, "offset": offset} | SETTLED
                        )
                # the weakest cells' pages (the API's /weakest) are the roll-up's weakest, paged
                weak = _weak(lines)
                for limit, offset in ((5, 0), (3, 2), (5, len(weak) + 1)):
                    got = await queries.committee_ranking(
                        conn, unit, half, order="asc", limit=limit, offset=offset, weak_only=True, today=today
                    )
                    expected = [queries._rank_item(line) | {"rank": None} for line in weak[offset : offset + limit]]
                    assert got == {"items": expected, "total": len(weak), "limit": limit, "offset": offset} | SETTLED
                for limit in (3, 1000):
                    after: tuple[float | None, str | None] = (None, None)
                    while True:
                        got = await queries.committee_report(
                            conn, unit, half, after_score=after[0], after_cell=after[1], limit=limit, today=today
                        )
                        assert got == _per_cell_report(lines, after, limit) | SETTLED, (unit, half, today, limit, after)
                        if got["next"] is None:
                            break
                        after = (got["next"]["after_score"], got["next"]["after_cell"])


async def _generated_tree(conn: asyncpg.Connection) -> list[str]:
    """test_half_year_totals' committees and generated cells with spans, quarters and flags; the units to read."""
    rng = random.Random(20261205)
    cells = _cells(rng)
    await _add_units(conn, [(unit, f"Đảng ủy {unit}", kind, parent, on) for unit, kind, parent, on in COMMITTEES])
    await _add_units(conn, cells)
    spans: list[tuple[str, str, str | None]] = []  # a cell without a stored span (20 %) exists in every month
    for cell in cells:
        first, last = sorted([rng.choice(SPANS), rng.choice([*SPANS, "~"])])
        spans.append((cell[0], first, None if last == "~" else last))
    await _set_spans(conn, [span for span in spans if rng.random() > 0.2])
    rows = [_quarter_row(rng, cell[0], quarter) for cell in cells for quarter in QUARTERS if rng.random() > 0.25]
    await _upsert(conn, rows)  # after the spans: a row outside its cell's span is stored, and not counted
    # flags a line keeps (provisional, in_progress: once each, sorted) or drops, in both quarters or one
    flags = [[], ["provisional"], ["in_progress", "provisional"], ["in_progress"], ["no_regular_meeting"]]
    await conn.executemany(
        "UPDATE cell_period SET flags = $3 WHERE cell_id = $1 AND period = $2",
        [(row[0], row[1], rng.choice(flags)) for row in rows],
    )
    # quarters' rating reasons (a half-year line gives its rated quarters' own, queries.note_quarter_reasons)
    reasons = [None, json.dumps({"code": "no_thematic_meeting", "band": "average"})]
    await conn.executemany(
        "UPDATE cell_period SET rating_reason = $3::jsonb WHERE cell_id = $1 AND period = $2",
        [(row[0], row[1], rng.choice(reasons)) for row in rows],
    )
    return [unit for unit, *_ in COMMITTEES] + [cells[0][0], cells[-1][0]]


async def test_half_year_pages_give_the_lines_of_the_per_cell_path(database_url: str) -> None:
    async with icu_pool(database_url, schema="evaluation", service_dir=SERVICE_DIR) as pool, pool.acquire() as conn:
        await _assert_same(conn, await _generated_tree(conn))


def _plan_nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(found for child in node.get("Plans", []) for found in _plan_nodes(child))]


async def test_a_page_builds_the_lines_of_its_cells_only(database_url: str) -> None:
    """A ranking page ranks every cell by its score but works out the figures of a line (its flags here) for the
    page's cells only: a province's 50-cell page built all 35,000 lines and spilled them to disk (issue 12)."""
    async with icu_pool(database_url, schema="evaluation", service_dir=SERVICE_DIR) as pool, pool.acquire() as conn:
        await _generated_tree(conn)
        await queries.refresh_subtrees(conn)
        limit = 2
        args = queries._half_year_cells_args("p", "2026-H1", today=TODAYS[-1])
        cells = await conn.fetchval("SELECT count(*) FROM subtree_cell WHERE ancestor_id = 'p'")
        assert cells > 10 * limit
        plan = await conn.fetchval(
            "EXPLAIN (ANALYZE, VERBOSE, FORMAT JSON) " + queries.HALF_YEAR_PAGE.format(order="DESC"),
            *args,
            None,
            None,
            limit,
            0,
        )
        nodes = _plan_nodes(json.loads(plan)[0]["Plan"])
        flagged = [node for node in nodes if any("= ANY (" in column for column in node.get("Output", []))]
        assert flagged, "no plan node works out a line's flags"
        assert all(node["Actual Rows"] * node["Actual Loops"] <= limit for node in flagged), [
            (node["Node Type"], node["Actual Rows"], node["Actual Loops"]) for node in flagged
        ]


async def test_the_totals_work_out_each_cells_figures_once(database_url: str) -> None:
    """The half-year totals work out each cell's months, score and sums once, below their aggregate: inlined, every
    aggregate and FILTER repeated `c.months` and its quarters' CASEs (a province's totals 1.37 s, 0.78 s once)."""
    async with icu_pool(database_url, schema="evaluation", service_dir=SERVICE_DIR) as pool, pool.acquire() as conn:
        await _generated_tree(conn)
        await queries.refresh_subtrees(conn)
        args = queries._half_year_cells_args("p", "2026-H1", today=TODAYS[-1])
        plan = json.loads(await conn.fetchval("EXPLAIN (VERBOSE, FORMAT JSON) " + queries.HALF_YEAR_TOTALS, *args))
        aggregate = plan[0]["Plan"]
        assert aggregate["Node Type"] == "Aggregate"
        (source,) = aggregate["Plans"]
        assert any("CASE" in column for column in source["Output"]), source["Output"]
