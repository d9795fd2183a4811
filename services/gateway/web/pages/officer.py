"""The committee officer's pages: a committee's overview for a period, with its children to drill into."""

import re
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.gateway.handlers import authorize_unit
from services.gateway.http import reads
from services.gateway.http.deps import State
from services.gateway.http.reads import OFFICERS
from services.gateway.web import data, periods
from services.gateway.web.core import (
    PREFIX,
    BadPosition,
    CurrentViewer,
    FormViewer,
    PeriodNotBegun,
    PeriodOutside,
    WebRoute,
    go_back,
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
    unit = await authorize_unit(principal, committee_id, directory=state.directory, kind="committee", roles=OFFICERS)
    crumbs = await data.breadcrumb(state, principal, unit)
    late_offset = late_minutes_offset(request, committee_id, period)
    try:
        if not_begun:
            raise RpcError("invalid", f"period: {period} has not begun yet", field="period")
        overview = await data.committee_overview(state, principal, committee_id, period, late_offset=late_offset)
        if overview["rollup"] is not None and overview["rollup"].get("no_data"):
            raise RpcError("not_found", f"period: no data for {committee_id} up to {period}", field="period")
    except RpcError as exc:
        if exc.field != "period":
            raise
        earliest = await data.committee_first_month(state, principal, committee_id)
        if asked and exc.code == "not_found" and earliest is not None:
            # a period asked for before the unit's data: the 404 page naming the span there is, as the cell page's
            # year before the cell existed and the API's 404 (the report and exports answer it alike); a unit
            # without any data yet says so with 200, as its API roll-up answers `no_data`
            raise PeriodOutside(
                period=period, earliest=earliest, back=f"{PREFIX}/committees/{quote(committee_id)}"
            ) from None
        # a period not begun (422, as the API, report and export answer it), or the page opened without a period on
        # a unit without data up to the month last ended (200): said so, with the chooser, never all Kém
        title, message = unrated(period, exc)
        return render(
            request,
            "committee.html",
            status=422 if exc.code == "invalid" else 200,
            viewer=viewer,
            unit=unit,
            period=period,
            choices=periods.choices(period, first_month=earliest),
            crumbs=crumbs,
            unrated={"state": "not_begun" if exc.code == "invalid" else "no_data", "title": title, "message": message},
        )
    rollup = overview["rollup"]
    first_month = rollup.get("first_month") if rollup is not None else None
    offered_from = data.offered_first_month(committee_id, rollup)
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
        trend=trend,
        late_pager=late_minutes_pager(overview.get("late_minutes_page"), committee_id, period),
        # a list opened past its end (it got shorter, or an address typed): said, with the way to its first page
        late_minutes_start=late_minutes_address(committee_id, period, 0) if late_offset else None,
        **overview,
    )


LATE_OFFSET = "late_offset"
"""The committee page's parameter that pages its meetings with late minutes (the API's `offset` of them)."""
LATE_OFFSET_MOST = 1_000_000


def late_minutes_address(committee_id: str, period: str, offset: int) -> str:
    """The committee page of `period` with its late-minutes list from `offset`, at that list."""
    query = {"period": period, **({LATE_OFFSET: offset} if offset else {})}
    return f"{PREFIX}/committees/{quote(committee_id)}?{urlencode(query)}#late-title"


def late_minutes_offset(request: Request, committee_id: str, period: str | None) -> int:
    """Where the page's late-minutes list starts (`late_offset`): a whole number from 0, rounded down to a page of
    data.LATE_MINUTES_SHOWN, at most LATE_OFFSET_MOST (past the end, said on the page); anything else is BadPosition
    (a 400 page naming the list, with the way back to its first page)."""
    raw = request.query_params.get(LATE_OFFSET, "")
    if not raw:
        return 0
    if not re.fullmatch(r"[0-9]+", raw):  # ASCII digits only
        back = late_minutes_address(committee_id, period, 0) if period else f"{PREFIX}/committees/{quote(committee_id)}"
        raise BadPosition(parameter=LATE_OFFSET, value=raw, what=_("the list of meetings with late minutes"), back=back)
    digits = raw.lstrip("0")
    offset = min(int(digits or "0"), LATE_OFFSET_MOST) if len(digits) <= 7 else LATE_OFFSET_MOST
    return offset - offset % data.LATE_MINUTES_SHOWN


def late_minutes_pager(shown: dict[str, int] | None, committee_id: str, period: str) -> dict[str, Any] | None:
    """The late-minutes list's pager from data.committee_overview's `late_minutes_page` ({offset, shown, total}):
    which meetings it shows (first, last, total) and the addresses of the pages before and after and of its first
    (`start`); None when nothing is late."""
    if not shown:
        return None
    offset, total = shown["offset"], shown["total"]
    last = offset + shown["shown"]
    step = data.LATE_MINUTES_SHOWN
    return {
        "first": offset + 1,
        "last": last,
        "total": total,
        "start": late_minutes_address(committee_id, period, 0),
        "previous": late_minutes_address(committee_id, period, max(offset - step, 0)) if offset else None,
        "next": late_minutes_address(committee_id, period, last) if last < total else None,
        "next_count": min(step, total - last),
    }


@router.post("/committees/{committee_id}/inbox/{notification_id}/read")
async def mark_alert_read(
    committee_id: str, notification_id: str, request: Request, viewer: FormViewer, state: State
) -> Response:
    """Mark one of the committee's alerts read (the API's POST /v1/committees/{c}/inbox/{id}/read); back to the page."""
    await reads.mark_committee_notification_read(committee_id, notification_id, viewer.principal, state)
    return await go_back(request, fallback=f"{PREFIX}/committees/{committee_id}", anchor="#inbox-title")
