"""A member's own page: next meetings, tasks assigned in minutes, attendance history, inbox, and notification
preferences."""

import asyncio
import dataclasses
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.gateway.auth import Principal
from services.gateway.availability import empty_page, notices_or
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
from services.gateway.web.i18n import LABELS, N_, _, parse_moment
from shared.contracts import notifications_rpc
from shared.periods import VIETNAM_TZ

router = APIRouter(prefix=PREFIX, route_class=WebRoute, include_in_schema=False)
CHANNELS = LABELS["channel"]


async def _page(
    request: Request, viewer: Viewer, state: State, *, errors: dict[str, str] | None = None
) -> HTMLResponse:
    principal = viewer.principal
    if not principal.person_id or not principal.unit_id:
        raise NotAllowed(_("This page is a party member's own page. Your account is not linked to a party member."))
    meetings, history, inbox, prefs, tasks = await asyncio.gather(
        reads.list_cell_meetings(principal.unit_id, principal, state, period=None, limit=200, offset=0),
        reads.get_member_history(principal.person_id, principal, state),
        notices_or(lambda: reads.get_my_inbox(principal, state, unread_only=False, limit=20, offset=0), empty_page()),
        notices_or(lambda: preferences.get_my_preferences(principal, state), None),
        _cell_tasks(state, principal),
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
    today = datetime.now(VIETNAM_TZ).date()
    return render(
        request,
        "member.html",
        tasks=my_tasks(tasks, meetings["items"], principal.person_id, today=today),
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


async def _cell_tasks(state: State, principal: Principal) -> list[dict[str, Any]]:
    """Every task assigned at the meetings of the principal's cell (the API's list, page by page)."""
    items: list[dict[str, Any]] = []
    while True:
        page = await reads.list_cell_tasks(
            str(principal.unit_id), principal, state, open_only=False, limit=200, offset=len(items)
        )
        items += page["items"]
        if not page["items"] or len(items) >= page["total"]:
            return items


def my_tasks(
    tasks: list[dict[str, Any]], meetings: list[dict[str, Any]], person_id: str, *, today: date
) -> list[dict[str, Any]]:
    """The tasks assigned to `person_id` in minutes, each with its `meeting` (the cell's meeting summary, or None
    when not listed) and `overdue` (not done and due before `today`): open ones first by due date, then done ones,
    latest first."""
    by_id = {item["meeting_id"]: item for item in meetings}
    mine = [
        task
        | {
            "meeting": by_id.get(task.get("meeting_id") or ""),
            "overdue": not task.get("completed_on") and task.get("due_on") is not None and task["due_on"] < today,
        }
        for task in tasks
        if task.get("assignee_id") == person_id
    ]
    open_tasks = sorted((t for t in mine if not t.get("completed_on")), key=lambda t: str(t.get("due_on") or "9999"))
    done = sorted((t for t in mine if t.get("completed_on")), key=lambda t: str(t["completed_on"]), reverse=True)
    return open_tasks + done


@router.get("/me")
async def member_page(request: Request, viewer: CurrentViewer, state: State) -> HTMLResponse:
    """My next meetings, my tasks, my attendance history, my inbox and my notification preferences."""
    return await _page(request, viewer, state)


PREFERENCES_FORM = forms.FormLabels(
    choices=forms.known("channels", "digest"),
    options={"channels": {code: said for code, said in LABELS["channel"].items() if code != "inbox"}},
    many=frozenset({"channels"}),
    sets_values=True,
    order=("csrf", "channels", "digest"),
)
"""The notice preferences' inputs as _preferences.html labels them (the member's page and the monitor's)."""


@router.post("/me/inbox/{notification_id}/read")
async def mark_notice_read(notification_id: str, request: Request, viewer: FormViewer, state: State) -> Response:
    """Mark one of the viewer's own notices read (the API's POST /v1/me/inbox/{id}/read); back to the page it was on."""
    await reads.mark_my_notification_read(notification_id, viewer.principal, state)
    return await go_back(request, fallback=f"{PREFIX}/me", anchor="#inbox-title")


@router.post("/me/preferences")
@forms.posts(PREFERENCES_FORM)
async def save_preferences(request: Request, viewer: FormViewer, state: State) -> Response:
    """Save the channels and the digest choice."""
    try:
        await save_my_preferences(request, viewer, state)
    except FormErrors as exc:
        return await _page(request, viewer, state, errors=exc.errors)
    return RedirectResponse(f"{PREFIX}/me?notice=saved", status_code=303)


def refuse_unoffered(chosen: list[str], available: list[str]) -> None:
    """FormErrors on `channels` naming, in one message and in the order posted, every one of `chosen` (channel codes
    posted) that the person's `available` channels (the API's available_channels) do not hold, listing only the
    channels the page offers to tick (the available ones but the inbox, always on): a trial's error listed the SMS
    channel the page showed disabled, no SMS gateway being configured; another named only the first of several."""
    unoffered = list(dict.fromkeys(channel for channel in chosen if channel not in available))
    if unoffered:
        offered = [channel for channel in CHANNELS if channel in available and channel != "inbox"]
        raise FormErrors({"channels": forms.not_choices("channels", unoffered, offered=offered)})


CHANNELS_UNKNOWN = N_(
    "Which notice channels are available to you cannot be checked right now: the notification service is not"
    " answering. Only e-mail and the channels you ticked are offered below; open your page again later to see every"
    " channel available to you."
)
"""Said over the preferences form drawn again (core.form_again_page) when notifications did not say which channels
it offers the person (GetPreferences unanswered): the form offers only what is known to be on offer."""
ALWAYS_OFFERED = frozenset(
    notifications_rpc.PreferencesReply.model_fields["available_channels"].get_default(call_default_factory=True)
)
"""The channels notifications offers every person (the contract's `available_channels` when it says no more):
e-mail and the inbox; the SMS gateway's only where one is configured."""


def preferences_form(available: list[str] | None, chosen: list[str]) -> forms.FormLabels:
    """PREFERENCES_FORM offering, when drawn again, the channels the person's page offers: their `available` ones
    (the API's available_channels) but the inbox (always on), or, when notifications did not say (None), those always
    on offer (ALWAYS_OFFERED) and those `chosen` (their page offered them), with CHANNELS_UNKNOWN said: never a
    channel the page would show disabled (the SMS gateway without one) as if it could be ticked."""
    on_offer = set(available) if available is not None else ALWAYS_OFFERED | set(chosen)
    offered = {code: said for code, said in CHANNELS.items() if code != "inbox" and code in on_offer}
    return dataclasses.replace(
        PREFERENCES_FORM,
        options={"channels": offered},
        again_note=None if available is not None else CHANNELS_UNKNOWN,
    )


async def save_my_preferences(request: Request, viewer: Viewer, state: State) -> None:
    """Store the viewer's channels and digest choice from the posted form (`_preferences.html`); the in-app inbox is
    always on (notifications keeps every notice there), so ticking none of the others is a choice too; FormErrors
    naming `channels` for an unknown one, or the API's refusal. Drawn again when notifications does not answer, the
    form offers the channels on offer (preferences_form), saying so when they are not known."""
    form = await forms.form_of(request, PREFERENCES_FORM)
    chosen = form.getlist("channels")  # an unknown one is named back with the choices, not dropped unseen
    current = await notices_or(lambda: preferences.get_my_preferences(viewer.principal, state), None)
    available = None if current is None else list(current.get("available_channels") or [])
    forms.FORM.set(preferences_form(available, [str(code) for code in chosen]))
    if available is not None:
        refuse_unoffered(chosen, available)
    body = forms.build(preferences.PreferencesUpdate, {"channels": chosen, "digest": form.get("digest") == "on"})
    await forms.send(preferences.set_my_preferences(body, viewer.principal, state))
