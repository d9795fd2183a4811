"""The committee officer's pages: a committee's overview for a period, with its children to drill into."""

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.gateway.handlers import authorize_unit
from services.gateway.http import reads
from services.gateway.http.deps import State
from services.gateway.http.reads import OFFICERS
from services.gateway.web import data, periods
from services.gateway.web.core import (
    PREFIX,
    CurrentViewer,
    FormViewer,
    PeriodNotBegun,
    PeriodOutside,
    WebRoute,
    go_back,
    render,
    unrated,
)
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
    try:
        if not_begun:
            raise RpcError("invalid", f"period: {period} has not begun yet", field="period")
        overview = await data.committee_overview(state, principal, committee_id, period)
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
        choices=periods.choices(period, first_month=first_month),
        crumbs=crumbs,
        unrated=None,
        running=periods.running(period),
        ratings_chart=(
            data.ratings_chart(rollup.get("by_rating") or {}, not_met_yet=rollup["not_met_yet"]) if rollup else None
        ),
        trend_chart=data.trend_chart(trend) if rollup else None,
        trend=trend,
        **overview,
    )


@router.post("/committees/{committee_id}/inbox/{notification_id}/read")
async def mark_alert_read(
    committee_id: str, notification_id: str, request: Request, viewer: FormViewer, state: State
) -> Response:
    """Mark one of the committee's alerts read (the API's POST /v1/committees/{c}/inbox/{id}/read); back to the page."""
    await reads.mark_committee_notification_read(committee_id, notification_id, viewer.principal, state)
    return await go_back(request, fallback=f"{PREFIX}/committees/{committee_id}", anchor="#inbox-title")
