"""Read endpoints for members, secretaries and committee officers, each scoped to the caller's subtree."""

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query

from services.gateway.auth import Principal, Role
from services.gateway.availability import scores_or
from services.gateway.bootstrap import GatewayState
from services.gateway.handlers import (
    authorize_meeting,
    authorize_unit,
    forbidden,
    missing_as,
    not_found,
    waiting_named,
)
from services.gateway.http.deps import Caller, Limit, Offset, RoleCheck, State, personal_read
from services.gateway.http.errors import COMMON_ERRORS
from services.gateway.http.paging import Carried, Cursor, cursor_page, paged_route, read_cursor
from services.gateway.http.routing import ApiRoute
from services.gateway.rollups import month_shown, no_data_rollup, rollup_shown, waiting_month
from services.gateway.schemas import (
    CellPeriodRead,
    CommitteeRollupRead,
    MeetingAttendanceRead,
    MeetingMinutesRead,
    MeetingRead,
    MeetingScoreRead,
    MeetingSummaryRead,
    MemberRead,
    MeRead,
    NotificationRead,
    Page,
    RankingRead,
    TaskRead,
    UnitRead,
    WeakestRead,
)
from shared.contracts import evaluation_rpc as evaluation
from shared.contracts import meetings_rpc as meetings
from shared.contracts import notifications_rpc as notifications
from shared.contracts.meetings_rpc import HELD_STATUSES, UnitReply
from shared.envelope import Timestamp, now
from shared.gates import ItemResult, apply_gates, band_of, document_gates
from shared.periods import (
    ReportPeriod,
    awaiting_meeting,
    is_half_year,
    is_running,
    period_contains,
    period_months,
    said_at,
)
from shared.plausible import meeting_begun, period_range_problem
from shared.refusals import Refusal, RefusalCode
from shared.rpc import Request, RpcError, ServiceUnavailable

router = APIRouter(prefix="/v1", responses=COMMON_ERRORS, route_class=ApiRoute)

IdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
ReportPeriodQuery = Annotated[
    ReportPeriod,
    Query(
        description='A month "2026-11", a quarter "2026-Q4", a half-year "2026-H1" (January–June) or "2026-H2" '
        '(July–December), or a year "2026"; any other spelling is refused (422 naming `query.period`). A half-year '
        "is computed from its two quarters and has no rating of its own (DOMAIN.md rates months, quarters and years): "
        "its roll-up's `by_rating` is null and `quarters` gives each quarter's ratings"
    ),
]
ReportPeriodFilter = Annotated[
    ReportPeriod | None,
    Query(
        description='A month "2026-11", a quarter "2026-Q4", a half-year "2026-H1" (January–June) or "2026-H2" '
        '(July–December), or a year "2026"; any other spelling is refused (422 naming `query.period`)'
    ),
]
OFFICERS = frozenset({Role.COMMITTEE_OFFICER})
ROSTER_READERS = frozenset({Role.SECRETARY, Role.COMMITTEE_OFFICER})
INBOX_OWNERS = frozenset({Role.MEMBER, Role.SECRETARY, Role.COMMITTEE_OFFICER})
READ_HISTORIES = RoleCheck(INBOX_OWNERS, "read attendance histories")
READ_INBOX = RoleCheck(INBOX_OWNERS, "read an inbox")


def readable_period(period: str | None, *, rated: bool = True) -> None:
    """RpcError `invalid` naming `period` (422; the API answers it as `query.period`, errors.query_field) for a
    `?period=` outside 2000-01 to two years ahead or, when it asks for ratings (`rated`), one not begun yet (after
    this month in Vietnam's time): such a period has no rating at all, never a page of Poor; the message names the
    latest period the read takes (shared.plausible.period_range_problem). None asks for no period. Every API read of
    `?period=` calls it; the web pages check the same rules first, to say them in Vietnamese (web.periods.checked)."""
    if period is None:
        return
    if problem := period_range_problem(period, now=now(), rated=rated):
        raise RpcError("invalid", problem, field="period")


async def _forward(state: State, request: Request[Any]) -> dict[str, Any]:
    """The owning service's reply to `request`, as data for the endpoint's response model (RpcError as it came)."""
    return (await state.rpc.call(request)).model_dump()


async def _cell(caller: Caller, state: State, cell_id: str) -> UnitReply:
    """The cell, when the caller may read it (404 otherwise, as for a cell that does not exist)."""
    return await authorize_unit(caller, cell_id, directory=state.directory, kind="cell")


async def _officers_committee(caller: Caller, state: State, committee_id: str) -> UnitReply:
    """The committee, when the caller is an officer above or at it (404 otherwise)."""
    return await authorize_unit(caller, committee_id, directory=state.directory, kind="committee", roles=OFFICERS)


async def _scored(state: State, request: Request[Any]) -> dict[str, Any] | None:
    """Evaluation's reply to a committee's roll-up or ranking `request`, or None when it has no data for the subtree
    up to the period's end (not_found naming `period`) or has not heard of the committee yet (not_found naming
    `committee_id`: its unit snapshot still on its way). The gateway has already found the committee in the
    caller's scope, so either is a committee without data yet, not a missing one (other errors as they came)."""
    try:
        return await _forward(state, request)
    except RpcError as exc:
        if exc.code == "not_found" and exc.field in ("period", "committee_id"):
            return None
        raise


async def committee_first_month(state: State, committee_id: str) -> str | None:
    """The committee's subtree's first month of data (`YYYY-MM`: its roll-up figures' `first_month`, read for this
    month by GetUnitRollups, without the weakest cells and late changes a full roll-up would read too); None without
    data or before evaluation has heard of it. Call it after the committee is authorized."""
    return await units_first_month(state, [committee_id])


async def province_first_month(state: State) -> str | None:
    """The whole province's first month of data (`YYYY-MM`): the earliest of its roots' (the units without a parent,
    ListUnits; units_first_month), what a re-score without `unit_id` spans; None without any data yet. Only for a
    caller who may read the whole province (an administrator)."""
    return await units_first_month(state, [unit.id for unit in await all_units_under(state, None)])


UNITS_PAGE = 1000
"""The units one ListUnits asks for when all_units_under reads a list whole."""


async def all_units_under(state: GatewayState, parent_id: str | None) -> list[UnitReply]:
    """Every child unit of `parent_id` (the roots for None) in id order, read UNITS_PAGE at a time by keyset
    (ListUnits `after`, shared.keyset): a unit added or changed between two pages neither skips nor repeats
    another."""
    units: list[UnitReply] = []
    after: list[str] | None = None
    while True:
        listed = await state.rpc.call(meetings.ListUnits(parent_id=parent_id, limit=UNITS_PAGE, after=after))
        units += listed.items
        if (after := listed.next_after) is None:
            return units


async def units_first_month(state: State, unit_ids: list[str]) -> str | None:
    """The earliest first month of data (`YYYY-MM`) of the subtrees of `unit_ids`: their roll-up figures'
    `first_month`, read for this month by GetUnitRollups (UNIT_ROLLUPS_MAX units a call); None when none has data or
    evaluation has heard of none of them (none given: None, no call)."""
    firsts: list[str] = []
    for start in range(0, len(unit_ids), evaluation.UNIT_ROLLUPS_MAX):
        chunk = unit_ids[start : start + evaluation.UNIT_ROLLUPS_MAX]
        reply = await state.rpc.call(evaluation.GetUnitRollups(unit_ids=chunk, period=f"{now():%Y-%m}"))
        firsts += [str(item.first_month) for item in reply.items if item.first_month is not None]
    return min(firsts, default=None)


def tree_state_of(reply: Mapping[str, Any]) -> dict[str, Any]:
    """`recalculating` and `pending_tree_changes` as evaluation's reply read off the org tree gave them
    (evaluation_rpc.TreeRefreshReply; false and 0 when it gave none)."""
    return {
        "recalculating": bool(reply.get("recalculating")),
        "pending_tree_changes": int(reply.get("pending_tree_changes") or 0),
    }


async def tree_state(state: GatewayState, committee_id: str) -> dict[str, Any]:
    """`recalculating` and `pending_tree_changes` (tree_state_of) when evaluation had nothing to answer with them (a
    committee without data yet: not_found, its cells perhaps still being moved in): asked of it with a GetUnitRollups
    of the committee for this month, which answers them with or without data (queries.tree_refresh_state)."""
    reply = await state.rpc.call(evaluation.GetUnitRollups(unit_ids=[committee_id], period=f"{now():%Y-%m}"))
    return tree_state_of(reply.model_dump())


async def _before_data(state: State, committee_id: str, period: str) -> None:
    """RpcError not_found naming `period` (404, `query.period`) when the committee has data but only from a month
    after the period's end (its roll-up's `first_month`, read for this month): a period before the unit's data is a
    404 on every route and page, as the cell's year before it existed; a committee without any data yet keeps its
    empty answer (`no_data`). Called only when evaluation had nothing for the period."""
    if period_months(period)[-1] >= f"{now():%Y-%m}":
        return
    refuse_before_first_month(period, await committee_first_month(state, committee_id))


@router.get("/me", response_model=MeRead, tags=["me"])
async def get_me(caller: Caller) -> MeRead:
    """The caller as the token describes them."""
    return MeRead(sub=caller.sub, role=caller.role, unit_id=caller.unit_id, person_id=caller.person_id)


# ---- cells -------------------------------------------------------------------------------------


@router.get("/cells/{cell_id}", response_model=UnitRead, tags=["cells"])
async def get_cell(cell_id: IdPath, caller: Caller, state: State) -> Any:
    """A cell in the caller's subtree."""
    return (await _cell(caller, state, cell_id)).model_dump()


class MembersQuery(Carried):
    """What a members cursor carries: the moment the first page listed the members at (None: today)."""

    at: Timestamp | None = None


class MeetingsQuery(Carried):
    """What a meetings cursor carries: the period the first page kept (None: every meeting)."""

    period: ReportPeriod | None = None


class TasksQuery(Carried):
    """What a tasks cursor carries: whether the first page kept the open tasks only."""

    open_only: bool = False


class UnitsQuery(Carried):
    """What a committee's units cursor carries: nothing but the committee, which its list name says."""


@paged_route(
    router,
    "/cells/{cell_id}/members",
    MemberRead,
    tags=["cells"],
    dependencies=[personal_read("members", subject_param="cell_id")],
)
async def list_cell_members(
    cell_id: IdPath,
    caller: Caller,
    state: State,
    limit: Limit = 50,
    offset: Offset = 0,
    at: Annotated[
        Timestamp | None,
        Query(
            description=(
                "List the members at this moment instead of today's (RFC 3339 with seconds and an offset, e.g. a "
                "meeting's start: those its roster must list, a member who left since included); a naive or "
                "malformed one is refused (422 naming `query.at`)"
            )
        ),
    ] = None,
    cursor: Cursor = None,
) -> Any:
    """The cell's members (secretaries and officers): today's, or with `at` (an aware moment) those of that moment,
    as a past meeting's roster lists them (DOMAIN.md "How to read it"); by name with `offset`, by id with `cursor`."""
    if cursor is None:
        return await cell_members_at(cell_id, caller, state, at=at, limit=limit, offset=offset)
    listed = f"cells/{cell_id}/members"
    position = read_cursor(
        state.secret, cursor, list_name=listed, carried=MembersQuery, given={"at": at}, offset=offset
    )
    await authorize_unit(caller, cell_id, directory=state.directory, kind="cell", roles=ROSTER_READERS)
    reply = await state.rpc.call(
        meetings.ListMembersAfter(
            cell_id=cell_id, after_id=(position.after or [""])[0], limit=limit, at=position.query.at
        )
    )
    after = None if reply.next_after is None else [reply.next_after]
    return cursor_page(state.secret, listed, reply.items, after=after, query=position.query, limit=limit)


async def cell_members_at(
    cell_id: str, caller: Principal, state: GatewayState, *, at: datetime | None, limit: int, offset: int
) -> dict[str, Any]:
    """The cell's members at the moment `at` (a meeting's start: those its roster lists), today's when None; the
    readers of list_cell_members only. The one path of the API's `?at=` and the web's record page."""
    await authorize_unit(caller, cell_id, directory=state.directory, kind="cell", roles=ROSTER_READERS)
    return await _forward(state, meetings.ListMembers(cell_id=cell_id, at=at, limit=limit, offset=offset))


def refuse_before_first_month(period: str, first_month: str | None) -> None:
    """RpcError not_found naming `period` when `period` (a month, quarter or year) ends before a unit's (a cell's, a
    committee's subtree's) first month of data (`YYYY-MM`; None: no data yet, nothing refused): the 404 its page
    answers for such a period, never an empty list (docs/architecture.md "Periods out of range")."""
    if first_month is not None and period_months(period)[-1] < first_month:
        raise RpcError(
            "not_found", f"period: {period} ends before the unit's first month of data, {first_month}", field="period"
        )


@paged_route(router, "/cells/{cell_id}/meetings", MeetingSummaryRead, tags=["cells"])
async def list_cell_meetings(
    cell_id: IdPath,
    caller: Caller,
    state: State,
    period: ReportPeriodFilter = None,
    limit: Limit = 50,
    offset: Offset = 0,
    cursor: Cursor = None,
) -> Any:
    """The cell's meetings, optionally those of one month, quarter, half-year or year (from 2000-01 to two years ahead:
    meetings planned ahead are listed); a period ending before the cell's first month of data is the 404 naming `period`
    that its ratings answer (docs/architecture.md "Periods out of range"). Evaluation is asked only when the period
    lists nothing, and unanswered leaves the period unchecked: a read listing a cell's meetings while evaluation is
    silent waits no timeout for it, one listing none at most one (none on a page whose render already found evaluation
    silent: availability.scores_or)."""
    name = f"cells/{cell_id}/meetings"
    position = None
    if cursor is not None:
        position = read_cursor(
            state.secret, cursor, list_name=name, carried=MeetingsQuery, given={"period": period}, offset=offset
        )
        period = position.query.period
    readable_period(period, rated=False)
    await _cell(caller, state, cell_id)
    after = None if position is None else position.after
    asked = meetings.ListMeetings(cell_id=cell_id, period=period, limit=limit, offset=offset, after=after)
    listed = await _forward(state, asked)
    if period and not offset and after is None and not listed.get("items"):
        periods = evaluation.GetCellPeriods(cell_id=cell_id, year=int(period[:4]))
        try:
            reply = await scores_or(lambda: state.rpc.call(periods), None)
        except ServiceUnavailable:
            reply = None  # the meetings are meetings' to list: evaluation's silence leaves the period unchecked
        if reply is not None:
            refuse_before_first_month(period, reply.first_month)
    if position is not None:
        following = listed["next_after"]
        return cursor_page(state.secret, name, listed["items"], after=following, query=position.query, limit=limit)
    return listed


@paged_route(router, "/cells/{cell_id}/tasks", TaskRead, tags=["cells"])
async def list_cell_tasks(
    cell_id: IdPath,
    caller: Caller,
    state: State,
    open_only: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
    cursor: Cursor = None,
) -> Any:
    """Tasks assigned at the cell's meetings, by due day, by `offset` or by `cursor` (paging.read_cursor)."""
    await _cell(caller, state, cell_id)
    if cursor is None:
        asked = meetings.ListTasks(cell_id=cell_id, open_only=open_only, limit=limit, offset=offset)
        return await _forward(state, asked)
    name = f"cells/{cell_id}/tasks"
    given = {"open_only": open_only or None}
    position = read_cursor(state.secret, cursor, list_name=name, carried=TasksQuery, given=given, offset=offset)
    only = position.query.open_only
    listed = await state.rpc.call(
        meetings.ListTasks(cell_id=cell_id, open_only=only, limit=limit, after=position.after)
    )
    return cursor_page(state.secret, name, listed.items, after=listed.next_after, query=position.query, limit=limit)


@router.get("/cells/{cell_id}/ratings", response_model=Page[CellPeriodRead], tags=["cells"])
async def list_cell_ratings(
    cell_id: IdPath,
    caller: Caller,
    state: State,
    period: ReportPeriodFilter = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The cell's ratings per month, quarter and year; `period` keeps those inside it (422 naming `period` when it has
    not begun or lies outside 2000-01 to two years ahead). A half-year `period` keeps its months and quarters and adds
    its own line last, computed by evaluation as a committee's half-year counts the cell (no rating: its quarters'
    in `quarter_ratings`). A month still waiting for the cell's regular meeting has no `rating` nor `score` yet, only
    `not_met_yet` (services/gateway/rollups.py)."""
    readable_period(period)
    await _cell(caller, state, cell_id)
    year = int(period[:4]) if period else None
    reply = await state.rpc.call(evaluation.GetCellPeriods(cell_id=cell_id, year=year))
    if period:
        refuse_before_first_month(period, reply.first_month)
    at = now()
    periods = [
        month_shown(item.model_dump(), now=at)
        for item in reply.periods
        if not period or period_contains(period, item.period)
    ]
    if period and is_half_year(period):
        periods.append(await cell_half_year(state, cell_id, period))
    return {"items": periods[offset : offset + limit], "total": len(periods), "limit": limit, "offset": offset}


async def cell_half_year(state: State, cell_id: str, period: str) -> dict[str, Any]:
    """The cell's half-year line (evaluation's GetCellHalfYear) as a ratings item. Call it after the cell is
    authorized."""
    return (await state.rpc.call(evaluation.GetCellHalfYear(cell_id=cell_id, period=period))).model_dump()


# ---- meetings ----------------------------------------------------------------------------------


@router.get(
    "/meetings/{meeting_id}",
    response_model=MeetingRead,
    tags=["meetings"],
    dependencies=[personal_read("meeting", subject_param="meeting_id")],
)
async def get_meeting(meeting_id: IdPath, caller: Caller, state: State) -> Any:
    """A meeting with its attendance, minutes, documents, assessments and tasks, and the facts other systems sent
    about it that wait for its secretary to record its attendance, minutes or a task (`waiting`, each naming the
    account its source is registered to)."""
    meeting = await authorize_meeting(caller, meeting_id, rpc=state.rpc, directory=state.directory)
    return meeting.model_dump() | {"waiting": await waiting_named(meeting, state.accounts)}


@router.get(
    "/meetings/{meeting_id}/attendance",
    response_model=MeetingAttendanceRead,
    tags=["meetings"],
    dependencies=[personal_read("attendance", subject_param="meeting_id")],
)
async def get_meeting_attendance(meeting_id: IdPath, caller: Caller, state: State) -> dict[str, Any]:
    """The meeting's roster."""
    meeting = await authorize_meeting(caller, meeting_id, rpc=state.rpc, directory=state.directory)
    attendance = meeting.attendance.model_dump() if meeting.attendance else None
    return {"meeting_id": meeting_id, "cell_id": meeting.cell_id, "attendance": attendance}


@router.get(
    "/meetings/{meeting_id}/minutes",
    response_model=MeetingMinutesRead,
    tags=["meetings"],
    dependencies=[personal_read("minutes", subject_param="meeting_id")],
)
async def get_meeting_minutes(meeting_id: IdPath, caller: Caller, state: State) -> dict[str, Any]:
    """The meeting's minutes, approval and documents."""
    meeting = await authorize_meeting(caller, meeting_id, rpc=state.rpc, directory=state.directory)
    return {
        "meeting_id": meeting_id,
        "cell_id": meeting.cell_id,
        "minutes": meeting.minutes,
        "approved_at": meeting.approved_at,
        "documents": meeting.documents,
    }


def begun(meeting: meetings.MeetingReply | dict[str, Any]) -> bool:
    """Whether a meeting (a reply or its dict) has begun, so is scored: shared.plausible.meeting_begun, the one rule
    evaluation scores by and the web pages show a score by (data.upcoming); a cancelled one has not (never scored)."""
    found = meeting if isinstance(meeting, dict) else meeting.model_dump()
    status = found.get("status")
    starts_at = found.get("starts_at")
    moment = datetime.fromisoformat(starts_at) if isinstance(starts_at, str) else starts_at
    recorded = found.get("minutes") is not None or status in HELD_STATUSES
    return meeting_begun(starts_at=moment, minutes_recorded=recorded, cancelled=status == "cancelled", now=now())


@router.get("/meetings/{meeting_id}/score", response_model=MeetingScoreRead, tags=["meetings"])
async def get_meeting_score(meeting_id: IdPath, caller: Caller, state: State) -> Any:
    """The meeting's score, rating and the explanation of every item (`begun` always true: only a meeting that has
    begun is scored); 404 saying why when there is none: not begun yet (reason_code meeting_not_started), not scored
    yet, or cancelled and so never scored (judged on meetings' status first, so a score not withdrawn yet is never
    answered)."""
    return await meeting_score(meeting_id, caller, state)


async def meeting_score(meeting_id: str, caller: Principal, state: GatewayState) -> Any:
    """get_meeting_score's answer (a dict with `begun`), RpcError not_found saying why there is none, each naming
    `meeting_id` (a trial's cancelled one named no field, unlike the not-begun one). Judged on
    meetings' state first, so a score evaluation has not withdrawn yet is never answered: a cancelled meeting is not
    scored (DOMAIN.md), nor one that has not begun (shared.plausible.meeting_begun: DOMAIN.md "How to read it,
    exactly", the start after any rescheduling, held once it has minutes), whatever evaluation still holds (a
    meeting moved ahead after its start passed unrecorded)."""
    meeting = await authorize_meeting(caller, meeting_id, rpc=state.rpc, directory=state.directory)
    if meeting.status == "cancelled":
        raise RpcError("not_found", f"meeting {meeting_id} was cancelled, so it is not scored", field="meeting_id")
    if not begun(meeting):
        raise RpcError(
            "not_found",
            f"meeting {meeting_id} has not begun (it is scheduled for {said_at(meeting.starts_at)}), so it is not"
            " scored yet"
            if meeting.starts_at is not None
            else f"meeting {meeting_id} has not begun, so it is not scored yet",
            field="meeting_id",
            refusal=Refusal(code=RefusalCode.MEETING_NOT_STARTED),
        )
    try:
        score = await _forward(state, evaluation.GetMeetingScore(meeting_id=meeting_id))
    except RpcError as exc:
        if exc.code != "not_found":
            raise
        raise RpcError("not_found", f"meeting {meeting_id} has no score yet", field="meeting_id") from None
    # the page's own wording (web.explain, one catalog for page and API); imported here: the web package imports this
    from services.gateway.web.explain import explain_line

    # a meeting recorded after it was held says its notice time as the secretary's declaration (explain.declared_notice)
    recorded = meeting.held_recorded_at
    criteria = [line | {"explanation": explain_line(line, recorded)} for line in score.get("criteria") or ()]
    return score | {"criteria": criteria, "begun": True, "gate": await score_gate(state, score)}


_frameworks: dict[tuple[str, str], dict[str, Any]] = {}


async def framework_document(state: GatewayState, framework_id: str, version: str) -> dict[str, Any]:
    """A framework version's document as evaluation answers it (criteria names, bands, gates), kept once read: a
    stored version does not change. RpcError as it came (not_found for an unknown one)."""
    key = (framework_id, version)
    if key not in _frameworks:
        _frameworks[key] = await _forward(state, evaluation.GetFramework(framework_id=framework_id, version=version))
    return _frameworks[key]


async def score_gate(state: GatewayState, score: dict[str, Any]) -> dict[str, Any] | None:
    """Whether a gate lowered the meeting's rating (DOMAIN.md: Good also needs full points on the gated items, else
    Fair), judged as evaluation judges it (shared.gates) from the score's lines and the gates of the framework that
    scored it: {`applied`, `items_short` (item codes, empty unless applied), `rating_by_points` (the band before the
    gates)}, for a provisional score too. None when that cannot be told: the framework not readable, or its gates
    not giving the rating evaluation answered."""
    reference = score.get("framework") or {}
    try:
        document = await framework_document(state, str(reference.get("id")), str(reference.get("version")))
        bands, gates = document_gates(document)
        lines = {
            str(line["code"]): ItemResult(line.get("points"), float(line["max"]), bool(line["applicable"]))
            for line in score.get("criteria") or ()
        }
        by_points = band_of(bands, float(score["score"])) if gates else str(score.get("rating"))
    except (RpcError, KeyError, TypeError, ValueError):
        return None
    outcome = apply_gates(by_points, gates, lines)
    if outcome.rating != score.get("rating"):
        return None
    return {"applied": outcome.applied, "items_short": list(outcome.items_short), "rating_by_points": by_points}


@router.get(
    "/members/{member_id}/history",
    tags=["cells"],
    response_model=dict[str, Any],
    dependencies=[Depends(READ_HISTORIES), personal_read("member_history", subject_param="member_id")],
)
async def get_member_history(member_id: IdPath, caller: Caller, state: State) -> Any:
    """A member's attendance history: the member themself, their secretary, or an officer above."""
    READ_HISTORIES.check(caller)
    with missing_as("member", member_id, field="member_id"):
        history = await state.rpc.call(meetings.GetMemberHistory(member_id=member_id))
    if caller.role is Role.MEMBER and caller.person_id != member_id:
        raise not_found("member", member_id, field="member_id")
    with missing_as("member", member_id, field="member_id"):
        await _cell(caller, state, str(history.cell_id))
    return history.model_dump()


# ---- committees --------------------------------------------------------------------------------


@router.get("/committees/{committee_id}", response_model=UnitRead, tags=["committees"])
async def get_committee(committee_id: IdPath, caller: Caller, state: State) -> Any:
    """A committee in the officer's subtree."""
    return (await _officers_committee(caller, state, committee_id)).model_dump()


@paged_route(router, "/committees/{committee_id}/units", UnitRead, tags=["committees"])
async def list_committee_units(
    committee_id: IdPath, caller: Caller, state: State, limit: Limit = 50, offset: Offset = 0, cursor: Cursor = None
) -> Any:
    """The committee's direct children (committees and cells) by id, by `offset` or by `cursor` (paging.read_cursor)."""
    await _officers_committee(caller, state, committee_id)
    if cursor is None:
        return await _forward(state, meetings.ListUnits(parent_id=committee_id, limit=limit, offset=offset))
    name = f"committees/{committee_id}/units"
    position = read_cursor(state.secret, cursor, list_name=name, carried=UnitsQuery, given={}, offset=offset)
    listed = await state.rpc.call(meetings.ListUnits(parent_id=committee_id, limit=limit, after=position.after))
    return cursor_page(state.secret, name, listed.items, after=listed.next_after, query=position.query, limit=limit)


@router.get("/committees/{committee_id}/rollup", response_model=CommitteeRollupRead, tags=["committees"])
async def get_committee_rollup(
    committee_id: IdPath, period: ReportPeriodQuery, caller: Caller, state: State, late_changes_offset: Offset = 0
) -> Any:
    """Ratings, regularity, attendance, speaking, thematic coverage and trend of the subtree; `in_progress` while
    the period has not ended, and in the month in progress its cells not met yet apart (`not_met_yet`). A committee
    without data up to the period's end (just loaded, or a period before its first data) answers `no_data` true
    with every count 0 and every rate null (rollups.no_data_rollup), as its page says "Chưa có dữ liệu". Its
    `late_changes` are a page of them from `late_changes_offset` (`late_changes_total` counts them all)."""
    readable_period(period)
    await _officers_committee(caller, state, committee_id)
    asked = evaluation.GetCommitteeRollup(
        committee_id=committee_id, period=period, late_changes_offset=late_changes_offset
    )
    rollup = await _scored(state, asked)
    at = now()
    if rollup is None:
        await _before_data(state, committee_id, period)
        return no_data_rollup(committee_id, period, in_progress=is_running(period, at)) | await tree_state(
            state, committee_id
        )
    shown = rollup_shown(rollup | {"in_progress": is_running(period, at)}, now=at)
    if waiting_month(shown) and rollup.get("weakest"):
        # the raw list is filled with the cells not met yet (Poor at 0 there): the weakest of those that met instead
        shown["weakest"] = await _weakest_items(state, committee_id, period, limit=len(rollup["weakest"]))
    return shown


async def _weakest_items(state: State, committee_id: str, period: str, *, limit: int) -> list[dict[str, Any]]:
    """The subtree's cells rated Poor or Average, worst first; in a month still waiting for meetings
    (shared.periods.awaiting_meeting) only those that have met."""
    return (await _weakest_page(state, committee_id, period, limit=limit))["items"]


async def _weakest_page(state: State, committee_id: str, period: str, *, limit: int) -> dict[str, Any]:
    """_weakest_items as `items`, with the tree's state (tree_state_of; tree_state for a committee without data)."""
    at = now()
    waiting = awaiting_meeting(period, at)
    weakest = evaluation.GetCommitteeRanking(
        committee_id=committee_id, period=period, order="asc", limit=limit, offset=0, weak_only=True, met_only=waiting
    )
    page = await _scored(state, weakest)
    if page is None:
        return {"items": [], **await tree_state(state, committee_id)}
    return {"items": [month_shown(item, period=period, now=at) for item in page["items"]], **tree_state_of(page)}


@router.get("/committees/{committee_id}/ranking", response_model=RankingRead, tags=["committees"])
async def get_committee_ranking(
    committee_id: IdPath,
    period: ReportPeriodQuery,
    caller: Caller,
    state: State,
    order: Literal["asc", "desc"] = "desc",
    limit: Limit = 50,
    offset: Offset = 0,
) -> Any:
    """The subtree's cells ranked by score for the period (in the month in progress a cell not met yet is
    `not_met_yet`, without score or rating); an empty page for a committee without data up to the period's end,
    as its roll-up answers `no_data`; `recalculating` and `pending_tree_changes` as the roll-up's."""
    readable_period(period)
    await _officers_committee(caller, state, committee_id)
    ranking = evaluation.GetCommitteeRanking(
        committee_id=committee_id, period=period, order=order, limit=limit, offset=offset
    )
    found = await _scored(state, ranking)
    if found is None:
        await _before_data(state, committee_id, period)
        return {"items": [], "total": 0, "limit": limit, "offset": offset, **await tree_state(state, committee_id)}
    at = now()
    return found | {"items": [month_shown(item, period=period, now=at) for item in found["items"]]}


@router.get("/committees/{committee_id}/weakest", response_model=WeakestRead, tags=["committees"])
async def get_committee_weakest(
    committee_id: IdPath,
    period: ReportPeriodQuery,
    caller: Caller,
    state: State,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> dict[str, Any]:
    """The weakest cells of the subtree for the period: only those rated Poor or Average (DOMAIN.md "Alerts"),
    worst rating first, then lowest score; a Good or Fair cell is never listed, nor in the month in progress a cell
    that has not met yet; in a half-year (no rating of its own) those rated Poor or Average in one of its quarters,
    most quarters Poor first, as its roll-up's `weakest`; none for a committee without data up to the period's end;
    `recalculating` and `pending_tree_changes` as the roll-up's."""
    readable_period(period)
    await _officers_committee(caller, state, committee_id)
    page = await _weakest_page(state, committee_id, period, limit=limit)
    if not page["items"]:
        await _before_data(state, committee_id, period)
    return {"committee_id": committee_id, "period": period, **page}


# ---- inboxes -----------------------------------------------------------------------------------


def _person(caller: Caller) -> str:
    READ_INBOX.check(caller)
    if not caller.person_id:
        raise forbidden(caller.role, "read a personal inbox without a person_id in the token")
    return caller.person_id


@paged_route(router, "/me/inbox", NotificationRead, tags=["inbox"], dependencies=[Depends(READ_INBOX)])
async def get_my_inbox(
    caller: Caller,
    state: State,
    unread_only: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
    cursor: Cursor = None,
) -> Any:
    """The caller's own notifications, newest first, by `offset` or by `cursor` (paging.read_cursor)."""
    return await _inbox(state, _person(caller), unread_only=unread_only, limit=limit, offset=offset, cursor=cursor)


@router.post("/me/inbox/{notification_id}/read", response_model=NotificationRead, tags=["inbox"])
async def mark_my_notification_read(notification_id: IdPath, caller: Caller, state: State) -> Any:
    """Mark one of the caller's notifications read."""
    recipient = _person(caller)
    return await _mark_read(state, recipient, notification_id)


@paged_route(router, "/committees/{committee_id}/inbox", NotificationRead, tags=["inbox"])
async def get_committee_inbox(
    committee_id: IdPath,
    caller: Caller,
    state: State,
    unread_only: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
    cursor: Cursor = None,
) -> Any:
    """Alerts addressed to a committee in the officer's subtree, newest first, by `offset` or by `cursor`."""
    await _officers_committee(caller, state, committee_id)
    return await _inbox(state, committee_id, unread_only=unread_only, limit=limit, offset=offset, cursor=cursor)


@router.post("/committees/{committee_id}/inbox/{notification_id}/read", response_model=NotificationRead, tags=["inbox"])
async def mark_committee_notification_read(
    committee_id: IdPath, notification_id: IdPath, caller: Caller, state: State
) -> Any:
    """Mark one of the committee's notifications read."""
    await _officers_committee(caller, state, committee_id)
    return await _mark_read(state, committee_id, notification_id)


class InboxQuery(Carried):
    """What an inbox cursor carries: whether the first page kept the unread notifications only."""

    unread_only: bool = False


async def _inbox(
    state: State, recipient_id: str, *, unread_only: bool, limit: int, offset: int, cursor: str | None
) -> dict[str, Any]:
    """A page of one recipient's notifications: an offset page, or with `cursor` (not None) a cursor page."""
    if cursor is None:
        inbox = notifications.GetInbox(recipient_id=recipient_id, unread_only=unread_only, limit=limit, offset=offset)
        return await _forward(state, inbox)
    name = f"inbox/{recipient_id}"
    given = {"unread_only": unread_only or None}
    position = read_cursor(state.secret, cursor, list_name=name, carried=InboxQuery, given=given, offset=offset)
    only = position.query.unread_only
    asked = notifications.GetInbox(recipient_id=recipient_id, unread_only=only, limit=limit, after=position.after)
    listed = await state.rpc.call(asked)
    return cursor_page(state.secret, name, listed.items, after=listed.next_after, query=position.query, limit=limit)


async def _mark_read(state: State, recipient_id: str, notification_id: str) -> Any:
    try:
        uuid.UUID(notification_id)
    except ValueError:
        # notification ids are UUIDs: any other text names nothing (404, not the service's failure)
        raise not_found("notification", notification_id, field="notification_id") from None
    try:
        return await _forward(state, notifications.MarkRead(recipient_id=recipient_id, notification_id=notification_id))
    except RpcError as exc:
        if exc.code in ("not_found", "forbidden"):
            raise not_found("notification", notification_id, field="notification_id") from None
        raise
