"""The committee officer's pages: a committee's overview for a period, with its children to drill into."""

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
        # a period not begun (422, as the API, report and export answer it), or before the unit's data (200, the
        # API's roll-up `no_data`): said so, with the chooser to pick another, never all Kém
        title, message = unrated(period, exc)
        return render(
            request,
            "committee.html",
            status=422 if exc.code == "invalid" else 200,
            viewer=viewer,
            unit=unit,
            period=period,
            choices=periods.choices(period),
            crumbs=crumbs,
            unrated={"state": "not_begun" if exc.code == "invalid" else "no_data", "title": title, "message": message},
        )
    rollup = overview["rollup"]
    trend = (
        await data.committee_trend(state, principal, committee_id, periods.months_ending(periods.capped_end(period)))
        if rollup is not None
        else []
    )
    return render(
        request,
        "committee.html",
        viewer=viewer,
        unit=unit,
        period=period,
        choices=periods.choices(period),
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
