"""Re-scoring a committee's history after a framework change, with a progress bar (committee officers).

Who may: the API's rule (POST /v1/rescore): a committee officer re-scores a committee of their own subtree (the
province officer's own committee is the whole province). The job runs in evaluation (rescore_job); the page polls
a JSON endpoint (static/rescore.js) and fills a <progress> element; without scripts it offers a reload link."""

import re
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from services.gateway.availability import SCORES_SERVICE
from services.gateway.http import operations, reads
from services.gateway.http.deps import State
from services.gateway.schemas import RescoreCreate
from services.gateway.web import data, forms, periods
from services.gateway.web.core import (
    PREFIX,
    SECURITY_HEADERS,
    CurrentViewer,
    FormViewer,
    PageNotFound,
    Viewer,
    WebRoute,
    committee_page_unit,
    render,
)
from services.gateway.web.forms import FormErrors
from services.gateway.web.i18n import N_, _, format_number, format_period
from shared.contracts.meetings_rpc import UnitReply
from shared.envelope import now
from shared.numbers import rounded_half_up
from shared.periods import VIETNAM_TZ, is_report_period, period_months
from shared.plausible import (
    EARLIEST_PERIOD,
    SpanProblem,
    latest_period_month,
    span_range_problems,
)
from shared.rpc import RpcError, ServiceUnavailable

router = APIRouter(prefix=PREFIX, route_class=WebRoute, include_in_schema=False)
STATUS_LABELS = {
    "queued": N_("Waiting to start"),
    "running": N_("Running"),
    "done": N_("Done"),
    "failed": N_("Failed"),
}


async def _committee(viewer: Viewer, state: State, committee_id: str) -> UnitReply:
    return await committee_page_unit(viewer.principal, committee_id, directory=state.directory)


async def _form_page(
    request: Request,
    viewer: Viewer,
    state: State,
    unit: UnitReply,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    first_month: str | None = None,
    first_month_read: bool = False,
) -> HTMLResponse:
    """The form, its pickers offering the periods from the committee's `first_month` of data (read here unless
    `first_month_read`: the form sent read it already, or found evaluation silent, never waited for twice)."""
    values = values or {"period_from": f"{periods.this_month()[:4]}-01", "period_to": periods.this_month()}
    if not first_month_read:
        first_month = await data.committee_first_month(state, viewer.principal, unit.id)
    first_month = first_month or await data.offered_first_month(state, unit.id, None)
    return render(
        request,
        "rescore.html",
        status=422 if errors else 200,
        viewer=viewer,
        unit=unit,
        errors=errors or {},
        values=values,
        choices={name: offered(values.get(name), first_month) for name in RESCORE_FIELDS},
        periods_unknown=first_month is None,
        crumbs=await data.breadcrumb(state, viewer.principal, unit),
    )


def offered(value: str | None, first_month: str | None) -> list[str]:
    """The periods a re-score field's picker offers: the committee pages' (periods.choices: every month, quarter,
    half-year and year from the committee's `first_month` of data to now, the calendar's without it), and the value
    sent when it is a period at all (a refused one is shown as sent, beside its error)."""
    return periods.choices(value if value and is_report_period(value) else None, first_month=first_month)


@router.get("/committees/{committee_id}/rescore")
async def rescore_form(committee_id: str, request: Request, viewer: CurrentViewer, state: State) -> HTMLResponse:
    """The form: which months to re-score under the frameworks now in force."""
    unit = await _committee(viewer, state, committee_id)
    return await _form_page(request, viewer, state, unit)


MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
"""A month `YYYY-MM`, one of what the form's pickers (labelled "Từ kỳ"/"Đến kỳ", offered) send."""

PERIOD_TYPED = N_(
    "%(field)s: enter a month as YYYY-MM (such as 2026-09), or a quarter (2026-Q3), a half-year (2026-H2) or a year "
    "(2026)."
)
"""What the form says of a value of no period's form (shared.periods.REPORT_PERIOD_FORMS, the API's words)."""


def _month(form: Any, name: str, errors: dict[str, str], *, required: bool) -> str | None:
    """The month a field names: a month as it is; a quarter, a half-year or a year (the pickers offer them, as the
    committee pages' do) as its first month for `period_from`, its last for `period_to`, as the API reads them
    (a trial's `2026-H2` could not be picked though the API takes it); None, with the field's error, for anything
    else."""
    value = forms.text(form, name)
    if not value:
        if required:
            errors[name] = forms.required(name)
        return None
    if MONTH.fullmatch(value):
        return value
    if is_report_period(value):
        months = period_months(value)
        if name == "period_from":
            return months[0]
        # the running quarter, half-year or year (offered) up to the running month, as the job re-scores up to now;
        # one not begun keeps its last month, refused (span_errors)
        current = periods.this_month()
        return current if months[0] <= current < months[-1] else months[-1]
    errors[name] = _(PERIOD_TYPED, field=forms.label(name))
    return None


def _month_words(month: str) -> str:
    """`1/2030` for 2030-01 (written after `tháng`)."""
    return f"{int(month[5:7])}/{month[:4]}"


def span_errors(first: str | None, last: str | None, at: datetime, *, first_month: str | None = None) -> dict[str, str]:
    """The form's Vietnamese for what the API's rule (shared.plausible.span_range_problems) finds wrong with the
    months, each field's at once: one before 1/2000 (either field), a last month more than two years ahead
    (`period_to`), a last month before the first (`period_to`), a month not begun at `at` (either field: no page
    offers or shows it), or a last month before the committee's `first_month` of data (`period_to`)."""
    return {
        problem.field: span_message(problem, first, last, at, first_month=first_month)
        for problem in span_range_problems(first, last, now=at, first_month=first_month)
    }


def span_message(
    problem: SpanProblem, first: str | None, last: str | None, at: datetime, *, first_month: str | None = None
) -> str:
    """The Vietnamese of one SpanProblem of the months `first`..`last` at `at`, naming its field."""
    field, month = problem.field, first if problem.field == "period_from" else last
    said = _month_words(month) if month and len(month) == 7 else format_period(month or "", within=True)
    if problem.code == "not_begun" and field == "period_to":
        message = _(
            "%(field)s: %(period)s is outside the periods there are, as it has not begun yet. Choose a month up to "
            "%(current)s.",
            field=forms.label(field),
            period=format_period(month or "", within=True),
            current=_month_words(f"{at.astimezone(VIETNAM_TZ):%Y-%m}"),
        )
    elif problem.code == "not_begun":
        message = _(
            "%(field)s: month %(month)s has not begun yet, so there is nothing to re-score in it. Choose a month "
            "up to %(current)s.",
            field=forms.label(field),
            month=said,
            current=_month_words(f"{at.astimezone(VIETNAM_TZ):%Y-%m}"),
        )
    elif problem.code == "before_earliest":
        message = _(
            "%(field)s: month %(month)s is before 1/%(earliest)s, the earliest month the system holds. Choose a month "
            "from 1/%(earliest)s on.",
            field=forms.label(field),
            month=said,
            earliest=EARLIEST_PERIOD[:4],
        )
    elif problem.code == "too_far_ahead":
        message = _(
            "%(field)s: month %(month)s is more than two years ahead. Choose a month up to %(latest)s.",
            field=forms.label(field),
            month=said,
            latest=_month_words(latest_period_month(at)),
        )
    elif problem.code == "before_data" and first_month is not None:
        message = _(
            "%(field)s: there is no data before month %(first)s, so nothing to re-score up to month %(month)s. "
            "Choose a month from %(first)s on.",
            field=forms.label(field),
            month=said,
            first=_month_words(first_month),
        )
    elif problem.code == "ends_before_start":
        message = _("%(field)s: must not be before the first period.", field=forms.label(field))
    else:
        message = _(PERIOD_TYPED, field=forms.label(field))
    return message


RESCORE_FIELDS = ("period_from", "period_to")
"""The form's fields, top to bottom: the order its errors are listed in."""
RESCORE_FORM = forms.FormLabels(fields=forms.known(*RESCORE_FIELDS), order=("csrf", *RESCORE_FIELDS))
"""The re-scoring form's inputs as rescore.html labels them."""


@router.post("/committees/{committee_id}/rescore")
@forms.posts(RESCORE_FORM)
async def start_rescore(committee_id: str, request: Request, viewer: FormViewer, state: State) -> Response:
    """Queue the re-scoring of the committee's subtree (POST /v1/rescore) and go to its progress page."""
    unit = await _committee(viewer, state, committee_id)
    form = await forms.form_of(request, RESCORE_FORM)
    errors: dict[str, str] = {}
    first = _month(form, "period_from", errors, required=True)
    last = _month(form, "period_to", errors, required=False)
    # each month is judged by the API's rule whatever the other is: a first month not begun and a last month before
    # it are said at once (a trial's form said only the last), a month written wrong with the other's own problem
    read = last is not None
    try:
        earliest = await reads.committee_first_month(state, committee_id) if read else None
    except ServiceUnavailable as exc:
        if exc.service != SCORES_SERVICE or not errors:
            raise  # nothing sent: the form again (core.WebRoute), one timeout
        earliest = None  # the form is refused for its own mistakes anyway: said without the data's first month
    errors = span_errors(first, last, now(), first_month=earliest) | errors
    try:
        if errors:
            raise FormErrors(errors)
        body = forms.build(RescoreCreate, {"unit_id": committee_id, "period_from": first, "period_to": last})
        job: dict[str, Any] = {}

        async def queue() -> None:
            job.update(await operations.rescore(body, request, viewer.principal, state))

        await forms.send(queue())
    except FormErrors as exc:
        return await _form_page(
            request,
            viewer,
            state,
            unit,
            errors=exc.errors,
            values=dict(form),
            first_month=earliest,
            first_month_read=read,
        )
    return RedirectResponse(f"{PREFIX}/committees/{committee_id}/rescore/{job['job_id']}", status_code=303)


async def _job(viewer: Viewer, state: State, committee_id: str, job_id: str) -> dict[str, Any]:
    """The job, when it re-scores this committee and the viewer may see it; PageNotFound otherwise."""
    if not 1 <= len(job_id) <= 64:
        raise PageNotFound
    try:
        job: dict[str, Any] = await operations.rescore_status(job_id, viewer.principal, state)
    except RpcError as exc:
        if exc.code == "not_found":
            raise PageNotFound from None
        raise
    if job.get("unit_id") != committee_id:
        raise PageNotFound
    return job


def progress_of(job: dict[str, Any]) -> dict[str, Any]:
    """What the page shows of a job: {status, label, percent 0..100, cells_done, cells_total, meetings_rescored,
    meetings_changed, periods_changed, changed (their sum), finished, text, reason (failure_reason: "" unless
    failed)}."""
    total, done = job.get("cells_total"), job.get("cells_done") or 0
    if job["status"] == "done":
        percent = 100.0
    elif total:
        percent = min(100.0, 100.0 * done / total)
    else:
        percent = 0.0
    return {
        "reason": failure_reason(job),
        "status": job["status"],
        "label": _(STATUS_LABELS[job["status"]]),
        "percent": float(rounded_half_up(percent, 1)),
        "cells_done": done,
        "cells_total": total,
        "meetings_rescored": job.get("meetings_rescored") or 0,
        "meetings_changed": job.get("meetings_changed") or 0,
        "periods_changed": job.get("periods_changed") or 0,
        "changed": job.get("changed") or 0,
        "finished": job["status"] in ("done", "failed"),
        "text": _(
            "%(done)s of %(total)s cells (%(percent)s%%)",
            done=done,
            total=total if total is not None else "…",
            percent=format_number(percent),
        ),
    }


def failure_reason(job: dict[str, Any]) -> str:
    """Why a failed job stopped, in Vietnamese ("" unless it failed): the field and months it was refused by (a job
    queued before the months were bounded), else an internal error the operators find in the logs. Never the
    English `error` of the API, nor anything of an exception."""
    if job.get("status") != "failed":
        return ""
    field = job.get("error_field")
    if field in ("period_from", "period_to") and job.get("error_code") != "internal":
        value = str(job.get(field) or "")
        return _(
            "The re-scoring was not run: %(field)s (%(value)s) is outside the months that can be re-scored. Start a "
            "new re-scoring with months from 1/%(earliest)s up to this month.",
            field=forms.label(field),
            value=_month_words(value) if periods.PERIOD.match(value) and len(value) == 7 else value,
            earliest=EARLIEST_PERIOD[:4],
        )
    return _("The re-scoring stopped with an error; the operators can see it in the logs.")


@router.get("/committees/{committee_id}/rescore/{job_id}")
async def rescore_page(
    committee_id: str, job_id: str, request: Request, viewer: CurrentViewer, state: State
) -> HTMLResponse:
    """The job's progress bar, refreshed by static/rescore.js from the JSON below."""
    unit = await _committee(viewer, state, committee_id)
    job = await _job(viewer, state, committee_id, job_id)
    return render(
        request,
        "rescore_progress.html",
        viewer=viewer,
        unit=unit,
        job=job,
        progress=progress_of(job),
        crumbs=await data.breadcrumb(state, viewer.principal, unit),
    )


@router.get("/committees/{committee_id}/rescore/{job_id}/progress.json")
async def rescore_progress(committee_id: str, job_id: str, viewer: CurrentViewer, state: State) -> JSONResponse:
    """The job's progress as JSON for the page's script."""
    await _committee(viewer, state, committee_id)
    job = await _job(viewer, state, committee_id, job_id)
    return JSONResponse(progress_of(job), headers=SECURITY_HEADERS)
