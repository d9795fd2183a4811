"""A committee's roll-up of a running quarter, half-year or year leaves out the cells with no month of it ended and
no regular meeting this month (evaluation's `not_rated`: a cell set up this month), and its page did not say so: the
average score and the ratings read as if the committee had only its other cells. The page now says how many are left
out, and which (off the ranking's lines not met yet, when its page holds them all), only when there are such cells.
Against the real services for the page; the expectations are computed from the current month."""

import csv
import importlib
import io
import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest

from deploy.seed_demo import publish
from services.gateway.web.data import left_out_note
from shared.periods import VIETNAM_TZ, period_months
from tests.support.quiet import wait_quiet
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import officer_api_headers, signed_in_officer
from tests.web.test_exports import pdf_text
from tests.web.test_half_year_months_counted import committee_with_a_new_cell

SAID = "Điểm trung bình, xếp loại và các tỷ lệ chưa tính"
REASON = "chi bộ mới thành lập, chưa có tháng nào kết thúc và chưa sinh hoạt thường kỳ trong tháng này"
NEW = {"cell_id": "moi", "name": "Chi bộ thôn Mới", "score": None, "rating": None, "not_met_yet": True}
OLD = {"cell_id": "cu", "name": "Chi bộ thôn Cũ", "score": 0.0, "rating": "poor"}


def running(period: str, not_rated: int, gone: list[str]) -> dict[str, Any]:
    """A running period's roll-up as rollup_shown gives it: `not_rated` cells left out, `gone` its months ended."""
    return {"period": period, "cells": 2, "not_rated": not_rated, "regularity_months": gone}


def test_the_note_names_the_cells_left_out_only_when_there_are_some() -> None:
    note = left_out_note(running("2026-Q4", 1, ["2026-10", "2026-11"]), {"items": [OLD, NEW]})
    assert note == f"{SAID} 1 {REASON}: \u2068Chi bộ thôn Mới\u2069.", note
    # two of them, by name; a ranking page without them all: the count alone
    other = NEW | {"cell_id": "a", "name": "Chi bộ ấp An"}
    two = left_out_note(running("2026", 2, ["2026-01"]), {"items": [NEW, OLD, other]})
    assert two == f"{SAID} 2 {REASON}: \u2068Chi bộ ấp An\u2069, \u2068Chi bộ thôn Mới\u2069.", two
    assert left_out_note(running("2026-H2", 3, ["2026-07"]), {"items": [NEW]}) == f"{SAID} 3 {REASON}."
    # none left out, a month (its cells not met yet counted apart), the period's first month: nothing said
    assert left_out_note(running("2026-Q4", 0, ["2026-10"]), {"items": [OLD]}) == ""
    assert left_out_note(running("2026-12", 1, []) | {"regularity_months": None}, {"items": [NEW]}) == ""
    assert left_out_note(running("2026-Q4", 1, []), {"items": [NEW]}) == ""
    assert left_out_note({"period": "2026-Q3", "cells": 2, "not_rated": 0}, {"items": [OLD]}) == ""


@pytest.mark.e2e
async def test_the_committee_page_says_which_new_cell_its_figures_leave_out(system: RunningSystem) -> None:
    """A committee with a cell there since January and one set up this month, neither with a meeting: its page of
    each running quarter, half-year or year with a month ended names the new cell as left out."""
    today = datetime.now(VIETNAM_TZ).date()
    current = f"{today:%Y-%m}"
    candidates = (
        f"{today.year}-Q{(today.month - 1) // 3 + 1}",
        f"{today.year}-H{1 if today.month <= 6 else 2}",
        str(today.year),
    )
    started = [period for period in candidates if period_months(period)[0] < current]
    period = started[0] if started else candidates[0]  # January: every period in its first month, nothing said
    suffix = uuid.uuid4().hex[:8]
    committee, old, new = f"xa-bo-sot-{suffix}", f"thon-cu-{suffix}", f"thon-moi-{suffix}"
    names = ("Đảng ủy xã Bỏ Sót", "Chi bộ thôn Cũ", "Chi bộ thôn Mới")
    set_up_at = datetime(today.year, today.month, 1, 9, tzinfo=VIETNAM_TZ)
    events = committee_with_a_new_cell((committee, old, new), names, year=today.year, set_up_at=set_up_at)
    amqp, database = system.env["CHIBO_AMQP_URL"], system.env["CHIBO_DATABASE_URL"]
    await publish(amqp, events)
    sub = f"can-bo-bo-sot-{suffix}"
    headers = await officer_api_headers(system, committee=committee, sub=sub)
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30, headers=headers) as api:

        async def both_counted() -> bool:
            found = await api.get(f"/v1/committees/{committee}/rollup?period={period}")
            return found.status_code == 200 and found.json().get("cells") == 2

        await eventually(both_counted, timeout=300, interval=1)
        await wait_quiet(amqp, database, timeout=300)
        rollup = (await api.get(f"/v1/committees/{committee}/rollup?period={period}")).json()
    assert rollup["not_rated"] == (1 if started else 0), rollup  # evaluation's count: the new cell alone
    async with signed_in_officer(system, sub, committee) as client:
        if not started:
            page = await client.get(f"/app/committees/{committee}?period={period}")
            assert page.status_code == 200, page.text[-800:]
            assert 'id="left-out-cells"' not in page.text and REASON not in page.text
        for each in started:  # the quarter's, the half-year's and the year's pages alike
            page = await client.get(f"/app/committees/{committee}?period={each}")
            assert page.status_code == 200, page.text[-800:]
            note = page.text.split('id="left-out-cells">', 1)[1].split("</p>", 1)[0]
            assert note == f"{SAID} 1 {REASON}: <bdi>Chi bộ thôn Mới</bdi>.", (each, note)
            # the report's downloads say it too: the CSV's last row, the PDF under its figures
            report = await client.get(f"/app/committees/{committee}/report.csv?period={each}")
            assert report.status_code == 200, report.text[-800:]
            *_, last = csv.reader(io.StringIO(report.content.decode("utf-8-sig")), delimiter=";")
            assert last[:2] == ["", f"{SAID} 1 {REASON}: Chi bộ thôn Mới."], (each, last)
            document = await client.get(f"/app/committees/{committee}/report.pdf?period={each}")
            assert document.status_code == 200, document.text[-800:]
            assert squeezed(f"{SAID} 1 {REASON}: Chi bộ thôn Mới.") in squeezed(pdf_text(document.content)), each


QUARTER = {
    "committee_id": "xa-bo-sot",
    "period": "2026-Q4",
    "cells": 2,
    "not_rated": 1,
    "regularity_months": ["2026-10", "2026-11"],
    "score": 0.0,
    "by_rating": {"good": 0, "fair": 0, "average": 0, "poor": 1},
    "not_met_yet": None,
}
"""A running quarter's roll-up (as rollup_shown gives it) leaving out the one new cell, NEW, of its two."""
UNIT = {"id": "xa-bo-sot", "name": "Đảng ủy xã Bỏ Sót"}


def squeezed(text: str) -> str:
    """The text without whitespace or the isolates around names (a PDF's lines wrap wherever its width says)."""
    return "".join(text.replace("\u2068", "").replace("\u2069", "").split())


@pytest.mark.parametrize("summary", [False, True])
def test_the_report_pdf_says_under_its_figures_which_new_cell_they_leave_out(summary: bool) -> None:
    """The page said which new cell a quarter's figures leave out; the PDF an officer prints showed the same averages
    without it. It now says the page's words (left_out_note) under its figures: the cell named when the PDF lists
    every cell, the count alone in a large committee's summary (its weakest cells are rated ones)."""
    from services.gateway.web.exports import report_document

    data = {"rollup": QUARTER, "sub_units": [], "weakest": []} if summary else {"rollup": QUARTER, "rows": [OLD, NEW]}
    text = squeezed(pdf_text(report_document(UNIT, "2026-Q4", data)))
    said = f"{SAID} 1 {REASON}." if summary else f"{SAID} 1 {REASON}: Chi bộ thôn Mới."
    assert squeezed(said) in text, text
    figures = text.index(squeezed("Tỷ lệ dự sinh hoạt"))  # under the figures, above the table of cells or units
    assert figures < text.index(squeezed(said)) < text.index("ChibộthônCũ" if not summary else "Theođơnvị"), text
    # none left out: nothing of it
    none = {**QUARTER, "not_rated": 0}
    assert squeezed(REASON) not in squeezed(pdf_text(report_document(UNIT, "2026-Q4", {**data, "rollup": none})))


def test_the_report_csv_ends_with_the_note_of_the_new_cells_left_out() -> None:
    """The CSV of the same quarter now ends with a row saying the page's note, as a CSV row says a sentence
    (recalculating_row): no code, the note where a cell's name is, the period and its status, no figures; the new
    cell named whichever page of the report it came on. Without a cell left out it ends with the cells' rows."""
    import asyncio
    from collections.abc import AsyncIterator

    from services.gateway.web.i18n import format_period

    exports = importlib.import_module("services.gateway.web.exports")  # not the pages' module of the same name

    async def rest() -> AsyncIterator[list[dict[str, Any]]]:
        yield [NEW]

    async def streamed(rollup: dict[str, Any]) -> list[list[str]]:
        chunks = exports.report_csv_chunks([OLD], rest(), period="2026-Q4", rollup=rollup)
        content = b"".join([chunk async for chunk in chunks]).decode("utf-8-sig")
        return list(csv.reader(io.StringIO(content), delimiter=";"))

    header, *rows = asyncio.run(streamed(QUARTER))
    assert [row[0] for row in rows] == ["cu", "moi", ""], rows
    assert rows[-1][1] == f"{SAID} 1 {REASON}: Chi bộ thôn Mới.", rows[-1]
    assert rows[-1][4] == format_period("2026-Q4") and rows[-1][5] == rows[0][5], rows
    assert [rows[-1][index] for index in (2, 3, 6, 7, 8, 9)] == [""] * 6 and len(rows[-1]) == len(header)
    header, *rows = asyncio.run(streamed({**QUARTER, "not_rated": 0}))
    assert [row[0] for row in rows] == ["cu", "moi"], rows
