"""The upper-level monitor's pages: the cells they follow (monitor.assigned.v1) with their latest ratings and
recent meetings, the monitor's own inbox and how they get notices, and the confirmation of a meeting's assessment.

Who is a monitor: a committee officer's account whose `person_id` is the `person_id` of monitor.assigned.v1
events. Only the assigned cells that lie in the account's own subtree are shown (the API's scoping), and a
meeting of any other cell is the same 404 as a meeting that does not exist."""

import asyncio
import re
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.gateway import handlers
from services.gateway.auth import Principal, Role
from services.gateway.availability import empty_page, notices_or, scores_or
from services.gateway.bootstrap import GatewayState
from services.gateway.handlers import authorize_meeting
from services.gateway.http import commands, preferences, reads
from services.gateway.http.deps import State
from services.gateway.web import data, forms
from services.gateway.web.core import (
    PREFIX,
    CurrentViewer,
    FormViewer,
    NotAllowed,
    PageNotFound,
    Viewer,
    WebRoute,
    render,
)
from services.gateway.web.forms import FormErrors
from services.gateway.web.i18n import _, parse_moment
from services.gateway.web.pages.member import CHANNELS, PREFERENCES_FORM, save_my_preferences
from services.gateway.web.pages.secretary import ASSESSMENT_FORM, not_begun_at
from shared.collation import by_name
from shared.contracts.meetings_rpc import HELD_STATUSES, MonitorAssignmentReply
from shared.periods import VIETNAM_TZ

router = APIRouter(prefix=PREFIX, route_class=WebRoute, include_in_schema=False)
MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")
RECENT_MEETINGS = 3
RECENT_MONTHS = 3
INBOX_ITEMS = 20
"""The newest notices shown, as on a member's page."""


async def followed_cells(state: GatewayState, principal: Principal) -> list[MonitorAssignmentReply]:
    """The cells the viewer follows as upper-level monitor, within their subtree, in Vietnamese order of the cells'
    names; NotAllowed (a 403 page saying who follows cells) for anyone who is not a committee officer with a person,
    whose role follows no cell (what is outside one's part of the tree stays a 404)."""
    if principal.role is not Role.COMMITTEE_OFFICER or not principal.person_id:
        raise NotAllowed(
            _(
                "This page is for committee members assigned to follow cells. Your account is not assigned to"
                " follow any cell."
            )
        )
    followed = await handlers.followed_cells(principal, rpc=state.rpc, directory=state.directory)
    return by_name(followed, lambda item: item.cell_name or item.cell_id)


async def _cell_summary(state: GatewayState, principal: Principal, item: MonitorAssignmentReply) -> dict[str, Any]:
    ratings, meetings = await asyncio.gather(
        scores_or(
            lambda: reads.list_cell_ratings(item.cell_id, principal, state, period=None, limit=1000, offset=0),
            empty_page(),
        ),
        reads.list_cell_meetings(item.cell_id, principal, state, period=None, limit=200, offset=0),
    )
    months = sorted(
        (data.month_shown(row) for row in ratings["items"] if MONTH.fullmatch(row["period"])),
        key=lambda row: row["period"],
    )
    now = datetime.now(VIETNAM_TZ)
    held = sorted(
        (row for row in meetings["items"] if row.get("status") in HELD_STATUSES and begun(row, now)),
        key=lambda row: str(row.get("starts_at") or ""),
        reverse=True,
    )[:RECENT_MEETINGS]
    recent = await asyncio.gather(*(_meeting_state(state, principal, row) for row in held))
    return {"assignment": item, "months": months[-RECENT_MONTHS:], "meetings": list(recent)}


def begun(row: dict[str, Any], now: datetime) -> bool:
    """Whether a meeting has begun (its start at or before `now`): one whose roster an integration sent ahead of time
    is not yet a meeting to confirm (the confirmation is refused until it has taken place)."""
    starts_at = parse_moment(row.get("starts_at"))
    return starts_at is not None and starts_at <= now


async def _meeting_state(state: GatewayState, principal: Principal, row: dict[str, Any]) -> dict[str, Any]:
    meeting, score = await asyncio.gather(
        authorize_meeting(principal, row["meeting_id"], rpc=state.rpc, directory=state.directory),
        data.meeting_score(state, principal, row["meeting_id"]),
    )
    confirmed = any(entry.get("role") == "upper_monitor" for entry in meeting.assessments)
    return {**row, "score": score, "confirmed": confirmed}


@router.get("/monitoring")
async def monitoring_page(request: Request, viewer: CurrentViewer, state: State) -> HTMLResponse:
    """The cells the monitor follows (latest monthly ratings, recent held meetings and whether each is confirmed)
    and the monitor's own inbox: the notices sent to them as a person, such as the meetings scheduled in those cells."""
    return await _monitoring(request, viewer, state)


async def _monitoring(
    request: Request, viewer: Viewer, state: State, *, errors: dict[str, str] | None = None
) -> HTMLResponse:
    cells = await followed_cells(state, viewer.principal)
    summaries, inbox, prefs = await asyncio.gather(
        asyncio.gather(*(_cell_summary(state, viewer.principal, item) for item in cells)),
        notices_or(
            lambda: reads.get_my_inbox(viewer.principal, state, unread_only=False, limit=INBOX_ITEMS, offset=0),
            empty_page(),
        ),
        notices_or(lambda: preferences.get_my_preferences(viewer.principal, state), None),
    )
    return render(
        request,
        "monitoring.html",
        status=422 if errors else 200,
        viewer=viewer,
        cells=summaries,
        inbox=inbox["items"],
        preferences=prefs,
        channels=CHANNELS,
        errors=errors or {},
        notice=request.query_params.get("notice"),
    )


@router.post("/monitoring/preferences")
@forms.posts(PREFERENCES_FORM)
async def save_preferences(request: Request, viewer: FormViewer, state: State) -> Response:
    """Save how the monitor gets notices (channels, daily digest), as members do on their page."""
    await followed_cells(state, viewer.principal)  # a monitor's page: 403 for anyone else
    try:
        await save_my_preferences(request, viewer, state)
    except FormErrors as exc:
        return await _monitoring(request, viewer, state, errors=exc.errors)
    return RedirectResponse(f"{PREFIX}/monitoring?notice=saved#prefs-title", status_code=303)


async def _followed_meeting(state: GatewayState, viewer: Viewer, meeting_id: str) -> Any:
    """The meeting, when it belongs to a cell the viewer follows; PageNotFound otherwise."""
    cells = {item.cell_id: item for item in await followed_cells(state, viewer.principal)}
    meeting = await authorize_meeting(
        viewer.principal, meeting_id, rpc=state.rpc, directory=state.directory, roles=reads.OFFICERS
    )
    if meeting.cell_id not in cells:
        raise PageNotFound
    return meeting, cells[meeting.cell_id]


async def _confirm_page(
    request: Request,
    viewer: Viewer,
    state: State,
    meeting_id: str,
    *,
    errors: dict[str, str] | None = None,
    sent: dict[str, str] | None = None,
) -> HTMLResponse:
    """The confirmation page; after a refusal (`errors`), its form shows again the points and comment `sent`."""
    meeting, assignment = await _followed_meeting(state, viewer, meeting_id)
    score = await data.meeting_score(state, viewer.principal, meeting_id)
    proposals: dict[str, dict[str, Any]] = {}
    for entry in meeting.assessments:  # oldest first: the latest of each role wins
        proposals[str(entry.get("role"))] = entry
    manual = await data.manual_items(state, score, meeting.kind)
    return render(
        request,
        "monitor_confirm.html",
        status=422 if errors else 200,
        viewer=viewer,
        meeting=meeting,
        assignment=assignment,
        score=score,  # None for a meeting ahead: not scored (reads.meeting_score), so no items either
        gate_note=await data.gate_sentence(state, score),
        manual=manual,
        proposals=proposals,
        errors=errors or {},
        sent=sent or {},
    )


@router.get("/monitoring/meetings/{meeting_id}")
async def confirm_form(meeting_id: str, request: Request, viewer: CurrentViewer, state: State) -> HTMLResponse:
    """The monitor's confirmation of a followed cell's meeting: the manual items with the points in force."""
    return await _confirm_page(request, viewer, state, meeting_id)


@router.post("/monitoring/meetings/{meeting_id}")
@forms.posts(ASSESSMENT_FORM)
async def confirm(meeting_id: str, request: Request, viewer: FormViewer, state: State) -> Response:
    """Confirm (or correct) the manual points as upper-level monitor (meeting.assessed.v1, role upper_monitor)."""
    meeting, _assignment = await _followed_meeting(state, viewer, meeting_id)
    form = await forms.form_of(request, ASSESSMENT_FORM)  # the same inputs as the cell's
    try:
        # the items, their names and maxima are those the page showed, read again: never what the post says
        if not_begun := not_begun_at(meeting):  # not scored yet, so no item to assess: only that is said
            raise FormErrors(not_begun)
        items = await data.posted_items(state, viewer.principal, meeting_id, meeting.kind)
        model = forms.assessment_model(form, items, role="upper_monitor")
        await forms.send(commands.assess_meeting(meeting_id, model, request, viewer.principal, state))
    except FormErrors as exc:
        sent = {str(key): str(value) for key, value in form.items()}  # shown again as typed, not as stored
        return await _confirm_page(request, viewer, state, meeting_id, errors=exc.errors, sent=sent)
    return RedirectResponse(f"{PREFIX}/monitoring?notice=confirmed#m-{meeting_id}", status_code=303)
