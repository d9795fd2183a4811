"""The committee officer's pages: a committee's overview for a period, with its children to drill into."""

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.gateway.availability import scores_unavailable
from services.gateway.http.deps import State
from services.gateway.web import data, periods
from services.gateway.web.core import (
    PREFIX,
    BadPosition,
    CurrentViewer,
    PeriodNotBegun,
    PeriodOutside,
    WebRoute,
    committee_page_unit,
    list_start,
    render,
    unrated,
)
from services.gateway.web.i18n import _
from shared.rpc import RpcError

router = APIRouter(prefix=PREFIX, route_class=WebRoute, include_in_schema=False)


@router.get("/committees/{committee_id}")
async def committee_page(
    committee_id: str, request: Request, viewer: CurrentViewer, state: State, period: str | None = None
) -> HTMLResponse:
    """Cells by rating, regularity, rates, thematic coverage, 12-month trend, weakest cells, late minutes,
    the committee's inbox, and its sub-committees and cells for the period."""
    asked = bool(period)
    try:
        period = periods.checked(period)
        not_begun = False
    except PeriodNotBegun as exc:
        period, not_begun = exc.period, True
    principal = viewer.principal
    unit = await committee_page_unit(principal, committee_id, directory=state.directory)
    crumbs = await data.breadcrumb(state, principal, unit)
    late_offset = list_position(request, LATE_OFFSET, committee_id, period, _("the list of meetings with late minutes"))
    changes_offset = list_position(
        request, CHANGES_OFFSET, committee_id, period, _("the list of results changed after the month closed")
    )
    recalculating = False  # a committee without data yet whose tree changes wait says so too
    try:
        if not_begun:
            raise RpcError("invalid", f"period: {period} has not begun yet", field="period")
        overview = await data.committee_overview(
            state, principal, committee_id, period, late_offset=late_offset, changes_offset=changes_offset
        )
        if overview["rollup"] is not None and overview["rollup"].get("no_data"):
            recalculating = bool(overview["rollup"].get("recalculating"))
            raise RpcError("not_found", f"period: no data for {committee_id} up to {period}", field="period")
    except RpcError as exc:
        if exc.field != "period":
            raise
        earliest = await data.committee_first_month(state, principal, committee_id)
        if asked and exc.code == "not_found" and periods.ends_before(period, earliest):
            # a period asked for before the unit's data: the 404 page naming the span there is, as the cell page's
            # year before the cell existed and the API's 404 (the report and exports answer it alike); a unit
            # without any data yet says so with 200, as its API roll-up answers `no_data`, and so does a period in
            # its span whose roll-up is not there yet (its facts arriving as the page was asked)
            raise PeriodOutside(
                period=period, earliest=earliest, back=f"{PREFIX}/committees/{quote(committee_id)}"
            ) from None
        # a period not begun (422, as the API, report and export answer it), or the page opened without a period on
        # a unit without data up to the month last ended (200): said so, with the chooser, never all Kém
        title, message = unrated(period, exc)
        said = "not_begun" if exc.code == "invalid" else "no_data"
        silent = earliest is None and scores_unavailable()
        if silent and exc.code == "not_found":
            # evaluation went silent as the page read where the unit's data begins: whether this period has data is
            # not known, so never "Chưa có dữ liệu" (the page's banner says the scores will be back)
            said, title, message = "unavailable", _("Ratings cannot be shown right now."), ""
        offered_from = earliest or (await data.offered_first_month(state, committee_id, None) if silent else None)
        return render(
            request,
            "committee.html",
            status=422 if exc.code == "invalid" else 200,
            viewer=viewer,
            unit=unit,
            period=period,
            choices=periods.choices(period, first_month=offered_from),
            periods_unknown=silent and offered_from is None,
            crumbs=crumbs,
            unrated={"state": said, "title": title, "message": message},
            recalculating=recalculating,
        )
    rollup = overview["rollup"]
    positions = {LATE_OFFSET: late_offset, CHANGES_OFFSET: changes_offset}
    first_month = rollup.get("first_month") if rollup is not None else None
    offered_from = await data.offered_first_month(state, committee_id, rollup)
    trend = (
        await data.committee_trend(state, principal, committee_id, periods.trend_months(period, first_month))
        if rollup is not None
        else []
    )
    return render(
        request,
        "committee.html",
        viewer=viewer,
        unit=unit,
        period=period,
        choices=periods.choices(period, first_month=offered_from),
        # evaluation not answering and its first month never heard: the calendar's periods, said so
        periods_unknown=rollup is None and offered_from is None,
        crumbs=crumbs,
        unrated=None,
        running=periods.running(period),
        ratings_chart=(
            data.ratings_chart(rollup.get("by_rating") or {}, not_met_yet=rollup["not_met_yet"]) if rollup else None
        ),
        trend_chart=data.trend_chart(trend) if rollup else None,
        trend_note=data.trend_note(trend) if rollup else "",
        trend=trend,
        late_pager=late_minutes_pager(overview.get("late_minutes_page"), committee_id, period, positions),
        # a list opened past its end (it got shorter, or an address typed): said, with the way to its first page
        late_minutes_start=list_address(committee_id, period, LATE_OFFSET, 0, positions) if late_offset else None,
        changes_pager=committee_list_pager(
            {
                "offset": changes_offset,
                "shown": len(rollup.get("late_changes") or []),
                "total": int(rollup.get("late_changes_total") or 0),
            }
            if rollup
            else None,
            committee_id,
            period,
            CHANGES_OFFSET,
            positions,
        ),
        changes_start=list_address(committee_id, period, CHANGES_OFFSET, 0, positions) if changes_offset else None,
        **overview,
    )


LATE_OFFSET = "late_offset"
"""The committee page's parameter that pages its meetings with late minutes (notifications' `offset` of them)."""
CHANGES_OFFSET = "changes_offset"
"""The committee page's parameter that pages its cells whose month changed late (`late_changes_offset`)."""
PAGED_LISTS = {
    LATE_OFFSET: ("late-title", data.LATE_MINUTES_SHOWN),
    CHANGES_OFFSET: ("late-changes-title", data.LATE_CHANGES_SHOWN),
}
"""Each paged list of the committee page by its parameter: its heading's anchor and how many a page lists."""


def list_address(
    committee_id: str, period: str, parameter: str, offset: int, kept: dict[str, int] | None = None
) -> str:
    """The committee page of `period` with its list `parameter` (PAGED_LISTS) from `offset`, at that list; the
    page's other lists where they are (`kept`, by parameter)."""
    positions = {**(kept or {}), parameter: offset}
    query = {"period": period, **{name: at for name, at in positions.items() if at}}
    return f"{PREFIX}/committees/{quote(committee_id)}?{urlencode(query)}#{PAGED_LISTS[parameter][0]}"


def list_position(request: Request, parameter: str, committee_id: str, period: str | None, what: str) -> int:
    """Where the page's list `parameter` (PAGED_LISTS) starts: any item from 0 (core.list_start: `1` from the second,
    not rounded to a page; the pager counts from there), at most LIST_START_MOST (past the end, said on the page);
    anything else, a negative number too, is BadPosition (a 400 page naming the list, `what`, with the way back to its
    first page)."""
    start = list_start(request.query_params.get(parameter, ""))
    if start is None:
        back = (
            list_address(committee_id, period, parameter, 0) if period else f"{PREFIX}/committees/{quote(committee_id)}"
        )
        raise BadPosition(parameter=parameter, value=request.query_params[parameter], what=what, back=back)
    return start


def list_pager(shown: dict[str, int] | None, address: Callable[[int], str], step: int) -> dict[str, Any] | None:
    """A paged list's pager from {offset, shown, total}, `step` items a page: which items it shows (first, last,
    total), the addresses (`address` of an offset) of the pages before and after (`next_count` on the next) and of its
    first (`start`); None when it lists nothing."""
    if not shown or not shown["total"]:
        return None
    offset, total = shown["offset"], shown["total"]
    last = offset + shown["shown"]
    return {
        "first": offset + 1,
        "last": last,
        "total": total,
        "start": address(0),
        "previous": address(max(offset - step, 0)) if offset else None,
        "next": address(last) if shown["shown"] and last < total else None,
        "next_count": min(step, total - last),
    }


def committee_list_pager(
    shown: dict[str, int] | None, committee_id: str, period: str, parameter: str, kept: dict[str, int] | None = None
) -> dict[str, Any] | None:
    """The pager (list_pager) of the committee page's list `parameter` (PAGED_LISTS), its other lists kept where they
    are (`kept`)."""
    return list_pager(
        shown,
        lambda offset: list_address(committee_id, period, parameter, offset, kept),
        PAGED_LISTS[parameter][1],
    )


def late_minutes_pager(
    shown: dict[str, int] | None, committee_id: str, period: str, kept: dict[str, int] | None = None
) -> dict[str, Any] | None:
    """The late-minutes list's pager (committee_list_pager) from data.committee_overview's `late_minutes_page`."""
    return committee_list_pager(shown, committee_id, period, LATE_OFFSET, kept)


RANKING_PAGE = 50
"""How many cells a page of the committee's ranking lists (the API's default `limit`)."""


@router.get("/committees/{committee_id}/ranking")
async def ranking_page(
    committee_id: str, request: Request, viewer: CurrentViewer, state: State, period: str | None = None
) -> HTMLResponse:
    """The subtree's cells ranked by score for the period, best first, RANKING_PAGE a page from `offset`: rank, cell,
    its committee, score, rating, meetings held; the API's ranking (reads.get_committee_ranking: same scoping, same
    figures and order). A cell without a score yet (the API's `not_met_yet`, in a period in progress) gets no rank: it
    is listed apart, in the API's order. 404 outside the officer's subtree, as the committee page; a period before the
    committee's data is the committee page's 404 naming the span there is (PeriodOutside)."""
    principal = viewer.principal
    unit = await committee_page_unit(principal, committee_id, directory=state.directory)
    period = periods.checked(period)
    back = f"{PREFIX}/committees/{quote(committee_id)}/ranking?{urlencode({'period': period})}"
    raw = request.query_params.get("offset", "")
    offset = list_start(raw)
    if offset is None:
        raise BadPosition(parameter="offset", value=raw, what=_("the ranking of cells"), back=back)
    earliest = await data.committee_first_month(state, principal, committee_id)
    outside = PeriodOutside(period=period, earliest=earliest, back=f"{PREFIX}/committees/{quote(committee_id)}/ranking")
    if periods.ends_before(period, earliest):
        raise outside
    crumbs = await data.breadcrumb(state, principal, unit)
    try:
        ranking = await data.ranking_rows(state, principal, committee_id, period, offset=offset, limit=RANKING_PAGE)
    except RpcError as exc:
        if exc.field == "period" and exc.code == "not_found":
            # the API's 404 of a period before the data (its first month read as it answered): the same page
            outside.earliest = outside.earliest or await data.committee_first_month(state, principal, committee_id)
            raise outside from None
        raise
    total, shown = int(ranking["total"]), len(ranking["items"])
    address = f"{PREFIX}/committees/{quote(committee_id)}/ranking"
    pager = list_pager(
        {"offset": offset, "shown": shown, "total": total},
        lambda at: f"{address}?{urlencode({'period': period, 'offset': at})}",
        RANKING_PAGE,
    )
    return render(
        request,
        "ranking.html",
        viewer=viewer,
        unit=unit,
        period=period,
        choices=periods.choices(period, first_month=earliest),
        crumbs=crumbs,
        rows=[item for item in ranking["items"] if not item.get("not_met_yet")],
        unscored=[item for item in ranking["items"] if item.get("not_met_yet")],
        offset=offset,
        pager=pager,
        start=back if offset and not shown else None,
    )
