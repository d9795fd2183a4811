"""The cell secretary's forms (schedule, reschedule, cancel, documents, roster, minutes, adoption, the cell
committee's self-assessment, tasks done) and the upper-level monitor's confirmation of an assessment.

Each form becomes the API's own command (same checks, same events); refusals come back in Vietnamese,
naming the field."""

import re
import uuid
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.gateway.auth import Role
from services.gateway.handlers import authorize_meeting, authorize_unit
from services.gateway.http import commands
from services.gateway.http.deps import State
from services.gateway.schemas import (
    AssessmentCreate,
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
from services.gateway.web.core import PREFIX, CurrentViewer, FormViewer, NotAllowed, Viewer, WebRoute, render
from services.gateway.web.forms import FormErrors
from services.gateway.web.i18n import LABELS, _

router = APIRouter(prefix=PREFIX, route_class=WebRoute, include_in_schema=False)
RECORDERS = frozenset({Role.SECRETARY})
"""Who records a meeting (the record page and its forms): the cell's secretary, as the API's commands allow; an upper-
level monitor confirms an assessment on the monitoring page instead."""
ROWS = 3
LONGEST_MEETING = timedelta(hours=12)
"""The minutes form has one date: an end time before the start time is read as past midnight when the meeting is
then at most this long (a meeting from 22:40 to 00:20), and refused otherwise."""


def _done(meeting_id: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/meetings/{meeting_id}/record?notice={notice}", status_code=303)


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
    values = {"meeting_id": new_meeting_id(cell_id)}
    return render(request, "schedule.html", viewer=viewer, unit=unit, errors={}, values=values, kinds=LABELS["kind"])


def new_meeting_id(cell_id: str) -> str:
    """A new meeting's id, chosen when the form is shown: the form sent twice schedules this one meeting, once."""
    return f"{cell_id}-{uuid.uuid4().hex[:10]}"[-64:]


MEETING_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
"""The id syntax (CONTRACT.md) a form's meeting id must follow to be used."""


@router.post("/cells/{cell_id}/meetings")
async def schedule(cell_id: str, request: Request, viewer: FormViewer, state: State) -> Response:
    """Schedule the meeting (meeting.scheduled.v1); the form again, with the fields to correct, if refused. Who may
    is judged before the form (a refused form is the secretary's page, shown to no one else)."""
    await schedulable_cell(viewer, state, cell_id)
    form = await forms.form_of(request)
    errors: dict[str, str] = {}
    starts = forms.meeting_start(form, errors)
    # the id the form was shown with (a form from before it carried one: a new id)
    meeting_id = forms.text(form, "meeting_id")
    if not MEETING_ID.match(meeting_id):
        meeting_id = new_meeting_id(cell_id)
    body = {
        "meeting_id": meeting_id,
        "kind": forms.text(form, "kind"),
        "topic": forms.text(form, "topic") or None,
        "starts_at": starts.isoformat() if starts else None,
        "location": forms.text(form, "location"),
        "agenda": [line.strip() for line in forms.text(form, "agenda").splitlines() if line.strip()],
        "committee_prepared": form.get("committee_prepared") == "on",
    }
    try:
        # every field is judged at once: a form sent empty names each field to fill, not only the first
        try:
            model = forms.build(MeetingScheduleCreate, {key: value for key, value in body.items() if value is not None})
        except FormErrors as exc:
            errors = {**exc.errors, **errors}  # the date's own message wins over "missing"
        if errors:
            raise FormErrors(errors)
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
            values={**dict(form), "meeting_id": meeting_id},
            kinds=LABELS["kind"],
        )
    return RedirectResponse(f"{PREFIX}/meetings/{meeting_id}/record?notice=scheduled", status_code=303)


# ---- the record page ----------------------------------------------------------------------------


async def _record_page(
    request: Request, viewer: Viewer, state: State, meeting_id: str, *, errors: dict[str, dict[str, str]] | None = None
) -> HTMLResponse:
    principal = viewer.principal
    meeting = (await recordable_meeting(viewer, state, meeting_id)).model_dump()
    unit = await state.directory.get(meeting["cell_id"])
    members = await data.members_by_id(state, principal, meeting["cell_id"])
    ahead = data.upcoming(meeting)
    score = None if ahead else await data.meeting_score(state, principal, meeting_id)
    manual = [
        line for line in (score or {}).get("criteria", []) if line.get("source") == "manual" and line["applicable"]
    ]
    names = {}
    if score:
        reference = score.get("framework") or {}
        from services.gateway.web.explain import item_names

        names = item_names(await data.framework(state, str(reference.get("id")), str(reference.get("version"))))
    roster = {record["member_id"]: record for record in ((meeting.get("attendance") or {}).get("records") or [])}
    return render(
        request,
        "record.html",
        status=422 if errors else 200,
        viewer=viewer,
        unit=unit,
        meeting=meeting,
        members=members,
        roster=roster,
        score=score,
        upcoming=ahead,
        manual=[{**line, "name": names.get(line["code"], ("", line["code"]))[1]} for line in manual],
        errors=errors or {},
        notice=request.query_params.get("notice"),
        statuses=LABELS["attendance"],
        document_kinds=LABELS["document"],
        rows=range(1, ROWS + 1),
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


@router.get("/meetings/{meeting_id}/record")
async def record_page(meeting_id: str, request: Request, viewer: CurrentViewer, state: State) -> HTMLResponse:
    """Every form of a meeting for its secretary (403 page for other roles that see the meeting)."""
    return await _record_page(request, viewer, state, meeting_id)


async def _submit(
    request: Request, viewer: Viewer, state: State, meeting_id: str, section: str, action: Any, notice: str
) -> Response:
    if not may_record(viewer):
        await recordable_meeting(viewer, state, meeting_id)  # the page's own 404 or 403 answer, before any command
    try:
        await action()
    except FormErrors as exc:
        return await _record_page(request, viewer, state, meeting_id, errors={section: exc.errors})
    return _done(meeting_id, notice)


@router.post("/meetings/{meeting_id}/reschedule")
async def reschedule(meeting_id: str, request: Request, viewer: FormViewer, state: State) -> Response:
    """Move the meeting."""
    form = await forms.form_of(request)

    async def action() -> None:
        errors: dict[str, str] = {}
        starts = forms.meeting_start(form, errors)
        if errors:
            raise FormErrors(errors)
        assert starts is not None
        body = {"starts_at": starts.isoformat(), "location": forms.text(form, "location") or None}
        body["reason"] = forms.text(form, "reason") or None
        model = forms.build(MeetingRescheduleCreate, {k: v for k, v in body.items() if v is not None})
        await forms.send(commands.reschedule_meeting(meeting_id, model, request, viewer.principal, state))

    return await _submit(request, viewer, state, meeting_id, "reschedule", action, "rescheduled")


@router.post("/meetings/{meeting_id}/cancel")
async def cancel(meeting_id: str, request: Request, viewer: FormViewer, state: State) -> Response:
    """Cancel the meeting, with the reason."""
    form = await forms.form_of(request)

    async def action() -> None:
        model = forms.build(MeetingCancelCreate, {"reason": forms.text(form, "reason")})
        await forms.send(commands.cancel_meeting(meeting_id, model, request, viewer.principal, state))

    return await _submit(request, viewer, state, meeting_id, "cancel", action, "cancelled")


@router.post("/meetings/{meeting_id}/documents")
async def documents(meeting_id: str, request: Request, viewer: FormViewer, state: State) -> Response:
    """Publish a document to the members."""
    form = await forms.form_of(request)

    async def action() -> None:
        item = {"title": forms.text(form, "title"), "kind": forms.text(form, "kind")}
        if forms.text(form, "url"):
            item["url"] = forms.text(form, "url")
        model = forms.build(DocumentsCreate, {"items": [item]})
        await forms.send(commands.publish_documents(meeting_id, model, request, viewer.principal, state))

    return await _submit(request, viewer, state, meeting_id, "documents", action, "documents")


@router.post("/meetings/{meeting_id}/attendance")
async def attendance(meeting_id: str, request: Request, viewer: FormViewer, state: State) -> Response:
    """Record the roster: present, excused with a reason, absent, exempt."""
    form = await forms.form_of(request)

    async def action() -> None:
        records = []
        errors: dict[str, str] = {}
        names: dict[str, str] = {}
        for row, member_id in enumerate(form.getlist("member")):
            status = forms.text(form, f"status-{member_id}")
            reason = forms.text(form, f"reason-{member_id}")
            name = forms.text(form, f"name-{member_id}") or member_id
            # a refusal of this row names the member, not the roster as a whole
            for key in ("status", "member_id"):
                names[f"records.{row}.{key}"] = _("Attendance of %(name)s", name=name)
            names[f"records.{row}.reason"] = _("Reason for the absence of %(name)s", name=name)
            if status == "excused" and not reason:
                errors[f"reason-{member_id}"] = _(
                    "Reason for the absence of %(name)s: please fill in this field.", name=name
                )
            records.append({"member_id": member_id, "status": status, **({"reason": reason} if reason else {})})
        if not records:
            errors["records"] = forms.required("records")
        if errors:
            raise FormErrors(errors)
        model = forms.build(AttendanceCreate, {"records": records}, names=names)
        await forms.send(commands.record_attendance(meeting_id, model, request, viewer.principal, state), names=names)

    return await _submit(request, viewer, state, meeting_id, "attendance", action, "attendance")


def _minutes_body(form: Any, meeting_id: str) -> dict[str, Any]:
    errors: dict[str, str] = {}
    started = forms.moment(form, "day", "started", errors, field="started_at")
    ended = forms.moment(form, "day", "ended", errors, field="ended_at")
    if started and ended and ended < started and ended + timedelta(days=1) - started <= LONGEST_MEETING:
        ended += timedelta(days=1)  # past midnight: the form's one date is the day the meeting started
    if started and ended and ended <= started:
        errors["ended_at"] = _("%(field)s: must be after the start time.", field=forms.label("ended_at"))
    resolutions = []
    for row in range(1, ROWS + 1):
        text = forms.text(form, f"resolution-{row}")
        if not text:
            continue
        votes = {
            key: forms.whole_number(form, f"{key}-{row}", errors) or 0
            for key in ("votes_for", "votes_against", "abstentions")
        }
        resolutions.append({"text": text, **votes})
    tasks = []
    for row in range(1, ROWS + 1):
        description = forms.text(form, f"task-{row}")
        if not description:
            continue
        due = forms.day(form, f"due-{row}", errors, field=f"tasks.{row - 1}.due_on")
        if not forms.text(form, f"due-{row}"):  # a date given but not a date has its own message already
            errors.setdefault(f"due-{row}", _("Due date of task %(row)s: please fill in this field.", row=row))
        assignee = forms.text(form, f"assignee-{row}")
        if not assignee:  # none chosen: say so (the id's pattern would call it "characters not allowed")
            errors.setdefault(f"assignee-{row}", _("Assignee of task %(row)s: please choose a member.", row=row))
        tasks.append(
            {
                "task_id": forms.derived_id(form, meeting_id, row, prefix="t-"),
                "assignee_id": assignee,
                "description": description,
                "due_on": due.isoformat() if due else None,
            }
        )
    minutes = forms.whole_number(form, "self_criticism_minutes", errors)
    if errors:
        raise FormErrors(errors)
    assert started is not None and ended is not None
    body = {
        "started_at": started.isoformat(),
        "ended_at": ended.isoformat(),
        "chair_id": forms.text(form, "chair_id"),
        "recorder_id": forms.text(form, "recorder_id"),
        "speakers": form.getlist("speakers"),
        "content": forms.text(form, "content") or None,
        "conclusions": forms.text(form, "conclusions") or None,
        "self_criticism_minutes": minutes,
        "resolutions": resolutions,
        "tasks": tasks,
    }
    return {key: value for key, value in body.items() if value is not None}


@router.post("/meetings/{meeting_id}/minutes")
async def minutes(meeting_id: str, request: Request, viewer: FormViewer, state: State) -> Response:
    """Submit the minutes: times, chair, recorder, speakers, content, resolutions with votes, tasks."""
    form = await forms.form_of(request)

    async def action() -> None:
        model = forms.build(MinutesCreate, _minutes_body(form, meeting_id))
        await forms.send(commands.submit_minutes(meeting_id, model, request, viewer.principal, state))

    return await _submit(request, viewer, state, meeting_id, "minutes", action, "minutes")


@router.post("/meetings/{meeting_id}/approval")
async def approval(meeting_id: str, request: Request, viewer: FormViewer, state: State) -> Response:
    """Record that the cell adopted the minutes."""
    form = await forms.form_of(request)

    async def action() -> None:
        errors: dict[str, str] = {}
        votes = {key: forms.whole_number(form, key, errors) for key in ("votes_for", "votes_against")}
        if errors:
            raise FormErrors(errors)
        model = forms.build(MinutesApprovalCreate, {k: v for k, v in votes.items() if v is not None})
        await forms.send(commands.approve_minutes(meeting_id, model, request, viewer.principal, state))

    return await _submit(request, viewer, state, meeting_id, "approval", action, "approved")


@router.post("/meetings/{meeting_id}/assessment")
async def assessment(meeting_id: str, request: Request, viewer: FormViewer, state: State) -> Response:
    """The cell committee's self-assessment (the upper-level monitor confirms on the monitoring page)."""
    form = await forms.form_of(request)

    async def action() -> None:
        points = forms.assessment_points(form)
        model = forms.build(
            AssessmentCreate,
            {"role": "cell_committee", "points": points, "comment": forms.text(form, "comment") or None},
        )
        await forms.send(commands.assess_meeting(meeting_id, model, request, viewer.principal, state))

    return await _submit(request, viewer, state, meeting_id, "assessment", action, "assessed")


@router.post("/meetings/{meeting_id}/tasks/{task_id}/done")
async def task_done(meeting_id: str, task_id: str, request: Request, viewer: FormViewer, state: State) -> Response:
    """Mark a task done (today, or the date given)."""
    form = await forms.form_of(request)

    async def action() -> None:
        errors: dict[str, str] = {}
        completed = forms.day(form, "completed_on", errors)
        if errors:
            raise FormErrors(errors)
        model = TaskCompletionCreate(completed_on=completed)
        await forms.send(commands.complete_task(meeting_id, task_id, model, request, viewer.principal, state))

    return await _submit(request, viewer, state, meeting_id, "tasks", action, "task")
