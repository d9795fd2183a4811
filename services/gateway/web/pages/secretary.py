"""The cell secretary's forms (schedule, reschedule, cancel, documents, roster, minutes, adoption, the cell
committee's self-assessment, tasks done) and the upper-level monitor's confirmation of an assessment.

Each form becomes the API's own command (same checks, same events); refusals come back in Vietnamese,
naming the field."""

import dataclasses
import hashlib
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from services.gateway.auth import Role
from services.gateway.handlers import authorize_meeting, authorize_unit, waiting_named
from services.gateway.http import commands
from services.gateway.http.deps import State
from services.gateway.schemas import (
    AttendanceCreate,
    DocumentsCreate,
    MeetingCancelCreate,
    MeetingRescheduleCreate,
    MeetingScheduleCreate,
    MinutesApprovalCreate,
    MinutesCreate,
    TaskCompletionCreate,
)
from services.gateway.web import data, forms
from services.gateway.web.core import (
    PREFIX,
    CurrentViewer,
    FormViewer,
    NotAllowed,
    Viewer,
    WebRoute,
    plain_name,
    render,
)
from services.gateway.web.form_locks import SavedElsewhere, one_form_at_a_time
from services.gateway.web.forms import FormErrors, StateRefusal
from services.gateway.web.i18n import (
    LABELS,
    N_,
    _,
    format_moment,
    format_number,
    format_period,
    format_short_date,
    held_correctable,
    label,
    lower_first,
    meeting_took_place,
    parse_moment,
    recorded_held,
)
from services.gateway.web.reasons import BY_CODE, on_field
from services.gateway.web.waiting import waiting_sentences
from shared.contracts.meetings import REGULAR_KINDS
from shared.contracts.meetings_rpc import HELD_STATUSES, MeetingSummaryReply
from shared.envelope import is_identifier
from shared.logs import get_logger
from shared.periods import VIETNAM_TZ, month_of, next_month
from shared.plausible import (
    HELD_RECORD_WINDOW,
    begins_later,
    moved_into_the_past,
    notified_before_start,
    self_criticism_over,
    votes_over,
)
from shared.refusals import REASON_REFUSED, RefusalCode
from shared.text import has_text, isolated_name, said_or_blank

log = get_logger(__name__)

router = APIRouter(prefix=PREFIX, route_class=WebRoute, include_in_schema=False)
RECORDERS = frozenset({Role.SECRETARY})
"""Who records a meeting (the record page and its forms): the cell's secretary, as the API's commands allow; an upper-
level monitor confirms an assessment on the monitoring page instead."""
ROWS = 3


RECORD_NOTICES = frozenset(
    {
        "scheduled",
        "held",
        "rescheduled",
        "rescheduled_off_minutes",
        "unchanged",
        "cancelled",
        "documents",
        "attendance",
        "minutes",
        "approved",
        "assessed",
        "task",
    }
)
"""The notices the record page is redirected with after a form was recorded; any other `notice` in its address shows
nothing (an address anyone can write is no word of the system's)."""


SCHEDULE_FORM = forms.FormLabels(
    fields=forms.known("topic", "start_date", "start_time", "location", "agenda"),
    choices=forms.known("kind", "committee_prepared", "confirm_same_time", "confirm_another_regular"),
    hidden=frozenset({"csrf", "form_key", "meeting_id"}),
    free=frozenset({"topic", "location", "agenda"}),
    options={"kind": LABELS["kind"]},
    types={"start_date": "date", "start_time": "time", "agenda": "area"},
    order=(
        "csrf",
        "form_key",
        "meeting_id",
        "kind",
        "topic",
        "starts_at",
        "start_date",
        "start_time",
        "location",
        "agenda",
        "committee_prepared",
        "confirm_same_time",
        "confirm_another_regular",
    ),
    confirmations=frozenset({"confirm_same_time", "confirm_another_regular"}),
)
"""The schedule form's inputs as schedule.html labels them, top to bottom."""
HELD_FORM = forms.FormLabels(
    fields=forms.known("topic", "start_date", "start_time", "location", "agenda", "notified_date", "notified_time"),
    choices=forms.known("kind", "committee_prepared")
    | {
        "confirm_same_time": N_("Record it anyway: this is another meeting"),
        "confirm_another_regular": N_("Record it anyway: the month's result will be that of its latest held meeting"),
    },
    hidden=frozenset({"csrf", "form_key", "meeting_id"}),
    free=frozenset({"topic", "location", "agenda"}),
    options=SCHEDULE_FORM.options,
    types={**SCHEDULE_FORM.types, "notified_date": "date", "notified_time": "time"},
    order=(*SCHEDULE_FORM.order, "notified_at", "notified_date", "notified_time"),
    confirmations=SCHEDULE_FORM.confirmations,
)
"""The "record a meeting already held" form's (schedule.html with `held`)."""
RESCHEDULE_FORM = forms.FormLabels(
    fields=forms.known("start_date", "start_time", "location", "reason"),
    choices=forms.known("confirm_month_left_empty")
    | {"confirm_another_regular": N_("Move it anyway: the month's result will be that of its latest held meeting")},
    hidden=frozenset({"csrf", "form_key", "was"}),
    free=frozenset({"location", "reason", "was.location"}),
    types={"start_date": "date", "start_time": "time"},
    order=(
        "csrf",
        "form_key",
        "starts_at",
        "start_date",
        "start_time",
        "location",
        "reason",
        "confirm_month_left_empty",
        "confirm_another_regular",
    ),
    confirmations=frozenset({"confirm_month_left_empty", "confirm_another_regular"}),
)
"""The reschedule form's inputs as record.html labels them."""
CORRECTION_FORM = dataclasses.replace(
    RESCHEDULE_FORM,
    choices={
        "confirm_month_left_empty": N_("Correct it anyway: the month it leaves will have no regular meeting"),
        "confirm_another_regular": N_("Correct it anyway: the month's result will be that of its latest held meeting"),
    },
)
"""The reschedule form of a meeting already held (corrects_held), as record.html labels it: its start is corrected to
when the meeting took place, not moved, so its confirmations say "Vẫn sửa", not "Vẫn chuyển"."""
CANCEL_FORM = forms.FormLabels(
    fields=dict.fromkeys(("reason", "cancel_reason"), N_("Reason for cancelling")),
    free=frozenset({"reason", "cancel_reason"}),
    order=("cancel_reason", "reason"),  # one input: the record page's name, or a page sent before it was renamed
)
DOCUMENTS_FORM = forms.FormLabels(
    fields=forms.known("title", "url"),
    choices={"kind": N_("Kind")},
    free=frozenset({"title"}),
    options={"kind": LABELS["document"]},
    types={"url": "url"},
    order=("csrf", "form_key", "title", "kind", "url"),
)
"""The documents form's: its link is read as typed, refused naming an invisible character inside it (as the API
refuses the address), never stored without it."""
ATTENDANCE_FORM = forms.FormLabels(
    fields={"reason-": N_("Reason for absence")},
    choices={"status-": N_("Attendance")},
    hidden=frozenset({"csrf", "form_key", "member", "was"}),
    named={"reason-": N_("Reason for the absence of %(name)s"), "status-": N_("Attendance of %(name)s")},
    free=frozenset({"reason-"}),
    options={"status-": LABELS["attendance"]},
    order=("csrf", "form_key", "member", ("status-", "reason-"), "records"),
)
"""The roster's inputs, one row a member (`status-<member>`, `reason-<member>`), said as record.html labels them:
with the member's name once the handler knows the cell's members (forms.with_row_names), never with their id."""
MINUTES_FORM = forms.FormLabels(
    fields=forms.known("day", "started", "ended", "self_criticism_minutes", "content", "conclusions")
    | {
        "resolution-": forms.ROW_INPUTS["resolution"],
        "task-": forms.ROW_INPUTS["task"],
        "votes_for-": forms.FIELD_LABELS["votes_for"],
        "votes_against-": forms.FIELD_LABELS["votes_against"],
        "abstentions-": forms.FIELD_LABELS["abstentions"],
        "due-": N_("Due"),
    },
    choices=forms.known("chair_id", "recorder_id", "speakers") | {"assignee-": N_("Assignee")},
    hidden=frozenset({"csrf", "form_key", "speaker_order", "task_id", "was"}),
    free=frozenset({"content", "conclusions", "resolution-", "task-"}),
    people=frozenset({"chair_id", "recorder_id", "speakers", "assignee-"}),
    many=frozenset({"speakers"}),
    types={"day": "date", "started": "time", "ended": "time", "due-": "date", "content": "area", "conclusions": "area"}
    | dict.fromkeys(("self_criticism_minutes", "votes_for-", "votes_against-", "abstentions-"), "number"),
    order=(
        "csrf",
        "form_key",
        "day",
        "started_at",
        "started",
        "ended_at",
        "ended",
        "chair_id",
        "recorder_id",
        "speaker_order",
        "speakers",
        "self_criticism_minutes",
        "content",
        "conclusions",
        ("resolution-", "votes_for-", "votes_against-", "abstentions-", "resolutions."),
        ("task-", "task_id-", "assignee-", "due-", "tasks."),
    ),
)
"""The minutes form's inputs as _minutes.html labels them, its rows' by stem (`task-2` → Nhiệm vụ 2)."""
APPROVAL_FORM = forms.FormLabels(
    fields=forms.known("approved_date", "approved_time", "votes_for", "votes_against"),
    hidden=frozenset({"csrf", "form_key", "was"}),
    types={"approved_date": "date", "approved_time": "time"} | dict.fromkeys(("votes_for", "votes_against"), "number"),
    order=("csrf", "form_key", "approved_date", "approved_at", "approved_time", "votes_for", "votes_against"),
)
"""The adoption form's inputs: when the cell adopted the minutes (a date and an hour, as the other forms ask a
moment) and its votes; `was.approved_date` and `was.approved_time`, the moment its page showed (adoption_shown)."""
ASSESSMENT_FORM = forms.FormLabels(
    fields={"point-": N_("Points")} | forms.known("comment"),
    free=frozenset({"comment"}),
    order=("csrf", "form_key", "point-", "points", "comment"),
)
"""The assessment form's inputs: one `point-<item>` an item (said by the item's own name where it is judged)."""
TASK_DONE_FORM = forms.FormLabels(
    # `completed_on-TASK` as the record page's one form names a task's input (task_form)
    fields=dict.fromkeys(("completed_on", "completed_on-"), N_("Done on")),
    hidden=frozenset({"csrf", "form_key", "task_id", "was"}),
    types={"completed_on": "date"},
    order=(("completed_on-",), "completed_on"),  # one input: a task's row on the record page, or an older page's
)


def _done(meeting_id: str, notice: str) -> RedirectResponse:
    said = f"?notice={notice}" if notice else ""
    return RedirectResponse(f"{PREFIX}/meetings/{meeting_id}/record{said}", status_code=303)


# ---- scheduling ---------------------------------------------------------------------------------


async def schedulable_cell(viewer: Viewer, state: State, cell_id: str) -> Any:
    """The cell, when the viewer is its secretary; the app's 404 outside what they may see, a 403 page saying who
    schedules for a role that sees the cell (a member of it, an officer above it)."""
    unit = await authorize_unit(viewer.principal, cell_id, directory=state.directory, kind="cell")
    if viewer.role is not Role.SECRETARY:
        raise NotAllowed(
            _("Only the cell's secretary schedules its meetings. You can still see the cell's meetings and scores.")
        )
    return unit


@router.get("/cells/{cell_id}/meetings/new")
async def schedule_form(cell_id: str, request: Request, viewer: CurrentViewer, state: State) -> HTMLResponse:
    """The form to schedule a meeting of the secretary's own cell (404 outside what the viewer sees, a 403 page
    for another role that sees the cell)."""
    unit = await schedulable_cell(viewer, state, cell_id)
    values = {"meeting_id": new_meeting_id(state, cell_id)}
    return render(request, "schedule.html", viewer=viewer, unit=unit, errors={}, values=values, kinds=LABELS["kind"])


def new_meeting_id(state: State, cell_id: str) -> str:
    """A new meeting's id, chosen when the form is shown: the form sent twice schedules this one meeting, once. The
    cell's id, `-` and 10 hex digits (commands.named_after_the_cell), or the gateway's own for the cell
    (commands.generated_meeting_id: `mtg-`, 32 hex digits with a MAC) for a cell id too long to leave room in 64
    characters (it was cut from the left, which no longer began with the cell's id)."""
    if len(cell_id) + 11 > 64:
        return commands.generated_meeting_id(state.secret, cell_id)
    return f"{cell_id}-{uuid.uuid4().hex[:10]}"


async def form_meeting_id(state: State, cell_id: str, meeting_id: str) -> str:
    """The meeting id a refused form is shown again with: the one it was sent with, or a new one when the cell may not
    take that (commands.chosen_by_the_cell: a hidden field changed by hand), so that sending it again can succeed."""
    if await commands.chosen_by_the_cell(state, cell_id, meeting_id):
        return meeting_id
    return new_meeting_id(state, cell_id)


MEETING_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
"""The id syntax (CONTRACT.md) a form's meeting id must follow to be used."""


def _schedule_body(state: State, form: Any, cell_id: str, starts: datetime | None) -> dict[str, Any]:
    """The schedule command's body as the schedule and held-meeting forms send it (None where a field is missing);
    the id the form was shown with, or a new one for a form from before it carried one."""
    meeting_id = forms.text(form, "meeting_id")
    if not MEETING_ID.match(meeting_id):
        meeting_id = new_meeting_id(state, cell_id)
    return {
        "meeting_id": meeting_id,
        "kind": forms.text(form, "kind"),
        "topic": forms.text(form, "topic") or None,
        "starts_at": starts.isoformat() if starts else None,
        "location": forms.text(form, "location"),
        "agenda": [said_or_blank(line) for line in forms.text(form, "agenda").splitlines() if has_text(line)],
        "committee_prepared": form.get("committee_prepared") == "on",
        "confirm_same_time": form.get("confirm_same_time") == "on",
    }


def _schedule_model(body: dict[str, Any], errors: dict[str, str]) -> MeetingScheduleCreate:
    """The command built from `body`; FormErrors with every field's problem at once (a form sent empty names each
    field to fill), the form's own `errors` (a date's message) winning over the model's "missing"."""
    try:
        model = forms.build(MeetingScheduleCreate, {key: value for key, value in body.items() if value is not None})
    except FormErrors as exc:
        errors = {**exc.errors, **errors}
    if errors:
        raise FormErrors(errors)
    return model


@router.post("/cells/{cell_id}/meetings")
@forms.posts(SCHEDULE_FORM)
async def schedule(cell_id: str, request: Request, viewer: FormViewer, state: State) -> Response:
    """Schedule the meeting (meeting.scheduled.v1); the form again, with the fields to correct, if refused. Who may
    is judged before the form (a refused form is the secretary's page, shown to no one else)."""
    await schedulable_cell(viewer, state, cell_id)
    form = await forms.form_of(request, SCHEDULE_FORM)
    errors: dict[str, str] = {}
    starts = forms.meeting_start(form, errors, held_path=True)
    body = _schedule_body(state, form, cell_id, starts)
    meeting_id = body["meeting_id"]
    try:
        # judged with the form's other mistakes, not once they are corrected: a meeting within the hour of another
        # and a missing place are said at once; the month's meetings asked of meetings once for both warnings and
        # the command's own check
        with commands.one_listing_per_month():
            errors |= await same_time_warning(state, cell_id, body, starts)
            errors |= await another_regular_warning(
                state,
                cell_id,
                body.get("kind"),
                starts,
                other_than=body["meeting_id"],
                confirmed=form.get("confirm_another_regular") == "on",
            )
            model = _schedule_model(body, errors)
            await forms.send(commands.schedule_meeting(cell_id, model, request, viewer.principal, state))
    except FormErrors as exc:
        unit = await state.directory.get(cell_id)
        return render(
            request,
            "schedule.html",
            status=422,
            viewer=viewer,
            unit=unit,
            errors={**errors, **exc.errors},
            values={**dict(form), "meeting_id": await form_meeting_id(state, cell_id, meeting_id)},
            kinds=LABELS["kind"],
        )
    return RedirectResponse(f"{PREFIX}/meetings/{meeting_id}/record?notice=scheduled", status_code=303)


@router.get("/cells/{cell_id}/meetings/held")
async def held_form(cell_id: str, request: Request, viewer: CurrentViewer, state: State) -> HTMLResponse:
    """The form to record a meeting of the secretary's own cell that already took place (held in the last 7 days and
    not entered beforehand), with its warning that members were not notified through chibo; 404 and 403 pages as
    for schedule_form."""
    unit = await schedulable_cell(viewer, state, cell_id)
    page = _held_page({"meeting_id": new_meeting_id(state, cell_id)})
    return render(request, "schedule.html", viewer=viewer, unit=unit, errors={}, **page)


def _held_page(values: dict[str, Any]) -> dict[str, Any]:
    """What schedule.html shows as the "record a meeting already held" form: `held`, its values (with the meeting id
    it is shown with), the kinds and the earliest day it takes (HELD_RECORD_WINDOW ago)."""
    earliest = datetime.now(VIETNAM_TZ) - HELD_RECORD_WINDOW
    return {
        "held": True,
        "values": values,
        "kinds": LABELS["kind"],
        "held_days": HELD_RECORD_WINDOW.days,
        "earliest": format_moment(earliest),
    }


NOTIFIED_AFTER_START = N_(
    "%(field)s: %(when)s is later than the start of the meeting (%(start)s); give when the members were told before "
    "it, or leave it empty."
)
"""The held form's notice moment after the meeting's start."""
NOTIFIED_AT_START = N_(
    "%(field)s: %(when)s is the very start of the meeting (%(start)s); give when the members were told before it, "
    "or leave it empty."
)
"""The held form's notice moment at the meeting's start, to the minute."""


@router.post("/cells/{cell_id}/meetings/held")
@forms.posts(HELD_FORM)
async def record_held(cell_id: str, request: Request, viewer: FormViewer, state: State) -> Response:
    """Record a meeting already held (the API's schedule command with `already_held`: meeting.scheduled.v1 whose
    envelope says so); the record page follows, where its roster and minutes are entered as for any meeting. The
    form again, with the fields to correct, if refused."""
    await schedulable_cell(viewer, state, cell_id)
    form = await forms.form_of(request, HELD_FORM)
    errors: dict[str, str] = {}
    starts = forms.held_start(form, errors)
    notified = forms.notified_moment(form, errors)
    if starts is not None and notified is not None and not notified_before_start(notified, starts):
        # the form asks for a notice before the start: a later one would only read as "not notified" unsaid; said
        # as what it is (later than, or the very moment of, the start), as a trial found "không trước" unnatural
        errors["notified_at"] = _(
            NOTIFIED_AT_START if notified == starts else NOTIFIED_AFTER_START,
            field=forms.label("notified_date"),
            when=format_moment(notified),
            start=format_moment(starts),
        )
    body = _schedule_body(state, form, cell_id, starts) | {
        "notified_at": notified.isoformat() if notified else None,
        "already_held": True,
    }
    meeting_id = body["meeting_id"]
    try:
        with commands.one_listing_per_month():  # the month's meetings asked once, as on the schedule form
            errors |= await same_time_warning(state, cell_id, body, starts, held=True)
            errors |= await another_regular_warning(
                state,
                cell_id,
                body.get("kind"),
                starts,
                other_than=body["meeting_id"],
                confirmed=form.get("confirm_another_regular") == "on",
                held=True,
            )
            model = _schedule_model(body, errors)
            await forms.send(commands.schedule_meeting(cell_id, model, request, viewer.principal, state))
    except FormErrors as exc:
        unit = await state.directory.get(cell_id)
        page = _held_page({**dict(form), "meeting_id": await form_meeting_id(state, cell_id, meeting_id)})
        errors = {**errors, **exc.errors}
        return render(request, "schedule.html", status=422, viewer=viewer, unit=unit, errors=errors, **page)
    return RedirectResponse(f"{PREFIX}/meetings/{meeting_id}/record?notice=held", status_code=303)


SAME_TIME_SCHEDULE = N_(
    "The cell already has a meeting at %(when)s (%(place)s), within an hour of this one: it may be the same meeting "
    "entered twice, and its members would be notified twice. If this is another meeting, tick “Schedule it anyway: "
    "this is another meeting” and send the form again."
)
SAME_TIME_HELD = N_(
    "The cell already has a meeting at %(when)s (%(place)s), within an hour of this one: it may be the same meeting "
    "recorded twice. If this is another meeting that was held, tick “Record it anyway: this is another meeting” and "
    "send the form again."
)
"""The warning of a meeting within the hour of another, on the schedule form and on the form of a meeting already
held (which sends no notice and schedules nothing: a trial's held form said its members would be notified twice)."""


async def same_time_warning(
    state: State, cell_id: str, body: Mapping[str, Any], starts: datetime | None, *, held: bool = False
) -> dict[str, str]:
    """{`confirm_same_time`: the warning} when the cell already has a meeting, not cancelled, starting within the hour
    of `starts`, the start of the meeting the form's `body` (_schedule_body) schedules (commands.meetings_at_same_start,
    the API's 409 meeting_at_same_time), and the secretary has not ticked the confirmation: the other meeting named by
    its start and place, so the same meeting sent twice is not scheduled, and its members notified, twice (a user
    trial); {} otherwise, or without a start to judge. `held`: the form of a meeting already held, worded for a record
    (SAME_TIME_HELD)."""
    if starts is None or body["confirm_same_time"]:
        return {}
    clashes = await commands.meetings_at_same_start(state, cell_id, starts, other_than=body["meeting_id"])
    if not clashes:
        return {}
    other = clashes[0]
    other_starts = other.starts_at.astimezone(VIETNAM_TZ) if other.starts_at else None
    said = _(
        SAME_TIME_HELD if held else SAME_TIME_SCHEDULE,
        when=format_moment(other_starts) if other_starts else "?",
        place=other.location or "—",
    )
    return {"confirm_same_time": said}


ANOTHER_REGULAR = N_(
    "In %(month)s, the cell already has a regular meeting: %(meetings)s. Per the rules, a month with several takes "
    "the result of the latest regular (or combined) meeting held in it: if this meeting is held, its result will "
    "replace the month's, even when it is weaker. If the cell does mean to hold another regular meeting this month, "
    "tick “%(confirm)s” and send the form again."
)
ANOTHER_REGULAR_HELD = N_(
    "In %(month)s, the cell already has a regular meeting: %(meetings)s. Per the rules, a month with several takes "
    "the result of the latest regular (or combined) meeting held in it: if this one is the latest, its result will "
    "replace the month's, even when it is weaker. If the cell did hold another regular meeting this month, tick "
    "“%(confirm)s” and send the form again."
)
"""The schedule form's and the held form's warning of a regular meeting in a month that already has one (DOMAIN.md,
Periods)."""


async def month_regular_meetings(state: State, cell_id: str, month: str, *, other_than: str) -> list[Any]:
    """The cell's regular and combined meetings of `month` (YYYY-MM) held or scheduled, not cancelled, other than
    meeting `other_than`, by start (commands.live_meetings, the month's own): what another_regular_warning names and
    month_left_empty_warning looks for."""
    return sorted(
        (
            item
            for item in await commands.live_meetings(state, cell_id, month, other_than=other_than)
            if item.kind in REGULAR_KINDS
            and item.starts_at is not None
            and month_of(item.starts_at) == month  # the month's own, whatever the list's period takes in
        ),
        key=lambda item: (item.starts_at, item.meeting_id),
    )


async def another_regular_warning(
    state: State,
    cell_id: str,
    kind: str | None,
    starts: datetime | None,
    *,
    other_than: str,
    confirmed: bool,
    held: bool = False,
) -> dict[str, str]:
    """{`confirm_another_regular`: the warning} when a form puts a meeting of `kind`, regular or combined, at `starts`
    in a month (the target month) where the cell already has one other than meeting `other_than` (the one scheduled,
    or the one moved), held or scheduled (not cancelled), and the secretary has not ticked the confirmation: each named
    by its start, place and state, since DOMAIN.md (Periods) rates a month by its latest held one and a later, weaker
    meeting would replace the month's result (a user trial); {} otherwise, or without a start to judge. The schedule,
    held and reschedule forms' one rule; `held`: the form of a meeting already held (ANOTHER_REGULAR_HELD)."""
    if confirmed or starts is None or kind not in REGULAR_KINDS:
        return {}
    month = month_of(starts)
    others = await month_regular_meetings(state, cell_id, month, other_than=other_than)
    if not others:
        return {}
    named = "; ".join(
        _(
            "%(kind)s at %(when)s (%(place)s, %(state)s)",
            kind=lower_first(label("kind", item.kind)),
            when=format_moment(item.starts_at.astimezone(VIETNAM_TZ)) if item.starts_at else "?",
            place=item.location or "—",
            state=_("held") if item.status in HELD_STATUSES else _("scheduled, not held yet"),
        )
        for item in others
    )
    said = _(
        ANOTHER_REGULAR_HELD if held else ANOTHER_REGULAR,
        month=format_period(month),
        meetings=named,
        confirm=forms.label("confirm_another_regular"),
    )
    later = await next_held_regular(state, cell_id, starts, other_than=other_than)
    if later is not None and later.starts_at is not None:
        said = f"{said} " + _(
            LATER_MEETING_RESCORED,
            when=format_moment(later.starts_at.astimezone(VIETNAM_TZ)),
            place=later.location or "—",
        )
    return {"confirm_another_regular": said}


LATER_MEETING_RESCORED = N_(
    "Note: the regular meeting at %(when)s (%(place)s), held after this one, will take this meeting as its previous "
    "one. Its criterion “Results of the previous resolution” is then judged by the tasks this meeting assigns (with "
    "none, that criterion no longer counts), so that meeting's score, and its month's result, may change too."
)
"""Said after the warning of another regular meeting when a held regular (or combined) meeting of the cell follows
this one: DOMAIN.md's `results` criterion reads the tasks of the previous held regular or combined meeting, so a trial's
meeting recorded for 30 November lowered 5 December's score unsaid."""


async def next_held_regular(
    state: State, cell_id: str, starts: datetime, *, other_than: str
) -> MeetingSummaryReply | None:
    """The cell's first held regular or combined meeting starting after `starts` in its month or the next (the one
    whose previous meeting, DOMAIN.md `results`, a meeting at `starts` would become), other than `other_than`; None
    when there is none there (commands.live_meetings, asked once per month)."""
    year, number = next_month(int(month_of(starts)[:4]), int(month_of(starts)[5:]))
    following = f"{year:04d}-{number:02d}"
    later = [
        item
        for month in (month_of(starts), following)
        for item in await commands.live_meetings(state, cell_id, month, other_than=other_than)
        if item.kind in REGULAR_KINDS
        and item.status in HELD_STATUSES
        and item.starts_at is not None
        and item.starts_at > starts
    ]
    return min(later, key=lambda item: (item.starts_at, item.meeting_id), default=None)


# ---- the record page ----------------------------------------------------------------------------


def sent_values(form: Any) -> dict[str, str]:
    """A refused form's fields as the person typed them (`{name: value}`, the last value of a repeated name), to show
    the form again with what was sent rather than what is stored."""
    return {str(key): str(value) for key, value in form.items()} if form is not None else {}


def roster_sent(form: Any) -> dict[str, dict[str, str]]:
    """The attendance form as sent: `{member_id: {"status", "reason"}}`, each row as the person set it."""
    return {
        str(member_id): {
            "status": str(form.get(f"status-{member_id}") or ""),
            "reason": str(form.get(f"reason-{member_id}") or ""),
        }
        for member_id in form.getlist("member")
    }


async def _record_page(
    request: Request,
    viewer: Viewer,
    state: State,
    meeting_id: str,
    *,
    errors: dict[str, dict[str, str]] | None = None,
    form: Any = None,
    values: Any = None,
    kept: dict[str, dict[str, str]] | None = None,
    took: dict[str, str] | None = None,
    typed: Any = None,
    saved: str | None = None,
    said: str | None = None,
    done: str | None = None,
) -> Response:
    """The record page; with `errors` of a refused `form`, that form shows again what was sent (never the stored
    values the person was changing), or `values` (a stale form merged with what was saved since: the roster's rows
    or the minutes' values), the other forms what is stored. `kept`: per form, its inputs kept as typed though stored
    otherwise (ChangedSinceShown.kept: each offered TAKE_STORED); `took`: per form, TOOK_STORED (stored_taken).
    `typed`: the whole page as sent (one form, every part's inputs, whichever part `saved` names, None for none):
    each other part whose inputs differ from what the page shows of it now is shown as typed, marked unsaved
    (unsaved_parts); `said`: the notice to show instead of the address's (a save shown without a redirect);
    `done`: the notice of a part saved, whose page is shown only when another part is unsaved (else _done's
    redirect)."""
    principal = viewer.principal
    section = next(iter(errors or {}), None)
    sent = {section: sent_values(form)} if section and form is not None else {}
    reply = await recordable_meeting(viewer, state, meeting_id)
    waiting = waiting_sentences(
        await waiting_named(reply, state.accounts), attendance_recorded=reply.attendance is not None
    )
    meeting = reply.model_dump()
    unit = await state.directory.get(meeting["cell_id"])
    # the roster lists the members at the meeting's start (meetings refuses one leaving any out: roster_incomplete)
    members = await data.members_by_id(state, principal, meeting["cell_id"], at=meeting.get("starts_at"))
    ahead = data.upcoming(meeting)
    score = None if ahead else await data.meeting_score(state, principal, meeting_id)
    roster = {record["member_id"]: record for record in ((meeting.get("attendance") or {}).get("records") or [])}
    stored_roster = roster
    minutes = minutes_values(meeting, chair=principal.person_id)
    if section == "attendance" and form is not None:
        roster = {**roster, **(values if values is not None else roster_sent(form))}
    if section == "minutes" and form is not None:
        minutes = values if values is not None else minutes_sent(form)
    manual = await data.manual_items(state, score, reply.kind)
    shown = {
        # what the forms show of the meeting, sent back with them (`was.*`) so a stale page is refused
        "shown_start": reply.starts_at.astimezone(VIETNAM_TZ).isoformat() if reply.starts_at else "",
        "shown_location": reply.location or "",
        "shown_attendance": shown_digest(reply, "attendance"),
        "shown_rows": shown_roster_rows(reply),
        "shown_minutes": shown_digest(reply, "minutes"),
        "shown_minutes_inputs": shown_minutes_inputs(reply),
        **adoption_shown(meeting, form if section == "approval" else None),
    }
    clock = _clock(reply.starts_at) if reply.starts_at else ""
    today = f"{datetime.now(VIETNAM_TZ):%Y-%m-%d}"  # the day the page offers a task's completion (one reading)
    stored_adoption = adoption_shown(meeting)  # the adoption form's moment as stored or defaulted (not as typed)
    carried = unsaved_parts(
        typed,
        skip=saved or section,
        meeting=meeting,
        members=members,
        roster=roster,
        minutes=minutes,
        manual=manual,
        fresh_start={"start_date": meeting_day(meeting), "start_time": clock or "19:30", "location": reply.location},
        today=today,
        task_sent=str(request.path_params.get("task_id") or "") if (saved or section) == "tasks" else "",
    )
    # a task's day typed, the task gone since (its minutes replaced elsewhere): no row of the page shows it any more
    gone_tasks = task_lines(sent_values(typed), meeting, today=today, vanished=True) if typed is not None else []
    if done is not None and not carried.parts and not gone_tasks:
        return _done(meeting_id, done)
    # a part typed whose form the page no longer has (the meeting adopted, cancelled, moved ahead in the meantime):
    # said with what changed and shown as text, never marked unsaved beside a form that is not there nor sent again
    not_yet = bool(not_begun_at(reply))
    open_now = open_parts(
        meeting,
        secretary=viewer.role == Role.SECRETARY,
        not_yet=not_yet,
        manual=manual,
        redated=bool((carried.minutes or minutes).get("redated_from")),
    )
    # the part refused by the lock too (its own typing), all in the page's order
    refused_closed = {section} if section in PART_TITLES and section not in open_now and form is not None else set()
    closed = [part for part in PART_TITLES if part in carried.parts - open_now or part in refused_closed]
    not_applied, shown_parts = None, []
    if closed:
        lines = {
            part: typed_lines(
                part,
                carried.sent.get(part) or sent_values(typed if typed is not None else form),
                meeting=meeting,
                members=members,
                manual=manual,
                today=today,
                roster=carried.roster if part in carried.parts else roster_sent(form) if form is not None else {},
                minutes=carried.minutes if part in carried.parts else minutes_sent(form) if form is not None else None,
            )
            for part in closed
        }
        shown_parts = [(_(PART_TITLES[part]), lines[part]) for part in closed if lines[part]]
    if gone_tasks:
        shown_parts.append((_(PART_TITLES["tasks"]), gone_tasks))
    if closed or gone_tasks:
        if shown_parts:
            not_applied = NotApplied(why=why_closed(meeting, not_yet=not_yet, saved=saved), parts=shown_parts)
        log.info(
            "record_parts_closed", meeting_id=meeting_id, sent=saved or section, parts=closed, tasks=len(gone_tasks)
        )
        carried.parts -= set(closed)
        carried.sent = {part: values for part, values in carried.sent.items() if part not in closed}
        if "attendance" in closed:
            carried.roster = {}
        if "minutes" in closed:
            carried.minutes = None
        if "tasks" in closed:
            carried.tasks = {}
    if carried.parts:
        log.info("record_parts_unsaved", meeting_id=meeting_id, sent=saved or section, parts=sorted(carried.parts))
    said = said or done
    roster = {**roster, **carried.roster}
    minutes = carried.minutes or minutes
    shown |= carried.shown
    sent = {**carried.sent, **sent}
    said = said or request.query_params.get("notice")
    return render(
        request,
        "record.html",
        status=422 if errors else 200,
        viewer=viewer,
        unit=unit,
        meeting=meeting,
        members=members,
        left=data.left_since(members),  # as the meeting page says beside their names
        roster=roster,
        # a stored roster leaving out members of the cell (an integration's, taken as sent): said as the form refuses it
        roster_lacks=forms.roster_lacks(members, stored_roster),
        minutes=minutes,
        people={
            **members,
            **{person: {"id": person, "full_name": person} for person in minutes["others"] if person not in members},
        },
        score=score,
        gate_note=await data.gate_sentence(state, score),
        upcoming=ahead,
        # not cancelled, only its start corrected to when it took place (meeting_took_place): no cancel form
        took_place=meeting_took_place(meeting),
        # held, its minutes not adopted: its start still corrected to when it took place (a trial's minutes saved on
        # a wrong day were refused again and again, the page offering no control to correct the day)
        held_correctable=held_correctable(meeting),
        # its start corrected to when it took place, not moved: the reschedule form's warnings say "sửa"
        correcting=corrects_held(meeting),
        not_yet=not_yet,  # nothing recorded before it begins: no roster nor minutes form
        not_applied=not_applied,
        not_applied_kept=_(NOT_APPLIED_KEPT),
        manual=manual,
        unsaved=carried.parts,
        unsaved_tasks=carried.tasks,
        errors=errors or {},
        kept=kept or {},
        took=took or {},
        take_stored=TAKE_STORED,
        sent=sent,
        today=today,
        meeting_day=meeting_day(meeting),
        # the saved minutes' own day, warned of on the correction form (moved off it, adoption waits for them)
        minutes_day=minutes_day(meeting) if meeting.get("approved_at") is None else "",
        # the adoption form's moment until the secretary says otherwise: the meeting's end (adoption_default)
        adopted_on=stored_adoption["shown_adopted_on"],
        adopted_clock=stored_adoption["shown_adopted_clock"],
        off_minutes_notice=said == "rescheduled_off_minutes",
        **shown,
        shown_clock=clock,
        no_row_shown=input_digest(""),  # `was.attendance.MEMBER` of a member the roster has no row for
        notice=said in RECORD_NOTICES - {"unchanged"},
        unchanged_notice=said == "unchanged",
        waiting=waiting,
        held_notice=said == "held",
        statuses=LABELS["attendance"],
        no_reason=REASON_REFUSED,  # the statuses whose reason box static/roster-reasons.js disables
        document_kinds=LABELS["document"],
        rows=range(1, max(ROWS, len(minutes["resolutions"]) + 1, len(minutes["tasks"]) + 1) + 1),
        self_criticism_most=forms.SELF_CRITICISM_MOST,
    )


def _day_value(moment: datetime | None) -> str:
    """A date input's value (`2026-12-05`) of `moment`'s day in Vietnam, "" for None."""
    return f"{moment.astimezone(VIETNAM_TZ):%Y-%m-%d}" if moment else ""


def _clock(moment: datetime) -> str:
    """A time input's value: `19:30`, with the seconds only when there are (a resent form keeps the stored time)."""
    local = moment.astimezone(VIETNAM_TZ)
    return f"{local:%H:%M:%S}" if local.second else f"{local:%H:%M}"


def minutes_values(meeting: dict[str, Any], *, chair: str | None) -> dict[str, Any]:
    """The minutes form's values: the stored minutes, every field (resolutions with their votes, tasks with their
    ids), so that sending the form again changes only what the secretary changed; before any minutes, the
    meeting's date and start with the secretary as chair. Stored minutes dated another day than the meeting's (its
    held time corrected since, "Sửa thời điểm đã diễn ra": a trial's form still offered the old day, which the form
    refuses) offer the meeting's day, their own in `redated_from` (YYYY-MM-DD, else None) for the page to say.
    `others`: people the stored minutes name who are not on the cell's list now (kept as they are, under their
    ids)."""
    stored = meeting.get("minutes")
    starts = parse_moment(meeting.get("starts_at"))
    if not stored:
        return {
            "day": f"{starts.astimezone(VIETNAM_TZ):%Y-%m-%d}" if starts else "",
            "started": _clock(starts) if starts else "",
            "ended": "",
            "chair_id": chair,
            "recorder_id": None,
            "speakers": [],
            "self_criticism_minutes": None,
            "content": "",
            "conclusions": "",
            "resolutions": [],
            "tasks": [],
            "others": [],
            "redated_from": None,
        }
    started = parse_moment(stored.get("started_at"))
    day = f"{started.astimezone(VIETNAM_TZ):%Y-%m-%d}" if started else ""
    meeting_on = f"{starts.astimezone(VIETNAM_TZ):%Y-%m-%d}" if starts else day
    ended = parse_moment(stored.get("ended_at"))
    tasks = [
        {
            "task_id": task.get("task_id"),
            "description": task.get("description") or "",
            "assignee_id": task.get("assignee_id"),
            "due_on": str(task.get("due_on") or ""),
        }
        for task in meeting.get("tasks") or []
    ]
    speakers = list(stored.get("speakers") or [])
    named = [stored.get("chair_id"), stored.get("recorder_id"), *speakers, *(task["assignee_id"] for task in tasks)]
    return {
        "day": meeting_on if day else "",
        "started": _clock(started) if started else "",
        "ended": _clock(ended) if ended else "",
        "chair_id": stored.get("chair_id"),
        "recorder_id": stored.get("recorder_id"),
        "speakers": speakers,
        "self_criticism_minutes": stored.get("self_criticism_minutes"),
        "content": stored.get("content") or "",
        "conclusions": stored.get("conclusions") or "",
        "resolutions": list(stored.get("resolutions") or []),
        "tasks": tasks,
        "others": list(dict.fromkeys(person for person in named if person)),
        "redated_from": day if day and day != meeting_on else None,
    }


def minutes_sent(form: Any) -> dict[str, Any]:
    """The minutes form's values as sent (the shape of minutes_values): every row up to the last one with anything
    typed stays in its place (an error names its row), the texts as typed, numbers and dates as the raw inputs."""
    rows = range(1, form_rows(form) + 1)

    def raw(name: str) -> str:
        return str(form.get(name) or "").replace("\r\n", "\n")

    resolutions = [
        {"text": raw(f"resolution-{row}"), **{key: raw(f"{key}-{row}") for key in VOTE_KEYS}} for row in rows
    ]
    tasks = [
        {
            "task_id": raw(f"task_id-{row}") or None,
            "description": raw(f"task-{row}"),
            "assignee_id": raw(f"assignee-{row}") or None,
            "due_on": raw(f"due-{row}"),
        }
        for row in rows
    ]
    while resolutions and not any(resolutions[-1].values()):
        resolutions.pop()
    while tasks and not any(tasks[-1].values()):
        tasks.pop()  # an untouched row: nothing typed, nobody chosen
    speakers = speakers_in_order(form)
    named = [raw("chair_id"), raw("recorder_id"), *speakers, *(task["assignee_id"] for task in tasks)]
    return {
        "day": raw("day"),
        "started": raw("started"),
        "ended": raw("ended"),
        "chair_id": raw("chair_id") or None,
        "recorder_id": raw("recorder_id") or None,
        "speakers": speakers,
        "self_criticism_minutes": raw("self_criticism_minutes"),
        "content": raw("content"),
        "conclusions": raw("conclusions"),
        "resolutions": resolutions,
        "tasks": tasks,
        "others": list(dict.fromkeys(person for person in named if person)),
        "redated_from": None,
    }


@dataclasses.dataclass
class Carried:
    """The record page's parts typed but not saved (unsaved_parts): `parts` their names (as the page's `errors`),
    `roster` rows and `minutes` values as typed, `sent` the other parts' inputs as typed (the page's `sent`),
    `shown` the `was.*` the page first showed them with (a part saved elsewhere since is still refused as stale),
    `tasks` task id to its typed day and shown day."""

    parts: set[str] = dataclasses.field(default_factory=set)
    roster: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    minutes: dict[str, Any] | None = None
    sent: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    shown: dict[str, Any] = dataclasses.field(default_factory=dict)
    tasks: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)


def _points_differ(typed: str, stored: Any) -> bool:
    """Whether an assessment point as typed (`7,5`) is another number than the stored one (None: nothing)."""
    if not typed.strip():
        return stored is not None
    value = forms.typed_point(typed)  # read as the assessment form reads it (forms.assessment_points)
    return value is None or stored is None or value != float(stored)


def unsaved_parts(
    typed: Any,
    *,
    skip: str | None,
    meeting: dict[str, Any],
    members: dict[str, Any],
    roster: dict[str, Any],
    minutes: dict[str, Any],
    manual: Any,
    fresh_start: dict[str, Any],
    today: str,
    task_sent: str,
) -> Carried:
    """The parts of the record page sent as one form (`typed`, None: nothing carried) other than `skip` (the part
    saved or refused; of "tasks", only the task `task_sent`) whose inputs differ from what the page now shows of
    them (`roster`, `minutes`, `fresh_start` and the meeting's stored values): what the person typed there and did
    not save, shown again as typed with the `was.*` they were first shown with (a trial's attendance typed before
    saving the minutes was lost on the page's reload)."""
    carried = Carried()
    if typed is None:
        return carried
    if skip != "attendance" and typed.getlist("member"):
        rows = roster_sent(typed)

        def shown_row(member_id: str) -> dict[str, str]:
            if member_id in roster:
                row = roster[member_id]
                return {"status": str(row["status"] or ""), "reason": str(row.get("reason") or "")}
            exempt = (members.get(member_id) or {}).get("exempt")
            return {"status": "exempt" if exempt else "", "reason": ""}

        def typed_row(member_id: str, row: dict[str, str]) -> bool:
            if f"status-{member_id}" not in typed:
                return False
            # changed on the page (not as it showed the row: `was.attendance.MEMBER`, its default for a row nothing
            # stored) and not as stored now (a stale page's untouched row is no typing)
            shown = typed.get(f"was.attendance.{member_id}")
            as_shown = shown is None or input_digest(roster_row_text(row)) == shown
            if shown == input_digest("") and row == shown_row(member_id):
                as_shown = True
            return not as_shown and row != shown_row(member_id)

        if any(typed_row(member_id, row) for member_id, row in rows.items()):
            carried.parts.add("attendance")
            carried.roster = rows
            carried.shown["shown_attendance"] = str(typed.get("was.attendance") or "")
            carried.shown["shown_rows"] = {m: str(typed.get(f"was.attendance.{m}") or "") for m in rows}
    if skip != "minutes" and typed.get("was.minutes") is not None:
        sent = minutes_sent(typed)
        said, now = minutes_inputs(sent), minutes_inputs(minutes)

        def typed_input(key: str) -> bool:
            # a part whose inputs were not sent at all (another client's form) is no typing
            names = {"speakers": ("speaker_order",), "resolutions": ("resolution-1",), "tasks": ("task-1",)}
            if not any(name in typed for name in names.get(key, (key,))):
                return False
            shown = typed.get(f"was.minutes.{key}")
            return said[key] != now[key] and (shown is None or input_digest(said[key]) != shown)

        if any(typed_input(key) for key in said):
            carried.parts.add("minutes")
            carried.minutes = sent
            carried.shown["shown_minutes"] = str(typed.get("was.minutes") or "")
            carried.shown["shown_minutes_inputs"] = {
                key: str(typed.get(f"was.minutes.{key}") or "") for key in MINUTES_COMPARED
            }
    values = sent_values(typed)
    if skip != "reschedule" and typed.get("was.starts_at") is not None:
        was = values.get("was.starts_at", "")
        shown = {"start_date": was[:10], "start_time": was[11:16], "location": values.get("was.location", "")}
        fresh = {**fresh_start, "location": fresh_start.get("location") or "", "reason": ""}
        if any(key in values and values[key] not in (str(value), shown.get(key)) for key, value in fresh.items()):
            carried.parts.add("reschedule")
            carried.sent["reschedule"] = values
            carried.shown["shown_start"] = values.get("was.starts_at", "")
            carried.shown["shown_location"] = values.get("was.location", "")
    if skip != "cancel" and values.get("cancel_reason", "").strip():
        carried.parts.add("cancel")
        carried.sent["cancel"] = values
    if skip != "documents" and any(values.get(key, "").strip() for key in ("title", "url")):
        carried.parts.add("documents")
        carried.sent["documents"] = values
    if skip != "approval" and (
        any(values.get(key, "").strip() for key in ("votes_for", "votes_against")) or adoption_typed(values, meeting)
    ):
        carried.parts.add("approval")
        carried.sent["approval"] = values
        carried.shown |= adoption_shown(meeting, typed)
    points = {f"point-{line['code']}": line.get("points") for line in manual or []}
    if skip != "assessment" and (
        values.get("comment", "").strip()
        or any(name in values and _points_differ(values[name], stored) for name, stored in points.items())
    ):
        carried.parts.add("assessment")
        carried.sent["assessment"] = values
    for task in meeting.get("tasks") or []:
        task_id = str(task.get("task_id"))
        day = values.get(f"completed_on-{task_id}")
        done_on = str(task.get("completed_on") or "")
        shown_on = values.get(f"was.completed_on-{task_id}", done_on)
        if day is None or (skip == "tasks" and task_id == task_sent) or day in (done_on or today, shown_on or today):
            continue
        carried.parts.add("tasks")
        carried.tasks[task_id] = {"task_id": task_id, "completed_on": day, "shown": shown_on}
    return carried


def open_parts(meeting: dict[str, Any], *, secretary: bool, not_yet: bool, manual: Any, redated: bool) -> set[str]:
    """The record page's parts whose form record.html shows now for `meeting` (a reply's dict), read as the template
    reads them: none of a cancelled meeting; the roster and the minutes neither once adopted nor before the meeting
    begins (`not_yet`); the adoption only of recorded minutes and roster not adopted, dated the meeting's day
    (`redated`: the page's minutes dated another); the move and the cancellation as LOCKED_SECTIONS leave them."""
    status = meeting.get("status")
    if status == "cancelled":
        return set()
    parts = {"assessment"} if manual else set()
    if not secretary:
        return parts
    took = meeting_took_place(meeting)
    movable = status == "scheduled" and not took
    if movable or (status == "scheduled" and took) or held_correctable(meeting):
        parts.add("reschedule")
    if movable:
        parts.add("cancel")
    parts.add("documents")
    adopted = meeting.get("approved_at") is not None
    if not not_yet and not (adopted and meeting.get("attendance")):
        parts.add("attendance")
    if not not_yet and not (adopted and meeting.get("minutes")):
        parts.add("minutes")
    if not adopted and meeting.get("minutes") and meeting.get("attendance") and not redated:
        parts.add("approval")
    if meeting.get("tasks"):
        parts.add("tasks")
    return parts


PART_TITLES = {
    "reschedule": N_("Reschedule"),
    "cancel": N_("Cancel the meeting"),
    "documents": N_("Publish a document"),
    "attendance": N_("Attendance"),
    "minutes": N_("Minutes"),
    "approval": N_("Adoption of the minutes"),
    "tasks": N_("Tasks"),
    "assessment": N_("The cell committee's self-assessment"),
}
"""The record page's parts' titles, as record.html heads them (NotApplied says a part by it)."""
ADOPTED_MEANWHILE = N_(
    "The cell's adoption of these minutes was recorded in the meantime (in another tab, by another person or through"
    " the data integration): adopted at %(when)s, %(votes_for)s in favour and %(votes_against)s against."
)
ADOPTED_MEANWHILE_NO_VOTES = N_(
    "The cell's adoption of these minutes was recorded in the meantime (in another tab, by another person or through"
    " the data integration): adopted at %(when)s, no vote count recorded."
)
CANCELLED_MEANWHILE = N_(
    "The meeting was cancelled in the meantime (in another tab, by another person or through the data integration):"
    " nothing more is recorded for it."
)
CANCELLED_MEANWHILE_BECAUSE = N_(
    "The meeting was cancelled in the meantime (in another tab, by another person or through the data integration),"
    " for this reason: %(reason)s. Nothing more is recorded for it."
)
MOVED_AHEAD_MEANWHILE = N_(
    "The meeting was moved in the meantime to %(moment)s, still ahead: its attendance and minutes are recorded from"
    " when it begins."
)
CHANGED_MEANWHILE = N_(
    "The meeting changed in the meantime (in another tab, by another person or through the data integration), so"
    " the page no longer has a form for what you typed below."
)
SAVED_CLOSED = N_("What you just saved changed the meeting, so the page no longer has a form for what you typed below.")
NOT_APPLIED_KEPT = N_(
    "What you typed there is shown below so that nothing is lost: it was not saved and will not be sent again. Copy"
    " what you still need."
)


@dataclasses.dataclass
class NotApplied:
    """What the record page's person typed into parts whose form the page no longer has (open_parts: the meeting
    adopted, cancelled, moved ahead in the meantime), shown as text, never as inputs sent again: `why` the sentence
    saying what changed, `parts` each part's title with its typed lines (label, value)."""

    why: str
    parts: list[tuple[str, list[tuple[str, str]]]]


def why_closed(meeting: dict[str, Any], *, not_yet: bool, saved: str | None = None) -> str:
    """The sentence saying why the record page of `meeting` (a reply's dict) no longer has some part's form: its
    cancellation (with its reason), its minutes' adoption (its moment and votes as recorded), its move ahead; the
    part `saved` by the page's own post when that save is what closed them (SAVED_CLOSED)."""
    if saved in ("approval", "cancel", "reschedule", "attendance", "minutes"):
        return _(SAVED_CLOSED)
    if meeting.get("status") == "cancelled":
        reason = str(meeting.get("cancel_reason") or "").strip()
        return _(CANCELLED_MEANWHILE_BECAUSE, reason=reason) if reason else _(CANCELLED_MEANWHILE)
    if meeting.get("approved_at") is not None:
        when = format_moment(parse_moment(meeting["approved_at"]))
        votes_for, votes_against = meeting.get("adoption_votes_for"), meeting.get("adoption_votes_against")
        if votes_for is None:
            return _(ADOPTED_MEANWHILE_NO_VOTES, when=when)
        return _(ADOPTED_MEANWHILE, when=when, votes_for=votes_for, votes_against=votes_against or 0)
    if not_yet and meeting.get("starts_at"):
        return _(MOVED_AHEAD_MEANWHILE, moment=format_moment(parse_moment(meeting["starts_at"])))
    return _(CHANGED_MEANWHILE)


def typed_lines(
    part: str,
    values: Mapping[str, Any],
    *,
    meeting: dict[str, Any],
    members: Mapping[str, Any],
    manual: Any,
    today: str,
    roster: Mapping[str, Any] | None = None,
    minutes: dict[str, Any] | None = None,
) -> list[tuple[str, str]]:
    """The lines (label, value as typed) saying what was typed into record page part `part`: `values` the part's
    inputs as sent (`today`, YYYY-MM-DD, the completion day the page offered: task_lines); `roster` the rows (member
    id to status and reason) and `minutes` the values (minutes_sent) as typed for those parts, each line only what
    differs from what is stored now."""

    def name(person: Any) -> str:
        return plain_name(str((members.get(str(person)) or {}).get("full_name") or person or ""))

    def said(names: tuple[str, ...]) -> list[tuple[str, str]]:
        found = [(key, str(values.get(key) or "").strip()) for key in names]
        return [(_(forms.FIELD_LABELS.get(key) or key), value) for key, value in found if value]

    if part == "approval":
        return said(("approved_date", "approved_time", "votes_for", "votes_against"))
    if part == "cancel":
        reason = str(values.get("cancel_reason") or values.get("reason") or "").strip()
        return [(_("Reason for cancelling"), reason)] if reason else []
    if part == "documents":
        kind = LABELS["document"].get(str(values.get("kind") or ""))
        lines = said(("title", "url"))
        return [*lines, (_("Kind"), _(kind))] if lines and kind else lines
    if part == "reschedule":
        keys = (
            ("start_date", N_("Date")),
            ("start_time", N_("Hour")),
            ("location", N_("Place")),
            ("reason", N_("Reason")),
        )
        return [
            (_(label_of), str(values.get(key) or "")) for key, label_of in keys if str(values.get(key) or "").strip()
        ]
    if part == "assessment":
        lines = [
            (str(line["name"]), str(values.get(f"point-{line['code']}") or ""))
            for line in manual or []
            if str(values.get(f"point-{line['code']}") or "").strip()
        ]
        return lines + said(("comment",))
    if part == "tasks":
        return task_lines(values, meeting, today=today, vanished=False)
    if part == "attendance":
        return roster_lines(roster or {}, meeting, name)
    if part == "minutes" and minutes is not None:
        return minutes_lines(minutes, meeting, name)
    return []


def task_lines(
    values: Mapping[str, Any], meeting: dict[str, Any], *, today: str, vanished: bool
) -> list[tuple[str, str]]:
    """typed_lines of the tasks' completion days (`completed_on-TASK` of `values`, the page as sent), each typed other
    than its page showed it (`was.completed_on-TASK`, else the day the page offered: today): of the meeting's tasks,
    or (`vanished`) of tasks the meeting no longer has (its minutes replaced elsewhere), labelled by the task's
    description, "Nhiệm vụ" for one gone; `today` (YYYY-MM-DD) the page's own reading of the day."""
    described = {str(task.get("task_id")): str(task.get("description") or "") for task in meeting.get("tasks") or []}
    lines = []
    for key, value in values.items():
        task_id = str(key).removeprefix("completed_on-")
        if task_id == key or (task_id in described) == vanished or not str(value or "").strip():
            continue
        if str(value) != str(values.get(f"was.completed_on-{task_id}") or today):
            lines.append((described.get(task_id) or _("Task"), str(value)))
    return lines


def roster_lines(
    roster: Mapping[str, Any], meeting: dict[str, Any], name: Callable[[Any], str]
) -> list[tuple[str, str]]:
    """typed_lines of the roster: each row typed (member id to status and reason) other than as stored now, as the
    member's name (`name`) and the status's label with its reason."""
    stored = {
        str(row["member_id"]): {"status": str(row.get("status") or ""), "reason": str(row.get("reason") or "")}
        for row in ((meeting.get("attendance") or {}).get("records") or [])
    }
    lines = []
    for member_id, row in roster.items():
        typed = {"status": str(row.get("status") or ""), "reason": str(row.get("reason") or "")}
        if not typed["status"] or typed == stored.get(member_id, {"status": "", "reason": ""}):
            continue
        status = _(LABELS["attendance"].get(typed["status"], typed["status"]))
        lines.append((name(member_id), f"{status} ({typed['reason']})" if typed["reason"] else status))
    return lines


MINUTES_LINES = (
    "day",
    "started",
    "ended",
    "chair_id",
    "recorder_id",
    "self_criticism_minutes",
    "content",
    "conclusions",
)
"""The minutes' single inputs typed_lines says, in the form's order."""


def minutes_lines(
    minutes: dict[str, Any], meeting: dict[str, Any], name: Callable[[Any], str]
) -> list[tuple[str, str]]:
    """typed_lines of the minutes (`minutes`: minutes_sent's shape): each input typed otherwise than stored now, people
    by their names (`name`), each resolution with its votes (for/against/abstaining) and each task with its assignee
    and due day."""
    typed, now = minutes_inputs(minutes), minutes_inputs(minutes_values(meeting, chair=None))
    lines = []
    for key in MINUTES_LINES:
        if typed[key] != now[key] and typed[key].strip():
            lines.append((_(forms.FIELD_LABELS[key]), name(typed[key]) if key.endswith("_id") else typed[key]))
    if typed["speakers"] != now["speakers"] and minutes.get("speakers"):
        lines.append((_(forms.FIELD_LABELS["speakers"]), ", ".join(name(person) for person in minutes["speakers"])))
    if typed["resolutions"] != now["resolutions"]:
        for row, resolution in enumerate(minutes.get("resolutions") or [], start=1):
            votes = "/".join(str(resolution.get(key) or "") for key in VOTE_KEYS)
            if str(resolution.get("text") or "").strip():
                lines.append((_("Resolution %(row)s", row=row), f"{resolution['text']} ({votes})"))
    if typed["tasks"] != now["tasks"]:
        for row, task in enumerate(minutes.get("tasks") or [], start=1):
            said = [name(task["assignee_id"]) if task.get("assignee_id") else "", str(task.get("due_on") or "")]
            extra = ", ".join(part for part in said if part)
            if str(task.get("description") or "").strip():
                text = f"{task['description']} ({extra})" if extra else str(task["description"])
                lines.append((_("Task %(row)s", row=row), text))
    return lines


def task_form(form: Any, task_id: str) -> FormData:
    """A task's completion form as its handlers read it (`completed_on`, `was.completed_on`, `task_id`) from the
    record page's one form, whose inputs name their task (`completed_on-TASK`); a form sent as before (bare names,
    another client's) as it is."""
    if form.get(f"completed_on-{task_id}") is None:
        return form if isinstance(form, FormData) else FormData(list(form.multi_items()))
    taken = {"completed_on": f"completed_on-{task_id}", "was.completed_on": f"was.completed_on-{task_id}"}
    items = [(key, value) for key, value in form.multi_items() if key not in (*taken, "task_id")]
    items += [(bare, form.get(named)) for bare, named in taken.items() if form.get(named) is not None]
    return FormData([*items, ("task_id", task_id)])


RECORD_PARTS = (
    RESCHEDULE_FORM,
    CANCEL_FORM,
    DOCUMENTS_FORM,
    ATTENDANCE_FORM,
    MINUTES_FORM,
    APPROVAL_FORM,
    ASSESSMENT_FORM,
    TASK_DONE_FORM,
)
"""The parts of the record page's one form, each saved by its own button."""


def record_labels(own: forms.FormLabels | None) -> forms.FormLabels:
    """The labels of every part of the record page's one form (RECORD_PARTS) together, the part being saved (`own`,
    None for none: Enter's keep_typed) last, so that its own labels win over another part's of one name."""
    parts = (*RECORD_PARTS, *([own] if own is not None else []))
    return dataclasses.replace(
        own or forms.FormLabels(),
        fields={key: value for part in parts for key, value in part.fields.items()},
        choices={key: value for part in parts for key, value in part.choices.items()},
        hidden=frozenset().union(*(part.hidden for part in parts)),
        named={key: value for part in parts for key, value in part.named.items()},
        free=frozenset().union(*(part.free for part in parts)),
        options={key: value for part in parts for key, value in part.options.items()},
        people=frozenset().union(*(part.people for part in parts)),
        many=frozenset().union(*(part.many for part in parts)),
        types={key: value for part in parts for key, value in part.types.items()},
        # its errors listed top to bottom: the part being saved's, then the others' as the page shows them
        order=tuple(dict.fromkeys(item for part in (*parts[-1:], *parts) for item in part.order)),
    )


def may_record(viewer: Viewer) -> bool:
    """Whether the viewer's role records meetings (the meeting page links to the record page only then)."""
    return viewer.role in RECORDERS


async def recordable_meeting(viewer: Viewer, state: State, meeting_id: str) -> Any:
    """The meeting, when the viewer may record it; the app's 404 page outside what they may see (as for a meeting
    that does not exist), a 403 page saying who records for a role that may see it but not record it."""
    meeting = await authorize_meeting(viewer.principal, meeting_id, rpc=state.rpc, directory=state.directory)
    if not may_record(viewer):
        raise NotAllowed(
            _("Only the cell's secretary records its meetings. You can still see the meeting and its score.")
        )
    return meeting


async def not_begun(viewer: Viewer, state: State, meeting_id: str) -> dict[str, str]:
    """{"data.meeting_id": why} when the meeting (one the viewer may record, else recordable_meeting's 404 or 403) has
    not begun (shared.plausible.begins_later, the rule meetings refuses a person's roster, minutes and assessment by),
    else {}: a form says it with its own errors, so one sending reports them all."""
    return not_begun_at(await recordable_meeting(viewer, state, meeting_id))


def not_begun_at(meeting: Any) -> dict[str, str]:
    """not_begun's answer for a meeting already read (a MeetingReply)."""
    if meeting.starts_at is not None and begins_later(meeting.starts_at, datetime.now(VIETNAM_TZ)):
        return {"data.meeting_id": StateRefusal(_(BY_CODE[RefusalCode.MEETING_NOT_STARTED]))}
    return {}


@router.get("/meetings/{meeting_id}/record")
async def record_page(meeting_id: str, request: Request, viewer: CurrentViewer, state: State) -> Response:
    """Every form of a meeting for its secretary (403 page for other roles that see the meeting)."""
    return await _record_page(request, viewer, state, meeting_id)


@router.post("/meetings/{meeting_id}/record")
@forms.posts(record_labels(None))
async def keep_typed(meeting_id: str, request: Request, viewer: FormViewer, state: State) -> Response:
    """The record page sent by Enter (its first button, unseen: no part's save button named): nothing saved, every
    part typed shown again as typed and marked unsaved (unsaved_parts), so that Enter in one part never saves
    another; the page itself (a redirect) when nothing was typed. A character no text is stored with, in any part's
    input, is refused as every part's save refuses it (422, each input named by its own part's label, a roster row by
    its member), the page shown back with everything typed."""
    form = await forms.posted_form(request)
    await other_parts_named(request, form, lambda: _row_names(viewer, state, meeting_id))
    forms.FORM.set(record_labels(None))  # the refusal's box lists them as the page's parts' labels say them
    if said := dict(forms.UNSTORABLE.get()):
        # a cancelled meeting's page saves nothing whatever is typed: said first (locked_refusal)
        lock = locked_refusal(await recordable_meeting(viewer, state, meeting_id), "record")
        return await _record_page(request, viewer, state, meeting_id, errors={"record": lock or said}, typed=form)
    return await _record_page(request, viewer, state, meeting_id, typed=form, done="")


async def _row_names(viewer: Viewer, state: State, meeting_id: str) -> dict[str, str]:
    """The names the record page's roster rows are labelled with (member id to full name: meeting_roster)."""
    _roster, names = await meeting_roster(viewer, state, await recordable_meeting(viewer, state, meeting_id))
    return names


async def _submit(
    request: Request, viewer: Viewer, state: State, meeting_id: str, section: str, action: Any, notice: str
) -> Response:
    if not may_record(viewer):
        await recordable_meeting(viewer, state, meeting_id)  # the page's own 404 or 403 answer, before any command
    page_form = await forms.posted_form(request)  # the whole page: every part's inputs (unsaved_parts)
    await other_parts_named(request, page_form, lambda: _row_names(viewer, state, meeting_id))
    taking = str(page_form.get(TAKE_STORED) or "")
    if taking and section in TAKES_STORED:
        return await _take_stored(request, viewer, state, meeting_id, section, taking)
    try:
        async with record_form_lock(state, meeting_id):
            try:
                outcome = await action()
            except FormErrors as refused:
                raise await lock_first(refused, viewer, state, meeting_id, section) from None
    except FormErrors as exc:
        # shown again as sent (already parsed: Starlette caches it), a stale page's form too, merged with what was
        # saved since (ChangedSinceShown.values): a trial's refusal showed the stored minutes, losing what was typed
        form = part_form(page_form, section, request)
        values = exc.values if isinstance(exc, ChangedSinceShown) else None
        if section == "reschedule" and values is not None:
            form, values = values, None  # the reschedule form's inputs as sent, merged: shown as its `sent` values
        kept = exc.kept if isinstance(exc, ChangedSinceShown) else {}
        return await _record_page(
            request,
            viewer,
            state,
            meeting_id,
            errors={section: exc.errors},
            form=form,
            values=values,
            kept={section: kept},
            typed=page_form,
        )
    # an action may say its own outcome (a notice of RECORD_NOTICES); the page shown at once, not redirected to,
    # when another part holds what was typed and not saved
    return await _record_page(
        request, viewer, state, meeting_id, typed=page_form, saved=section, done=outcome or notice
    )


LOCKED_SECTIONS = {
    "cancelled": frozenset(
        {"minutes", "attendance", "approval", "assessment", "documents", "reschedule", "tasks", "record"}
    ),
    "adopted": frozenset({"minutes", "attendance", "approval", "reschedule", "cancel"}),
    "held": frozenset({"cancel"}),
}
"""The record page's parts (forms by `section`, `record` its one form sent by Enter) that nothing saves, by what
locked them: a cancelled meeting (meetings' require_not_cancelled; its cancellation may be said again), minutes the
cell adopted (check_adopted_minutes_unchanged, check_adopted_roster_unchanged, check_adoption_not_repeated,
check_not_moved_when_held), minutes recorded (check_cancel); tasks and assessments stay open after adoption."""


def locked_refusal(meeting: Any, section: str) -> dict[str, str]:
    """{"data.meeting_id": StateRefusal} saying why part `section` of the record page of `meeting` (a MeetingReply)
    saves nothing whatever it says (LOCKED_SECTIONS: cancelled, minutes adopted, minutes recorded), worded as the
    refusal meetings would give; {} when the part is open."""
    said = None
    if getattr(meeting, "status", None) == "cancelled":
        if section in LOCKED_SECTIONS["cancelled"]:
            cancelled = forms.MEETING_STATE_REFUSALS[RefusalCode.MEETING_CANCELLED]
            said = ROSTER_CANCELLED if section == "attendance" else cancelled
    elif meeting.approved_at is not None and section in LOCKED_SECTIONS["adopted"]:
        said = {
            "attendance": ROSTER_ADOPTED_SAID,
            "reschedule": forms.MEETING_STATE_REFUSALS[RefusalCode.MEETING_MINUTES_RECORDED],
            "cancel": forms.MEETING_STATE_REFUSALS[RefusalCode.MEETING_ALREADY_HELD],
        }.get(section, BY_CODE[RefusalCode.MINUTES_ADOPTED])
        if section == "attendance" and meeting.attendance is None:
            said = None  # minutes adopted before any roster take their first one (check_adopted_roster_unchanged)
    elif meeting.minutes and section in LOCKED_SECTIONS["held"]:
        said = forms.MEETING_STATE_REFUSALS[RefusalCode.MEETING_ALREADY_HELD]
    return {"data.meeting_id": StateRefusal(_(said))} if said is not None else {}


async def lock_first(refused: FormErrors, viewer: Viewer, state: State, meeting_id: str, section: str) -> FormErrors:
    """What a refused form of part `section` answers: the lock of its meeting alone (locked_refusal) when it is locked
    and `refused` says more than the meeting's state, since correcting fields cannot save a locked part (a trial's
    adopted minutes resent without chair read "Vui lòng sửa: Chủ trì: không được để trống"); `refused` otherwise, and
    a form that would save nothing new (the adopted minutes sent again) still reaches meetings, which takes it as a
    no-op. SavedElsewhere is never replaced: nothing of the form was judged."""
    if isinstance(refused, SavedElsewhere) or all(isinstance(said, StateRefusal) for said in refused.errors.values()):
        return refused
    lock = locked_refusal(await recordable_meeting(viewer, state, meeting_id), section)
    if not lock:
        return refused
    locked = FormErrors(lock)
    locked.errors = lock  # nor an input's unstorable character (forms.UNSTORABLE): the part saves nothing anyway
    return locked


async def other_parts_named(request: Request, form: Any, row_names: Callable[[], Awaitable[Mapping[str, str]]]) -> None:
    """Name the unstorable inputs (forms.UNSTORABLE) of the record page's other parts (RECORD_PARTS), which its one
    form sends with the part being saved (FORM, none for Enter's keep_typed), as their own part labels them, never as
    a field not on the form: a character no text is stored with is refused wherever on the page it was typed (the
    part being saved keeps its own labels; an input no part has is still said as not on the form). A row labelled by
    its name (a roster row's `status-MEMBER`: "Điểm danh của đồng chí …") takes it from `row_names` (member id to
    name), asked only when such a row of another part holds one, whichever part's button was pressed."""
    own = forms.FORM.get()
    if not forms.UNSTORABLE.get() and own is not None:
        return
    merged = record_labels(own)
    undecodable = forms.undecodable_fields(request.headers.get("content-type", ""), await request.body())
    token = forms.FORM.set(merged)
    try:
        unstorable = forms.refused_characters(form, undecodable)
        others = [name for name in unstorable if own is None or own.find(name) is None]
        if any(merged.of_stem(merged.named, name) is not None for name in others):
            forms.FORM.set(merged := dataclasses.replace(merged, names={**merged.names, **await row_names()}))
            unstorable = forms.refused_characters(form, undecodable)
        forms.UNSTORABLE.set(unstorable)
    finally:
        forms.FORM.reset(token)


def part_form(form: Any, section: str, request: Request) -> Any:
    """The inputs of part `section` of the record page's one form as its handler reads them (task_form for a task's,
    by the address's task id); the form itself for the others, whose inputs have names of their own."""
    task_id = str(request.path_params.get("task_id") or "")
    return task_form(form, task_id) if section == "tasks" and task_id else form


TAKES_STORED = ("attendance", "minutes", "reschedule", "tasks")
"""The record page's forms whose refused stale form offers TAKE_STORED beside each input kept as typed."""


async def _take_stored(
    request: Request, viewer: Viewer, state: State, meeting_id: str, section: str, key: str
) -> Response:
    """The record page after a TAKE_STORED button for input `key` of form `section` (stored_taken): nothing sent."""
    page_form = await forms.posted_form(request)
    form = part_form(page_form, section, request)
    meeting = await recordable_meeting(viewer, state, meeting_id)
    _roster, names = await meeting_roster(viewer, state, meeting)
    shown = stored_taken(section, form, meeting, names, key)
    form_shown, values = form, shown.values
    if section in ("reschedule", "tasks"):
        form_shown, values = values, None  # their inputs shown as `sent` values
    page = await _record_page(
        request,
        viewer,
        state,
        meeting_id,
        errors={section: shown.errors},
        form=form_shown,
        values=values,
        kept={section: shown.kept},
        took={section: shown.took},
        typed=page_form,
    )
    page.status_code = 200  # nothing refused: the form shown again as asked, the other parts' notes kept
    return page


FORM_LOCK_PREFIX = "gateway.record-form:"
"""The key of a meeting's record-form lock (web.form_locks.one_form_at_a_time), followed by the meeting id."""
MEETING_BEING_SAVED = N_("Someone else is saving this meeting right now. Please reload the page and try again.")
"""Why a record form that waited longer than CHIBO_FORM_LOCK_WAIT_SECONDS for the meeting's lock is refused (nothing
sent, the form shown again as sent)."""


def record_form_lock(state: State, meeting_id: str) -> AbstractAsyncContextManager[None]:
    """The meeting's record-form lock (FORM_LOCK_PREFIX and the meeting id, web.form_locks.one_form_at_a_time), held
    while a record form is judged against the meeting (changed_since_shown, changed_part) and sent to meetings, which
    commits it before it answers; SavedElsewhere (MEETING_BEING_SAVED) when another save held it too long."""
    busy = {"data.meeting_id": StateRefusal(_(MEETING_BEING_SAVED))}
    return one_form_at_a_time(state, FORM_LOCK_PREFIX + meeting_id, busy)


MEETING_CHANGED = N_(
    "The meeting was changed after you opened this page: it now starts at %(moment)s at %(place)s. Please review it."
)
"""Why a move sent from a page showing another start or place than the meeting's is refused (nothing sent)."""
MEETING_CHANGED_KEPT = N_(
    "Nothing has been saved yet: the form below keeps what you typed, and what you had not changed now shows the"
    " meeting as it is. Choose what to keep, then send the form again."
)
"""Said after MEETING_CHANGED: the refused form loses nothing typed (a trial's stale forms showed the stored values)."""


class ChangedSinceShown(FormErrors):
    """A form sent from a page showing the meeting otherwise than it now is: refused, the form shown again with what
    was typed (nothing lost) and the page's `was.*` values now the stored ones; `values`, when given, what the form
    shows instead of the values sent (merged_minutes, merged_roster: someone else's changes to fields left untouched
    taken in); `kept`, each input changed on both sides whose typed value the form keeps (input name to what the
    page calls it), beside which the page offers TAKE_STORED; `took`, TOOK_STORED when the form is shown again by
    that button (stored_taken: no refusal, nothing sent)."""

    def __init__(
        self, errors: dict[str, str], *, values: Any = None, kept: dict[str, str] | None = None, took: str = ""
    ) -> None:
        super().__init__(errors)
        self.values = values
        self.kept = kept or {}
        self.took = took


def shows_meeting(form: Any, meeting: Any) -> bool:
    """Whether the form's `was.starts_at` (ISO 8601) and `was.location`, what its page showed, are the meeting's (a
    MeetingReply) start and place; True for a form without them (sent by other means than the page)."""
    shown_start, shown_place = form.get("was.starts_at"), form.get("was.location")
    if shown_start is None and shown_place is None:
        return True
    try:
        start = parse_moment(str(shown_start)) if shown_start else None
    except ValueError:
        start = None  # an altered value: compared as showing no start, so refused unless the meeting has none
    same_start = (start is None) == (meeting.starts_at is None) and (start is None or start == meeting.starts_at)
    return same_start and str(shown_place or "") == (meeting.location or "")


def changed_since_shown(form: Any, meeting: Any, starts: datetime | None = None) -> None:
    """Raise ChangedSinceShown (MEETING_CHANGED, the current start and place) when the form's `was.starts_at` (ISO
    8601) or `was.location`, what its page showed, differ from the meeting's (a MeetingReply); a form without them
    (sent by other means than the page) is not compared. The form is shown again with what was typed, the start
    (`starts`, as the form parsed it) and place it sent as its page showed them taken as they now are, one changed
    on both sides named with both values (NOW_STORED)."""
    if shows_meeting(form, meeting):
        return
    said = _(MEETING_CHANGED, moment=format_moment(meeting.starts_at), place=meeting.location or "")
    errors: dict[str, str] = {"data.meeting_id": StateRefusal(f"{said} {_(MEETING_CHANGED_KEPT)}")}
    kept: dict[str, str] = {}
    values = sent_values(form)
    try:
        shown_start = parse_moment(str(form.get("was.starts_at"))) if form.get("was.starts_at") else None
    except ValueError:
        shown_start = None
    now_start = meeting.starts_at
    if now_start is not None and starts != now_start:
        stored_at = format_moment(now_start.astimezone(VIETNAM_TZ))
        if starts is not None and shown_start is not None and starts == shown_start:
            values |= {"start_date": meeting_day(meeting.model_dump()), "start_time": _clock(now_start)}
        else:
            typed = format_moment(starts.astimezone(VIETNAM_TZ)) if starts else _("(left empty)")
            told = _(NOW_STORED, field=forms.label("start_date"), stored=stored_at, sent=typed)
            errors["start_date"] = f"{told} {_(KEPT_TYPED)}"
            kept["start_date"] = forms.label("start_date")
    place, shown_place = str(form.get("location") or "").strip(), str(form.get("was.location") or "")
    if place and place != (meeting.location or ""):
        if place == shown_place:
            values["location"] = meeting.location or ""
        else:
            told = _(NOW_STORED, field=forms.label("location"), stored=meeting.location or "", sent=place)
            errors["location"] = f"{told} {_(KEPT_TYPED)}"
            kept["location"] = forms.label("location")
    raise ChangedSinceShown(errors, values=values, kept=kept)


CHANGED_PARTS = {
    "attendance": N_(
        "The attendance was recorded again after you opened this page. Nothing has been saved yet: the form below keeps"
        " what you typed, and each row someone else saved otherwise is named with both contents; rows you had not"
        " changed now show what someone else saved. Choose what to keep, then send the form again."
    ),
    "minutes": N_(
        "The minutes were changed after you opened this page. Nothing has been saved yet: the form below keeps what"
        " you typed, and each field someone else saved otherwise is named with both contents; fields you had not"
        " changed now show what someone else saved. Choose what to keep, then send the form again."
    ),
}
"""Why a roster or minutes form sent from a page showing what has since been recorded again is refused: the form
is shown again merged (merged_minutes, merged_roster), losing nothing typed."""


def shown_digest(meeting: Any, part: str) -> str:
    """A fingerprint (16 hex digits of SHA-256 over its JSON) of a stored part of a meeting (a MeetingReply's
    `attendance` or `minutes`): what a form's page showed, sent back with it as `was.PART`."""
    stored = meeting.model_dump(mode="json").get(part)
    return hashlib.sha256(json.dumps(stored, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def changed_part(form: Any, meeting: Any, part: str, names: dict[str, str] | None = None) -> None:
    """Raise ChangedSinceShown (CHANGED_PARTS[part]) when the form's `was.PART` is not the meeting's stored `part` as
    shown_digest gives it, unless the form says what is stored (resent_part: a double click's second sending); a form
    without it (sent by other means than the page) is not compared. The refusal carries the form to show again
    (merged_minutes, merged_roster: what was typed kept, each field changed on both sides named with both values,
    `names` member id to full name saying people)."""
    shown = form.get(f"was.{part}")
    if shown is not None and shown != shown_digest(meeting, part) and not resent_part(form, meeting, part):
        said: dict[str, Any] = {"data.meeting_id": StateRefusal(_(CHANGED_PARTS[part]))}
        if part == "minutes":
            values, differences, kept = merged_minutes(form, meeting, names or {})
        else:
            values, differences, kept = merged_roster(form, meeting, names or {})
        raise ChangedSinceShown(said | differences, values=values, kept=kept)


MINUTES_COMPARED = (
    "day",
    "started",
    "ended",
    "chair_id",
    "recorder_id",
    "speakers",
    "self_criticism_minutes",
    "content",
    "conclusions",
    "resolutions",
    "tasks",
)
"""The minutes form's parts compared one by one when a stale minutes form is refused (each sent back as
`was.minutes.NAME`, shown_minutes_inputs): a part only someone else changed is taken, one only this page changed
kept, one changed on both sides kept and named (NOW_STORED)."""
NOW_STORED = N_("%(field)s: now stored as “%(stored)s”; you sent “%(sent)s”.")
"""One input of a stale form changed elsewhere since its page showed it, whose sent value differs from the stored
one: both said beside the field, so the secretary chooses between them and loses none of what was typed."""
KEPT_TYPED = N_(
    "The form keeps what you typed: to keep the stored content instead, choose “Use the stored content” beside the"
    " field."
)
"""Said after NOW_STORED of a field changed both on the page and elsewhere: which of the two the form now holds, and
the button beside the field that takes the stored one (TAKE_STORED; a trial's secretary had to type it again)."""
TAKEN_THEIRS = N_("You had not changed this field: it now shows what someone else saved.")
"""Said after NOW_STORED of a field only someone else changed: the form now holds the stored value."""


def minutes_inputs(values: dict[str, Any]) -> dict[str, str]:
    """Each part of MINUTES_COMPARED of a minutes form's values (minutes_values or minutes_sent: same shape) as one
    text, the same for a part stored and the same part sent back untouched (numbers as typed, "" for none)."""

    def text(value: Any) -> str:
        return "" if value is None else str(value)

    said = {key: text(values.get(key)) for key in MINUTES_COMPARED}
    said["speakers"] = " ".join(str(person) for person in values.get("speakers") or [])
    resolutions = [
        {"text": text(row.get("text")), **{key: text(row.get(key)) for key in VOTE_KEYS}}
        for row in values.get("resolutions") or []
    ]
    tasks = [
        {key: text(task.get(key)) for key in ("task_id", "description", "assignee_id", "due_on")}
        for task in values.get("tasks") or []
    ]
    said["resolutions"] = json.dumps(resolutions, sort_keys=True, ensure_ascii=False)
    said["tasks"] = json.dumps(tasks, sort_keys=True, ensure_ascii=False)
    return said


def stored_minutes_values(meeting: Any) -> dict[str, Any]:
    """The meeting's (a MeetingReply) stored minutes as the form's values (minutes_values, nobody chosen as chair
    before any), the day the one the minutes say rather than the one the form offers."""
    stored = minutes_values(meeting.model_dump(mode="json"), chair=None)
    stored["day"] = stored["redated_from"] or stored["day"]
    return stored


def stored_minutes_inputs(meeting: Any) -> dict[str, str]:
    """The parts of MINUTES_COMPARED the meeting's (a MeetingReply) stored minutes give, each as one text
    (minutes_inputs of stored_minutes_values)."""
    return minutes_inputs(stored_minutes_values(meeting))


def input_digest(value: str) -> str:
    """A fingerprint (16 hex digits of SHA-256) of one input's value as a page showed it."""
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def shown_minutes_inputs(meeting: Any) -> dict[str, str]:
    """What the minutes form's page shows of each part of MINUTES_COMPARED (stored_minutes_inputs), part name to
    its input_digest: sent back as `was.minutes.NAME`, so a refusal tells this page's changes from others'."""
    return {key: input_digest(value) for key, value in stored_minutes_inputs(meeting).items()}


def shown_as(key: str, values: dict[str, Any], names: dict[str, str]) -> str:
    """A part of the minutes form's values (minutes_values' shape) as a person reads it in a refusal: people by
    name, resolutions with their votes, tasks with assignee and due day, "; " between rows."""
    if key in ("chair_id", "recorder_id"):
        person = values.get(key)
        return names.get(str(person), str(person)) if person else ""
    if key == "speakers":
        return ", ".join(names.get(str(person), str(person)) for person in values.get("speakers") or [])
    if key == "resolutions":
        votes = tuple(zip(VOTE_KEYS, (_("In favour"), _("Against"), _("Abstaining")), strict=True))
        rows = []
        for row in values.get("resolutions") or []:
            counted = ", ".join(f"{name} {row.get(k)}" for k, name in votes if row.get(k) not in (None, ""))
            rows.append(f"{row.get('text') or ''}" + (f" ({counted})" if counted else ""))
        return "; ".join(rows)
    if key == "tasks":
        rows = []
        for task in values.get("tasks") or []:
            who = names.get(str(task.get("assignee_id")), str(task.get("assignee_id") or ""))
            extra = ", ".join(part for part in (who, str(task.get("due_on") or "")) if part)
            rows.append(f"{task.get('description') or ''}" + (f" ({extra})" if extra else ""))
        return "; ".join(rows)
    return minutes_inputs(values)[key]


def stale_choice(stored: str, sent: str, shown: Any) -> bool | None:
    """How one part of a refused stale form is shown again (merged_minutes, merged_roster), from its `stored` and
    `sent` texts and the page's `was.*` digest of it (`shown`, None from a page without one): None when there is
    nothing to choose (stored as sent, or as the page showed it: this page's own change, kept), True when only someone
    else changed it (the stored value taken), False when both did (the typed value kept)."""
    if stored == sent or (shown is not None and str(shown) == input_digest(stored)):
        return None
    return shown is not None and str(shown) == input_digest(sent)


def merged_minutes(
    form: Any, meeting: Any, names: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """A refused stale minutes form shown again (minutes_values' shape) and what it names: each part of
    MINUTES_COMPARED stored otherwise than the page showed it (its `was.minutes.NAME`) is taken as stored when the
    page sent it as shown (someone else's change only), else kept as typed; each part stored otherwise than sent is
    named NOW_STORED with both values (TAKEN_THEIRS or KEPT_TYPED after it). A trial's refusal showed the stored
    minutes and lost the conclusions typed. A form without `was.minutes.NAME` (a page from before it carried them)
    keeps every part typed. Third: the parts kept as typed though stored otherwise (name to label: TAKE_STORED)."""
    stored_values, sent_values_ = stored_minutes_values(meeting), minutes_sent(form)
    stored, sent = minutes_inputs(stored_values), minutes_inputs(sent_values_)
    merged = dict(sent_values_)
    merged["others"] = list(dict.fromkeys([*sent_values_["others"], *stored_values["others"]]))
    empty = _("(left empty)")
    differences, kept = {}, {}
    for key in MINUTES_COMPARED:
        untouched = stale_choice(stored[key], sent[key], form.get(f"was.minutes.{key}"))
        if untouched is None:
            continue
        if untouched:
            merged[key] = stored_values[key]
        else:
            kept[key] = forms.label(key)
        said = _(
            NOW_STORED,
            field=forms.label(key),
            stored=shown_as(key, stored_values, names) or empty,
            sent=shown_as(key, sent_values_, names) or empty,
        )
        differences[key] = f"{said} {_(TAKEN_THEIRS if untouched else KEPT_TYPED)}"
    return merged, differences, kept


def roster_row_text(row: dict[str, Any] | None) -> str:
    """One roster row (`status`, `reason`) as one text, "" for a member the roster has no row for."""
    return f"{(row or {}).get('status') or ''}\n{(row or {}).get('reason') or ''}" if row else ""


def stored_roster_rows(meeting: Any) -> dict[str, dict[str, str]]:
    """The meeting's (a MeetingReply) stored roster: member id to its row (`status`, `reason`, "" for none)."""
    records = meeting.attendance.records if meeting.attendance else []
    return {
        str(item["member_id"]): {"status": str(item["status"]), "reason": str(item.get("reason") or "")}
        for item in records
    }


def shown_roster_rows(meeting: Any) -> dict[str, str]:
    """What the roster form's page shows of each stored row (member id to roster_row_text's input_digest), sent back
    as `was.attendance.MEMBER`, so a refused stale roster tells this page's changes from others'."""
    return {member: input_digest(roster_row_text(row)) for member, row in stored_roster_rows(meeting).items()}


def merged_roster(
    form: Any, meeting: Any, names: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """A refused stale roster form's rows shown again (member id to `status`, `reason`) and what it names, as
    merged_minutes does per member: a row stored otherwise than the page showed it (`was.attendance.MEMBER`, "" for
    none) is taken as stored when sent as shown, else kept as typed; each row stored otherwise than sent is named
    under `status-MEMBER` with both (NOW_STORED, then TAKEN_THEIRS or KEPT_TYPED); `names` member id to name. Third:
    the rows kept as typed though stored otherwise (`status-MEMBER` to ROW_LABEL: TAKE_STORED)."""
    stored, sent = stored_roster_rows(meeting), roster_sent(form)
    merged: dict[str, Any] = dict(sent)
    empty = _("(left empty)")

    def said(row: dict[str, Any] | None) -> str:
        if not row or not row.get("status"):
            return empty
        status = label("attendance", str(row["status"]))
        return f"{status} ({row['reason']})" if row.get("reason") else status

    differences, kept = {}, {}
    for member, typed in sent.items():
        now = stored.get(member)
        if roster_row_text(now) == "" and not typed.get("status"):
            continue  # no row stored, none chosen
        untouched = stale_choice(roster_row_text(now), roster_row_text(typed), form.get(f"was.attendance.{member}"))
        if untouched is None:
            continue
        if untouched and now is not None:
            merged[member] = now
        elif not untouched:
            kept[f"status-{member}"] = _(ROW_LABEL, name=plain_name(names.get(member, member)))
        told = _(NOW_STORED, field=names.get(member, member), stored=said(now), sent=said(typed))
        differences[f"status-{member}"] = f"{told} {_(TAKEN_THEIRS if untouched else KEPT_TYPED)}"
    return merged, differences, kept


ROW_LABEL = N_("Attendance of %(name)s")
"""What a roster row kept as typed is called beside its TAKE_STORED button (the row's status select says the same)."""
TAKE_STORED = "take_stored"
"""The name of the button beside an input of a refused stale form kept as typed (ChangedSinceShown.kept), its value
the input's name: the form is shown again with the stored value there (stored_taken), nothing saved. The form carries
the inputs still kept as typed as `kept` (hidden), so each keeps its note and button."""
TOOK_STORED = N_(
    "“%(field)s” now shows the content stored. Nothing has been saved yet: check the form, then send it again."
)
"""Said on the form shown again by TAKE_STORED: which input now holds the stored value, and that nothing was saved."""


def with_shown(form: Any, shown: dict[str, str]) -> FormData:
    """The posted form with the hidden `was.*` inputs named in `shown` set to the values given (the others as sent)."""
    items = [(name, value) for name, value in form.multi_items() if name not in shown]
    return FormData([*items, *shown.items()])


def stored_taken(section: str, form: Any, meeting: Any, names: dict[str, str], key: str) -> ChangedSinceShown:
    """The form of `section` (attendance, minutes, reschedule, tasks) shown again after its TAKE_STORED button for
    input `key`: that input (for a roster row `status-MEMBER` its status and reason, for `start_date` the date and
    time) holds the meeting's (a MeetingReply) stored value, every other one what was typed; each input the form's
    `kept` names, still stored otherwise than typed, named again (NOW_STORED, KEPT_TYPED) with its button (`kept`).
    As merged_minutes, merged_roster and changed_since_shown give them, told which inputs both pages changed: its
    `was.*` empty (shown as nothing stored: kept as typed) for `kept`, the typed value for `key` (only someone else
    changed it: taken), as sent for the others (a third page's save since still merged in). `names` member id to full
    name. Nothing is sent."""
    conflicts = [str(name) for name in form.getlist("kept") if str(name) != key]
    if section == "minutes":
        typed = minutes_inputs(minutes_sent(form))
        shown = {f"was.minutes.{name}": "" for name in conflicts if name in MINUTES_COMPARED}
        if key in MINUTES_COMPARED:
            shown[f"was.minutes.{key}"] = input_digest(typed[key])
        values, differences, kept = merged_minutes(with_shown(form, shown), meeting, names)
    elif section == "attendance":
        rows = roster_sent(form)
        shown = {f"was.attendance.{n.removeprefix('status-')}": "" for n in conflicts if n.startswith("status-")}
        member = key.removeprefix("status-")
        if member in rows:
            shown[f"was.attendance.{member}"] = input_digest(roster_row_text(rows[member]))
        values, differences, kept = merged_roster(with_shown(form, shown), meeting, names)
        if member in values and meeting.attendance is not None and member not in stored_roster_rows(meeting):
            values[member] = {"status": "", "reason": ""}  # nothing stored for the row: nothing chosen
    elif section == "reschedule":
        starts = forms.meeting_start(form, {}, allow_past=True, moving=True)
        shown = {f"was.{name}": "" for name in ("starts_at", "location") if name in conflicts}
        if key == "start_date" and starts is not None:
            shown["was.starts_at"] = starts.isoformat()
        if key == "location":
            shown["was.location"] = forms.text(form, "location")
        try:
            changed_since_shown(with_shown(form, shown), meeting, starts)
            values, differences, kept = sent_values(form), {}, {}
        except ChangedSinceShown as exc:
            values, differences, kept = exc.values, dict(exc.errors), exc.kept
        differences.pop("data.meeting_id", None)
    else:
        task_id = str(form.get("task_id") or "")
        tasks: list[dict[str, Any]] = meeting.model_dump().get("tasks") or []
        task = next((t for t in tasks if str(t.get("task_id")) == task_id), {})
        stored = task.get("completed_on")
        values, differences, kept = sent_values(form) | {"completed_on": str(stored or "")}, {}, {}
    member = key.removeprefix("status-")
    field = _(ROW_LABEL, name=plain_name(names.get(member, member))) if section == "attendance" else forms.label(key)
    differences = {name: said for name, said in differences.items() if name != key}
    kept = {name: said for name, said in kept.items() if name != key}
    return ChangedSinceShown(differences, values=values, kept=kept, took=_(TOOK_STORED, field=field))


MINUTES_TEXTS = ("content", "conclusions", "chair_id", "recorder_id")
"""The minutes' inputs whose values sent as stored mark a form resent after its own first sending was stored."""


def resent_part(form: Any, meeting: Any, part: str) -> bool:
    """Whether the form sends what the meeting's `part` already stores: every row of the roster as recorded, or the
    minutes' texts, chair and recorder as stored (MINUTES_TEXTS): its own first sending, not another page's."""
    if part == "attendance":
        records = meeting.attendance.records if meeting.attendance else []
        stored = {
            str(item["member_id"]): {"status": str(item["status"]), "reason": str(item.get("reason") or "")}
            for item in records
        }
        return bool(stored) and roster_sent(form) == stored
    kept = meeting.minutes or {}
    sent = minutes_sent(form)
    return bool(kept) and all(str(kept.get(key) or "") == str(sent.get(key) or "") for key in MINUTES_TEXTS)


@router.post("/meetings/{meeting_id}/reschedule")
@forms.posts(RESCHEDULE_FORM)
async def reschedule(meeting_id: str, request: Request, viewer: FormViewer, state: State) -> Response:
    """Move the meeting."""
    form = await forms.form_of(request, RESCHEDULE_FORM)

    async def action() -> str | None:
        errors: dict[str, str] = {}
        meeting = await recordable_meeting(viewer, state, meeting_id)
        # a meeting already past may be put where it really took place (meetings' check_reschedule says the same)
        at = datetime.now(VIETNAM_TZ)
        past = meeting.starts_at is not None and meeting.starts_at <= at
        starts = forms.meeting_start(form, errors, allow_past=past, moving=True)
        place = forms.text(form, "location") or meeting.location
        if not (starts is not None and starts == meeting.starts_at and place == meeting.location):
            # before any other refusal, the page's values no longer the meeting's (a double click's second sending,
            # asking what its first made of it, is no stale page)
            changed_since_shown(form, meeting, starts)
        # the date, time and place the page showed, sent back as they were: nothing to move, so nothing is sent once
        # the form is otherwise well formed (a trial's such move said "Đã ghi nhận" while nothing changed)
        unchanged = starts is not None and starts == meeting.starts_at and place == meeting.location
        unchanged = unchanged and shows_meeting(form, meeting)
        took = meeting_took_place(meeting) or held_correctable(meeting)
        held_before = corrects_held(meeting)
        if held_before:
            forms.FORM.set(CORRECTION_FORM)  # its confirmations, named in the warnings, say "Vẫn sửa"
        if starts is not None and held_before and not moved_into_the_past(starts, at):
            # one that took place, or was recorded as already held, is only corrected to a start already past
            # (meetings' check_not_taken_place): a trial's meeting recorded as held was moved ahead and members mailed
            why = forms.TOOK_PLACE_MOVED_AHEAD if took else forms.HELD_RECORDED_MOVED_AHEAD
            errors["start_date"] = on_field(forms.label("start_date"), _(why))
        # judged with the form's other mistakes, as the schedule form's warning of another regular meeting is
        errors |= await month_left_empty_warning(
            state, meeting, starts, confirmed=form.get("confirm_month_left_empty") == "on", held=held_before
        )
        if starts is not None and meeting.starts_at is not None and month_of(starts) != month_of(meeting.starts_at):
            # moved into another month: that month may already have its regular meeting, warned of as on the schedule
            # form (both warnings at once when it also leaves its own month without one)
            errors |= await another_regular_warning(
                state,
                meeting.cell_id,
                meeting.kind if meeting.status != "cancelled" else None,
                starts,
                other_than=meeting.meeting_id,
                confirmed=form.get("confirm_another_regular") == "on",
                held=held_before,  # a correction of when it took place: worded for a record
            )
        said = {"location": forms.text(form, "location") or None, "reason": forms.text(form, "reason") or None}
        given = {key: value for key, value in said.items() if value is not None}  # left empty: kept, not null
        forms.refused_with(errors, MeetingRescheduleCreate, given)  # the place and reason said with the time
        assert starts is not None
        body = {"starts_at": starts.isoformat(), **said}
        model = forms.build(MeetingRescheduleCreate, {k: v for k, v in body.items() if v is not None})
        if unchanged:
            if forms.UNSTORABLE.get():
                forms.refuse_unstorable()  # as forms.send refuses a form with an input no text is stored with
            return "unchanged"
        await forms.send(commands.reschedule_meeting(meeting_id, model, request, viewer.principal, state))
        # its saved minutes now dated another day than it: their adoption waits until they are saved again (said
        # with the success, as the page's form warned before it was sent)
        if minutes_left_on_another_day(meeting, starts):
            return "rescheduled_off_minutes"
        return None

    return await _submit(request, viewer, state, meeting_id, "reschedule", action, "rescheduled")


MONTH_LEFT_EMPTY = N_(
    "The %(kind)s at %(when)s is the cell's only regular (or combined) meeting of %(month)s that is not cancelled: "
    "moved to %(to)s, it leaves %(month)s without a regular meeting. Per the rules, a month without a held regular "
    "(or combined) meeting is rated Poor with a score of 0, and that 0 counts in its quarter's and year's results. "
    "If the cell does mean to move the meeting out of %(month)s, tick “%(confirm)s” and send the form again."
)
"""The reschedule form's warning of a move out of its month of the month's only regular (or combined) meeting
(DOMAIN.md, Periods: no such meeting makes the month Poor, a month without a meeting counting 0)."""
MONTH_LEFT_EMPTY_HELD = N_(
    "The %(kind)s held at %(when)s is the cell's only regular (or combined) meeting of %(month)s that is not "
    "cancelled: corrected to %(to)s, it leaves %(month)s without a regular meeting. Per the rules, a month without a "
    "held regular (or combined) meeting is rated Poor with a score of 0, and that 0 counts in its quarter's and year's "
    "results. If the meeting really took place at %(to)s, tick “%(confirm)s” and send the form again."
)
"""MONTH_LEFT_EMPTY for a meeting already held whose start is corrected to when it took place: a record of a past fact
put right, not a move (a trial read "Vẫn chuyển" on a correction), the month's cost the same (DOMAIN.md, Periods)."""


def corrects_held(meeting: Any) -> bool:
    """Whether the reschedule form of `meeting` (a reply or its dict) corrects when a meeting already held took place
    rather than moving it: it took place (meeting_took_place), was recorded as held (recorded_held), or is held with
    its minutes not adopted (held_correctable); meetings' check_not_taken_place takes it only into the past."""
    return meeting_took_place(meeting) or held_correctable(meeting) or recorded_held(meeting)


async def month_left_empty_warning(
    state: State, meeting: Any, starts: datetime | None, *, confirmed: bool, held: bool = False
) -> dict[str, str]:
    """{`confirm_month_left_empty`: the warning} when the reschedule form moves `meeting` (a MeetingReply), a regular
    or combined meeting not cancelled, to `starts` in another month than its own, the cell has no other regular or
    combined meeting, held or scheduled (not cancelled), in its month, and the secretary has not ticked the
    confirmation: DOMAIN.md (Periods) rates a month without a held regular meeting Poor, 0, and a trial's only December
    meeting was moved to January unsaid; {} otherwise, or without a start to judge (MONTH_LEFT_EMPTY). `held`: a
    meeting already held whose start is corrected (corrects_held), worded as a correction (MONTH_LEFT_EMPTY_HELD)."""
    was = meeting.starts_at
    if confirmed or starts is None or was is None or meeting.kind not in REGULAR_KINDS:
        return {}
    if meeting.status == "cancelled" or month_of(starts) == month_of(was):
        return {}
    month = month_of(was)
    if await month_regular_meetings(state, meeting.cell_id, month, other_than=meeting.meeting_id):
        return {}
    said = _(
        MONTH_LEFT_EMPTY_HELD if held else MONTH_LEFT_EMPTY,
        kind=lower_first(label("kind", meeting.kind)),
        when=format_moment(was.astimezone(VIETNAM_TZ)),
        month=format_period(month, within=True),
        to=format_moment(starts.astimezone(VIETNAM_TZ)),
        confirm=forms.label("confirm_month_left_empty"),
    )
    return {"confirm_month_left_empty": said}


@router.post("/meetings/{meeting_id}/cancel")
@forms.posts(CANCEL_FORM)
async def cancel(meeting_id: str, request: Request, viewer: FormViewer, state: State) -> Response:
    """Cancel the meeting, with the reason."""
    form = await forms.form_of(request, CANCEL_FORM)

    async def action() -> None:
        # the reason named as CANCEL_FORM labels it (Lý do hủy), not as the reschedule form does (Lý do)
        # `cancel_reason` on the record page's one form (beside the reschedule part's `reason`), `reason` as before
        reason = forms.text(form, "cancel_reason" if "cancel_reason" in form else "reason")
        model = forms.build(MeetingCancelCreate, {"reason": reason})
        await forms.send(commands.cancel_meeting(meeting_id, model, request, viewer.principal, state))

    return await _submit(request, viewer, state, meeting_id, "cancel", action, "cancelled")


@router.post("/meetings/{meeting_id}/documents")
@forms.posts(DOCUMENTS_FORM)
async def documents(meeting_id: str, request: Request, viewer: FormViewer, state: State) -> Response:
    """Publish a document to the members."""
    form = await forms.form_of(request, DOCUMENTS_FORM)

    async def action() -> None:
        item = {"title": forms.text(form, "title"), "kind": forms.text(form, "kind")}
        if forms.text(form, "url"):
            item["url"] = forms.text(form, "url")
        body = {"items": [item]}
        names = forms.single_rows(body)  # the form's one document: a refusal names no row
        model = forms.build(DocumentsCreate, body, names=names)
        await forms.send(commands.publish_documents(meeting_id, model, request, viewer.principal, state), names=names)

    return await _submit(request, viewer, state, meeting_id, "documents", action, "documents")


ROSTER_CANCELLED = N_("The meeting has been cancelled, so no attendance is recorded for it.")
"""Why the roster form of a cancelled meeting records nothing (meetings' MEETING_CANCELLED, said before sending)."""


@router.post("/meetings/{meeting_id}/attendance")
@forms.posts(ATTENDANCE_FORM)
async def attendance(meeting_id: str, request: Request, viewer: FormViewer, state: State) -> Response:
    """Record the roster: present, excused with a reason, absent, exempt. Every member's status is required (the
    form preselects none but what was recorded or reported): each member sent without one is named, with every other
    mistake of the form, on the first sending."""
    form = await forms.form_of(request, ATTENDANCE_FORM)

    async def action() -> None:
        records: list[dict[str, str]] = []
        meeting = await recordable_meeting(viewer, state, meeting_id)
        # a cancelled meeting is said as such, never "not begun yet" (a trial's meeting cancelled before its day)
        cancelled = getattr(meeting, "status", None) == "cancelled"
        # the labels name members as the cell's roster does, never as the post says (a client could write anything)
        members = await data.members_by_id(state, viewer.principal, meeting.cell_id, at=meeting.starts_at)
        if not cancelled:
            # a roster recorded again since this page showed another
            named = {key: str(member.get("full_name") or key) for key, member in members.items()}
            changed_part(form, meeting, "attendance", named)
        errors: dict[str, str] = (
            {"data.meeting_id": StateRefusal(_(ROSTER_CANCELLED))} if cancelled else not_begun_at(meeting)
        )
        forms.with_row_names(
            form,
            {member_id: str(member["full_name"]) for member_id, member in members.items() if member.get("full_name")},
        )
        names: dict[str, str] = {}
        unchosen = False
        for member_id in form.getlist("member"):
            status = forms.text(form, f"status-{member_id}")
            reason = forms.text(form, f"reason-{member_id}")
            name = isolated_name(str(members.get(member_id, {}).get("full_name") or member_id))
            if not status:
                # never taken as present: a roster nobody checked would read everyone there
                errors[f"status-{member_id}"] = _(
                    "Attendance of %(name)s: no status chosen; please choose one.", name=name
                )
                unchosen = True
                continue
            row = len(records)
            # a refusal of this row names the member, not the roster as a whole
            for key in ("status", "member_id"):
                names[f"records.{row}.{key}"] = _("Attendance of %(name)s", name=name)
            names[f"records.{row}.reason"] = _("Reason for the absence of %(name)s", name=name)
            if status == "excused" and not reason:
                errors[f"reason-{member_id}"] = _(
                    "Reason for the absence of %(name)s: please fill in this field.", name=name
                )
            elif status in REASON_REFUSED and reason:
                # meetings refuses it (REASON_FOR_PRESENT, REASON_FOR_UNEXCUSED) only once every other line is right:
                # said with the rest
                errors[f"reason-{member_id}"] = on_field(
                    names[f"records.{row}.reason"],
                    _(BY_CODE[REASON_REFUSED[status]]),
                    said=N_("%(field)s: %(why)s"),
                )
            records.append({"member_id": member_id, "status": status, **({"reason": reason} if reason else {})})
        if not records and not unchosen:
            errors["records"] = forms.required("records")
        if meeting.approved_at is not None:
            # the page shows no form then; a tab opened before
            errors["data.meeting_id"] = StateRefusal(_(ROSTER_ADOPTED_SAID))
        elif meeting.minutes:
            errors |= minutes_problems(records, meeting.minutes, names=names_of(members))
        with forms.reported_with(errors):
            # without a row to build, the errors above are the whole answer (reported_with raises them)
            model = forms.build(AttendanceCreate, {"records": records}, names=names) if records else None
        assert model is not None
        await forms.send(
            commands.record_attendance(meeting_id, model, request, viewer.principal, state),
            names=names,
            wording={
                RefusalCode.MINUTES_ADOPTED: ROSTER_ADOPTED_SAID,
                # the minutes changed since this form judged the roster against them: said from the roster's side
                RefusalCode.ABSENT_AT_MEETING: ROSTER_ABSENT_SAID,
                RefusalCode.VOTES_OVER_PRESENT: ROSTER_VOTES_SAID,
            },
        )

    return await _submit(request, viewer, state, meeting_id, "attendance", action, "attendance")


ROSTER_ADOPTED_SAID = N_(
    "The cell has already adopted the minutes of this meeting: the roster is part of the official record and can no "
    "longer be changed."
)
"""The roster form of a meeting whose minutes are adopted (meetings' check_adopted_roster_unchanged,
MINUTES_ADOPTED)."""
ROSTER_ABSENT_SAID = N_(
    "The recorded minutes name this member as chair, recorder or speaker, so they must be marked present; if they "
    "were away, correct the minutes first."
)
ROSTER_VOTES_SAID = N_(
    "A resolution of the recorded minutes has more votes than the members this roster marks present."
)
"""The roster form refused by meetings for a contradiction with minutes recorded after the form judged it
(domain.check_roster_against_minutes)."""
MINUTES_ROLES = {"chair_id": N_("chair"), "recorder_id": N_("recorder"), "speakers": N_("a speaker")}


def names_of(members: Mapping[str, Any]) -> dict[str, str]:
    """Member id to full name (the id when the cell's list has none)."""
    return {member_id: str(member.get("full_name") or member_id) for member_id, member in members.items()}


def minutes_problems(
    records: list[dict[str, str]], minutes: Mapping[str, Any], *, names: Mapping[str, str]
) -> dict[str, str]:
    """The roster form's mistakes against the meeting's recorded minutes, all at once (meetings refuses them one at a
    time: domain.check_roster_against_minutes): each member the minutes name as chair, recorder or speaker whom the
    roster marks other than present (`status-<id>`, by name and role), and each resolution whose votes are more than
    the members the roster marks present (`records`). A member the minutes name who is not on the roster is not
    judged, as meetings does not."""
    errors: dict[str, str] = {}
    status_of = {record["member_id"]: record["status"] for record in records}
    roles = [("chair_id", minutes.get("chair_id")), ("recorder_id", minutes.get("recorder_id"))]
    roles += [("speakers", speaker) for speaker in minutes.get("speakers") or []]
    for role, member_id in roles:
        status = status_of.get(member_id) if member_id else None
        if member_id is None or status is None or status == "present":
            continue
        name = isolated_name(names.get(member_id) or str(member_id))
        errors.setdefault(
            f"status-{member_id}",
            _(
                "Attendance of %(name)s: the recorded minutes name comrade %(name)s as %(role)s, so they must be "
                "marked present; if they were away, correct the minutes first.",
                name=name,
                role=_(MINUTES_ROLES[role]),
            ),
        )
    present = sum(1 for status in status_of.values() if status == "present")
    for row, resolution in enumerate(minutes.get("resolutions") or [], start=1):
        cast = sum(int(resolution.get(key) or 0) for key in VOTE_KEYS)
        if cast > present:
            errors.setdefault(
                f"records-resolution-{row}",
                _(
                    "Attendance: resolution %(row)s of the recorded minutes has %(cast)s votes, more than the "
                    "%(present)s members this roster marks present.",
                    row=row,
                    cast=cast,
                    present=present,
                ),
            )
    return errors


VOTE_KEYS = ("votes_for", "votes_against", "abstentions")
MOST_ROWS = 200
"""The most resolution or task rows a minutes form is read for (the API takes at most 100 resolutions, 200 tasks)."""
ROW_FIELD = re.compile(r"^(?:resolution|task)-([0-9]{1,4})$")


def form_rows(form: Any) -> int:
    """How many resolution and task rows the minutes form has: the page shows at least ROWS, and more when the stored
    minutes have more."""
    found = [int(match.group(1)) for key in form if (match := ROW_FIELD.match(key))]
    return min(max([ROWS, *found]), MOST_ROWS)


def speakers_in_order(form: Any) -> list[str]:
    """The speakers ticked, in the stored minutes' order (`speaker_order`, the form's hidden field) and then in the
    form's: minutes sent back unchanged keep their list as it was."""
    order = {member: index for index, member in enumerate(forms.text(form, "speaker_order").split())}
    ticked = list(dict.fromkeys(str(member) for member in form.getlist("speakers")))
    return sorted(ticked, key=lambda member: order.get(member, len(order)))


def _minutes_body(
    form: Any,
    meeting_id: str,
    *,
    roster: Mapping[str, str] | None = None,
    names: Mapping[str, str] | None = None,
    scheduled: datetime | None = None,
    now: datetime | None = None,
    took_place: bool = False,
    stored: datetime | None = None,
) -> dict[str, Any]:
    """The API body of the minutes form; FormErrors with every mistake of the form at once: its own fields, a task due
    before the meeting's day, a resolution nobody voted on (0/0/0), more minutes of self-criticism than the meeting
    lasted (both figures), an end still ahead of `now` (minutes_end_problem), a start still ahead of `now` or on
    another day than the meeting's `scheduled` start (minutes_day_problem, naming the control that moves it:
    `took_place`, or the day to take for minutes `stored` (their start) on another day than the meeting's; either
    None: not judged here) and, with the meeting's `roster` (member id to status, None while none is recorded;
    `names`: member id to full name), a chair, recorder or speaker not present (named) and a resolution's votes above
    the members present: the rules meetings refuses one at a time (check_minutes_people_present,
    check_votes_within_roster, _check_tasks_due, _check_resolutions_voted, _check_minutes_moments,
    check_person_minutes_moments)."""
    errors: dict[str, str] = {}
    started = forms.moment(form, "day", "started", errors, field="started_at")
    ended = forms.moment(form, "day", "ended", errors, field="ended_at")
    if started and ended:
        ended = forms.minutes_end(started, ended)  # past midnight: the form's one date is the day the meeting started
        if ended <= started:
            errors["ended_at"] = forms.end_before_start(forms.label("ended_at"))
    if started is not None:
        errors |= minutes_day_problem(started, scheduled=scheduled, now=now, took_place=took_place, stored=stored)
    if started and ended and now is not None and "ended_at" not in errors and not begins_later(started, now):
        errors |= minutes_end_problem(ended, now=now)
    for key in ("chair_id", "recorder_id"):  # an empty choice first: nobody is recorded unless chosen
        if not forms.text(form, key):
            errors[key] = forms.not_a_choice(key, "")  # said as every field left empty (forms.required)
    rows = range(1, form_rows(form) + 1)
    resolutions = []
    for row in rows:
        text = forms.text(form, f"resolution-{row}")
        if not text:
            if any(forms.text(form, f"{key}-{row}") for key in VOTE_KEYS):  # votes typed for no resolution
                errors[f"resolution-{row}"] = _(
                    "Resolution %(row)s: please enter its text (or leave the whole row empty).", row=row
                )
            continue
        votes = {key: forms.whole_number(form, f"{key}-{row}", errors) for key in VOTE_KEYS}
        if votes["votes_for"] is None and f"votes_for-{row}" not in errors:
            # a resolution is voted (DOMAIN.md "Meetings"): its votes for are asked for, as the adoption's are (a
            # trial's resolution with empty boxes was stored 0/0/0); votes against and abstentions left out are none
            errors[f"votes_for-{row}"] = forms.required(f"votes_for-{row}")
        elif not any(f"{key}-{row}" in errors for key in VOTE_KEYS) and not any(votes.values()):
            # 0/0/0 typed: nobody voted, as meetings refuses it (_check_resolutions_voted), said with the rest
            why = _(BY_CODE[RefusalCode.RESOLUTION_NOT_VOTED])
            errors[f"votes_for-{row}"] = on_field(forms.label(f"votes_for-{row}"), why)
        resolutions.append({"text": text, **{key: value or 0 for key, value in votes.items()}})
    tasks = []
    for row in rows:
        description = forms.text(form, f"task-{row}")
        if not description:
            # a due date typed for no task (an assignee alone is no sign: a page loaded before the lists started
            # with an empty choice sends its first member for every row; tests/web/test_trial_h179.py)
            if forms.text(form, f"due-{row}"):
                errors[f"task-{row}"] = _(
                    "Task %(row)s: please enter what is to be done (or leave the whole row empty).", row=row
                )
            continue
        due = forms.day(form, f"due-{row}", errors, field=f"tasks.{row - 1}.due_on")
        if not forms.text(form, f"due-{row}"):  # a date given but not a date has its own message already
            errors.setdefault(f"due-{row}", _("Due date of task %(row)s: please fill in this field.", row=row))
        assignee = forms.text(form, f"assignee-{row}")
        if not assignee:  # none chosen: empty, as every required field left empty is said (never "not allowed")
            errors.setdefault(f"assignee-{row}", _("Assignee of task %(row)s: please fill in this field.", row=row))
        tasks.append(
            {
                # a stored task keeps its id (and so its completion); a new row gets one of its own
                "task_id": (
                    kept
                    if is_identifier(kept := forms.text(form, f"task_id-{row}"))
                    else forms.derived_id(form, meeting_id, row, prefix="t-")
                ),
                "assignee_id": assignee,
                "description": description,
                "due_on": due.isoformat() if due else None,
            }
        )
    minutes = forms.whole_number(form, "self_criticism_minutes", errors, high=forms.SELF_CRITICISM_MOST)
    if started and ended and minutes is not None and "ended_at" not in errors:
        lasted = self_criticism_over(minutes, started_at=started, ended_at=ended)
        if lasted is not None:  # meetings' SELF_CRITICISM_OVER_MEETING, said with the form's other mistakes
            errors["self_criticism_minutes"] = _(
                "%(field)s: %(spent)s minutes, more than the whole meeting lasted (%(lasted)s minutes).",
                field=forms.label("self_criticism_minutes"),
                spent=format_number(minutes, digits=0),
                lasted=format_number(lasted, digits=0),
            )
    speakers = speakers_in_order(form)
    if started is not None:
        assigned_on = started.astimezone(VIETNAM_TZ).date()
        for row, task in zip((row for row in rows if forms.text(form, f"task-{row}")), tasks, strict=True):
            if task["due_on"] is not None and date.fromisoformat(task["due_on"]) < assigned_on:
                why = _(BY_CODE[RefusalCode.TASK_DUE_BEFORE_MEETING])
                said = on_field(forms.label(f"tasks.{row - 1}.due_on"), why, said=N_("%(field)s: %(why)s"))
                errors.setdefault(f"due-{row}", said)
    if roster is not None:
        errors |= roster_problems(form, resolutions, speakers, roster=roster, names=names or {})
    elif names:  # no roster yet: no more votes than the cell has members (meetings' VOTES_OVER_MEMBERS)
        errors |= votes_problems(form, resolutions, voters=len(names), members=True)
    texts = {key: forms.multiline(form, key) or None for key in ("content", "conclusions")}
    forms.refused_with(errors, MinutesCreate, texts)  # the free text said with the form's other mistakes
    assert started is not None and ended is not None
    body = {
        "started_at": started.isoformat(),
        "ended_at": ended.isoformat(),
        "chair_id": forms.text(form, "chair_id"),
        "recorder_id": forms.text(form, "recorder_id"),
        "speakers": speakers,
        **texts,
        "self_criticism_minutes": minutes,
        "resolutions": resolutions,
        "tasks": tasks,
    }
    return {key: value for key, value in body.items() if value is not None}


def minutes_end_problem(ended: datetime, *, now: datetime) -> dict[str, str]:
    """{"ended": why} for a minutes end (local) still ahead of `now`, CLOCK_SKEW aside, else {}: meetings refuses it
    (check_person_minutes_moments, minutes_in_the_future), and the form said it only once its other mistakes were
    mended; worded as minutes_day_problem says a start ahead."""
    return _not_come_yet("ended", ended, now) if begins_later(ended, now) else {}


def _not_come_yet(key: str, moment: datetime, now: datetime) -> dict[str, str]:
    """{`key`: why} for a minutes moment still ahead of `now`, said on the input `key` with both moments."""
    said = _(
        "%(field)s: %(when)s has not come yet (it is %(now)s now); minutes record a meeting that has already "
        "taken place.",
        field=forms.label(key),
        when=format_moment(moment),
        now=format_moment(now.astimezone(VIETNAM_TZ)),
    )
    return {key: said}


def minutes_day_problem(
    started: datetime,
    *,
    scheduled: datetime | None,
    now: datetime | None,
    took_place: bool = False,
    stored: datetime | None = None,
) -> dict[str, str]:
    """{input: why} for a minutes start (local) the form refuses, else {}: one still ahead of `now`
    (shared.plausible.begins_later, meetings' minutes_in_the_future), said on the day input ("Ngày") when its day is
    after today and on the hour input otherwise; one on another local day than the meeting's `scheduled` start
    (meetings allows shared.plausible.MINUTES_START_WINDOW either way, but DOMAIN.md "Meetings" has a meeting that
    begins at another time moved first, meeting.rescheduled.v1: minutes dated 6 days before their meeting were
    accepted and at once raised a late-minutes escalation), said on the day input, with the meeting's own day and the
    control the record page moves it by: "Sửa thời điểm đã diễn ra" for a meeting that `took_place` (begun, its
    attendance taken: i18n.meeting_took_place; held, its minutes not adopted: i18n.held_correctable; or recorded as
    already held: corrects_held), "Đổi lịch"
    otherwise. Minutes `stored` (their start) on `started`'s day, another than the meeting's, are those of a meeting
    whose time was corrected since: they are told to take the meeting's day (a trial's were told to correct the time
    again, the step just done)."""
    day = started.astimezone(VIETNAM_TZ).date()
    if now is not None and begins_later(started, now):
        return _not_come_yet("day" if day > now.astimezone(VIETNAM_TZ).date() else "started", started, now)
    if scheduled is not None and day != (meeting_on := scheduled.astimezone(VIETNAM_TZ)).date():
        dates = {"field": forms.label("day"), "day": format_short_date(day), "when": format_moment(meeting_on)}
        if stored is not None and stored.astimezone(VIETNAM_TZ).date() == day:
            said = _(
                "%(field)s: the minutes are dated %(day)s, but the meeting took place at %(when)s (its time was "
                "corrected after these minutes were saved). Change the minutes' date to %(meeting_day)s, check "
                "their start and end times, then save them again.",
                meeting_day=format_short_date(meeting_on.date()),
                **dates,
            )
        elif took_place:
            said = _(
                "%(field)s: the minutes are dated %(day)s, but the meeting is scheduled for %(when)s. Minutes are "
                "dated on the meeting's own day; if the cell met on another day, first put that day with “Correct "
                "when it took place”, then record its minutes.",
                **dates,
            )
        else:
            said = _(
                "%(field)s: the minutes are dated %(day)s, but the meeting is scheduled for %(when)s. Minutes are "
                "dated on the meeting's own day; if the cell met on another day, first move the meeting to that day "
                "with “Reschedule”, then record its minutes.",
                **dates,
            )
        return {"day": said}
    return {}


def roster_problems(
    form: Any,
    resolutions: list[dict[str, Any]],
    speakers: list[str],
    *,
    roster: Mapping[str, str],
    names: Mapping[str, str],
) -> dict[str, str]:
    """The minutes form's mistakes against the meeting's roster (member id to status): each chair, recorder or
    speaker the roster lists as not present, by name, and each resolution whose votes (for, against, abstaining) are
    more than the members present. A member not on the roster is not judged, as meetings does not."""
    errors: dict[str, str] = {}
    people = [("chair_id", forms.text(form, "chair_id")), ("recorder_id", forms.text(form, "recorder_id"))]
    people += [(f"speakers-{member_id}", member_id) for member_id in speakers]
    for key, member_id in people:
        status = roster.get(member_id)
        if status is not None and status != "present":
            errors[key] = forms.absent_at_meeting(key, names.get(member_id) or member_id, status=status)
    present = sum(1 for status in roster.values() if status == "present")
    return errors | votes_problems(form, resolutions, voters=present, members=False)


def votes_problems(form: Any, resolutions: list[dict[str, Any]], *, voters: int, members: bool) -> dict[str, str]:
    """Each resolution row of the minutes form whose votes (for, against, abstaining) are more than `voters`: the
    members present on the roster, or (`members`) while no roster is recorded the cell's members at the meeting's
    start, as meetings refuses them (check_votes_within_roster, shared.plausible.votes_over)."""
    errors: dict[str, str] = {}
    rows = [row for row in range(1, form_rows(form) + 1) if forms.text(form, f"resolution-{row}")]
    for row, resolution in zip(rows, resolutions, strict=True):
        over = votes_over(((key, int(resolution[key])) for key in VOTE_KEYS), voters=voters)
        if over is None:
            continue
        cast = sum(int(resolution[key]) for key in VOTE_KEYS)
        if members:
            said = _(
                "Votes on resolution %(row)s: %(cast)s in all, more than the %(members)s members of the cell.",
                row=row,
                cast=cast,
                members=voters,
            )
        else:
            said = _(
                "Votes on resolution %(row)s: %(cast)s in all, more than the %(present)s members present at the "
                "meeting.",
                row=row,
                cast=cast,
                present=voters,
            )
        errors.setdefault(f"votes_for-{row}", said)
    return errors


async def meeting_roster(viewer: Viewer, state: State, meeting: Any) -> tuple[dict[str, str] | None, dict[str, str]]:
    """The meeting's roster (member id to status; None while none is recorded) and the names of the cell's members
    (member id to full name), as the record page reads them."""
    members = await data.members_by_id(state, viewer.principal, meeting.cell_id, at=meeting.starts_at)
    names = {member_id: str(member.get("full_name") or member_id) for member_id, member in members.items()}
    attendance = meeting.attendance
    if attendance is None:
        return None, names
    return {str(record["member_id"]): str(record["status"]) for record in attendance.records}, names


@router.post("/meetings/{meeting_id}/minutes")
@forms.posts(MINUTES_FORM)
async def minutes(meeting_id: str, request: Request, viewer: FormViewer, state: State) -> Response:
    """Submit the minutes: times, chair, recorder, speakers, content, resolutions with votes, tasks."""
    form = await forms.form_of(request, MINUTES_FORM)

    async def action() -> None:
        meeting = await recordable_meeting(viewer, state, meeting_id)
        roster, names = await meeting_roster(viewer, state, meeting)
        if getattr(meeting, "status", None) != "cancelled":
            changed_part(form, meeting, "minutes", names)  # minutes changed since this page showed others
        forms.with_row_names(form, names)  # the members its choices offer, should the form be shown again
        with forms.reported_with(not_begun_at(meeting)):
            body = _minutes_body(
                form,
                meeting_id,
                roster=roster,
                names=names,
                scheduled=meeting.starts_at,
                now=datetime.now(VIETNAM_TZ),
                # the control the record page shows: its form's heading is worded by corrects_held
                took_place=meeting_took_place(meeting, roster is not None) or corrects_held(meeting),
                stored=parse_moment((getattr(meeting, "minutes", None) or {}).get("started_at")),
            )
            model = forms.build(MinutesCreate, body)
        await forms.send(commands.submit_minutes(meeting_id, model, request, viewer.principal, state), members=names)

    return await _submit(request, viewer, state, meeting_id, "minutes", action, "minutes")


@router.post("/meetings/{meeting_id}/approval")
@forms.posts(APPROVAL_FORM)
async def approval(meeting_id: str, request: Request, viewer: FormViewer, state: State) -> Response:
    """Record that the cell adopted the minutes."""
    form = await forms.form_of(request, APPROVAL_FORM)

    async def action() -> None:
        meeting = await recordable_meeting(viewer, state, meeting_id)
        body = _approval_body(form, default=adoption_default(meeting), now=datetime.now(VIETNAM_TZ))
        model = forms.build(MinutesApprovalCreate, body)
        await forms.send(commands.approve_minutes(meeting_id, model, request, viewer.principal, state))

    return await _submit(request, viewer, state, meeting_id, "approval", action, "approved")


@router.post("/meetings/{meeting_id}/assessment")
@forms.posts(ASSESSMENT_FORM)
async def assessment(meeting_id: str, request: Request, viewer: FormViewer, state: State) -> Response:
    """The cell committee's self-assessment (the upper-level monitor confirms on the monitoring page)."""
    form = await forms.form_of(request, ASSESSMENT_FORM)

    async def action() -> None:
        meeting = await recordable_meeting(viewer, state, meeting_id)
        # the items, their names and maxima are those the page shows, read again: never what the post says (a meeting
        # ahead is not scored, so it has none: only "not begun" is reported)
        if not_begun := not_begun_at(meeting):  # no "Điểm: không được để trống" for boxes it does not show
            raise FormErrors(not_begun)
        items = await data.posted_items(state, viewer.principal, meeting_id, meeting.kind)
        model = forms.assessment_model(form, items, role="cell_committee")
        await forms.send(commands.assess_meeting(meeting_id, model, request, viewer.principal, state))

    return await _submit(request, viewer, state, meeting_id, "assessment", action, "assessed")


def adoption_default(meeting: Any) -> datetime | None:
    """When the cell is taken to have adopted the minutes of `meeting` (a MeetingReply or its dict) until the secretary
    says otherwise: the end its saved minutes give (`ended_at`), not before its start, since minutes are read and
    adopted at the meeting (DOMAIN.md "Meetings": During); its start without an end, None without either."""
    stored = meeting.get("minutes") if isinstance(meeting, dict) else meeting.minutes
    starts = meeting.get("starts_at") if isinstance(meeting, dict) else meeting.starts_at
    starts = parse_moment(starts) if isinstance(starts, str) else starts
    ended = parse_moment((stored or {}).get("ended_at"))
    if ended is None or (starts is not None and ended < starts):
        return starts
    return ended


ADOPTION_INPUTS = {"approved_date": "shown_adopted_on", "approved_time": "shown_adopted_clock"}
"""The adoption form's moment inputs by the record page's value of what it showed of each (`was.INPUT`)."""


def adoption_shown(meeting: Any, form: Any = None) -> dict[str, str]:
    """What the adoption form's date and hour show of `meeting` (a MeetingReply's dict): its stored adoption, else
    adoption_default, as `{"shown_adopted_on": "2026-12-05", "shown_adopted_clock": "21:10"}` ("" for none); a sent
    `form` (the page shown again as typed) keeps the `was.approved_date` / `was.approved_time` it first showed."""
    adopted = meeting.get("approved_at") or adoption_default(meeting)
    adopted = parse_moment(adopted) if isinstance(adopted, str) else adopted
    now = {"shown_adopted_on": _day_value(adopted), "shown_adopted_clock": _clock(adopted) if adopted else ""}
    sent = {name: form.get(f"was.{key}") for key, name in ADOPTION_INPUTS.items()} if form is not None else {}
    return now | {name: str(value) for name, value in sent.items() if value is not None}


def adoption_typed(values: dict[str, str], meeting: Any) -> bool:
    """Whether the adoption date or hour sent (`values`, the record page's one form) was typed: another than both
    what its page showed (`was.approved_date`, `was.approved_time`) and what the page shows now (adoption_shown), so
    an end saved since in another tab, moving the default, is no typing; a page without them (opened before they
    were sent) never, as its moment cannot be told from such an end."""
    now = adoption_shown(meeting)
    return any(
        key in values and f"was.{key}" in values and values[key] not in (values[f"was.{key}"], now[name])
        for key, name in ADOPTION_INPUTS.items()
    )


def _approval_body(form: Any, *, default: datetime | None, now: datetime) -> dict[str, Any]:
    """The API body of the adoption form (`approved_at`, `votes_for`, `votes_against`): its moment from the date and
    hour inputs (`approved_date`, `approved_time`; a page sent without them, opened before they were asked, takes
    `default`, adoption_default), refused when still ahead of `now` (shared.plausible.begins_later, the clock
    allowance the other forms' moments get); FormErrors with every mistake at once. A moment before the meeting began
    is meetings' to refuse (domain.check_approval_moment, naming `data.approved_at`), said as this form's field."""
    errors: dict[str, str] = {}
    asked = "approved_date" in form or "approved_time" in form
    approved = forms.moment(form, "approved_date", "approved_time", errors, field="approved_at") if asked else default
    if approved is not None and begins_later(approved, now):
        local = now.astimezone(VIETNAM_TZ)
        errors["approved_at"] = _(
            "%(field)s: %(when)s has not come yet (it is %(now)s now); enter when the cell adopted the minutes, at"
            " the meeting.",
            field=forms.label("approved_date" if approved.date() > local.date() else "approved_time"),
            when=format_moment(approved),
            now=format_moment(local),
        )
    votes = {key: forms.whole_number(form, key, errors) for key in ("votes_for", "votes_against")}
    if votes["votes_for"] is None and "votes_for" not in errors:
        # the minutes are adopted by a vote (meetings refuses an adoption without votes for): an empty box is
        # asked for here, in the secretary's words, before anything is sent
        errors["votes_for"] = forms.required("votes_for")
    if errors:
        raise FormErrors(errors)
    body: dict[str, Any] = {key: value for key, value in votes.items() if value is not None}
    return body | ({"approved_at": approved.astimezone(VIETNAM_TZ).isoformat()} if approved is not None else {})


def minutes_day(meeting: Any) -> str:
    """The Vietnam day (`2026-12-05`) the stored minutes of `meeting` (a MeetingReply or its dict) are dated by their
    `started_at`, or "" without saved minutes or their start."""
    stored = meeting.get("minutes") if isinstance(meeting, dict) else meeting.minutes
    started = parse_moment((stored or {}).get("started_at"))
    return f"{started.astimezone(VIETNAM_TZ):%Y-%m-%d}" if started else ""


def minutes_left_on_another_day(meeting: Any, starts: datetime | None) -> bool:
    """Whether correcting `meeting` (a MeetingReply or its dict) to start at `starts` leaves its saved, not adopted
    minutes dated another Vietnam day: meetings then refuses their adoption (minutes_off_meeting_day, domain
    check_adopted_on_meeting_day) until they are saved again dated the new day."""
    day = minutes_day(meeting)
    approved = meeting.get("approved_at") if isinstance(meeting, dict) else meeting.approved_at
    return bool(day) and starts is not None and approved is None and f"{starts.astimezone(VIETNAM_TZ):%Y-%m-%d}" != day


def meeting_day(meeting: dict[str, Any]) -> str:
    """The meeting's day in Vietnam (`2026-12-04`, a date input's value), or "" when it has no start."""
    starts = parse_moment(meeting.get("starts_at"))
    return f"{starts.astimezone(VIETNAM_TZ):%Y-%m-%d}" if starts else ""


def completion_problem(completed: date, meeting: dict[str, Any], *, today: date) -> str | None:
    """Why a task cannot be recorded done on `completed`: a day still ahead, or before the meeting that gave the task
    (shared.plausible: completions not before their meeting); None when the day may be recorded."""
    if completed > today:
        return _(
            "%(field)s: %(day)s is still ahead; enter the day the task was done (today, %(today)s, or earlier).",
            field=forms.label("completed_on"),
            day=format_short_date(completed),
            today=format_short_date(today),
        )
    held = meeting_day(meeting)
    if held and completed < date.fromisoformat(held):
        return _(
            "%(field)s: %(day)s is before the meeting that gave the task (%(meeting)s); enter that day or a later one.",
            field=forms.label("completed_on"),
            day=format_short_date(completed),
            meeting=format_short_date(date.fromisoformat(held)),
        )
    return None


TASK_COMPLETION_CHANGED = N_(
    "The task's completion was recorded again after you opened this page. Nothing has been saved yet: the form below"
    " keeps the day you typed, and the day now stored is named beside it. Choose which to keep, then send the form"
    " again."
)
"""Why a task-done form sent from a page showing another completion day than the stored one is refused."""


def changed_completion(form: Any, meeting: dict[str, Any], task_id: str) -> None:
    """Raise ChangedSinceShown (TASK_COMPLETION_CHANGED) when the form's `was.completed_on` (ISO day, "" for a task
    the page showed open) is not the task's stored `completed_on`, unless the form sends the stored day (its own
    first sending, a double click's second); a form without it (sent by other means than the page) is not compared."""
    shown = form.get("was.completed_on")
    if shown is None:
        return
    task = next((t for t in meeting.get("tasks") or [] if str(t.get("task_id")) == task_id), None)
    stored = str(task.get("completed_on") or "") if task else ""
    typed = str(form.get("completed_on") or "")
    if str(shown) != stored and typed != stored:
        try:
            sent = format_short_date(date.fromisoformat(typed)) if typed else _("(left empty)")
        except ValueError:
            sent = typed
        now = format_short_date(date.fromisoformat(stored)) if stored else _("(left empty)")
        told = _(NOW_STORED, field=forms.label("completed_on"), stored=now, sent=sent)
        raise ChangedSinceShown(
            {"data.meeting_id": StateRefusal(_(TASK_COMPLETION_CHANGED)), "completed_on": f"{told} {_(KEPT_TYPED)}"},
            kept={"completed_on": forms.label("completed_on")},
        )


@router.post("/meetings/{meeting_id}/tasks/{task_id}/done")
@forms.posts(TASK_DONE_FORM)
async def task_done(meeting_id: str, task_id: str, request: Request, viewer: FormViewer, state: State) -> Response:
    """Mark a task done on the day given, or correct the day of a task already done (the same command as the API's
    completion, so `results` follows: DOMAIN.md, done on time is `completed_on` ≤ `due_on`); an empty day is
    refused naming the field, never read as today."""
    form = task_form(await forms.form_of(request, TASK_DONE_FORM), task_id)

    async def action() -> None:
        errors: dict[str, str] = {}
        completed = forms.day(form, "completed_on", errors)
        if completed is None and not errors:
            errors["completed_on"] = forms.required("completed_on")
        if completed is not None and not errors:
            meeting = (await recordable_meeting(viewer, state, meeting_id)).model_dump()
            changed_completion(form, meeting, task_id)  # recorded (again) since this page showed the task
            problem = completion_problem(completed, meeting, today=datetime.now(VIETNAM_TZ).date())
            if problem:
                errors["completed_on"] = problem
        if errors:
            raise FormErrors(errors)
        model = TaskCompletionCreate(completed_on=completed)
        await forms.send(commands.complete_task(meeting_id, task_id, model, request, viewer.principal, state))

    return await _submit(request, viewer, state, meeting_id, "tasks", action, "task")
