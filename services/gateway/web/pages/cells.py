"""A cell's year (ratings as a strip, meetings) and a meeting with its score explained item by item."""

import asyncio
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.gateway.availability import meetings_or
from services.gateway.handlers import authorize_meeting, authorize_unit, followed_cells, waiting_named
from services.gateway.http.deps import State
from services.gateway.web import data, periods
from services.gateway.web.core import (
    PREFIX,
    CurrentViewer,
    PageNotFound,
    WebRoute,
    YearOutside,
    render,
    year_not_begun,
)
from services.gateway.web.explain import explained_lines, framework_note, gate_note, rescored_note
from services.gateway.web.pages.secretary import may_record
from services.gateway.web.waiting import waiting_sentences
from shared.collation import by_person

router = APIRouter(prefix=PREFIX, route_class=WebRoute, include_in_schema=False)


@router.get("/cells/{cell_id}")
async def cell_page(
    cell_id: str, request: Request, viewer: CurrentViewer, state: State, year: str | None = None
) -> Response:
    """The cell's months as a rating strip, its quarters and year, its meetings of the year, and its meetings still
    ahead whatever their year. The year picker offers the years the cell existed in or has a meeting in, up to this
    year (periods.offered_years); a year before the cell was set up (or after it was closed) is the 404 page naming
    the year and the span there is, as the cell's evidence answers it (from 2000 while the cell's years are not
    known); next year is the 422 page "Chưa đến kỳ" (with the 404's way to the cell's latest year) and `?year=1999`
    the 422 of a period outside those there are (periods.checked_year, as a committee's `?period=` and the API answer
    them), never another year shown in its place."""
    year, not_begun = periods.year_asked(year)
    principal = viewer.principal
    unit = await authorize_unit(principal, cell_id, directory=state.directory, kind="cell")
    # the ratings are evaluation's; while meetings does not answer the cell's meetings are not listed (said so)
    none: list[dict[str, Any]] = []
    (span, earliest, (first_month, last_month), known), meetings = await asyncio.gather(
        data.cell_span(state, cell_id),
        meetings_or(state.directory, lambda: data.all_cell_meetings(state, principal, cell_id), none),
    )
    years = periods.offered_years(span, data.meeting_years(meetings))
    earliest = min(earliest, years[-1])
    back = f"{PREFIX}/cells/{quote(cell_id)}?year={years[0]}"
    if not_begun:
        raise year_not_begun(year, latest=years[0], address=back)
    if not earliest <= year <= years[0]:
        raise YearOutside(year=year, earliest=earliest, latest=years[0], back=back)
    found = await data.cell_year(state, principal, cell_id, year)
    return render(
        request,
        "cell.html",
        viewer=viewer,
        unit=unit,
        year=year,
        years=years if year in years else sorted([*years, year], reverse=True),
        crumbs=await data.breadcrumb(state, principal, unit),
        ahead=data.ahead(meetings),
        span=(first_month, last_month),
        years_unknown=not known,
        **found
        | {
            "strip": data.months_existed(found["strip"], first_month, last_month),
            "quarters": data.periods_existed(found["quarters"], first_month, last_month),
        },
    )


@router.get("/meetings/{meeting_id}")
async def meeting_page(meeting_id: str, request: Request, viewer: CurrentViewer, state: State) -> HTMLResponse:
    """The meeting: schedule, roster, minutes, resolutions, tasks, and its score criterion by criterion; a link to
    record it for its secretary, to confirm its assessment for the upper-level monitor who follows its cell; the
    facts other systems sent that wait for what its secretary records (waiting.waiting_sentences)."""
    principal = viewer.principal
    meeting = await authorize_meeting(principal, meeting_id, rpc=state.rpc, directory=state.directory)
    unit = await state.directory.get(meeting.cell_id)
    if unit is None:
        raise PageNotFound
    ahead = data.upcoming(meeting)
    score = None if ahead else await data.meeting_score(state, principal, meeting_id)
    lines, gate, scored_under = [], None, None
    if score:
        reference = score.get("framework") or {}
        framework = await data.framework(state, str(reference.get("id")), str(reference.get("version")))
        lines = explained_lines(score, framework, meeting.kind, meeting.held_recorded_at)
        gate = gate_note(score, framework)
        scored_under = framework_note(score, framework)
    followed, members, waiting = await asyncio.gather(
        followed_cells(principal, rpc=state.rpc, directory=state.directory),
        data.meeting_members(state, principal, meeting),
        waiting_named(meeting, state.accounts),
    )

    def name(member_id: str) -> str:
        return str(members.get(member_id, {}).get("full_name") or member_id)

    return render(
        request,
        "meeting.html",
        viewer=viewer,
        unit=unit,
        meeting=meeting,
        score=score,
        upcoming=ahead,
        lines=lines,
        gate_note=gate,
        framework_note=scored_under,
        rescored_note=rescored_note(score),
        members=members,
        roster=by_person(
            meeting.attendance.records if meeting.attendance else [], lambda record: name(record["member_id"])
        ),
        speakers=by_person((meeting.minutes or {}).get("speakers") or [], name),
        left=data.left_since(members),
        crumbs=await data.breadcrumb(state, principal, unit),
        may_record=may_record(viewer),
        follows=meeting.cell_id in {item.cell_id for item in followed},
        waiting=waiting_sentences(waiting, attendance_recorded=meeting.attendance is not None),
    )
