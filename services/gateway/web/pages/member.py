"""A member's own page: next meetings, attendance history, inbox, and notification preferences."""

import asyncio
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.gateway.http import preferences, reads
from services.gateway.http.deps import State
from services.gateway.web import forms
from services.gateway.web.core import (
    PREFIX,
    CurrentViewer,
    FormViewer,
    NotAllowed,
    Viewer,
    WebRoute,
    go_back,
    render,
)
from services.gateway.web.forms import FormErrors
from services.gateway.web.i18n import LABELS, _, parse_moment

router = APIRouter(prefix=PREFIX, route_class=WebRoute, include_in_schema=False)
CHANNELS = LABELS["channel"]


async def _page(
    request: Request, viewer: Viewer, state: State, *, errors: dict[str, str] | None = None
) -> HTMLResponse:
    principal = viewer.principal
    if not principal.person_id or not principal.unit_id:
        raise NotAllowed(_("This page is a party member's own page. Your account is not linked to a party member."))
    meetings, history, inbox, prefs = await asyncio.gather(
        reads.list_cell_meetings(principal.unit_id, principal, state, period=None, limit=200, offset=0),
        reads.get_member_history(principal.person_id, principal, state),
        reads.get_my_inbox(principal, state, unread_only=False, limit=20, offset=0),
        preferences.get_my_preferences(principal, state),
    )
    now = datetime.now().astimezone()
    # every meeting still ahead that is not cancelled, whether or not a roster was sent for it ahead of time
    upcoming = sorted(
        (
            item
            for item in meetings["items"]
            if item.get("status") != "cancelled" and (parse_moment(item.get("starts_at")) or now) > now
        ),
        key=lambda item: str(item.get("starts_at")),
    )
    records: list[dict[str, Any]] = sorted(
        history.get("records") or [], key=lambda r: str(r["starts_at"]), reverse=True
    )
    return render(
        request,
        "member.html",
        status=422 if errors else 200,
        viewer=viewer,
        upcoming=upcoming,
        history=history,
        records=records,
        inbox=inbox["items"],
        preferences=prefs,
        channels=CHANNELS,
        errors=errors or {},
        notice=request.query_params.get("notice") == "saved",  # the one notice it is redirected with; no other
        unit=await state.directory.get(principal.unit_id),
    )


@router.get("/me")
async def member_page(request: Request, viewer: CurrentViewer, state: State) -> HTMLResponse:
    """My next meetings, my attendance history, my inbox and my notification preferences."""
    return await _page(request, viewer, state)


@router.post("/me/inbox/{notification_id}/read")
async def mark_notice_read(notification_id: str, request: Request, viewer: FormViewer, state: State) -> Response:
    """Mark one of the viewer's own notices read (the API's POST /v1/me/inbox/{id}/read); back to the page it was on."""
    await reads.mark_my_notification_read(notification_id, viewer.principal, state)
    return await go_back(request, fallback=f"{PREFIX}/me", anchor="#inbox-title")


@router.post("/me/preferences")
async def save_preferences(request: Request, viewer: FormViewer, state: State) -> Response:
    """Save the channels and the digest choice."""
    try:
        await save_my_preferences(request, viewer, state)
    except FormErrors as exc:
        return await _page(request, viewer, state, errors=exc.errors)
    return RedirectResponse(f"{PREFIX}/me?notice=saved", status_code=303)


async def save_my_preferences(request: Request, viewer: Viewer, state: State) -> None:
    """Store the viewer's channels and digest choice from the posted form (`_preferences.html`); the in-app inbox is
    always on (notifications keeps every notice there), so ticking none of the others is a choice too; FormErrors
    naming `channels` for an unknown one, or the API's refusal."""
    form = await forms.form_of(request)
    chosen = form.getlist("channels")  # an unknown one is named back with the choices, not dropped unseen
    body = forms.build(preferences.PreferencesUpdate, {"channels": chosen, "digest": form.get("digest") == "on"})
    await forms.send(preferences.set_my_preferences(body, viewer.principal, state))
