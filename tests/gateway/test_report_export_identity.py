"""A committee's report export at a sizeable subtree gives, byte for byte, what it gave before it was made fast (h190):
the pages of GetCommitteeReport answered, sent and read as the RPC layer does, then written as CSV lines and as the
PDF's rows. The reference is the earlier code, kept here: the server dumping its reply twice (the RpcReply envelope),
the client reading the reply to dicts and validating them again, and every figure formatted by babel with the period's
columns worked out on every row."""

import importlib
import json
import random
from collections.abc import AsyncIterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from babel.numbers import format_decimal

from services.gateway.rollups import month_shown
from services.gateway.web import i18n
from services.gateway.web.i18n import format_period, late_change_note
from shared import rpc
from shared.contracts import evaluation_rpc as evaluation
from shared.envelope import now
from shared.periods import month_of, previous_period

exports = importlib.import_module("services.gateway.web.exports")
"""The exports module (the package's attribute `exports` is the pages' module of the same name)."""
CELLS = 12_345
"""Three of the gateway's pages of cells and part of a fourth."""
NAMES = ("Chi bộ thôn Đồng Tâm", "Chi bộ khu phố Hòa Bình", '=HYPERLINK("x")', "+84 Tổ dân phố", "Chi bộ Ấp Mỹ Lợi")


def evaluation_rows(period: str, cells: int = CELLS) -> list[dict[str, Any]]:
    """Report rows as evaluation's committee_report makes them, best first: every kind of figure a row can carry
    (no score, provisional, not rated, no rates, a score needing rounding half up, large and small shares)."""
    chance = random.Random(190)
    rows: list[dict[str, Any]] = []
    for index in range(cells):
        kind = chance.random()
        score = None if kind < 0.03 else round(chance.choice([chance.uniform(0, 100), 81.05, 50.0, 0.0, 99.95]), 2)
        rating = None if score is None else ("good" if score >= 90 else "fair" if score >= 70 else "average")
        rating = "poor" if score is not None and score < 50 else rating
        rows.append(
            {
                "cell_id": f"cb{index:06d}",
                "period": period,
                "name": None if kind > 0.995 else f"{chance.choice(NAMES)} {index}",
                "parent_id": f"xa{index % 97:03d}",
                "rating": rating,
                "score": score,
                "regular_held": None if score is None else chance.choice([0, 1, 2]),
                "thematic_held": None if score is None else chance.choice([0, 1]),
                "attendance_rate": None if kind < 0.05 else chance.choice([chance.random(), 15 / 18, 1.0, 0.0]),
                "speaking_rate": None if kind < 0.06 else chance.random(),
                "flags": ["provisional"] if 0.5 < kind < 0.52 else ["in_progress"] if score is None else [],
                "not_rated": score is None,
            }
        )
    rows.sort(key=lambda row: (row["score"] is None, -float(row["score"] or 0.0), str(row["cell_id"])))
    return rows


def old_answer_body(result: dict[str, Any]) -> bytes:
    """The earlier server: the reply validated, dumped, wrapped in RpcReply and dumped again; FastStream's json."""
    reply = evaluation.CommitteeReportReply.model_validate(result)
    wrapped = rpc.RpcReply(ok=True, result=reply.model_dump(mode="json", exclude_unset=True)).model_dump(mode="json")
    return json.dumps(wrapped).encode()


def old_read(body: bytes) -> evaluation.CommitteeReportReply:
    """The earlier client: the reply read to dicts, then validated against the reply model."""
    return evaluation.CommitteeReportReply.model_validate(rpc.RpcReply.model_validate_json(body).result)


def old_format_number(value: float | int | None, digits: int = 1) -> str:
    """The earlier i18n.format_number: babel's format_decimal for every figure."""
    if value is None:
        return "—"
    pattern = "#,##0" + ("." + "#" * digits if digits else "")
    exact = Decimal(str(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return str(format_decimal(exact, format=pattern, locale="vi"))


def old_report_row(row: dict[str, Any], *, period: str | None) -> list[str]:
    """The earlier exports.report_row: the period's columns worked out on every row, babel's figures."""
    rates = [
        old_format_number(row[key] * 100) if row.get(key) is not None else ""
        for key in ("attendance_rate", "speaking_rate")
    ]
    return [
        str(row["cell_id"]),
        str(row.get("name") or row["cell_id"]),
        old_format_number(row.get("score")) if row.get("score") is not None else "",
        exports.row_rating(row),
        *((format_period(period), exports.period_status(period)) if period is not None else ()),
        *("" if row.get(key) is None else str(row[key]) for key in ("regular_held", "thematic_held")),
        *rates,
        # since h231 the CSV says last whether the month's result changed after it closed (blank here: none did)
        *((late_change_note(period, row.get("late_change")),) if period is not None else ()),
    ]


async def pages_read(
    rows: list[dict[str, Any]], period: str, size: int, *, old: bool
) -> AsyncIterator[list[dict[str, Any]]]:
    """report_pages' rows, each page answered by the RPC server, sent as bytes and read by the client (the earlier
    code's or today's), as the committee's page reads them (month_shown)."""
    methods = rpc.RpcMethods("evaluation")
    cursor: dict[str, Any] = {"after_cell": None}

    async def committee_report(request: evaluation.GetCommitteeReport) -> dict[str, Any]:
        start = 0 if request.after_cell is None else [row["cell_id"] for row in rows].index(request.after_cell) + 1
        chosen = rows[start : start + request.limit]
        more = start + request.limit < len(rows)
        following = {"after_score": chosen[-1]["score"], "after_cell": chosen[-1]["cell_id"]} if more else None
        return {"items": chosen, "next": following}

    methods.add(evaluation.GetCommitteeReport, committee_report)
    while True:
        request = evaluation.GetCommitteeReport(committee_id="prov", period=period, limit=size, **cursor)
        wire = rpc.RpcRequest(method=request.method, params=request.model_dump(mode="json"))
        if old:
            page = old_read(old_answer_body(await committee_report(request)))
        else:
            page = rpc.read_reply(request, json.dumps(await rpc.answer(wire, methods)).encode())
        at = now()
        yield [month_shown(item.model_dump(), period=period, now=at) for item in page.items]
        if page.next is None:
            return
        cursor = {"after_score": page.next.after_score, "after_cell": page.next.after_cell}


async def old_csv(rows: list[dict[str, Any]], period: str) -> bytes:
    """The CSV as the earlier code wrote it: pages of 1,000 cells, each row formatted on its own."""
    chunks = [exports.csv_lines([exports.report_header()]).encode("utf-8-sig")]
    async for page in pages_read(rows, period, 1000, old=True):
        chunks.append(exports.csv_lines(old_report_row(row, period=period) for row in page).encode())
    return b"".join(chunks)


async def new_csv(rows: list[dict[str, Any]], period: str) -> bytes:
    """The CSV as the gateway writes it now (report_csv_chunks over report_pages' REPORT_PAGE pages)."""
    pages = pages_read(rows, period, exports.REPORT_PAGE, old=False)
    first = await anext(pages)
    return b"".join([chunk async for chunk in exports.report_csv_chunks(first, pages, period=period)])


@pytest.mark.parametrize("which", ["closed month", "running month", "running year"])
async def test_the_report_csv_of_a_sizeable_subtree_is_the_same_as_before(which: str) -> None:
    """12,345 cells: the same bytes (rows, order, Vietnamese text, figures) as the earlier export, in a closed month,
    in the month in progress (cells not met yet apart) and in a running year (period status `provisional`)."""
    month = month_of(now())
    period = {"closed month": previous_period(month), "running month": month, "running year": month[:4]}[which]
    rows = evaluation_rows(period)
    before, after = await old_csv(rows, period), await new_csv(rows, period)
    assert after.count(b"\r\n") == CELLS + 1
    assert after == before


async def test_the_report_pdf_rows_of_a_sizeable_subtree_are_the_same_as_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The PDF's cell-by-cell rows (a committee within FULL_LIST_CELLS) and its weakest cells (a larger one) are
    the rows the earlier code gave ReportLab."""
    period = previous_period(month_of(now()))
    rows = [row async for page in pages_read(evaluation_rows(period, 600), period, 1000, old=False) for row in page]
    drawn: dict[str, Any] = {}
    monkeypatch.setattr(exports.pdf, "report_pdf", lambda **kwargs: drawn.update(kwargs) or b"")
    monkeypatch.setattr(exports.pdf, "report_summary_pdf", lambda **kwargs: drawn.update(kwargs) or b"")
    unit = {"id": "prov", "name": "Tỉnh ủy"}
    rollup = {"cells": len(rows), "score": 61.2, "by_rating": {"good": 1}}
    exports.report_document(unit, period, {"rollup": rollup, "rows": rows})
    assert drawn["rows"] == [old_report_row(row, period=None)[1:] for row in rows]
    weakest = sorted((row for row in rows if exports.weakness(row)), key=exports.weakness)[: exports.PDF_WEAKEST]
    exports.report_document(unit, period, {"rollup": rollup, "sub_units": [], "weakest": weakest})
    assert drawn["weakest"] == [old_report_row(row, period=None)[1:] for row in weakest]
    assert len(drawn["weakest"]) == exports.PDF_WEAKEST


def test_format_number_writes_what_babel_writes() -> None:
    """i18n.format_number's own Vietnamese decimals (babel parsed its pattern and locale data at every one of a
    province's 100,000 figures) are babel's text for any value and number of decimals, -0 included."""
    chance = random.Random(366)
    values: list[float | int] = [0, 0.0, -0.0, 1, -1, 0.05, 81.05, 999.95, 1234.5, 1e6, 12345678.91, -1234.56, 1e-7]
    values += [round(chance.uniform(-1e7, 1e7), chance.randint(0, 6)) for _ in range(3000)]
    values += [chance.random() * 100 for _ in range(3000)] + [chance.randint(-(10**9), 10**9) for _ in range(1000)]
    for value in values:
        for digits in (0, 1, 2):
            assert i18n.format_number(value, digits) == old_format_number(value, digits), (value, digits)
