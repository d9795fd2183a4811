"""A cell's closed month noted among the late changes reads the same in every view (h346).

Trial 37 #1: a cell set up on 5 December with its `time` in November counts in November from then on, Poor at 0 while
nothing of it was held (docs/architecture.md "When a cell exists": the month it began counts whole; DOMAIN.md
"Periods": a month without its regular meeting is Poor). Its November meeting recorded afterwards changes that result
(the rule: the month's result is its latest held regular meeting's), but a month first rated after it ended leaves no
further note, so the late-change row kept the figures it was added with while the ranking, the report and the cell
page said the meeting's. The late change now says the month's result as stored, whichever fact came last.

#2: a meeting recorded late that moves an existing cell's start earlier was worded as a cell added ("Được bổ sung");
it is a result first recorded for a month of a cell that already existed. #3: a sibling's month recomputed between a
new cell's snapshot and its scoring no longer counted as shown (judged on `computed_at`), so the cell went unnoted.
"""

import csv
import io
import json
from datetime import date, datetime
from typing import Any

import asyncpg
import pytest

from services.evaluation import queries
from services.evaluation.bootstrap import prepare
from services.evaluation.handlers import FACT_HANDLERS, scores
from services.evaluation.handlers.coalesced import defer_touched, score_dirty
from services.gateway.web.exports import report_csv
from services.gateway.web.i18n import format_number, format_rating, late_change_note
from shared.contracts.registry import read_event
from shared.envelope import parse_envelope
from tests.evaluation.private_db import private_pool
from tests.evaluation.stream import at, fact
from tests.evaluation.test_cell_existence import Clock, apply, held

SENT_ON = date(2026, 12, 5)
NOTED_AT = at(12, 5, 10)
"""When the scoring worker notes the late changes (scores.clock): 5 December, 10:00 in Vietnam."""


class Moment:
    """The scoring moment (scores.clock)."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


def unit(unit_id: str, kind: str, parent_id: str | None, *, time: datetime) -> dict[str, Any]:
    name = f"Chi bộ {unit_id}" if kind == "cell" else f"Đảng ủy {unit_id}"
    return fact("org.unit.upserted.v1", {"id": unit_id, "name": name, "kind": kind, "parent_id": parent_id}, time=time)


async def received(factory: Any, events: list[dict[str, Any]]) -> None:
    """Handle each fact as the consumer does, its cell left for the scoring worker (not scored yet)."""
    for raw in events:
        event = read_event(parse_envelope(json.dumps(raw)))
        async with factory() as uow:
            await FACT_HANDLERS[event.type](event, uow)
            await defer_touched(uow)
            await uow.commit()


def recorded(events: list[dict[str, Any]], *, on: datetime) -> list[dict[str, Any]]:
    """The facts as sent when the secretary recorded them, all on `on`."""
    return [{**event, "time": on.isoformat()} for event in events]


async def views(pool: asyncpg.Pool, committee_id: str, cell_id: str, period: str) -> dict[str, dict[str, Any]]:
    """The cell's month as each view answers it: the roll-up's late change, the ranking's line, the report's line and
    the cell page's month (each with its figures and the late change it carries)."""
    async with pool.acquire() as conn:
        rollup = await queries.committee_rollup(conn, committee_id, period, today=SENT_ON)
        ranking = await queries.committee_ranking(
            conn, committee_id, period, order="desc", limit=50, offset=0, today=SENT_ON
        )
        report = await queries.committee_report(
            conn, committee_id, period, after_score=None, after_cell=None, limit=50, today=SENT_ON
        )
        months = await queries.cell_periods(conn, cell_id, int(period[:4]), today=SENT_ON)
    return {
        "rollup": {item["cell_id"]: item for item in rollup["late_changes"]}[cell_id],
        "ranking": {item["cell_id"]: item for item in ranking["items"]}[cell_id],
        "report": {item["cell_id"]: item for item in report["items"]}[cell_id],
        "cell": {item["period"]: item for item in months}[period],
    }


async def test_a_cell_added_late_then_met_reads_the_same_month_in_the_late_change_ranking_report_csv_and_page(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(date(2026, 11, 20))
    monkeypatch.setattr(scores, "clock", Moment(NOTED_AT))
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=clock)
        await apply(
            factory, [unit("w1", "committee", None, time=at(11, 1, 8)), unit("c1", "cell", "w1", time=at(11, 1, 8))]
        )
        await apply(factory, held("c1", "c1-nov", at(11, 5)))
        clock.now = SENT_ON
        await apply(factory, [unit("c9", "cell", "w1", time=at(11, 1, 8))])

        # added: November counts it, Poor at 0, and every view says so
        added = await views(pool, "w1", "c9", "2026-11")
        assert (added["ranking"]["score"], added["ranking"]["rating"]) == (0.0, "poor")
        for name in ("ranking", "report", "cell"):
            assert (added[name]["score"], added[name]["rating"]) == (0.0, "poor"), name
            assert added[name]["late_change"] == added["rollup"]["late_change"], name
        late = added["rollup"]["late_change"]
        assert (late["kind"], late["new_score"], late["new_rating"]) == ("unit_added", 0.0, "poor")

        # then its November meeting recorded: the month's result is the meeting's, in the late change too
        await apply(factory, recorded(held("c9", "c9-nov", at(11, 20)), on=at(12, 5, 9)))
        met = await views(pool, "w1", "c9", "2026-11")
        score, rating = met["ranking"]["score"], met["ranking"]["rating"]
        assert score > 0 and rating != "poor"
        for name in ("report", "cell"):
            assert (met[name]["score"], met[name]["rating"]) == (score, rating), name
        for name in ("rollup", "ranking", "report", "cell"):
            late = met[name]["late_change"]
            assert (late["kind"], late["new_score"], late["new_rating"]) == ("unit_added", score, rating), name

    # the committee page's line and the report CSV's column say the same figures
    note = late_change_note("2026-11", met["rollup"]["late_change"])
    shown = f"{format_number(score)} ({format_rating(rating)})"
    assert note == f"Được bổ sung ngày 05/12/2026, tính từ tháng 11/2026; kết quả tháng 11/2026 là {shown}."
    content = report_csv([met["report"]], period="2026-11").decode("utf-8-sig")
    line = list(csv.reader(io.StringIO(content), delimiter=";"))[1]
    assert note in line and format_number(score) in line


async def test_a_meeting_recorded_late_before_an_existing_cells_start_reads_as_a_result_not_a_cell_added(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """c2 set up in November (its snapshot's `time` 1 November); on 5 December its 20 October meeting is recorded:
    October counts it from then on (the earlier of its first snapshot and its first held meeting), a month its
    commune showed. The cell already existed: a result recorded late, not a cell added."""
    clock = Clock(date(2026, 10, 20))
    monkeypatch.setattr(scores, "clock", Moment(NOTED_AT))
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=clock)
        await apply(
            factory, [unit("w1", "committee", None, time=at(10, 1, 8)), unit("c1", "cell", "w1", time=at(10, 1, 8))]
        )
        await apply(factory, held("c1", "c1-oct", at(10, 5)))
        clock.now = date(2026, 11, 20)
        await apply(factory, [unit("c2", "cell", "w1", time=at(11, 1, 8))])
        await apply(factory, held("c2", "c2-nov", at(11, 5)))
        assert await pool.fetchval("SELECT count(*) FROM cell_period WHERE cell_id = 'c2' AND period = '2026-10'") == 0
        clock.now = SENT_ON
        await apply(factory, recorded(held("c2", "c2-oct", at(10, 20)), on=at(12, 5, 9)))
        rows = await pool.fetch("SELECT * FROM period_late_change WHERE cell_id = 'c2'")
        assert [(r["period"], r["kind"], r["meeting_id"], r["old_score"]) for r in rows] == [
            ("2026-10", "result", "c2-oct", None)
        ]
        async with pool.acquire() as conn:
            rollup = await queries.committee_rollup(conn, "w1", "2026-10", today=SENT_ON)
            ranking = await queries.committee_ranking(
                conn, "w1", "2026-10", order="desc", limit=50, offset=0, today=SENT_ON
            )
    late = {item["cell_id"]: item for item in rollup["late_changes"]}["c2"]["late_change"]
    line = {item["cell_id"]: item for item in ranking["items"]}["c2"]
    assert (late["kind"], late["old_score"], late["new_score"]) == ("result", None, line["score"])
    note = late_change_note("2026-10", late)
    assert "bổ sung" not in note
    shown = f"{format_number(line['score'])} ({format_rating(line['rating'])})"
    assert note == (
        f"Ghi nhận muộn: buổi sinh hoạt tháng 10/2026 được ghi nhận ngày 05/12/2026; kết quả tháng 10/2026 là {shown}."
    )


async def test_a_cell_added_late_is_noted_though_a_siblings_month_was_recomputed_before_it_was_scored(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """c1 met in November, shown while November ran. On 5 December c9 is set up with `time` 1 November, and before
    the scoring worker reaches it c1's own late November meeting is recorded and scored: c1's November row is
    recomputed after c9's snapshot arrived, but the commune showed November long before. c9 is noted."""
    clock = Clock(date(2026, 11, 20))
    monkeypatch.setattr(scores, "clock", Moment(NOTED_AT))
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=clock)
        await apply(
            factory, [unit("w1", "committee", None, time=at(11, 1, 8)), unit("c1", "cell", "w1", time=at(11, 1, 8))]
        )
        await apply(factory, held("c1", "c1-early", at(11, 5)))
        clock.now = SENT_ON
        await received(factory, [unit("c9", "cell", "w1", time=at(11, 1, 8))])
        before = await pool.fetchval("SELECT computed_at FROM cell_period WHERE cell_id = 'c1' AND period = '2026-11'")
        await apply(factory, recorded(held("c1", "c1-late", at(11, 28)), on=at(12, 5, 9)))
        after = await pool.fetchval("SELECT computed_at FROM cell_period WHERE cell_id = 'c1' AND period = '2026-11'")
        assert after > before  # the sibling's November recomputed between c9's snapshot and its scoring
        await score_dirty(uow_factory=factory, limit=100)
        rows = await pool.fetch("SELECT period, kind FROM period_late_change WHERE cell_id = 'c9'")
        assert [tuple(r) for r in rows] == [("2026-11", "unit_added")]
