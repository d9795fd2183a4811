"""Downloads: a committee's report (CSV, PDF), a meeting's minutes (PDF); the yearly grading evidence page."""

from functools import partial
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from services.gateway.availability import SCORES_SERVICE, scores_unavailable
from services.gateway.handlers import authorize_meeting
from services.gateway.http import reads
from services.gateway.http.deps import State
from services.gateway.http.reads import ROSTER_READERS
from services.gateway.rollups import no_data_rollup
from services.gateway.web import data, exports, periods
from services.gateway.web.core import (
    EVIDENCE_REFUSED,
    PREFIX,
    CurrentViewer,
    PageNotFound,
    PeriodNotBegun,
    PeriodOutside,
    Viewer,
    WebRoute,
    YearOutside,
    committee_page_unit,
    page_unit,
    render,
    year_not_begun,
)
from services.gateway.web.i18n import _
from shared.rpc import RpcError, ServiceUnavailable

router = APIRouter(prefix=PREFIX, route_class=WebRoute, include_in_schema=False)


def _download_headers(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}", "Cache-Control": "no-store"}


def _download(content: bytes, media_type: str, filename: str) -> Response:
    return Response(content, media_type=media_type, headers=_download_headers(filename))


@router.get("/committees/{committee_id}/report.csv")
async def report_csv(
    committee_id: str, viewer: CurrentViewer, state: State, period: str | None = None
) -> StreamingResponse:
    """The committee's cells for the period as CSV (UTF-8 with BOM), streamed a page of cells at a time (the roll-up
    and the first page read before the reply starts, so their errors answer as the committee page's do)."""
    asked, (period, not_begun) = bool(period), periods.period_asked(period)
    await committee_page_unit(viewer.principal, committee_id, directory=state.directory)
    rollup = await _with_data(state, viewer, committee_id, period, asked=asked, not_begun=not_begun)
    # the cells it lost after the month closed are no line of the report: listed last, as its page lists them
    moves = await exports.all_late_changes(state, committee_id, period, rollup)
    pages = exports.report_pages(state, viewer.principal, committee_id, period)
    first = await anext(pages)
    return StreamingResponse(
        exports.report_csv_chunks(
            first, pages, period=period, moves=moves, recalculating=bool(rollup.get("recalculating")), rollup=rollup
        ),
        media_type="text/csv; charset=utf-8",
        headers=_download_headers(f"bao-cao-{committee_id}-{period}.csv"),
    )


@router.get("/committees/{committee_id}/report.pdf")
async def report_pdf(committee_id: str, viewer: CurrentViewer, state: State, period: str | None = None) -> Response:
    """The committee's report for the period as PDF: every cell up to exports.FULL_LIST_CELLS, else the figures by
    directly subordinate unit and the weakest cells (the full list being in the CSV)."""
    asked, (period, not_begun) = bool(period), periods.period_asked(period)
    unit = await committee_page_unit(viewer.principal, committee_id, directory=state.directory)
    rollup = await _with_data(state, viewer, committee_id, period, asked=asked, not_begun=not_begun)
    if int(rollup.get("cells") or 0) > exports.FULL_LIST_CELLS:
        report = await exports.report_summary(state, viewer.principal, committee_id, period, rollup)
    else:
        report = await exports.report(state, viewer.principal, committee_id, period, rollup)
    # ReportLab draws synchronously: in a worker thread, so the gateway answers other requests meanwhile
    document = await run_in_threadpool(exports.report_document, unit.model_dump(), period, report)
    return _download(document, "application/pdf", f"bao-cao-{committee_id}-{period}.pdf")


async def _with_data(
    state: State, viewer: Viewer, committee_id: str, period: str, *, asked: bool, not_begun: bool = False
) -> dict[str, Any]:
    """The committee's roll-up for the period (reads.get_committee_rollup: a committee without any data yet answers
    `no_data`, whose report is empty), or PeriodOutside for a period asked for before its data (the API's 404 naming
    `query.period`), as its page answers it: a 404 page naming the span there is, never a report of nothing (the
    default period, the month last ended, still gives the empty report of a committee whose data begins this
    month). A period `not_begun` (periods.period_asked) is the 422 page "Chưa đến kỳ" with the same way to the
    committee's page (the API answers JSON naming `query.period` for both: a page path answers a page)."""
    back = f"{PREFIX}/committees/{quote(committee_id)}"
    if not_begun:
        raise PeriodNotBegun(period, back=(back, _("See the latest period")))
    try:
        return dict(await reads.get_committee_rollup(committee_id, period, viewer.principal, state))
    except RpcError as exc:
        if exc.code != "not_found" or exc.field != "period":
            raise
        earliest = await data.committee_first_month(state, viewer.principal, committee_id) if asked else None
        if asked and earliest is None and scores_unavailable():
            # evaluation silent as the report read where the data begins: not known to be before it, never a 404
            raise ServiceUnavailable(SCORES_SERVICE) from None
        if asked and (earliest is None or periods.ends_before(period, earliest)):
            raise PeriodOutside(period=period, earliest=earliest, back=back) from None
        if earliest is not None:  # the period reaches into the data, which arrived as it was asked: read it again
            try:
                return dict(await reads.get_committee_rollup(committee_id, period, viewer.principal, state))
            except RpcError as again:
                if again.code != "not_found" or again.field != "period":
                    raise
        return no_data_rollup(committee_id, period, in_progress=periods.running(period)) | await reads.tree_state(
            state, committee_id
        )


@router.get("/meetings/{meeting_id}/minutes.pdf")
async def minutes_pdf(meeting_id: str, viewer: CurrentViewer, state: State) -> Response:
    """The meeting's minutes (biên bản) as PDF."""
    meeting = (
        await authorize_meeting(viewer.principal, meeting_id, rpc=state.rpc, directory=state.directory)
    ).model_dump()
    if not meeting.get("minutes"):
        raise PageNotFound
    found = await state.directory.get(meeting["cell_id"])
    if found is None:
        raise PageNotFound
    unit = found.model_dump()
    parent = await state.directory.get(str(unit["parent_id"])) if unit.get("parent_id") else None
    superior = parent.model_dump() if parent else None
    members = await data.meeting_members(state, viewer.principal, meeting)
    # the meeting's score, so the self-score reads against its manual items' maximum beside the score out of 100 (a
    # trial read "Chi ủy tự chấm điểm: 29,5 điểm" as the meeting's total); None while evaluation has none or is away
    score = await data.meeting_score(state, viewer.principal, meeting_id)
    # a second or more for long minutes (tasks, resolutions and text of up to 10,000 characters each): drawn in a
    # worker thread, as the report is, so the event loop goes on answering
    document = await run_in_threadpool(partial(exports.minutes_document, score=score), meeting, unit, superior, members)
    return _download(document, "application/pdf", f"bien-ban-{meeting_id}.pdf")


@router.get("/cells/{cell_id}/evidence")
async def evidence_page(
    cell_id: str,
    request: Request,
    viewer: CurrentViewer,
    state: State,
    year: str | None = None,
    period: str | None = None,
) -> HTMLResponse:
    """The meeting evidence of a year (`?year=2026`) or a half-year (`?period=2026-H1`, or a year) per member and for
    the cell (for the committee's grading and its half-year review); 422 naming a bad period."""
    period, not_begun = periods.evidence_period_asked(year, period)
    unit = await _evidence_cell(viewer, state, cell_id)
    choices, span = await _within_span(state, cell_id, period, not_begun=not_begun)
    found = await exports.evidence(state, viewer.principal, cell_id, period)
    return render(
        request,
        "evidence.html",
        viewer=viewer,
        unit=unit,
        year=period[:4],
        period=period,
        choices=choices,
        span=span,
        crumbs=await data.breadcrumb(state, viewer.principal, unit),
        **found,
    )


@router.get("/cells/{cell_id}/evidence.csv")
async def evidence_csv(
    cell_id: str, viewer: CurrentViewer, state: State, year: str | None = None, period: str | None = None
) -> Response:
    """The per-member evidence of the year or half-year (evidence_page's parameters) as CSV (UTF-8 with BOM)."""
    period, not_begun = periods.evidence_period_asked(year, period)
    await _evidence_cell(viewer, state, cell_id)
    await _within_span(state, cell_id, period, not_begun=not_begun)
    found = await exports.evidence(state, viewer.principal, cell_id, period)
    table = exports.evidence_csv(found["people"], year=period)
    return _download(table, "text/csv; charset=utf-8", f"minh-chung-{cell_id}-{period}.csv")


async def _within_span(
    state: State, cell_id: str, period: str, *, not_begun: bool
) -> tuple[list[str], tuple[str | None, str | None]]:
    """The periods the evidence's picker offers (periods.evidence_choices) and the cell's (first_month, last_month)
    (data.cell_span; the half-year note names its months by them), once the cell existed in `period`, a year
    or a half-year (the years its page's year picker offers, data.cell_span): YearOutside for a year outside them (a
    trial's evidence of 1900 or 2999 read as a year of empty rows, as if the cell had met nowhere), PeriodOutside for a
    half-year outside the cell's months; a period `not_begun` (periods.evidence_period_asked) the 422 "Chưa đến kỳ"
    with the same way to the latest year."""
    years, earliest, (first_month, last_month), _known = await data.cell_span(state, cell_id)
    back = f"{PREFIX}/cells/{quote(cell_id)}/evidence?year={years[0]}"
    if not_begun:
        raise year_not_begun(period, latest=years[0], address=back)
    if not earliest <= period[:4] <= years[0]:
        raise YearOutside(year=period[:4], earliest=earliest, latest=years[0], back=back)
    choices = periods.evidence_choices(years, first_month=first_month, last_month=last_month)
    if period not in choices:
        if first_month is not None and len(period) > 4:  # a half-year of a year it existed in, before or after it
            raise PeriodOutside(period=period, earliest=first_month, back=back)
        choices.insert(0, period)  # its span not known (evaluation not answering): offered as asked
    return choices, (first_month, last_month)


__all__ = ["router", "_"]


async def _evidence_cell(viewer: Viewer, state: State, cell_id: str) -> Any:
    """The cell whose meeting evidence (page or CSV) the viewer may see (core.page_unit, ROSTER_READERS): 403
    EVIDENCE_REFUSED within the viewer's scope, 404 outside it."""
    return await page_unit(
        viewer.principal,
        cell_id,
        directory=state.directory,
        kind="cell",
        roles=ROSTER_READERS,
        refused=EVIDENCE_REFUSED,
    )
