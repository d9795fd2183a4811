"""Exports a committee hands on: its report for a period (CSV with a BOM, PDF), a meeting's minutes as PDF,
and the meeting evidence for the yearly grading (Quy định 366-QĐ/TW) per member and per cell."""

import asyncio
import csv
import io
import re
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from services.gateway.auth import Principal
from services.gateway.availability import meetings_or
from services.gateway.bootstrap import GatewayState
from services.gateway.http import reads
from services.gateway.rollups import rollup_shown
from services.gateway.web import pdf
from services.gateway.web.core import no_data_yet
from services.gateway.web.data import left_out_note, left_since, month_shown
from services.gateway.web.i18n import (
    N_,
    _,
    absence_reason,
    after_dash,
    format_moment,
    format_number,
    format_period,
    format_rating,
    format_share,
    format_short_date,
    half_year_no_rating,
    label,
    late_change_note,
    late_changes_title,
    local,
    met_base,
    minutes_state,
    not_met_label,
    parse_moment,
    period_within,
    quarter_ratings_text,
    quarters_rating_counts,
    rating_label,
    rating_reason,
    recalculating_note,
    running_note,
    thematic_coverage_label,
)
from services.gateway.web.periods import running
from shared.collation import by_person
from shared.contracts.evaluation_rpc import (
    UNIT_ROLLUPS_MAX,
    CountDirectCells,
    GetCommitteeReport,
    GetCommitteeRollup,
    GetUnitRollups,
    GetWeakestCells,
)
from shared.contracts.meetings_rpc import HELD_STATUSES
from shared.envelope import now as clock
from shared.numbers import percent
from shared.periods import (
    VIETNAM_TZ,
    awaiting_meeting,
    half_quarters,
    is_half_year,
    is_running,
    local_date,
    period_bounds,
    period_contains,
    period_months,
)
from shared.rpc import RpcError
from shared.text import shown_name, without_controls

REPORT_PAGE = 5000
"""Cells per page read from evaluation for a report (GetCommitteeReport; at most REPORT_PAGE_MAX): a province's
35,000 cells come in 7 replies of ~1.5 MB, each turned into CSV lines and let go before the next is read (evaluation
ranks the whole subtree for every page: 35 pages of 1,000 spent seconds in the database)."""
FULL_LIST_CELLS = 600
"""Above this many cells (more than any commune's 100–500) the report's PDF lists no cell by cell: it gives the
figures by directly subordinate unit and the weakest cells, and says that the full list is in the CSV. A PDF of a
province's 35,000 cells (some 900 pages) was no document an officer reads, and took minutes and gigabytes to
draw."""
PDF_WEAKEST = 50
"""How many of the weakest cells (rated Average or Poor, worst first) a summary PDF lists."""
PDF_LATE_CHANGES = 50
"""How many of the cells whose month changed after it closed (the roll-up's `late_changes`, latest first) a summary
PDF lists, then how many more and that the CSV has them all: a 1,000-event batch changed ~670 cells' months late, 27
pages of a PDF that says it summarises."""
UNITS_UNAVAILABLE = N_(
    "The units under this committee cannot be listed right now: the meetings service is not answering, so this "
    "report has no table by directly subordinate unit. Its figures and ratings are up to date. Please download the "
    "report again in a few minutes."
)
"""Said in a summary PDF where its table by directly subordinate unit would be, while meetings does not answer."""


async def report_pages(
    state: GatewayState, principal: Principal, committee_id: str, period: str
) -> AsyncIterator[list[dict[str, Any]]]:
    """The committee's cells for the period, one page of REPORT_PAGE rows at a time, best first (the ranking's
    order), each as the committee's page reads it (data.month_shown: in the month in progress a cell that has not
    met yet is apart); read from evaluation by cursor, so a page costs the same however deep; one empty page for a
    committee without data yet. The caller has authorized `principal` for the committee."""
    del principal  # authorized by the caller (authorize_unit): the pages read the committee's whole subtree
    after_score: float | None = None
    after_cell: str | None = None
    while True:
        request = GetCommitteeReport(
            committee_id=committee_id, period=period, after_score=after_score, after_cell=after_cell, limit=REPORT_PAGE
        )
        try:
            page = await state.rpc.call(request)
        except RpcError as exc:
            # no data for the subtree up to the period's end, or the committee not heard of yet: a committee without
            # data, as its roll-up answers `no_data` (reads._scored), so a report of no rows
            if exc.code == "not_found" and exc.field in ("period", "committee_id") and after_cell is None:
                yield []
                return
            raise
        at = clock()
        yield [month_shown(item.model_dump(), period=period, now=at) for item in page.items]
        if page.next is None:
            return
        after_score, after_cell = page.next.after_score, page.next.after_cell


async def report(
    state: GatewayState, principal: Principal, committee_id: str, period: str, rollup: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The committee's roll-up (read unless given, as reads.get_committee_rollup answers it) and one row per cell
    (its period figures), as the committee's page reads them (data.rollup_shown, data.month_shown): in the month in
    progress a cell that has not met yet is apart. Holds every row: for a committee of at most FULL_LIST_CELLS cells
    (report_summary for larger ones)."""
    if rollup is None:
        rollup = await reads.get_committee_rollup(committee_id, period, principal, state)  # rollup_shown already
    rows = [row async for page in report_pages(state, principal, committee_id, period) for row in page]
    return {"rollup": rollup, "rows": rows}


def weakness(row: dict[str, Any]) -> tuple[int, float, str] | None:
    """How weak a report row is, the weakest smallest (Poor before Average, then the lower score, then the cell id),
    as evaluation's weakest cells order them (GetWeakestCells: queries.weak_key); None for a row that is not weak:
    rated Good or Fair, or without a rating (not met yet in the month in progress, not rated yet in a running quarter
    or year: DOMAIN.md "Alerts")."""
    rating = row.get("rating")
    if rating not in ("poor", "average"):
        return None
    return (0 if rating == "poor" else 1, round(float(row.get("score") or 0.0), 2), str(row["cell_id"]))


async def sub_units(state: GatewayState, committee_id: str, period: str) -> tuple[list[dict[str, Any]], int]:
    """The committee's direct sub-committees that have cells in the period, each with its roll-up figures as the
    committee's page shows them (rollup_shown), in the children's order of the tree (by id); and how many cells
    directly under it have data in the period, counted by evaluation (CountDirectCells): the PDF tables no cell, so
    no cell's figures are read (a commune of 700 cells asked for 700 roll-ups to count them). The figures come in one
    GetUnitRollups per UNIT_ROLLUPS_MAX sub-committees; neither is asked without such children."""
    children = [unit.model_dump() for unit in await reads.all_units_under(state, committee_id)]
    committees = [unit for unit in children if unit.get("kind") != "cell"]
    ids = [unit["id"] for unit in committees]

    async def figures() -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), UNIT_ROLLUPS_MAX):
            request = GetUnitRollups(unit_ids=ids[start : start + UNIT_ROLLUPS_MAX], period=period)
            # a child without data (no cell in the period, or none known to evaluation) is left out of the reply
            found |= {item.committee_id: item.model_dump() for item in (await state.rpc.call(request)).items}
        return found

    async def direct_cells() -> int:
        if len(committees) == len(children):
            return 0
        return (await state.rpc.call(CountDirectCells(committee_id=committee_id, period=period))).cells

    found, cells = await asyncio.gather(figures(), direct_cells())
    at = clock()
    in_progress = is_running(period, at)
    shown = [
        {"unit": unit, "rollup": rollup_shown(found[unit["id"]] | {"in_progress": in_progress}, now=at)}
        for unit in committees
        if unit["id"] in found
    ]
    return [item for item in shown if item["rollup"].get("cells")], cells


async def weakest_cells(state: GatewayState, committee_id: str, period: str) -> list[dict[str, Any]]:
    """The committee's PDF_WEAKEST weakest cells of the period (rated Average or Poor, weakness's order), each as the
    committee's page reads it (data.month_shown: in the month in progress a cell that has not met yet is not weak),
    asked of evaluation (GetWeakestCells) instead of read off every cell's report line; none for a committee without
    data yet (as report_pages)."""
    at = clock()
    request = GetWeakestCells(
        committee_id=committee_id, period=period, limit=PDF_WEAKEST, met_only=awaiting_meeting(period, at)
    )
    try:
        found = await state.rpc.call(request)
    except RpcError as exc:
        if exc.code == "not_found" and exc.field in ("period", "committee_id"):
            return []
        raise
    rows = [month_shown(item.model_dump(), period=period, now=at) for item in found.items]
    weak = [(key, row) for row in rows if (key := weakness(row)) is not None]
    return [row for _, row in sorted(weak, key=lambda pair: pair[0])]


async def report_summary(
    state: GatewayState, principal: Principal, committee_id: str, period: str, rollup: dict[str, Any]
) -> dict[str, Any]:
    """What the PDF of a committee above FULL_LIST_CELLS cells gives: its roll-up, the figures of each directly
    subordinate committee and the count of cells directly under it with data (sub_units: `sub_units`,
    `direct_cells`), its PDF_WEAKEST weakest cells with all their figures (`weakest`: weakest_cells, never every
    cell's line) and its first PDF_LATE_CHANGES late changes (`rollup.late_changes`; `late_changes_total` counts all).
    While meetings, which lists the units under the committee, does not answer (availability.meetings_or) no units
    and `units_unavailable` true: the rest is evaluation's, so the PDF is made without that table (it says so), not
    refused after the RPC timeout."""
    del principal  # authorized by the caller (authorize_unit) for the committee's whole subtree
    units, weakest, changes = await asyncio.gather(
        meetings_or(state.directory, lambda: sub_units(state, committee_id, period), None),
        weakest_cells(state, committee_id, period),
        all_late_changes(state, committee_id, period, rollup, limit=PDF_LATE_CHANGES),
    )
    committees, cells = units if units is not None else ([], 0)
    return {
        "rollup": rollup | {"late_changes": changes},
        "sub_units": committees,
        "direct_cells": cells,
        "weakest": weakest,
        "units_unavailable": units is None,
    }


async def all_late_changes(
    state: GatewayState, committee_id: str, period: str, rollup: dict[str, Any], *, limit: int | None = None
) -> list[dict[str, Any]]:
    """Every cell of the roll-up whose month changed after it closed (its `late_changes`, then the further pages of
    GetCommitteeRollup.late_changes_offset up to `late_changes_total`), or the first `limit` of them (the summary PDF:
    summary_late_notes counts the rest and points to the CSV, which has them all)."""
    changes = list(rollup.get("late_changes") or [])
    total = int(rollup.get("late_changes_total") or 0)
    wanted = total if limit is None else min(total, limit)
    while len(changes) < wanted:
        page = await state.rpc.call(
            GetCommitteeRollup(committee_id=committee_id, period=period, late_changes_offset=len(changes))
        )
        found = [item.model_dump() for item in page.late_changes]
        if not found:
            break  # fewer than counted (a change withdrawn meanwhile): summary_late_notes counts them
        changes.extend(found)
    return changes if limit is None else changes[:limit]


def report_header(*, with_period: bool = True) -> list[str]:
    """The columns of the report, in Vietnamese: the period and whether it has ended beside the score and rating,
    then whether the month's result changed after it closed and, last, why the rating is below its score's band
    (i18n.rating_reason) (unless `with_period` is False: the PDF says the period once, under its title, and the late
    changes under its table)."""
    return [
        _("Cell code"),
        _("Cell"),
        _("Score"),
        _("Rating"),
        *((_("Period"), _("Period status")) if with_period else ()),
        _("Regular meetings held"),
        _("Thematic meetings held"),
        _("Attendance rate (%)"),
        _("Speaking rate (%)"),
        *((_("Recorded late"), _("Reason for the rating")) if with_period else ()),
    ]


def period_status(period: str, *, recalculating: bool = False) -> str:
    """Whether the period's figures are final, said on every row of an export: a period not ended yet (the month
    in progress, or a quarter or year that holds it) is provisional, its figures still moving as cells meet; read off
    the org tree as last applied (`recalculating`, i18n.recalculating_note), it says that too."""
    status = _("in progress, figures provisional") if running(period) else _("ended")
    note = recalculating_note({"recalculating": recalculating})
    return after_dash(status, note) if note else status


def row_rating(row: dict[str, Any]) -> str:
    """A report row's rating as a person reads it (`Trung bình`), `(tạm tính)` after it when evaluation flags the
    cell's period `provisional` (a meeting's manual items not assessed yet: DOMAIN.md "Quality evaluation"), as the
    pages badge a provisional score; for a cell not met yet `Chưa sinh hoạt`, or `Chưa sinh hoạt thường kỳ` when it held
    another meeting (i18n.not_met_label), blank without a rating; a half-year's line (no rating of its own) its
    quarters' ratings (i18n.quarter_ratings_text)."""
    if row.get("not_met_yet"):
        return not_met_label(row, capital=True)
    if row.get("quarter_ratings") is not None:
        # a half-year has no rating of its own (DOMAIN.md rates months, quarters and years): its quarters'
        return quarter_ratings_text(row["quarter_ratings"], row.get("quarter_provisional"))
    return rating_label(row) if row.get("rating") else ""


def report_row(row: dict[str, Any], *, period: str | None) -> list[str]:
    """One cell's figures for the period as a person reads them (`72,5`), with the period and its status (none
    when `period` is None: report_header without them); a provisional figure says so by its rating (row_rating)."""
    return report_line(row, report_period(period))


def report_period(period: str | None, *, recalculating: bool = False) -> tuple[str, ...]:
    """The columns every row of a report gives its period in (report_row): its name and whether it has ended (and
    whether its figures are being recalculated, period_status); none for None. Worked out once for all the rows of an
    export (period_status reads the clock and the calendar)."""
    return (format_period(period), period_status(period, recalculating=recalculating)) if period is not None else ()


def report_rows(
    rows: Iterable[dict[str, Any]], *, period: str | None, recalculating: bool = False
) -> Iterator[list[str]]:
    """report_row of each row, the period's columns worked out once (report_period)."""
    columns = report_period(period, recalculating=recalculating)
    return (report_line(row, columns) for row in rows)


def late_notes(rows: Iterable[dict[str, Any]], *, period: str) -> list[str]:
    """`<cell>: Ghi nhận muộn: kết quả tháng 11/2026 thay đổi …` for each row whose month changed after it closed
    (i18n.late_change_note), as the PDF lists them under its table."""
    return [
        f"{cell_name(row)} — {late_change_note(period, row['late_change'])}" for row in rows if row.get("late_change")
    ]


def reason_notes(rows: Iterable[dict[str, Any]], *, period: str) -> list[str]:
    """`<cell> — Kém dù điểm đạt mức Trung bình: chưa sinh hoạt chuyên đề trong quý …` for each row rated below its
    score's band, in the words of i18n.rating_reason (as the cell's and committee's pages and the CSV say it), as the
    PDF lists them under its table."""
    return [f"{cell_name(row)} — {reason}" for row in rows if (reason := rating_reason(row, period))]


def cell_name(row: dict[str, Any]) -> str:
    """A report row's cell as an export prints it: its name made harmless (shared.text.shown_name: no character that
    steers or hides text, one line), its id when it has none."""
    return shown_name(str(row.get("name") or row["cell_id"]))


def summary_late_notes(rollup: dict[str, Any], *, period: str) -> list[str]:
    """late_notes of the first PDF_LATE_CHANGES of the roll-up's late-changed cells (GetCommitteeRollup.late_changes,
    latest first, as the committee's page orders them), then `và 620 chi bộ khác; danh sách đầy đủ có trong tệp CSV
    của báo cáo.` for the rest (`late_changes_total`): the summary PDF's section bounded as its weakest cells are."""
    changes = rollup.get("late_changes") or []
    notes = late_notes(changes[:PDF_LATE_CHANGES], period=period)
    more = max(int(rollup.get("late_changes_total") or 0), len(changes)) - min(len(changes), PDF_LATE_CHANGES)
    if notes and more > 0:
        notes.append(_("and %(count)s more cells; the full list is in the report's CSV.", count=format_number(more)))
    return notes


def report_line(row: dict[str, Any], columns: tuple[str, ...]) -> list[str]:
    """report_row with the period's columns given (report_period); with them (a CSV row) the late change note of a
    month whose result changed after it closed and the reason its rating is below its score's band, last (blank for
    none)."""
    rates = [
        format_number(percent(row[key])) if row.get(key) is not None else ""
        for key in ("attendance_rate", "speaking_rate")
    ]
    return [
        str(row["cell_id"]),
        cell_name(row),
        format_number(row.get("score")) if row.get("score") is not None else "",
        row_rating(row),
        *columns,
        # none for a period not rated yet (its ratings line: `not_rated`): blank, as a line without them
        *("" if row.get(key) is None else str(row[key]) for key in ("regular_held", "thematic_held")),
        *rates,
        *(
            (late_change_note(str(row.get("period") or ""), row.get("late_change")), rating_reason(row) or "")
            if columns
            else ()
        ),
    ]


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet program read a cell as a formula (OWASP, "CSV injection")."""
PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:[.,][0-9]+)?")


def inert(cell: str) -> str:
    """A text cell a spreadsheet shows as text: without the characters that only steer or hide text
    (shared.text.without_controls: a name sent with a right-to-left override U+202E shows the cells after it
    reversed, and a zero-width character before `=` hid a formula from the check below), and one starting like a
    formula (`=HYPERLINK(...)`, `@SUM(...)`, from a unit's or member's name sent by another system) gets a leading
    apostrophe; plain numbers stay as they are."""
    cell = without_controls(cell)
    if cell.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def csv_lines(rows: Iterable[list[str]]) -> str:
    """Rows as a spreadsheet's CSV lines: `;` between fields, CRLF line ends, every text cell inert (no formula runs
    when the file is opened)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    for row in rows:
        writer.writerow([inert(cell) for cell in row])
    return buffer.getvalue()


def spreadsheet_csv(header: list[str], rows: Iterable[list[str]]) -> bytes:
    """UTF-8 with a BOM (so spreadsheet programs show the diacritics), then csv_lines of the header and the rows."""
    return csv_lines([header, *rows]).encode("utf-8-sig")


def report_csv(rows: list[dict[str, Any]], *, period: str) -> bytes:
    """The report for the period as a spreadsheet's CSV (spreadsheet_csv), decimal commas; every row says whether
    the period has ended, so a provisional figure copied or sorted away from the file's name still says so. A
    committee without data up to the period's end has no rows: the header alone."""
    return spreadsheet_csv(report_header(), report_rows(rows, period=period))


async def report_csv_chunks(
    first: list[dict[str, Any]],
    rest: AsyncIterator[list[dict[str, Any]]],
    *,
    period: str,
    moves: Iterable[dict[str, Any]] = (),
    recalculating: bool = False,
    rollup: dict[str, Any] | None = None,
) -> AsyncIterator[bytes]:
    """report_csv, one chunk per page of rows (report_pages: `first`, then `rest`): the BOM and the header, then each
    page's lines, so the gateway holds one page at a time however many cells the committee has; then a line for each
    cell among `moves` (the roll-up's `late_changes`, all_late_changes) that moved away after the month closed and is
    no line of the report (moved_away_rows, which alone keeps the moves of them), as the committee's page lists it.
    `recalculating` (the roll-up's: read off the org tree as last applied) is said on every row, with the period's
    status (period_status), as the committee's page says it above its figures; a report without any row says it on
    the one row of recalculating_row. Last, when the `rollup` (as the committee's page reads it) leaves out new cells
    with no month ended, the note its page says under the figures (data.left_out_note), on a row of left_out_row."""
    changes = list(moves)
    left_out = LeftOutCells(rollup)
    wanted = {str(item["cell_id"]) for item in changes}
    seen: set[str] = set()  # of the late-changed cells only: the report's own can be 60,000 lines
    yield csv_lines([report_header()]).encode("utf-8-sig")
    seen.update(cell for row in first if (cell := str(row["cell_id"])) in wanted)
    left_out.add(first)
    lines = bool(first)
    yield csv_lines(report_rows(first, period=period, recalculating=recalculating)).encode()
    async for page in rest:
        seen.update(cell for row in page if (cell := str(row["cell_id"])) in wanted)
        left_out.add(page)
        lines = lines or bool(page)
        yield csv_lines(report_rows(page, period=period, recalculating=recalculating)).encode()
    gone = moved_away_rows(changes, seen=seen, period=period)
    if gone:
        yield csv_lines(report_rows(gone, period=period, recalculating=recalculating)).encode()
    elif recalculating and not lines:
        yield csv_lines([recalculating_row(period)]).encode()
    if note := left_out.note():
        yield csv_lines([left_out_row(note, period=period, recalculating=recalculating)]).encode()


class LeftOutCells:
    """The report's rows not met yet, gathered page by page for data.left_out_note (the names of the new cells a
    running quarter, half-year or year leaves out of its figures): at most one more than the roll-up's `not_rated`,
    which is enough to tell whether the report held them all, so a month's thousands of cells not met yet are not
    kept while the CSV streams."""

    def __init__(self, rollup: dict[str, Any] | None) -> None:
        self.rollup = rollup
        self.wanted = int((rollup or {}).get("not_rated") or 0) + 1
        self.waiting: list[dict[str, Any]] = []

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        """Keep the rows of `rows` not met yet, up to `wanted` in all."""
        if self.rollup is None or len(self.waiting) >= self.wanted:
            return
        self.waiting.extend(row for row in rows if row.get("not_met_yet"))
        del self.waiting[self.wanted :]

    def note(self) -> str:
        """data.left_out_note of the roll-up over the rows kept; empty without a roll-up."""
        return left_out_note(self.rollup, {"items": self.waiting}) if self.rollup is not None else ""


def left_out_row(note: str, *, period: str, recalculating: bool = False) -> list[str]:
    """A report CSV's last row when its roll-up leaves out new cells (data.left_out_note, as the committee's page says
    it under the figures): as recalculating_row says a sentence, no code, the note where a cell's name is, the period
    and its status in their columns, no figures (a sum down a column counts nothing of it)."""
    return report_line({"cell_id": "", "name": note}, report_period(period, recalculating=recalculating))


def recalculating_row(period: str) -> list[str]:
    """The one row of a report CSV without any cell while evaluation reads the org tree as last applied (a committee
    whose cells are being moved in answers `no_data` until the change is applied): no code, the no-data sentence
    (core.no_data_yet, as the PDF says it) where a cell's name is, and the period with its status and
    i18n.recalculating_note in their columns, where every row of a report says it; the header alone said nothing of
    it, and a comment line is no CSV (a spreadsheet shows it as a row of data anyway)."""
    return report_line({"cell_id": "", "name": no_data_yet(period)[1]}, report_period(period, recalculating=True))


def moved_away_rows(changes: Iterable[dict[str, Any]], *, seen: set[str], period: str) -> list[dict[str, Any]]:
    """The report rows of the cells a committee lost after `period` (or a month of it) closed: each roll-up
    `late_changes` item of kind "unit_moved" (evaluation's move_late_changes: moved to another committee, or made a
    root; the one place that filters them, so `changes` may hold every kind of late change) whose cell is not among
    the report's cells (`seen`), with its code, name, the period and its note, and no figures: they no
    longer count under the committee, and a sum down the column must not count them (h374: the page listed the move,
    the CSV had no line for it)."""
    rows = []
    for item in changes:
        late = item.get("late_change") or {}
        if late.get("kind") == "unit_moved" and str(item["cell_id"]) not in seen:
            seen.add(str(item["cell_id"]))
            rows.append({"cell_id": item["cell_id"], "name": item.get("name"), "period": period, "late_change": late})
    return rows


def whole(value: Any) -> str:
    """A count as a person reads it (shared.numbers: `4.500` cells, as the committee's page and the PDF's notes say
    it, not `4500`); blank for none."""
    return "" if value is None or value == "" else format_number(int(value), digits=0)


def report_figures(rollup: dict[str, Any], *, period: str) -> list[tuple[str, str]]:
    """The committee's key figures of the period, as the report's PDF lists them under its title (a running month's
    regularity with its base, i18n.met_base, as the page says it); a half-year (no rating of its own) its quarters'
    cells by rating instead of its own (i18n.quarters_rating_counts); the thematic coverage labelled for `period`."""
    by_rating = rollup.get("by_rating") or {}
    return [
        (_("Cells"), whole(rollup.get("cells"))),
        (_("Average score"), format_number(rollup.get("score"))),
        (_("Regularity"), " — ".join(filter(None, (format_share(rollup.get("regularity")), met_base(rollup))))),
        (_("Attendance rate"), format_share(rollup.get("attendance_rate"))),
        (_("Speaking rate"), format_share(rollup.get("speaking_rate"))),
        (thematic_coverage_label(period), format_share(rollup.get("thematic_coverage"))),
        *(
            quarters_rating_counts(rollup["quarters"])
            if rollup.get("quarters") is not None
            else ((format_rating(key), whole(by_rating.get(key, 0))) for key in ("good", "fair", "average", "poor"))
        ),
        *(
            ((_("No regular meeting yet"), whole(rollup["not_met_yet"])),)
            if rollup.get("not_met_yet") is not None
            else ()
        ),
    ]


def report_subtitle(unit: dict[str, Any], period: str) -> str:
    """`Tỉnh ủy — Tháng 11/2026`, with the period's status when it has not ended."""
    subtitle = after_dash(shown_name(str(unit["name"])), format_period(period))
    if running(period):  # figures still moving as cells meet; one bracket, none nested inside it
        subtitle += f" ({period_status(period)})"
    return subtitle


def report_document(unit: dict[str, Any], period: str, data: dict[str, Any]) -> bytes:
    """The report as PDF: with `rows` (report) every cell; with `sub_units`, `direct_cells` (0 when absent) and
    `weakest` (report_summary, a committee above FULL_LIST_CELLS cells) the figures by directly subordinate committee
    (the cells directly under it counted, never a row each: no table when they are all it has) and the weakest
    cells, and a note that the full list is in the CSV."""
    rollup = data["rollup"]
    title, subtitle = _("Report on party cell meetings"), report_subtitle(unit, period)
    # what the committee's page says above the same figures: in a running month the average score is over the cells
    # that have met, the regularity and the thematic coverage over every cell
    figures_note = running_note(period) if running(period) else ""
    # first: figures read off the org tree as last applied, as the page says above them (i18n.recalculating_note)
    figures_note = " ".join(filter(None, (recalculating_note(rollup), figures_note)))
    half_year = is_half_year(period)
    if half_year:  # where a rating would be: said once, under the figures
        figures_note = " ".join(filter(None, (figures_note, half_year_no_rating(period, rollup=rollup))))
    # new cells a running quarter, half-year or year leaves out of its figures, in the page's words, on a line of its
    # own under them: named when the PDF lists every cell, counted otherwise (its weakest cells are rated ones)
    shown = data["rows"] if "rows" in data else data["weakest"]
    left_out = left_out_note(rollup, {"items": [row for row in shown if row.get("not_met_yet")]})
    figures_note = "\n".join(filter(None, (figures_note, left_out)))
    if "rows" in data:
        return pdf.report_pdf(
            title=title,
            subtitle=subtitle,
            figures=report_figures(rollup, period=period),
            header=report_header(with_period=False)[1:],
            rows=[line[1:] for line in report_rows(data["rows"], period=None)],
            unrated=no_data_yet(period) if rollup.get("no_data") else None,
            notes=[
                (late_changes_title(period), late_notes(data["rows"], period=period)),
                (_("Reason for the rating"), reason_notes(data["rows"], period=period)),
            ],
            figures_note=figures_note,
        )
    # cells directly under the committee are no row of the table (a commune's 700 made it 20 pages): counted instead,
    # the weak among them in the weakest cells, every one in the CSV
    committees = data["sub_units"]
    direct_cells = int(data.get("direct_cells") or 0)
    units = [
        [
            shown_name(str(item["unit"].get("name") or item["unit"]["id"])),
            whole(item["rollup"].get("cells")),
            format_number(item["rollup"].get("score")),
            *(
                (pair[1] for pair in quarters_rating_counts(item["rollup"].get("quarters") or []))
                if half_year
                else (
                    whole((item["rollup"].get("by_rating") or {}).get(key, 0))
                    for key in ("good", "fair", "average", "poor")
                )
            ),
        ]
        for item in committees
    ]
    weakest = [line[1:] for line in report_rows(data["weakest"], period=None)]
    if direct_cells and not committees:
        note = _(
            "This committee has %(cells)s cells directly under it: this PDF gives its figures and its weakest cells "
            "(rated Average or Poor, at most %(weakest)s); every cell's figures are in the report's CSV.",
            cells=format_number(rollup.get("cells")),
            weakest=PDF_WEAKEST,
        )
    else:
        note = _(
            "This committee has %(cells)s cells: this PDF gives its figures by directly subordinate unit and its "
            "weakest cells (rated Average or Poor, at most %(weakest)s); every cell's figures are in the report's "
            "CSV.",
            cells=format_number(rollup.get("cells")),
            weakest=PDF_WEAKEST,
        )
    units_note = (
        _(
            "The table leaves out the %(count)s cells directly under the committee; each one's figures are in the "
            "report's CSV.",
            count=format_number(direct_cells),
        )
        if direct_cells and committees
        else ""
    )
    return pdf.report_summary_pdf(
        title=title,
        subtitle=subtitle,
        figures=report_figures(rollup, period=period),
        note=note,
        units_title=_("By directly subordinate unit"),
        units_header=[
            _("Unit"),
            _("Cells"),
            _("Average score"),
            *(
                (format_rating(key) for key in ("good", "fair", "average", "poor"))
                if not half_year
                else (_("Ratings of %(period)s", period=period_within(q)) for q in half_quarters(period))
            ),
        ],
        units=units if (committees or not direct_cells) and not data.get("units_unavailable") else None,
        units_note=units_note,
        # meetings did not answer: said where the table would be, in the committee page's words
        units_unavailable=_(UNITS_UNAVAILABLE) if data.get("units_unavailable") else "",
        weakest_title=_("Weakest cells"),
        weakest_header=report_header(with_period=False)[1:],
        weakest=weakest,
        none_weak=half_year_no_rating(period, rollup=rollup) if half_year else _("No cell rated Average or Poor."),
        figures_note=figures_note,
        notes=[
            (late_changes_title(period), summary_late_notes(rollup, period=period)),
            (_("Reason for the rating"), reason_notes(data["weakest"], period=period)),
        ],
    )


def minutes_document(
    meeting: dict[str, Any],
    unit: dict[str, Any],
    superior: dict[str, Any] | None,
    members: dict[str, Any],
    *,
    score: dict[str, Any] | None = None,
) -> bytes:
    """The minutes (biên bản) of a meeting as PDF, in the customary layout; `score`, the meeting's score (reads'
    meeting_score) when it has one, puts the self-score against its manual items' maximum and says the score."""

    def name(member_id: str | None) -> str:
        return shown_name(str(members.get(member_id or "", {}).get("full_name") or member_id or ""))

    starts = local(parse_moment(meeting.get("starts_at")) or parse_moment("2000-01-01T00:00:00+07:00"))  # type: ignore[arg-type]
    minutes = meeting.get("minutes") or {}
    roster = (meeting.get("attendance") or {}).get("records") or []
    records = by_person(roster, lambda record: name(record["member_id"]))
    counts = Counter(record["status"] for record in records)
    absent_lines = [
        f"- {name(record['member_id'])}: {label('attendance', record['status'])}"
        + (f" ({reason})" if (reason := absence_reason(record)) else "")
        for record in records
        if record["status"] in ("excused", "absent")
    ]
    # the members exempt or taking part elsewhere for now are not summoned (DOMAIN.md "Minutes": they are listed but
    # left out of the rate): counted on a line of their own and named, never in the total summoned
    not_summoned = [record for record in records if record["status"] in NOT_SUMMONED]
    summoned = [record for record in records if record["status"] not in NOT_SUMMONED]
    exempt_lines = [
        f"- {name(record['member_id'])}: {label('attendance', record['status'])}"
        + (f" ({reason})" if (reason := absence_reason(record)) else "")
        for record in not_summoned
    ]
    guests = ", ".join(
        shown_name(str(guest.get("name", ""))) for guest in (meeting.get("attendance") or {}).get("guests") or []
    )
    resolutions = [
        f"{index}. {item['text']} — "
        + _(
            "%(yes)s in favour, %(no)s against, %(abstain)s abstaining",
            yes=item["votes_for"],
            no=item["votes_against"],
            abstain=item["abstentions"],
        )
        for index, item in enumerate(minutes.get("resolutions") or [], start=1)
    ]
    sections = [
        (
            "",
            _(
                "Time: from %(start)s to %(end)s.",
                start=format_moment(minutes.get("started_at") or meeting.get("starts_at")),
                end=format_moment(minutes.get("ended_at")),
            ),
        ),
        ("", _("Place: %(place)s.", place=meeting.get("location") or "")),
        # a thematic (or combined) meeting's planned topic, as the meeting's page names it (DOMAIN.md "Meetings")
        *([("", _("Topic: %(topic)s.", topic=topic))] if (topic := str(meeting.get("topic") or "")) else []),
        (
            _("I. Attendance"),
            _(
                "Members summoned: %(total)s%(split)s; present: %(present)s; absent with leave: %(excused)s; "
                "absent without leave: %(absent)s.",
                total=len(summoned),
                split=summoned_split(summoned, members, starts.date()),
                present=counts["present"],
                excused=counts["excused"],
                absent=counts["absent"],
            )
            + ("\n" + "\n".join(absent_lines) if absent_lines else "")
            + (
                "\n"
                + _("Not summoned, exempt from meetings or temporarily elsewhere: %(count)s.", count=len(not_summoned))
                if not_summoned
                else ""
            )
            + ("\n" + "\n".join(exempt_lines) if exempt_lines else "")
            + (("\n" + _("Guests: %(names)s.", names=guests)) if guests else ""),
        ),
        (
            "",
            _(
                "Chair: %(chair)s. Recorder: %(recorder)s.",
                chair=name(minutes.get("chair_id")),
                recorder=name(minutes.get("recorder_id")),
            ),
        ),
        (_("II. Content"), agenda_lines(meeting.get("agenda") or [])),
        ("", str(minutes.get("content") or "")),
        (_("Members who spoke"), ", ".join(name(speaker) for speaker in minutes.get("speakers") or []) or _("Nobody.")),
        ("", self_criticism_line(minutes.get("self_criticism_minutes"))),
        (_("III. Conclusions"), str(minutes.get("conclusions") or "")),
        (_("IV. Resolutions"), "\n".join(resolutions) or _("None.")),
        (_("V. Tasks"), "" if meeting.get("tasks") else _("None.")),
    ]
    tasks_after = [
        (_("VI. The cell committee's self-score"), self_score_lines(meeting.get("assessments") or [], score))
    ]
    tasks = [
        [str(task.get("description") or ""), name(task.get("assignee_id")), format_short_date(task.get("due_on"))]
        for task in meeting.get("tasks") or []
    ]
    end = format_moment(minutes.get("ended_at")) if minutes.get("ended_at") else ""
    ended = _("The meeting ended at %(end)s.", end=end) if end else ""
    closing = " ".join(part for part in (ended, adoption_line(meeting) if minutes else "") if part)
    kind = label("kind", meeting.get("kind"))
    return pdf.minutes_pdf(
        superior=shown_name(str((superior or {}).get("name") or "")),
        cell=shown_name(str(unit.get("name") or "")),
        place_and_date=pdf.place_and_date(locality(superior, unit), starts),
        title=_("MINUTES"),
        subtitle=_("%(kind)s, %(period)s", kind=kind, period=format_period(f"{starts:%Y-%m}", within=True)),
        sections=sections,
        tasks_header=[_("Task"), _("Assignee"), _("Due")],
        tasks=tasks,
        signatures=((_("RECORDER"), name(minutes.get("recorder_id"))), (_("CHAIR"), name(minutes.get("chair_id")))),
        after_tasks=tasks_after,
        closing=[closing] if closing else [],
        notice=_("This meeting was cancelled: these minutes do not count.")
        if minutes_state(meeting) == "cancelled"
        else "",
    )


def agenda_lines(agenda: Sequence[str]) -> str:
    """The meeting's agenda as the minutes' content opens with it ("Chương trình sinh hoạt:", its items numbered),
    nothing for a meeting without one."""
    items = [f"{index}. {item}" for index, item in enumerate(agenda, start=1)]
    return "\n".join([_("Meeting agenda:"), *items]) if items else ""


def adoption_line(meeting: dict[str, Any]) -> str:
    """The minutes' adoption as their closing says it, from a meeting read (MeetingReply as a dict): when the cell
    adopted them and its votes (`adoption_votes_for`, `adoption_votes_against`, each said when the adoption named
    it), or that they are not adopted. The minutes are read back to the cell as it adopts them (DOMAIN.md
    "Meetings": "minutes read and adopted"): said only of adopted minutes (a trial's unadopted minutes printed "đã
    được đọc lại")."""
    if not meeting.get("approved_at"):
        return _("The cell has not adopted these minutes yet.")
    at = format_moment(meeting["approved_at"])
    yes, no = meeting.get("adoption_votes_for"), meeting.get("adoption_votes_against")
    if yes is not None and no is not None:
        return _(
            "The minutes were read to the meeting and adopted at %(at)s, %(yes)s members in favour, %(no)s against.",
            at=at,
            yes=format_number(yes),
            no=format_number(no),
        )
    if yes is not None:
        return _(
            "The minutes were read to the meeting and adopted at %(at)s, %(yes)s members in favour.",
            at=at,
            yes=format_number(yes),
        )
    if no is not None:
        return _(
            "The minutes were read to the meeting and adopted at %(at)s, %(no)s members against.",
            at=at,
            no=format_number(no),
        )
    return _("The minutes were read to the meeting and adopted at %(at)s.", at=at)


def self_criticism_line(minutes: Any) -> str:
    """`Thời gian tự phê bình và phê bình: 20 phút.` for the minutes' self-criticism (a whole number of minutes;
    DOMAIN.md "Meetings": 15–30 minutes), or that it was not recorded."""
    if minutes is None:
        return _("Self-criticism: not recorded.")
    return _("Self-criticism: %(minutes)s minutes.", minutes=format_number(minutes))


def self_score_lines(assessments: Sequence[dict[str, Any]], score: dict[str, Any] | None = None) -> str:
    """The cell committee's latest self-score of the meeting, one line each: its points summed over the manual items
    it scored, out of the applicable manual items' maximum when `score` (the meeting's score, reads.meeting_score)
    gives it, and its comment, or that none was given; then the meeting's score out of 100 with its rating
    (`tạm tính` while provisional) when `score` is known (DOMAIN.md "Meetings": the minutes hold the self-score;
    "Quality criteria": the self-score is only the manual items' points, not the score; `assessments` oldest first,
    as the API)."""
    own = [item for item in assessments if item.get("role") == "cell_committee"]
    lines = [_("The cell committee has not scored the meeting yet.")]
    if own:
        latest = own[-1]
        total = sum(Decimal(str(value)) for value in (latest.get("points") or {}).values())
        manual = [
            line
            for line in (score or {}).get("criteria") or []
            if line.get("source") == "manual" and line["applicable"]
        ]
        top = sum(Decimal(str(line.get("max") or 0)) for line in manual)
        lines = [
            _(
                "The cell committee's self-score (the items scored by hand): %(points)s/%(max)s points.",
                points=format_number(total),
                max=format_number(top),
            )
            if manual
            else _(
                "The cell committee's self-score (the items scored by hand): %(points)s points.",
                points=format_number(total),
            )
        ]
        if latest.get("comment"):
            lines[0] += " " + _("Comment: %(comment)s", comment=str(latest["comment"]))
    if score is not None and score.get("score") is not None:
        lines.append(
            _(
                "The meeting's score: %(score)s/100 points, rated %(rating)s.",
                score=format_number(score["score"]),
                rating=rating_label(score),
            )
        )
    return "\n".join(lines)


def probationary_on(member: dict[str, Any], day: date) -> bool:
    """Whether a member was probationary on the meeting's day: probationary now, or their probation ended after it."""
    ends = member.get("probation_ends_on")
    ended_after = bool(ends) and str(ends) > day.isoformat()
    return member.get("status") == "probationary" or ended_after


NOT_SUMMONED = ("exempt", "transferred")
"""Roster statuses of members listed but not summoned: exempt, or taking part elsewhere for now (DOMAIN.md)."""


def summoned_split(records: list[dict[str, Any]], members: dict[str, Any], day: date) -> str:
    """` (10 đảng viên chính thức, 2 đảng viên dự bị)`: the members summoned (the roster) split as the minutes give
    them (DOMAIN.md); those the viewer's list does not hold are counted apart, and nothing is said when it holds none
    of them."""
    known = [members[record["member_id"]] for record in records if record["member_id"] in members]
    if not known:
        return ""
    probationary = sum(probationary_on(member, day) for member in known)
    split = _(
        "%(official)s official members, %(probationary)s probationary members",
        official=len(known) - probationary,
        probationary=probationary,
    )
    if len(known) < len(records):
        split += _(", %(count)s not on the cell's list", count=len(records) - len(known))
    return f" ({split})"


LOCALITY_PREFIXES = ("Đảng ủy xã ", "Đảng ủy phường ", "Đảng ủy đặc khu ", "Đảng ủy thị trấn ", "Đảng ủy ", "Tỉnh ủy ")


def locality(superior: dict[str, Any] | None, unit: dict[str, Any]) -> str:
    """The place written before the date: the commune or ward of the superior committee ("Hòa Bình"), out of its
    name made harmless (shared.text.shown_name)."""
    name = shown_name(str((superior or unit).get("name") or ""))
    for prefix in LOCALITY_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def held_meeting_ids(meetings: Iterable[dict[str, Any]]) -> list[str]:
    """The listed meetings that were held (DOMAIN.md: minutes, not cancelled): a meeting with a roster only (status
    `scheduled`, its minutes not in yet) counts in no member's meetings expected nor absences, as in their history."""
    return [item["meeting_id"] for item in meetings if item.get("status") in HELD_STATUSES]


def meeting_day(starts_at: Any) -> str | None:
    """The local day (YYYY-MM-DD, +07:00) of a meeting's `starts_at` as the API gives it; None when absent."""
    if not starts_at:
        return None
    moment = starts_at if isinstance(starts_at, datetime) else datetime.fromisoformat(str(starts_at))
    return local_date(moment).isoformat()


def task_on_time(task: dict[str, Any], *, assigned_on: str | None) -> bool:
    """Done no later than its due date and not before the meeting that assigned it (`assigned_on`, YYYY-MM-DD), as
    evaluation's TaskOutcome.on_time counts it."""
    done, due = task.get("completed_on"), task.get("due_on")
    if not done or not due or (assigned_on is not None and str(done) < assigned_on):
        return False
    return str(done) <= str(due)


async def evidence(state: GatewayState, principal: Principal, cell_id: str, year: str) -> dict[str, Any]:
    """Per member and per cell, the meeting evidence of a year (`2026`) or a half-year (`2026-H1`: committees review
    by half-year) for the grading (the product gives the evidence; the committee grades): meetings expected,
    attended, excused, unexcused, the longest excused run, times spoken, tasks assigned and done on time; the cell's
    months, regularity, thematic coverage and rates. `year_row` is the period's own row (a half-year's is
    evaluation's line: no rating, its quarters' in `quarter_ratings`)."""
    ratings, meetings, members = await asyncio.gather(
        _ratings(state, principal, cell_id, year),
        reads.list_cell_meetings(cell_id, principal, state, period=year, limit=200, offset=0),
        _members(state, principal, cell_id, year),
    )
    held_ids = held_meeting_ids(meetings["items"])
    left = left_since(members)
    gate = asyncio.Semaphore(8)

    async def meeting(meeting_id: str) -> dict[str, Any]:
        async with gate:
            found: dict[str, Any] = await reads.get_meeting(meeting_id, principal, state)
            return found

    held = sorted(await asyncio.gather(*(meeting(m) for m in held_ids)), key=lambda m: str(m.get("starts_at")))
    people: dict[str, dict[str, Any]] = {
        member_id: {
            "member_id": member_id,
            "name": member["full_name"],
            "left_on": left.get(member_id),
            "expected": 0,
            "present": 0,
            "excused": 0,
            "absent": 0,
            "longest_excused_run": 0,
            "run": 0,
            "spoke": 0,
            "tasks": 0,
            "tasks_on_time": 0,
        }
        for member_id, member in members.items()
    }
    for item in held:
        speakers = set((item.get("minutes") or {}).get("speakers") or [])
        for record in (item.get("attendance") or {}).get("records") or []:
            person = people.get(record["member_id"])
            if person is None:
                continue
            status = record["status"]
            if status in ("exempt", "transferred"):
                continue
            person["expected"] += 1
            person[status] = person.get(status, 0) + 1
            person["run"] = person["run"] + 1 if status == "excused" else 0
            person["longest_excused_run"] = max(person["longest_excused_run"], person["run"])
            if record["member_id"] in speakers and status == "present":
                person["spoke"] += 1
        assigned_on = meeting_day(item.get("starts_at"))
        for task in item.get("tasks") or []:
            person = people.get(task.get("assignee_id"))
            if person is None:
                continue
            person["tasks"] += 1
            if task_on_time(task, assigned_on=assigned_on):
                person["tasks_on_time"] += 1
    by_period = {item["period"]: item for item in ratings["items"]}
    months = [
        {**(by_period.get(period) or {"period": period}), "month": int(period[5:7]), "running": running(period)}
        for period in period_months(year)
    ]
    quarters = half_quarters(year) if is_half_year(year) else [f"{year}-Q{q}" for q in range(1, 5)]
    rated = [month for month in months if month.get("rating")]
    return {
        # in the members' order (members_by_id: by name), not ordered again: a second pyuca key per member
        "people": list(people.values()),
        "months": months,
        "year_row": by_period.get(year),
        "quarters": [by_period.get(quarter) or {"period": quarter} for quarter in quarters],
        "months_with_meeting": sum(1 for month in rated if month.get("regular_held")),
        "months_rated": len(rated),
        "quarters_with_thematic": sum(1 for quarter in quarters if (by_period.get(quarter) or {}).get("thematic_held")),
        # the quarters the cell existed in (rated), as months_rated counts its months: a cell set up in December
        # has one quarter to hold a thematic meeting in, not four
        "quarters_rated": sum(1 for quarter in quarters if (by_period.get(quarter) or {}).get("rating")),
        "half_year": is_half_year(year),
        "today": date.today(),
        "year_running": running(year),
        "year_status": period_status(year),
    }


async def _ratings(state: GatewayState, principal: Principal, cell_id: str, period: str) -> dict[str, Any]:
    """The cell's rating rows inside `period` (`items`); for a half-year its months and quarters with its own line
    last when evaluation has one (as the cell's year page reads it, data.cell_year: none while the cell did not
    exist in it, not an error)."""
    if not is_half_year(period):
        found: dict[str, Any] = await reads.list_cell_ratings(
            cell_id, principal, state, period=period, limit=200, offset=0
        )
        return found
    of_year = await reads.list_cell_ratings(cell_id, principal, state, period=period[:4], limit=200, offset=0)
    items = [item for item in of_year["items"] if period_contains(period, item["period"])]
    try:
        items.append(await reads.cell_half_year(state, cell_id, period))
    except RpcError as exc:
        if exc.code != "not_found" or exc.field != "period":
            raise
    return {"items": items}


async def _members(state: GatewayState, principal: Principal, cell_id: str, year: str) -> dict[str, Any]:
    """Everyone who was a member of the cell at some moment of `year` (a year or a half-year; to today while it
    runs), by id in Vietnamese order of their names: a member who left during it or since keeps their evidence
    (DOMAIN.md: evidence per member; a trial's evidence left out a removed member who had attended 12 meetings that
    year)."""
    from services.gateway.web.data import members_by_id

    start, end = period_bounds(year)
    end = min(end, datetime.now(VIETNAM_TZ))
    if end <= start:  # a year ahead: its members are those of today
        return await members_by_id(state, principal, cell_id)
    return await members_by_id(state, principal, cell_id, since=start, at=end)


def evidence_header() -> list[str]:
    """The columns of the per-member evidence, the year and whether it has ended last (as in the report: columns
    added after those a spreadsheet made from an earlier file reads by position)."""
    return [
        _("Member code"),
        _("Member"),
        _("Meetings expected"),
        _("Attended"),
        _("Absent with leave"),
        _("Absent without leave"),
        _("Longest run of absences with leave"),
        _("Times spoken"),
        _("Tasks assigned"),
        _("Tasks done on time"),
        _("Period"),
        _("Period status"),
    ]


def evidence_row(person: dict[str, Any], *, year: str) -> list[str]:
    """One member's evidence over the year (or half-year: `year` is the evidence's period), with the period and
    whether it has ended (period_status): the figures of a period in progress still grow as the cell meets."""
    return evidence_line(person, evidence_period(year))


def evidence_period(year: str) -> tuple[str, str]:
    """The columns every row of the evidence gives its year in (evidence_row): its name and whether it has ended.
    Worked out once for all the rows of a CSV (period_status reads the clock and the calendar)."""
    return format_period(year), period_status(year)


EVIDENCE_KEYS = ("expected", "present", "excused", "absent", "longest_excused_run", "spoke", "tasks", "tasks_on_time")
"""The figures of a member's evidence row, in evidence_header's order."""


def evidence_line(person: dict[str, Any], columns: tuple[str, str]) -> list[str]:
    """evidence_row with the year's columns given (evidence_period)."""
    return [
        str(person["member_id"]),
        shown_name(str(person["name"])),
        *(str(person.get(key, 0)) for key in EVIDENCE_KEYS),
        *columns,
    ]


def evidence_csv(people: Iterable[dict[str, Any]], *, year: str) -> bytes:
    """The per-member evidence of the year or half-year `year` (`2026-H1`) as a spreadsheet's CSV (spreadsheet_csv),
    every row naming the period (`6 tháng đầu năm 2026`) and whether it has ended (its columns worked out once)."""
    columns = evidence_period(year)
    return spreadsheet_csv(evidence_header(), (evidence_line(person, columns) for person in people))
