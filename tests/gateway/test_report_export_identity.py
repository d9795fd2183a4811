"""A committee's report export at a sizeable subtree gives, byte for byte, what it gave before it was made fast (h190):
the pages of GetCommitteeReport answered, sent and read as the RPC layer does, then written as CSV lines and as the
PDF's rows. The reference is the earlier code, kept here: the server dumping its reply twice (the RpcReply envelope),
the client reading the reply to dicts and validating them again, and every figure formatted by babel with the period's
columns worked out on every row."""

import heapq
import importlib
import io
import json
import random
import types
from collections.abc import AsyncIterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from babel.numbers import format_decimal
from pypdf import PdfReader

from services.evaluation import queries
from services.gateway.rollups import month_shown
from services.gateway.web import i18n
from services.gateway.web.i18n import format_period, late_change_note
from shared import rpc
from shared.contracts import evaluation_rpc as evaluation
from shared.envelope import now
from shared.periods import month_of, previous_period
from tests.evaluation.private_db import private_pool

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
        # since h231 the CSV says whether the month's result changed after it closed (blank here: none did), and
        # since h243 last why its rating is below its score's band (blank here: these rows give no reason)
        *((late_change_note(period, row.get("late_change")), "") if period is not None else ()),
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


TIED_CELLS = 5000
"""Cells whose weak ones (Average or Poor) are all within one GetWeakestCells (WEAKEST_MAX)."""
TIED_CENTS = (12.34, 30.12, 30.13, 44.99, 45.0, 45.01, 55.5, 60.12, 60.13)
"""Cents around which many cells' raw scores lie, on either side and on the half cent (30.125 and 60.125 are exact
binary halves, which Python rounds to the even cent; 44.995 and 45.005 are not, rounding by their binary value): the
raw score orders such cells otherwise than their rounded score and id do."""
OFFSETS = (-0.006, -0.005, -0.0049, -0.004, -0.001, 0.0, 0.001, 0.004, 0.0049, 0.005, 0.006)
CELL_IDS = ("cb-{:05d}", "CB{:05d}", "cb{:05d}", "Cb_{:05d}", "cb.{:05d}")
"""Ids that sort otherwise by a linguistic collation than by code point (Python's order)."""


def tied_rows(rng: random.Random, cells: list[str], period: str) -> list[tuple[object, ...]]:
    """Stored periods of most of `cells` (the rest are Poor at 0 without one, or not rated yet in a running year):
    many Poor at 0 without the regular meeting, and scores clustered on both sides of TIED_CENTS."""
    rows: list[tuple[object, ...]] = []
    for cell in cells:
        choice = rng.random()
        if choice < 0.02:
            continue  # no stored period
        if choice < 0.05:
            score, regular, flags = 0.0, 0, ["no_regular_meeting"]
        elif choice < 0.7:
            score = round(rng.choice(TIED_CENTS) + rng.choice(OFFSETS), 4)
            score = rng.choice([score, rng.choice(TIED_CENTS) + rng.choice(OFFSETS)])
            regular, flags = rng.choice([0, 1, 1, 2]), rng.choice([[], [], ["provisional"], ["no_regular_meeting"]])
        else:
            score, regular, flags = rng.uniform(0, 100), 1, []
        rating = "good" if score >= 90 else "fair" if score >= 70 else "average" if score >= 50 else "poor"
        rating = rng.choice([rating, rating, rating, "average" if rating == "poor" else rating])
        rows.append((cell, period, rating, score, regular, rng.randint(0, 1), 15, 18, 7, 1, regular, json.dumps(flags)))
    return rows


async def tied_subtree(conn: Any, periods: tuple[str, ...]) -> None:
    """A province of TIED_CELLS cells under 7 communes, each period stored by tied_rows."""
    rng = random.Random(235)
    stamp = "now(), 'identity'"
    await conn.execute(f"INSERT INTO unit VALUES ('prov', 'Tỉnh ủy', 'committee', NULL, true, {stamp})")
    await conn.execute(
        f"INSERT INTO unit SELECT 'xa' || i, 'Đảng ủy xã ' || i, 'committee', 'prov', true, {stamp}"
        " FROM generate_series(1, 7) i"
    )
    cells = [rng.choice(CELL_IDS).format(index) for index in range(TIED_CELLS)]
    await conn.executemany(
        f"INSERT INTO unit VALUES ($1, $2, 'cell', $3, true, {stamp})",
        [(cell, f"{rng.choice(NAMES)} {index}", f"xa{index % 7 + 1}") for index, cell in enumerate(cells)],
    )
    for period in periods:
        await conn.executemany(
            "INSERT INTO cell_period (cell_id, period, rating, score, regular_held, thematic_held, present, counted,"
            " speakers_present, months_counted, months_with_regular, flags)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, ARRAY(SELECT jsonb_array_elements_text($12)))",
            tied_rows(rng, cells, period),
        )
    await conn.execute("ANALYZE unit; ANALYZE cell_period")
    await queries.refresh_subtrees(conn)


class EvaluationOverRpc:
    """state.rpc for the export functions: each request answered by evaluation's query on `conn`, sent as bytes and
    read as the RPC layer does."""

    def __init__(self, conn: Any) -> None:
        self.methods = rpc.RpcMethods("evaluation")

        async def committee_report(request: evaluation.GetCommitteeReport) -> dict[str, Any]:
            return await queries.committee_report(
                conn,
                request.committee_id,
                request.period,
                after_score=request.after_score,
                after_cell=request.after_cell,
                limit=request.limit,
            )

        async def weakest_cells(request: evaluation.GetWeakestCells) -> dict[str, Any]:
            return await queries.weakest_cells(
                conn, request.committee_id, request.period, limit=request.limit, met_only=request.met_only
            )

        self.methods.add(evaluation.GetCommitteeReport, committee_report)
        self.methods.add(evaluation.GetWeakestCells, weakest_cells)
        self.asked: list[str] = []

    async def call(self, request: Any) -> Any:
        self.asked.append(request.method)
        wire = rpc.RpcRequest(method=request.method, params=request.model_dump(mode="json"))
        return rpc.read_reply(request, json.dumps(await rpc.answer(wire, self.methods)).encode())


async def old_weakest(state: Any, committee_id: str, period: str, weakest: int) -> list[dict[str, Any]]:
    """The weakest cells as the earlier report_summary chose them: every cell's report line read, the weak ones kept
    (exports.weakness: Poor first, the rounded score, the id in code point order)."""
    kept: list[tuple[tuple[int, float, str], dict[str, Any]]] = []
    async for page in exports.report_pages(state, None, committee_id, period):
        kept += [(weak, row) for row in page if (weak := exports.weakness(row)) is not None]
        if len(kept) > 2 * weakest:
            kept = heapq.nsmallest(weakest, kept, key=lambda pair: pair[0])
    return [row for _, row in heapq.nsmallest(weakest, kept, key=lambda pair: pair[0])]


@pytest.mark.parametrize("which", ["closed month", "running month", "running year"])
async def test_the_weakest_cells_asked_of_evaluation_are_those_every_cell_gave(
    which: str, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """5,000 cells with ties everywhere (hundreds Poor at 0, with and without a stored period; clusters of raw
    scores that round to the same cent, on the half cent and either side of it; ids whose order a collation changes):
    the weakest cells evaluation now gives (GetWeakestCells) are, row for row and as the PDF draws them, those the
    earlier export picked out of every cell's report line, whatever the list's length, in a closed month, in the
    month in progress (a cell without its regular meeting not weak yet) and in a running year (a cell without a
    stored period not rated)."""
    month = month_of(now())
    period = {"closed month": previous_period(month), "running month": month, "running year": month[:4]}[which]
    async with private_pool(database_url) as pool, pool.acquire() as conn:
        await tied_subtree(conn, (period,))
        state = types.SimpleNamespace(rpc=EvaluationOverRpc(conn))
        reference = await old_weakest(state, "prov", period, TIED_CELLS)  # every weak cell, in order
        assert 1000 < len(reference) <= evaluation.WEAKEST_MAX
        drawn: dict[str, Any] = {}
        monkeypatch.setattr(exports.pdf, "report_summary_pdf", lambda **kwargs: drawn.update(kwargs) or b"")
        unit, rollup = {"id": "prov", "name": "Tỉnh ủy"}, {"cells": TIED_CELLS, "score": 41.2, "by_rating": {}}
        # the cut falls among cells at 0, and inside each cluster of tied cents
        listed = exports.PDF_WEAKEST
        cuts = [1, listed, 333] + [
            index + 2
            for index in range(1, len(reference) - 1)
            if reference[index]["score"] == reference[index + 1]["score"]
            and reference[index]["score"] in TIED_CENTS
            and reference[index - 1]["score"] != reference[index]["score"]
        ]
        assert len(cuts) > 8
        for cut in cuts:
            monkeypatch.setattr(exports, "PDF_WEAKEST", cut)
            state.rpc.asked.clear()
            new = await exports.weakest_cells(state, "prov", period)
            assert state.rpc.asked == ["weakest_cells"]
            assert new == reference[:cut], (which, cut)
            if cut <= listed:  # the earlier code itself, as the PDF asked it (the reference is its whole list)
                assert new == await old_weakest(state, "prov", period, cut), (which, cut)
            exports.report_document(unit, period, {"rollup": rollup, "sub_units": [], "weakest": new})
            assert drawn["weakest"] == [old_report_row(row, period=None)[1:] for row in reference[:cut]]


async def test_a_weak_cell_whose_month_changed_late_says_so_in_the_summary_pdf(database_url: str) -> None:
    """A cell among a large committee's weakest whose closed month a late meeting changed comes from evaluation
    (GetWeakestCells) with its `late_change`, and the summary PDF says it among the roll-up's late changes ("Ghi
    nhận muộn"), as the cell-by-cell PDF and the CSV do; a weak cell without one gets no note."""
    period = previous_period(month_of(now()))
    stamp = "now(), 'identity'"
    async with private_pool(database_url) as pool, pool.acquire() as conn:
        await conn.execute(f"INSERT INTO unit VALUES ('prov', 'Tỉnh ủy', 'committee', NULL, true, {stamp})")
        await conn.execute(f"INSERT INTO unit VALUES ('xa1', 'Đảng ủy xã 1', 'committee', 'prov', true, {stamp})")
        cells = [("cb-late", "Chi bộ thôn Đồng Tâm", "poor", 42.5), ("cb-weak", "Chi bộ Ấp Mỹ Lợi", "average", 61.0)]
        cells.append(("cb-good", "Chi bộ khu phố Hòa Bình", "good", 95.0))
        for cell, name, rating, score in cells:
            await conn.execute(f"INSERT INTO unit VALUES ($1, $2, 'cell', 'xa1', true, {stamp})", cell, name)
            await conn.execute(
                "INSERT INTO cell_period (cell_id, period, rating, score, regular_held, thematic_held, present,"
                " counted, speakers_present, months_counted, months_with_regular, flags)"
                " VALUES ($1, $2, $3, $4, 1, 0, 15, 18, 7, 1, 1, '{}')",
                cell,
                period,
                rating,
                score,
            )
        # the month closed Fair at 75 and a meeting recorded late brought it down to Poor at 42.5
        await conn.execute(
            "INSERT INTO period_late_change (cell_id, period, meeting_id, old_rating, old_score, new_rating,"
            " new_score, changed_at) VALUES ('cb-late', $1, 'mt-late', 'fair', 75, 'poor', 42.5, now())",
            period,
        )
        await conn.execute("ANALYZE unit; ANALYZE cell_period")
        await queries.refresh_subtrees(conn)
        state = types.SimpleNamespace(rpc=EvaluationOverRpc(conn))
        weakest = await exports.weakest_cells(state, "prov", period)
        assert state.rpc.asked == ["weakest_cells"]
        # the summary lists the roll-up's late changes (GetCommitteeRollup.late_changes), as the report PDF does
        late_changes, total = await queries.subtree_late_changes(conn, "prov", period, limit=queries.LATE_CHANGES_SHOWN)
    assert [row["cell_id"] for row in weakest] == ["cb-late", "cb-weak"]
    late = weakest[0]["late_change"]
    assert (late["old_rating"], late["old_score"], late["new_rating"], late["new_score"]) == ("fair", 75, "poor", 42.5)
    assert weakest[1]["late_change"] is None
    rollup = {"cells": 3, "score": 66.17, "by_rating": {}, "late_changes": late_changes, "late_changes_total": total}
    unit = {"id": "prov", "name": "Tỉnh ủy"}
    content = exports.report_document(unit, period, {"rollup": rollup, "sub_units": [], "weakest": weakest})
    text = " ".join(" ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages).split())
    note = " ".join(late_change_note(period, late).split())
    assert note.startswith("Ghi nhận muộn:") and "42,5 (Kém)" in note and "75 (Khá)" in note
    assert f"Chi bộ thôn Đồng Tâm — {note}" in text, text
    assert text.count("Ghi nhận muộn") == 1
