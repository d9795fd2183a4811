"""The month in progress on a committee's pages and exports: a cell that has not met yet is "chưa sinh hoạt",
counted apart from the ratings, never Kém; once the month has closed it is Kém (DOMAIN.md, Periods).

The roll-up and ranking are given as the gateway's read functions return them (evaluation's figures with the
gateway's `in_progress`), then read through the pages' own helpers and templates at a clock inside the month or
after it (shared.periods.awaiting_meeting decides by the clock), without a running system."""

import csv
import io
import json
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from pypdf import PdfReader

from services.gateway.auth import Role
from services.gateway.web import data, periods
from services.gateway.web.core import environment
from services.gateway.web.exports import report_csv, report_document
from services.gateway.web.i18n import running_note
from shared.periods import VIETNAM_TZ

PERIOD = "2026-12"
WARD = {"id": "xa-hoa-binh", "name": "Đảng ủy xã Hòa Bình", "kind": "committee"}
RUNNING = datetime(2026, 12, 10, 9, 0, tzinfo=VIETNAM_TZ)
"""A moment inside PERIOD (and QUARTER): the month still waits for its cells' meetings."""
CLOSED = datetime(2027, 1, 5, 9, 0, tzinfo=VIETNAM_TZ)
"""A moment after PERIOD (and QUARTER) closed."""


def at(running: bool) -> datetime:
    """The clock inside the period (`running`) or after it."""
    return RUNNING if running else CLOSED


def shown_at(found: dict[str, Any]) -> dict[str, Any]:
    """data.rollup_shown at the clock the roll-up's `in_progress` stands for (as the gateway sets it from the clock)."""
    return data.rollup_shown(found, now=at(bool(found["in_progress"])))


def ranking() -> list[dict[str, Any]]:
    """Five cells of a commune in the month: two have met (one rated Tốt, one Kém at 40), three have not (one with
    its month stored Kém at 0, two without a stored month), as evaluation ranks them (worst first)."""
    return [
        {"cell_id": "thon-3", "name": "Chi bộ thôn 3", "score": 0.0, "rating": "poor", "regular_held": 0},
        {"cell_id": "thon-4", "name": "Chi bộ thôn 4", "score": 0.0, "rating": "poor", "regular_held": 0},
        {"cell_id": "thon-5", "name": "Chi bộ thôn 5", "score": 0.0, "rating": "poor", "regular_held": 0},
        {"cell_id": "thon-2", "name": "Chi bộ thôn 2", "score": 40.0, "rating": "poor", "regular_held": 1},
        {"cell_id": "thon-1", "name": "Chi bộ thôn 1", "score": 95.0, "rating": "good", "regular_held": 1},
    ]


def rollup(*, in_progress: bool) -> dict[str, Any]:
    """The commune's roll-up of the month: evaluation counts the three cells without a meeting as Kém at 0."""
    return {
        "committee_id": WARD["id"],
        "period": PERIOD,
        "cells": 5,
        "by_rating": {"good": 1, "fair": 0, "average": 0, "poor": 4},
        "regularity": 0.4,
        "attendance_rate": 0.9,
        "speaking_rate": 0.5,
        "thematic_coverage": 0.4,
        "score": 27.0,
        "met_score": 67.5,
        "irregular": 3,
        "trend": {},
        "weakest": ranking()[:4],
        "in_progress": in_progress,
    }


def committee_page(shown: dict[str, Any], children: list[dict[str, Any]], *, period: str = PERIOD) -> str:
    """The committee page of a roll-up as rollup_shown reads it, rendered as the officer's page renders it."""
    return (
        environment()
        .get_template("committee.html")
        .render(
            viewer=SimpleNamespace(
                role=Role.COMMITTEE_OFFICER, account=SimpleNamespace(sub="can-bo"), csrf="t", principal=None
            ),
            unit=WARD,
            period=period,
            choices=periods.choices(period),
            crumbs=[],
            unrated=None,
            running=shown["in_progress"],
            ratings_chart=data.ratings_chart(shown["by_rating"], not_met_yet=shown["not_met_yet"]),
            trend_chart=data.trend_chart([shown]),
            trend=[shown],
            rollup=shown,
            children=children,
            inbox=[],
            late_minutes=[],
        )
    )


def cell_children(shown: dict[str, Any]) -> list[dict[str, Any]]:
    """The commune's cells as the page lists them (committee_overview: each ranking line through month_shown)."""
    running = shown["not_met_yet"] is not None
    return [
        {
            "id": item["cell_id"],
            "name": item["name"],
            "kind": "cell",
            **data.month_shown(item, period=PERIOD, now=at(running)),
        }
        for item in ranking()
    ]


def between(page: str, start: str, end: str) -> str:
    """The text of the page from `start` to the next `end`."""
    at = page.index(start)
    return page[at : page.index(end, at)]


def rating_counts(page: str) -> dict[str, str]:
    """The counts of the cells-by-rating table, by rating (and `not_met_yet`)."""
    table = between(page, '<table class="compact">', "</table>")
    counts = {}
    for key in ("good", "fair", "average", "poor"):
        marker = f'data-rating-count="{key}">'
        counts[key] = between(table, marker, "<")[len(marker) :]
    if "data-not-met-yet-count>" in table:
        counts["not_met_yet"] = between(table, "data-not-met-yet-count>", "<")[len("data-not-met-yet-count>") :]
    return counts


def test_in_the_running_month_cells_not_met_yet_are_counted_apart_not_as_kem() -> None:
    shown = shown_at(rollup(in_progress=True))
    page = committee_page(shown, cell_children(shown))
    assert rating_counts(page) == {"good": "1", "fair": "0", "average": "0", "poor": "1", "not_met_yet": "3"}
    # the API's roll-up too: the cells not met yet are no irregular ones while the month runs (a trial read 6 and 6)
    assert (shown["irregular"], shown["not_met_yet"], shown["by_rating"]["poor"]) == (0, 3, 1)
    assert '<th scope="col">Chưa sinh hoạt thường kỳ</th>' in page
    chart = json.loads(data.ratings_chart(shown["by_rating"], not_met_yet=shown["not_met_yet"]))
    # each compound kept on one line by a no-break space (i18n.unbroken)
    assert chart["xAxis"]["data"] == ["Tốt", "Khá", "Trung\u00a0bình", "Kém", "Chưa sinh\u00a0hoạt thường\u00a0kỳ"]
    assert [bar["value"] for bar in chart["series"][0]["data"]] == [1, 0, 0, 1, 3]
    # the average score is that of the two cells that met, not dragged to 27 by three zeros
    assert between(page, 'data-figure="score">', "<") == 'data-figure="score">67,5'
    rows = between(page, 'id="children"', "</table>")
    for cell in ("thon-3", "thon-4", "thon-5"):
        row = between(rows, f'data-unit="{cell}"', "</tr>")
        assert "chưa sinh hoạt" in row and "Kém" not in row and "0,0" not in row
    assert "Kém" in between(rows, 'data-unit="thon-2"', "</tr>")
    # even where evaluation's weakest cells still hold those not met yet (at 0), they are left out, not Kém
    weakest = between(page, 'id="weakest"', "</ol>")
    assert "thon-3" not in weakest and "chưa sinh hoạt" not in weakest
    assert "40" in between(weakest, 'data-cell="thon-2"', "</li>")
    notice = between(page, 'id="in-progress"', "</p>")
    assert (
        "Chi bộ chưa sinh hoạt thường kỳ trong tháng được thống kê riêng là “chưa sinh hoạt thường kỳ”, chưa xếp loại"
        in notice
    )
    assert "hết tháng mà chi bộ vẫn chưa sinh hoạt thường kỳ thì xếp loại Kém" in notice
    assert "tạm tính là Kém" not in page


def test_once_the_month_has_closed_a_cell_that_never_met_is_kem() -> None:
    shown = shown_at(rollup(in_progress=False))
    page = committee_page(shown, cell_children(shown))
    assert rating_counts(page) == {"good": "1", "fair": "0", "average": "0", "poor": "4"}
    assert shown["irregular"] == 3  # once closed, the cells that never met are irregular, among the Poor
    assert "hưa sinh hoạt" not in page
    assert between(page, 'data-figure="score">', "<") == 'data-figure="score">27'
    rows = between(page, 'id="children"', "</table>")
    assert "Kém" in between(rows, 'data-unit="thon-3"', "</tr>")
    assert "Kém" in between(between(page, 'id="weakest"', "</ol>"), 'data-cell="thon-3"', "</li>")
    chart = json.loads(data.ratings_chart(shown["by_rating"], not_met_yet=shown["not_met_yet"]))
    assert [bar["value"] for bar in chart["series"][0]["data"]] == [1, 0, 0, 4]


def test_a_sub_committee_line_says_how_many_of_its_cells_have_not_met_yet() -> None:
    province = {**WARD, "id": "tinh", "name": "Tỉnh ủy Demo"}
    for in_progress, words in ((True, "1 tốt, 1 kém, 3 chưa sinh hoạt thường kỳ"), (False, "1 tốt, 4 kém")):
        shown = shown_at(rollup(in_progress=in_progress))
        child = {**WARD, "score": shown["score"], "cells": shown["cells"], "rollup": shown}
        page = committee_page(shown_at(rollup(in_progress=in_progress)) | {"committee_id": "tinh"}, [child])
        line = between(page, f'data-unit="{WARD["id"]}"', "</tr>")
        assert words in line, line
        assert province["name"] not in line


def test_a_cell_that_held_only_an_extraordinary_meeting_is_counted_as_the_rows_read_it() -> None:
    """A trial: thon-3 held only an extraordinary meeting this month; its row read "chưa sinh hoạt thường kỳ" while
    the counts said "Chưa sinh hoạt" (3) and the province line "3 chưa sinh hoạt", as if it had not met at all. The
    counts (evaluation's cells without the month's regular meeting) say "chưa sinh hoạt thường kỳ", as the rows do."""
    shown = shown_at(rollup(in_progress=True))
    children = [child | {"meetings_held": 1 if child["id"] == "thon-3" else None} for child in cell_children(shown)]
    page = committee_page(shown, children)
    rows = between(page, 'id="children"', "</table>")
    assert "chưa sinh hoạt thường kỳ</span>" in between(rows, 'data-unit="thon-3"', "</tr>")
    assert "chưa sinh hoạt</span>" in between(rows, 'data-unit="thon-4"', "</tr>")
    table = between(page, '<table class="compact">', "</table>")
    assert '<th scope="col">Chưa sinh hoạt thường kỳ</th>' in table
    assert rating_counts(page)["not_met_yet"] == "3"
    province = committee_page(
        shown | {"committee_id": "tinh"}, [{**WARD, "score": shown["score"], "cells": 5, "rollup": shown}]
    )
    line = between(province, f'data-unit="{WARD["id"]}"', "</tr>")
    assert "1 tốt, 1 kém, 3 chưa sinh hoạt thường kỳ</td>" in line, line


def report(*, in_progress: bool) -> dict[str, Any]:
    """The committee's report as exports.report assembles it from the roll-up and each ranked cell's month."""
    shown = shown_at(rollup(in_progress=in_progress))
    running = shown["not_met_yet"] is not None
    flags = ["in_progress"] if in_progress else []
    details = {
        "thon-1": {"regular_held": 1, "thematic_held": 0, "flags": flags},
        "thon-2": {"regular_held": 1, "thematic_held": 0, "flags": flags},
        "thon-3": {"regular_held": 0, "thematic_held": 0, "flags": [*flags, "no_regular_meeting"]},
    }
    rows = [
        data.month_shown({**item, **details.get(item["cell_id"], {})}, period=PERIOD, now=at(running))
        for item in ranking()[::-1]
    ]
    return {"rollup": shown, "rows": rows}


def test_the_report_exports_say_chua_sinh_hoat_in_the_running_month_and_kem_once_closed() -> None:
    for in_progress, waiting in ((True, "Chưa sinh hoạt"), (False, "Kém")):
        found = report(in_progress=in_progress)
        table = report_csv(found["rows"], period=PERIOD)
        rows = {row[0]: row for row in csv.reader(io.StringIO(table.decode("utf-8-sig")), delimiter=";")}
        for cell in ("thon-3", "thon-4", "thon-5"):
            assert rows[cell][3] == waiting
            assert rows[cell][2] == ("" if in_progress else "0")
        assert rows["thon-2"][3] == "Kém" and rows["thon-1"][3] == "Tốt"
        document = report_document(WARD, PERIOD, found)
        text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(document)).pages)
        assert ("Chưa sinh hoạt" in text) is in_progress
        # the note under the figures of the month in progress (by the clock, as the page's) says what Kém will mean
        note = "".join(running_note(PERIOD).split())
        assert note in "".join(text.split())
        rated = "".join(text.split()).replace(note, "")
        assert rated.count("Kém") == (2 if in_progress else 5), text  # the Kém figure and thon-2's row (+ three)


def test_month_shown_reads_a_ranking_line_by_its_regular_meetings_only_while_the_month_runs() -> None:
    waiting = {"cell_id": "thon-3", "score": 0.0, "rating": "poor", "regular_held": 0}
    met = {"cell_id": "thon-2", "score": 40.0, "rating": "poor", "regular_held": 1}
    waiting_shown = data.month_shown(waiting, period=PERIOD, now=RUNNING)
    assert waiting_shown == {**waiting, "rating": None, "score": None, "not_met_yet": True}
    assert data.month_shown(waiting, period=PERIOD, now=CLOSED) == waiting
    assert data.month_shown(met, period=PERIOD, now=RUNNING) == met
    older = {"cell_id": "thon-3", "score": 0.0, "rating": "poor"}  # an evaluation service without regular_held
    assert data.month_shown(older, period=PERIOD, now=RUNNING) == older
    assert shown_at({**rollup(in_progress=True), "irregular": None})["by_rating"]["poor"] == 4
    quarter = shown_at({**rollup(in_progress=True), "period": "2026-Q4"})
    assert quarter["by_rating"]["poor"] == 4 and quarter["not_met_yet"] is None


def test_the_weakest_cells_of_the_running_month_are_those_that_met_and_were_rated_weak() -> None:
    """The gateway's roll-up read replaces its weakest cells by evaluation's `met_only` page (reads._weakest_items):
    the cells not met yet would otherwise fill the list at 0."""
    shown = shown_at(rollup(in_progress=True))
    shown["weakest"] = [
        data.month_shown(item, period=PERIOD, now=RUNNING) for item in ranking() if item["regular_held"]
    ][:1]
    weakest = between(committee_page(shown, cell_children(shown)), 'id="weakest"', "</ol>")
    assert 'data-cell="thon-2"' in weakest and "Kém" in weakest and "40" in weakest
    assert "thon-3" not in weakest and "chưa sinh hoạt" not in weakest
    shown["weakest"] = []  # nobody that met is weak: said so, not "no cell rated yet"
    weakest = between(committee_page(shown, cell_children(shown)), 'id="weakest"', "</ol>")
    assert "Không có chi bộ nào xếp loại Trung bình hoặc Kém." in weakest


QUARTER = "2026-Q4"


def quarter_ranking() -> list[dict[str, Any]]:
    """A commune's running 2026-Q4 as evaluation ranks it: thon-3 has met in no counted month (Kém at 0, rated),
    k1-cell was set up on 1 December and has not met yet (not rated: no score, no rating, ranked last)."""
    return [
        {"cell_id": "thon-3", "name": "Chi bộ thôn 3", "score": 0.0, "rating": "poor", "regular_held": 0},
        {"cell_id": "thon-2", "name": "Chi bộ thôn 2", "score": 40.0, "rating": "poor", "regular_held": 2},
        {"cell_id": "thon-1", "name": "Chi bộ thôn 1", "score": 95.0, "rating": "good", "regular_held": 2},
        {"cell_id": "k1-cell", "name": "Chi bộ K1", "score": None, "rating": None, "regular_held": 0},
    ]


def quarter_rollup(*, in_progress: bool) -> dict[str, Any]:
    """The commune's Q4 roll-up as evaluation gives it: k1-cell is `not_rated` while the quarter runs (out of the
    ratings, the score and the weakest), Kém at 0 once the quarter has closed without its meeting."""
    not_rated = 1 if in_progress else 0
    return {
        "committee_id": WARD["id"],
        "period": QUARTER,
        "cells": 4,
        "by_rating": {"good": 1, "fair": 0, "average": 0, "poor": 3 - not_rated},
        "regularity": 0.5,
        "attendance_rate": 0.9,
        "speaking_rate": 0.5,
        "thematic_coverage": 0.0,
        "score": 45.0 if in_progress else 33.75,
        "met_score": None,
        "irregular": 1,
        "not_rated": not_rated,
        "trend": {},
        "weakest": quarter_ranking()[:2] if in_progress else [quarter_ranking()[3] | {"score": 0.0, "rating": "poor"}],
        "in_progress": in_progress,
    }


def test_a_cell_not_rated_yet_in_the_running_quarter_is_chua_sinh_hoat_apart_and_a_rated_kem_stays_kem() -> None:
    """User trial: k1-cell, created on 1 December, read "0;Kém" in the province's 2026-Q4 CSV and among its weakest
    cells. While the quarter runs it is apart ("Chưa sinh hoạt", no score); thon-3, rated Kém for the quarter with no
    meeting in October and November, stays Kém."""
    shown = shown_at(quarter_rollup(in_progress=True))
    assert shown["not_met_yet"] == 1 and not data.waiting_month(shown)
    children = [
        {
            "id": item["cell_id"],
            "name": item["name"],
            "kind": "cell",
            **data.month_shown(item, period=QUARTER, now=RUNNING),
        }
        for item in quarter_ranking()
    ]
    page = committee_page(shown, children)
    assert rating_counts(page) == {"good": "1", "fair": "0", "average": "0", "poor": "2", "not_met_yet": "1"}
    rows = between(page, 'id="children"', "</table>")
    k1 = between(rows, 'data-unit="k1-cell"', "</tr>")
    assert "chưa sinh hoạt" in k1 and "Kém" not in k1
    assert "Kém" in between(rows, 'data-unit="thon-3"', "</tr>")
    assert "k1-cell" not in between(page, 'id="weakest"', "</ol>")
    # the exports: k1-cell's line has no score and says "Chưa sinh hoạt"; thon-3's stays "0;Kém"; k1-cell's own
    # quarter is listed not rated by the ratings API (no rating, score nor counts: blank, never "None")
    not_rated: dict[str, Any] = {"rating": None, "score": None, "regular_held": None, "thematic_held": None}
    details: dict[str, dict[str, Any]] = {
        "thon-3": {"regular_held": 0, "thematic_held": 0, "flags": ["months_without_regular_meeting"]},
        "k1-cell": {
            **not_rated,
            "attendance_rate": None,
            "speaking_rate": None,
            "flags": ["in_progress"],
            "not_rated": True,
        },
    }
    lines = [
        data.month_shown({**item, **details.get(item["cell_id"], {})}, period=QUARTER, now=RUNNING)
        for item in quarter_ranking()
    ]
    table = report_csv(lines, period=QUARTER)
    found = {row[0]: row for row in csv.reader(io.StringIO(table.decode("utf-8-sig")), delimiter=";")}
    assert found["k1-cell"][2:4] == ["", "Chưa sinh hoạt"] and "None" not in found["k1-cell"]
    assert found["k1-cell"][6:] == ["", "", "", "", "", ""]
    assert found["thon-3"][2:4] == ["0", "Kém"]
    document = report_document(WARD, QUARTER, {"rollup": shown, "rows": lines})
    text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(document)).pages)
    assert "Chưa sinh hoạt" in text and "Chi bộ K1" in text and "None" not in text


def test_once_the_quarter_has_closed_the_cell_that_never_met_is_kem() -> None:
    closed = quarter_rollup(in_progress=False)
    shown = shown_at(closed)
    assert shown["not_met_yet"] is None and shown["by_rating"] == closed["by_rating"]
    line = data.month_shown({**quarter_ranking()[3], "score": 0.0, "rating": "poor"}, period=QUARTER, now=CLOSED)
    assert (line["score"], line["rating"], line.get("not_met_yet")) == (0.0, "poor", None)


def test_the_running_months_regularity_is_over_every_cell_with_its_base_named_on_page_trend_and_exports() -> None:
    """DOMAIN.md "Periods": the regularity is the share of the committee's cells that met every month, so in the
    running month the cells not met yet count in its base (2 of 5: 40 %), as evaluation gives it; the page and the
    PDF name that base beside it ("2/5 chi bộ đã sinh hoạt thường kỳ (tháng đang diễn ra)"), so it reads as a month
    still running, not as a failure (an earlier trial read 33,3 % unexplained; h368's read 100 % over the one cell of
    six that had met). Once the month closes the same figure stands, without the base."""
    shown = shown_at(rollup(in_progress=True))
    assert shown["regularity"] == 0.4
    page = committee_page(shown, cell_children(shown))
    figure = between(page, 'data-figure="regularity">', "</dd>")
    assert figure.startswith('data-figure="regularity">40%')
    assert "2/5 chi bộ đã sinh hoạt thường kỳ (tháng đang diễn ra)" in figure
    # the 12-month trend draws no point for it (a gap, said "chưa tính"): its cells not met yet are no failure
    trend = json.loads(data.trend_chart([shown]))
    regularity = "Tỷ\u00a0lệ sinh\u00a0hoạt đều\u00a0đặn\u00a0(%)"  # no-break spaces in its compounds (i18n.unbroken)
    assert [series["data"] for series in trend["series"] if series["name"] == regularity] == [[None]]
    document = report_document(WARD, PERIOD, report(in_progress=True))
    text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(document)).pages)
    flat = " ".join(text.split())  # the card's long label wraps in its cell
    assert "Tỷ lệ chi bộ sinh hoạt đều đặn hằng tháng 40%" in flat
    assert "Tỷ lệ chi bộ sinh hoạt đều đặn hằng tháng 100%" not in flat
    # none met yet: 0 of the 5, said so
    nobody = shown_at(rollup(in_progress=True) | {"irregular": 5, "regularity": 0.0})
    assert nobody["regularity"] == 0.0 and nobody["score"] is None
    assert "0/5 chi bộ" in between(committee_page(nobody, []), 'data-figure="regularity">', "</dd>")
    closed = shown_at(rollup(in_progress=False))
    assert closed["regularity"] == 0.4
    assert between(committee_page(closed, cell_children(closed)), 'data-figure="regularity">', "</dd>") == (
        'data-figure="regularity">40%'
    )


def test_the_running_months_thematic_coverage_is_over_every_cell_on_page_and_exports() -> None:
    """The thematic coverage is the share of the committee's cells that held a thematic meeting, over every cell as
    the regularity is (evaluation's `thematic_coverage`: 2 of 5), not over the cells that have met (its
    `met_thematic_coverage`, 1 of 2), in the running month as once it has closed."""
    running = rollup(in_progress=True) | {"met_thematic_coverage": 0.5}
    shown = shown_at(running)
    assert shown["thematic_coverage"] == 0.4
    page = committee_page(shown, cell_children(shown))
    assert between(page, 'data-figure="thematic_coverage">', "<") == 'data-figure="thematic_coverage">40%'
    document = report_document(WARD, PERIOD, {**report(in_progress=True), "rollup": shown})
    text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(document)).pages)
    flat = " ".join(text.split())  # the card's long label may wrap in its cell
    label = "Tỷ lệ chi bộ có sinh hoạt chuyên đề trong tháng"
    assert f"{label} 40%" in flat and f"{label} 50%" not in flat
    closed = shown_at(rollup(in_progress=False) | {"met_thematic_coverage": 0.5})
    assert closed["thematic_coverage"] == 0.4
