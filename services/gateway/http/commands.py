"""The secretary's commands: each becomes one CloudEvent sent through meetings' `ingest`."""

import hashlib
import hmac
import json
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Header, Path, Request, status
from pydantic import BaseModel

from services.gateway.auth import Principal, Role
from services.gateway.handlers import (
    authorize_meeting,
    command_data,
    followed_cells,
    forbidden,
    not_found,
    send_command,
)
from services.gateway.http.deps import Caller, RoleCheck, State
from services.gateway.http.errors import COMMON_ERRORS, WRITE_ERRORS, ApiError
from services.gateway.http.observability import correlation_id_of
from services.gateway.http.routing import ApiRoute
from services.gateway.repository import first_sent_at, release_idempotency_key, use_idempotency_key
from services.gateway.schemas import (
    AssessmentCreate,
    AttendanceCreate,
    CommandRead,
    DocumentsCreate,
    MeetingCancelCreate,
    MeetingRescheduleCreate,
    MeetingScheduleCreate,
    MinutesApprovalCreate,
    MinutesCreate,
    TaskCompletionCreate,
)
from shared.contracts import meetings as contract
from shared.contracts.meetings import AssessorRole
from shared.contracts.meetings_rpc import (
    GetHeldEvent,
    GetMeeting,
    GetOpenRejection,
    ListMeetings,
    MeetingSummaryReply,
)
from shared.envelope import GATEWAY_SOURCE, HELD_EXTENSION, SAME_TIME_EXTENSION, now
from shared.logs import get_logger
from shared.periods import VIETNAM_TZ, month_of, said_at
from shared.plausible import SAME_START_WINDOW, already_past
from shared.reading import EXTENSION_VALUE
from shared.refusals import Refusal, RefusalCode, refusal_code
from shared.rpc import RpcError, ServiceUnavailable

log = get_logger(__name__)
router = APIRouter(prefix="/v1", tags=["commands"], responses={**COMMON_ERRORS, **WRITE_ERRORS}, route_class=ApiRoute)

IdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
SECRETARY = frozenset({Role.SECRETARY})
ACCEPTED = status.HTTP_202_ACCEPTED
CORRELATION_HEADER = "X-Correlation-Id"
MEETING_PATH = "/meetings/{meeting_id}"
ASSESSORS = {
    Role.SECRETARY: {AssessorRole.CELL_COMMITTEE, AssessorRole.MEMBERS_VOTE},
    Role.COMMITTEE_OFFICER: {AssessorRole.UPPER_MONITOR},
}
"""Who assesses a meeting, and as which assessor."""
SCHEDULE = RoleCheck(SECRETARY, "schedule meetings")
RESCHEDULE = RoleCheck(SECRETARY, "reschedule meetings")
CANCEL = RoleCheck(SECRETARY, "cancel meetings")
PUBLISH = RoleCheck(SECRETARY, "publish documents")
ATTENDANCE = RoleCheck(SECRETARY, "record attendance")
MINUTES = RoleCheck(SECRETARY, "submit minutes")
APPROVAL = RoleCheck(SECRETARY, "approve minutes")
ASSESS = RoleCheck(ASSESSORS, "assess meetings")
COMPLETE = RoleCheck(SECRETARY, "complete tasks")
"""Each command's role, checked before its body is validated (the route's dependency) and again by the endpoint."""


F = TypeVar("F", bound=Callable[..., Any])
"""An endpoint, returned as it is by the route decorator."""

Stamps = Mapping[str, Callable[[datetime], str]]
"""The fields a command stamps with the moment it is sent when the body leaves them out, each written from it."""


async def _send(
    request: Request,
    state: State,
    caller: Principal,
    event_type: str,
    data: dict[str, Any],
    subject: str | None = None,
    *,
    stamps: Stamps | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> CommandRead:
    subject = subject or str(data["meeting_id"])
    # the id is what the person asked for, not the moments stamped below (an extension is asked for too)
    content = [data, dict(extensions)] if extensions else data
    event_id = resubmission_event_id(request, caller, event_type=event_type, subject=subject, content=content)
    keyed = None if event_id is not None else await keyed_command(request, state, caller, event_type, subject, content)
    if keyed is not None:
        event_id = keyed.event_id
    try:
        if event_id is not None and (keyed is None or not keyed.first):  # a key's first request was never held
            await refuse_after_wait_ran_out(state, event_id)
        missing = {field: write for field, write in (stamps or {}).items() if field not in data}
        if missing:
            at = keyed.sent_at if keyed is not None else await sending_moment(state, event_id)
            data = {**data, **{field: write(at) for field, write in missing.items()}}
        result = await _send_once(request, state, caller, event_type, data, subject, event_id, extensions, keyed)
    except (RpcError, ApiError) as exc:
        if keyed is not None and not isinstance(exc, ServiceUnavailable):
            # refused (by meetings, or as another request under a key meetings holds): nothing of this request is
            # recorded under the key, which may carry the request corrected
            await release_idempotency_key(state.pool, sub=caller.sub, key=keyed.key, fingerprint=keyed.fingerprint)
        raise
    if result["outcome"] == "duplicate" and event_id is not None:
        result = await still_held(state, result)
    request.state.audit_detail = {
        "event_id": result["event_id"],
        "type": event_type,
        "subject": subject,
        **({"idempotency_key": keyed.key} if keyed is not None else {}),
    }
    log.info("command_sent", event_id=result["event_id"], event_type=event_type, subject=subject, keyed=bool(keyed))
    return CommandRead.model_validate(result)


async def _send_once(
    request: Request,
    state: State,
    caller: Principal,
    event_type: str,
    data: dict[str, Any],
    subject: str,
    event_id: str | None,
    extensions: Mapping[str, Any] | None,
    keyed: "KeyedCommand | None",
) -> dict[str, Any]:
    """The command sent to meetings: its result (accepted, duplicate, held); an `id_reused` refusal of a web form's
    command is its duplicate, of a keyed one the key's reuse (KEY_REUSED)."""
    try:
        return await send_command(
            rpc=state.rpc,
            principal=caller,
            event_type=event_type,
            model=contract.TYPES[event_type],
            data=data,
            subject=subject,
            correlation_id=correlation_header(request) or correlation_id_of(request),
            event_id=event_id,
            extensions=extensions,
        )
    except RpcError as exc:
        if event_id is None or exc.refusal is None or exc.refusal.code != RefusalCode.ID_REUSED:
            raise
        if keyed is not None:
            # meetings holds another request's event under the key's id: the key was used longer ago than the
            # gateway keeps keys (CHIBO_IDEMPOTENCY_KEY_HOURS), for a request other than this one
            raise key_reused(state, event_id, purged=True) from None
        # the same form with other content under its id: only a stamped moment can differ, and sending_moment keeps
        # the first one for as long as the form's session lives, so this is a resend after that; the person's form
        # was recorded by its first sending
        log.warning("command_resent_with_new_moment", event_id=event_id, event_type=event_type, subject=subject)
        return {"event_id": event_id, "type": event_type, "subject": subject, "outcome": "duplicate"}


IDEMPOTENCY_HEADER = "Idempotency-Key"
"""The request header (IETF draft "The Idempotency-Key HTTP Header Field") that makes a command safe to send again:
the same key from the same account is the same event (answered `duplicate` once recorded)."""

KEY_MAX_LENGTH = 255
"""The longest Idempotency-Key taken, in characters (a UUID is 36)."""

KEY_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:chibo:gateway:idempotency-key")
"""The UUIDv5 namespace of the event ids derived from an account and its Idempotency-Key."""


def idempotency_key(request: Request) -> str | None:
    """The request's Idempotency-Key: 1 to KEY_MAX_LENGTH printable ASCII characters (U+0020-U+007E), bare or as the
    draft's quoted string (`"8e03978e-..."`, the quotes not part of it); None without the header; 400 naming the
    header when it is given twice or breaks these bounds (its value is never repeated back)."""
    values = request.headers.getlist(IDEMPOTENCY_HEADER)
    if not values:
        return None
    if len(values) > 1:
        raise ApiError(
            400, "bad_request", f"{IDEMPOTENCY_HEADER}: given {len(values)} times; send one", field=IDEMPOTENCY_HEADER
        )
    value = values[0]
    key = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if 1 <= len(key) <= KEY_MAX_LENGTH and all(" " <= char <= "~" for char in key):
        return key
    said = "empty" if not key else f"{min(len(key), 10**6)} characters"
    if key and not all(" " <= char <= "~" for char in key):
        said += ", not all of them printable ASCII"
    raise ApiError(
        400,
        "bad_request",
        f"{IDEMPOTENCY_HEADER}: 1 to {KEY_MAX_LENGTH} printable ASCII characters (U+0020-U+007E), such as a UUID"
        f" (got {said})",
        field=IDEMPOTENCY_HEADER,
    )


async def check_idempotency_key(
    request: Request,
    key: Annotated[
        str | None,
        Header(
            alias=IDEMPOTENCY_HEADER,
            description=(
                'Makes the command safe to send again (IETF draft "The Idempotency-Key HTTP Header Field"): the same'
                " key from the same account is the same event, answered with its event id and `outcome` `duplicate`"
                " once recorded; the same key with another request is a 422 naming this header. 1 to 255 printable"
                " ASCII characters, such as a UUID; kept CHIBO_IDEMPOTENCY_KEY_HOURS (24) at least."
            ),
        ),
    ] = None,
) -> None:
    """The route dependency (after the role's): a malformed Idempotency-Key is refused before the body is read."""
    idempotency_key(request)


IDEMPOTENT = Depends(check_idempotency_key)


@dataclass(frozen=True, slots=True)
class KeyedCommand:
    """A command sent with an Idempotency-Key: the key, what the request asked (`fingerprint`), the event id derived
    from the account and the key, and the moment the key's first request was sent (what the command stamps)."""

    key: str
    fingerprint: str
    event_id: str
    sent_at: datetime
    first: bool
    """Whether this is the key's first request (none sent before it)."""


def keyed_event_id(caller: Principal, key: str) -> str:
    """The event id of the caller's command sent with `key`: a UUIDv5 of the account's subject and the key, so the
    same key from the same account is the same event and from another account another one."""
    return str(uuid.uuid5(KEY_NAMESPACE, json.dumps([caller.sub, key])))


def request_fingerprint(event_type: str, subject: str, content: Any) -> str:
    """What a command asks, as a hex SHA-256: its type, subject and content (the data and extensions it was sent
    with, not the moments it stamps), so two requests asking the same thing match whatever their JSON's spacing."""
    said = json.dumps([event_type, subject, content], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(said.encode()).hexdigest()


async def keyed_command(
    request: Request, state: State, caller: Principal, event_type: str, subject: str, content: Any
) -> KeyedCommand | None:
    """The command's key when it carries an Idempotency-Key (None otherwise): its first request's event id and
    moment; 422 naming the header (KEY_REUSED) when the account's key was first sent with another request."""
    key = idempotency_key(request)
    if key is None:
        return None
    fingerprint = request_fingerprint(event_type, subject, content)
    used = await use_idempotency_key(
        state.pool,
        sub=caller.sub,
        key=key,
        fingerprint=fingerprint,
        event_id=keyed_event_id(caller, key),
        at=now(),
        keep=timedelta(hours=state.settings.idempotency_key_hours),
    )
    if used.fingerprint != fingerprint:
        raise key_reused(state, used.event_id)
    if not used.first:
        log.info("command_resent_with_key", event_id=used.event_id, event_type=event_type, subject=subject)
    return KeyedCommand(key, fingerprint, used.event_id, used.sent_at.astimezone(VIETNAM_TZ), used.first)


KEY_REUSED = "idempotency_key_reused"
"""The error code of an Idempotency-Key sent again with another request."""


def key_reused(state: State, event_id: str, *, purged: bool = False) -> ApiError:
    """422 naming the Idempotency-Key header: the account sent it first with another request (event `event_id`);
    `purged`: meetings holds that event with other content, the key's row being older than the gateway keeps."""
    hours = f"{state.settings.idempotency_key_hours:g} hours"
    said = (
        f"this key's event ({event_id}) is stored with other content: the key was used more than {hours} ago, for"
        " another request or one stamped at another moment"
        if purged
        else f"this key was already used by this account for another request (event {event_id}); send the same"
        f" request to resend that one (keys are kept {hours} at least)"
    )
    return ApiError(
        422, KEY_REUSED, f"{IDEMPOTENCY_HEADER}: {said}; send a new key for a new request", field=IDEMPOTENCY_HEADER
    )


def keyed_meeting_id(state: State, caller: Principal, key: str) -> str:
    """The id of a meeting scheduled without one under an Idempotency-Key: GENERATED_MEETING_ID and 20 hex digits of
    an HMAC (the gateway's signing secret) of the account and the key, so a resend schedules the same meeting and
    the id is as unguessable as a random one."""
    said = json.dumps(["meeting", caller.sub, key]).encode()
    return f"{GENERATED_MEETING_ID}{hmac.new(state.secret.encode(), said, hashlib.sha256).hexdigest()[:20]}"


async def sending_moment(state: State, event_id: str | None) -> datetime:
    """The moment a command stamps (published_at, approved_at, a task's completion day): now, or for a web form's
    command the moment that form was first sent, so the same form sent again is the same event in content too and
    meetings answers it as a duplicate (a new moment under the same id is an `id_reused` rejection)."""
    if event_id is None:
        return now()
    keep = timedelta(hours=state.settings.web_session_hours)
    return (await first_sent_at(state.pool, event_id=event_id, at=now(), keep=keep)).astimezone(VIETNAM_TZ)


async def refuse_after_wait_ran_out(state: State, event_id: str) -> None:
    """A web form sent again whose first sending was held and refused when its wait ran out (an open HOLD_EXPIRED
    rejection of the same event): it was not recorded, and sending the same event again would only start another
    wait, so it is answered `invalid` with that refusal (naming the field the hold named) and not sent; a form opened
    anew is another event."""
    try:
        rejection = await state.rpc.call(GetOpenRejection(source=GATEWAY_SOURCE, event_id=event_id))
    except RpcError as exc:
        if exc.code != "not_found":
            raise
        return
    if rejection.refusal is None or rejection.refusal.code != RefusalCode.HOLD_EXPIRED:
        return  # refused by another rule: judged again as it comes
    log.info("command_resent_after_hold_expired", event_id=event_id, field=rejection.field)
    raise RpcError(
        "invalid",
        f"{rejection.field or 'form'}: held until the hold time ran out, then refused; not recorded",
        field=rejection.field,
        refusal=rejection.refusal,
    )


async def still_held(state: State, result: dict[str, Any]) -> dict[str, Any]:
    """A web form's command answered as a duplicate: held, with why and what for, when its first sending is still
    held (the second answer says what the first said); the duplicate otherwise (recorded, or released to be)."""
    try:
        held = await state.rpc.call(GetHeldEvent(source=GATEWAY_SOURCE, event_id=result["event_id"]))
    except RpcError as exc:
        if exc.code != "not_found":
            raise
        return result
    log.info("command_resent_while_held", event_id=held.event_id, waiting_for=held.waiting_for)
    return {
        **result,
        "outcome": "held",
        "reason": held.answer or held.reason,  # the stored reason may say where an id outside the caller's scope lives
        "field": held.field,
        "waiting_for": held.waiting_for,
        "reason_code": refusal_code(held.refusal),
    }


FORM_KEY = "form_key"
"""The request state's attribute the web app sets to the submitted form's one-time key (see resubmission_event_id)."""


def resubmission_event_id(
    request: Request, caller: Principal, *, event_type: str, subject: str, content: Any
) -> str | None:
    """The command's event id when it comes from a web form carrying a one-time key: derived from the caller, the key,
    the type, the subject and what the person asked for (`content`: not the moments the command stamps itself), so
    the same form sent twice (a double click, a browser's resend) is the same event, which meetings answers as a
    duplicate that changes nothing; None (a new id) otherwise. The re-score form's job id is derived alike."""
    key = getattr(request.state, FORM_KEY, None)
    if not key:
        return None
    said = json.dumps([caller.sub, key, event_type, subject, content], sort_keys=True, ensure_ascii=False, default=str)
    return "web-" + hashlib.sha256(said.encode()).hexdigest()[:40]


def correlation_header(request: Request) -> str | None:
    """The caller's X-Correlation-Id, when it follows the extension syntax; 400 naming the header otherwise."""
    value = request.headers.get(CORRELATION_HEADER)
    if value is None:
        return None
    if not EXTENSION_VALUE.match(value):
        raise ApiError(
            400,
            "bad_request",
            f"{CORRELATION_HEADER}: at most 128 characters of A-Za-z0-9._:- (got {min(len(value), 10**6)} characters)",
            field=CORRELATION_HEADER,
        )
    return value


def _command_route(method: str, path: str, rule: RoleCheck, **options: Any) -> Callable[[F], F]:
    """The route of a command: answered 202 with a CommandRead, the role checked before the body (`rule`) and the
    Idempotency-Key checked as it is read; `options` as FastAPI takes them (a summary)."""
    return router.api_route(
        path,
        methods=[method],
        status_code=ACCEPTED,
        response_model=CommandRead,
        dependencies=[Depends(rule), IDEMPOTENT],
        **options,
    )


async def _own_meeting(state: State, caller: Principal, meeting_id: str, *, rule: RoleCheck) -> None:
    """The secretary's own meeting; 403 naming the rule's action for another role, 404 for another cell's meeting."""
    await authorize_meeting(
        caller, meeting_id, rpc=state.rpc, directory=state.directory, roles=rule.roles, action=rule.action
    )


async def _meeting_command(
    request: Request,
    state: State,
    caller: Principal,
    event_type: str,
    body: BaseModel,
    *,
    meeting_id: str,
    rule: RoleCheck,
    stamps: Stamps | None = None,
) -> CommandRead:
    """A secretary's command on a meeting of their own cell: the body's fields and the meeting id as data, with
    `stamps` filling what the body leaves out; another role is refused naming the rule's action."""
    await _own_meeting(state, caller, meeting_id, rule=rule)
    data = command_data(body, meeting_id=meeting_id)
    return await _send(request, state, caller, event_type, data, stamps=stamps)


async def _not_another_cells_meeting(state: State, cell_id: str, meeting_id: str) -> None:
    """A meeting id named in the body must be new or the cell's own: another cell's meeting is the plain 404 of a
    meeting that does not exist (handlers.not_found, the same body as a command on an unknown meeting id), never a
    wording of its own that would tell a secretary the id is taken elsewhere (issue 11, fault 1; a fresh-user
    trial; meetings also refuses a meeting.scheduled.v1 that would move a meeting)."""
    try:
        existing = (await state.rpc.call(GetMeeting(meeting_id=meeting_id))).model_dump()
    except RpcError as exc:
        if exc.code == "not_found":
            return
        raise
    if existing.get("cell_id") != cell_id:
        raise not_found("meeting", meeting_id, field="meeting_id")


ID_SEPARATORS = frozenset("-._:")
"""The characters of the id syntax (CONTRACT.md) that part an id's words: where a unit's id ends inside a meeting id
that its feeds name after it (`demo-cb-cong-an-2027-01` after `demo-cb-cong-an`)."""

GENERATED_MEETING_ID = "mtg-"
"""How the id of a meeting scheduled without one begins (`schedule_meeting`: `mtg-` and 32 hex digits)."""

GENERATED_SHAPE = re.compile(r"mtg-([0-9a-f]{16})([0-9a-f]{16})")
"""An id the gateway generates (generated_meeting_id): `mtg-`, 16 random hex digits and the first 16 hex digits of
their HMAC (generated_mac)."""


def generated_mac(secret: str, cell_id: str, nonce: str) -> str:
    """The first 16 hex digits of HMAC-SHA256 under the gateway's signing secret (`state.secret`: CHIBO_JWT_SECRET or
    the one kept in the gateway schema) of the cell's id and a generated id's random part."""
    said = json.dumps(["generated-meeting-id", cell_id, nonce]).encode()
    return hmac.new(secret.encode(), said, hashlib.sha256).hexdigest()[:16]


def generated_meeting_id(secret: str, cell_id: str) -> str:
    """A new meeting id of the gateway's own for the cell: GENERATED_MEETING_ID, 16 random hex digits and their MAC
    (generated_mac), so that only the gateway makes one a secretary may send back (GENERATED_SHAPE)."""
    nonce = secrets.token_hex(8)
    return f"{GENERATED_MEETING_ID}{nonce}{generated_mac(secret, cell_id, nonce)}"


def generated_for_the_cell(secret: str, cell_id: str, meeting_id: str) -> bool:
    """Whether `meeting_id` is one the gateway generated for the cell (generated_meeting_id: its MAC checks out); a
    guessable id of the same shape (`mtg-000…`, trial 25 #2) or one generated for another cell is not."""
    shape = GENERATED_SHAPE.fullmatch(meeting_id)
    if shape is None:
        return False
    nonce, mac = shape.groups()
    return hmac.compare_digest(mac, generated_mac(secret, cell_id, nonce))


def named_after_the_cell(cell_id: str, meeting_id: str) -> bool:
    """Whether `meeting_id` begins with the cell's own id and a separator (ID_SEPARATORS: `demo-cb-thon-1-2026-12b`),
    judged on the two ids alone."""
    return (
        len(meeting_id) > len(cell_id) + 1
        and meeting_id.startswith(cell_id)
        and meeting_id[len(cell_id)] in ID_SEPARATORS
    )


def longer_unit_starts(cell_id: str, meeting_id: str) -> list[str]:
    """The starts of a meeting id named after the cell that are longer than the cell's id and end before a separator
    (`demo-cb-thon-1-a` in `demo-cb-thon-1-a-2027-01` of `demo-cb-thon-1`): where another unit's naming would begin."""
    return [meeting_id[:end] for end in range(len(cell_id) + 1, len(meeting_id)) if meeting_id[end] in ID_SEPARATORS]


async def chosen_by_the_cell(state: State, cell_id: str, meeting_id: str) -> bool:
    """Whether a meeting id a secretary of `cell_id` chooses is the cell's to take: one the gateway generated for the
    cell (generated_for_the_cell: a form's id sent back), or one named after the cell (named_after_the_cell) whose
    longest start that is a unit's id (any unit, in or out of the caller's scope: state.directory, every start asked
    in one call) is the cell's own, so `demo-cb-thon-1-a-2027-01` is `demo-cb-thon-1-a`'s and not its parent's (trial
    25 #1). Never asks which meetings exist; the units' ids only (DOMAIN.md has them in every feed and export)."""
    if generated_for_the_cell(state.secret, cell_id, meeting_id):
        return True
    if not named_after_the_cell(cell_id, meeting_id):
        return False
    starts = longer_unit_starts(cell_id, meeting_id)
    return not starts or not await state.directory.known(starts)


async def not_the_cells_meeting_id(state: State, cell_id: str, meeting_id: str) -> None:
    """A meeting id a secretary chooses is the cell's to take (`chosen_by_the_cell`), else 422 naming `meeting_id`
    (RefusalCode.MEETING_ID_NOT_CELLS). CONTRACT.md makes meeting ids global and free-form, and the member database
    and the handbook name a cell's meetings after the cell: a secretary of one cell who took
    `demo-cb-cong-an-2027-01` left that cell's genuine feed event refused as another cell's meeting (trial 21 #4).
    Every refusal has the same words but for the ids, whatever the id begins with and whatever exists: it tells at
    most that some unit's id begins the chosen one (docs/security.md), never anything of meetings."""
    if await chosen_by_the_cell(state, cell_id, meeting_id):
        return
    raise RpcError(
        "invalid",
        f"meeting_id: a chosen meeting id begins with this cell's id ({cell_id}-…) or is one the gateway generated"
        " for this cell (as a form offers one); leave it out to have one generated",
        field="meeting_id",
        refusal=Refusal(code=RefusalCode.MEETING_ID_NOT_CELLS),
    )


@_command_route("POST", "/cells/{cell_id}/meetings", SCHEDULE, summary="Schedule")
async def schedule_meeting(
    cell_id: IdPath, body: MeetingScheduleCreate, request: Request, caller: Caller, state: State
) -> CommandRead:
    """Schedule a meeting of the secretary's own cell (meeting.scheduled.v1); with `already_held`, record one held in
    the last 7 days (the same event, its envelope saying so: shared.envelope.HELD_EXTENSION)."""
    SCHEDULE.check(caller)
    if cell_id != caller.unit_id:
        raise not_found("cell", cell_id, field="cell_id")
    if body.meeting_id:
        # the naming first, judged on the ids alone: asked after the lookup, another cell's meeting answered 404 and
        # a free id 422, which told a secretary which of another cell's meeting ids exist (trial 24 #1)
        await not_the_cells_meeting_id(state, cell_id, body.meeting_id)
        await _not_another_cells_meeting(state, cell_id, body.meeting_id)
    key = idempotency_key(request)
    # sent again under its key, a schedule without an id schedules the same meeting
    generated = keyed_meeting_id(state, caller, key) if key else generated_meeting_id(state.secret, cell_id)
    meeting_id = body.meeting_id or generated
    # a new meeting's start already past is meetings' refusal to say (scheduled_in_the_past), not this question
    # asked first only to answer early; meetings judges it again under the cell's lock (domain.check_same_start), so
    # two schedules sent at the same moment (two replicas, a form sent twice) cannot both pass
    if not body.confirm_same_time and (body.already_held or not already_past(body.starts_at, now())):
        clashes = await meetings_at_same_start(state, cell_id, body.starts_at, other_than=meeting_id)
        if clashes:
            raise same_time_conflict(clashes[0], starts_at=body.starts_at)
    data = command_data(body, cell_id=cell_id, meeting_id=meeting_id)
    # said on the envelope: the contract's data of meeting.scheduled.v1 has no field for them (shared.envelope)
    data.pop("confirm_same_time", None)
    data.pop("already_held", None)
    extensions = {HELD_EXTENSION: True} if body.already_held else {}
    if body.confirm_same_time:
        extensions[SAME_TIME_EXTENSION] = True
    try:
        return await _send(request, state, caller, "meeting.scheduled.v1", data, extensions=extensions or None)
    except RpcError as exc:
        # meetings judges it under the meeting's lock (domain.check_schedule), so two creates at once are one meeting
        if exc.refusal is not None and exc.refusal.code == RefusalCode.MEETING_AT_SAME_TIME:
            raise RpcError("conflict", str(exc).removeprefix("data."), field="starts_at", refusal=exc.refusal) from None
        if exc.refusal is None or exc.refusal.code != RefusalCode.MEETING_EXISTS:
            raise
        raise meeting_exists(meeting_id, exc.refusal) from None


async def meetings_at_same_start(
    state: State, cell_id: str, starts_at: datetime, *, other_than: str
) -> list[MeetingSummaryReply]:
    """The cell's meetings, not cancelled and other than `other_than` (the meeting being scheduled: its form sent
    again is answered as a duplicate), starting less than SAME_START_WINDOW from `starts_at`, earliest first."""
    months = sorted({month_of(starts_at - SAME_START_WINDOW), month_of(starts_at + SAME_START_WINDOW)})
    found: list[MeetingSummaryReply] = []
    for month in months:
        found += [
            item
            for item in await live_meetings(state, cell_id, month, other_than=other_than)
            if item.starts_at is not None and abs(item.starts_at - starts_at) < SAME_START_WINDOW
        ]
    return sorted(found, key=lambda item: (item.starts_at or starts_at, item.meeting_id))


_MONTHS_LISTED: ContextVar[dict[tuple[str, str], list[MeetingSummaryReply]] | None] = ContextVar(
    "months_listed", default=None
)
"""What meetings listed for each (cell, month) within `one_listing_per_month`; None outside it (asked every time)."""


@contextmanager
def one_listing_per_month() -> Iterator[None]:
    """Within the block (one submission of a form: its same-time and another-regular warnings, then the command's
    own same-time check), `live_meetings` asks meetings for a cell's month once and answers each later call with
    that list (meetings judges the schedule again under the cell's lock, so a list a moment old misses nothing)."""
    token = _MONTHS_LISTED.set({})
    try:
        yield
    finally:
        _MONTHS_LISTED.reset(token)


async def live_meetings(state: State, cell_id: str, month: str, *, other_than: str) -> list[MeetingSummaryReply]:
    """The cell's meetings that meetings lists for `month` (YYYY-MM), not cancelled, with a start, other than
    `other_than` (the meeting a form is scheduling), as meetings orders them (asked once per month within
    `one_listing_per_month`); RpcError when it does not answer."""
    listed = _MONTHS_LISTED.get()
    items = listed.get((cell_id, month)) if listed is not None else None
    if items is None:
        items = list((await state.rpc.call(ListMeetings(cell_id=cell_id, period=month, limit=1000))).items)
        if listed is not None:
            listed[(cell_id, month)] = items
    return [
        item
        for item in items
        if item.meeting_id != other_than and item.status != "cancelled" and item.starts_at is not None
    ]


def same_time_conflict(other: MeetingSummaryReply, *, starts_at: datetime) -> RpcError:
    """409 naming `starts_at`, coded MEETING_AT_SAME_TIME: another meeting of the cell starts within the hour of the
    caller's `starts_at`; both said at the caller's offset (shared.periods.said_at), as meetings' check_same_start."""
    when = said_at(other.starts_at, like=starts_at) if other.starts_at else "?"
    return RpcError(
        "conflict",
        f"starts_at: meeting {other.meeting_id} of the cell starts at {when}"
        f" ({other.location or 'no place given'}), less than {SAME_START_WINDOW} away; if this is another meeting,"
        " send it again with confirm_same_time true",
        field="starts_at",
        refusal=Refusal(code=RefusalCode.MEETING_AT_SAME_TIME),
    )


def meeting_exists(meeting_id: str, refusal: Refusal) -> RpcError:
    """409 naming `meeting_id`: scheduling creates a meeting and never overwrites one; moving it is a reschedule."""
    return RpcError(
        "conflict",
        f"meeting_id: meeting {meeting_id} is already scheduled and scheduling never overwrites a meeting; to move it"
        f" use POST /v1/meetings/{meeting_id}/reschedule",
        field="meeting_id",
        refusal=refusal,
    )


MeetingEndpoint = Callable[[str, Any, Request, Principal, State], Awaitable[CommandRead]]
"""A secretary's meeting command as an endpoint (meeting_id, body, request, caller, state), as web forms call it."""


def _meeting_endpoint(
    method: str,
    path: str,
    event_type: str,
    body_model: type[BaseModel],
    *,
    name: str,
    rule: RoleCheck,
    doc: str,
    stamps: Stamps | None = None,
) -> MeetingEndpoint:
    """Register `method path` as the meeting command `event_type` (_meeting_command): the commands below differ only
    in these values, so one endpoint is written once and registered under each name, body model and docstring."""

    async def endpoint(
        meeting_id: IdPath, body: BaseModel, request: Request, caller: Caller, state: State
    ) -> CommandRead:
        return await _meeting_command(
            request, state, caller, event_type, body, meeting_id=meeting_id, rule=rule, stamps=stamps
        )

    # FastAPI reads the body's model, the route's name (operation id, summary) and description from the function
    endpoint.__annotations__["body"] = body_model
    endpoint.__name__ = endpoint.__qualname__ = name
    endpoint.__doc__ = doc
    _command_route(method, path, rule)(endpoint)
    return endpoint


reschedule_meeting = _meeting_endpoint(
    "POST",
    f"{MEETING_PATH}/reschedule",
    "meeting.rescheduled.v1",
    MeetingRescheduleCreate,
    name="reschedule_meeting",
    rule=RESCHEDULE,
    doc="Move a meeting (meeting.rescheduled.v1).",
)
cancel_meeting = _meeting_endpoint(
    "POST",
    f"{MEETING_PATH}/cancel",
    "meeting.cancelled.v1",
    MeetingCancelCreate,
    name="cancel_meeting",
    rule=CANCEL,
    doc="Cancel a meeting (meeting.cancelled.v1).",
)
publish_documents = _meeting_endpoint(
    "POST",
    f"{MEETING_PATH}/documents",
    "documents.published.v1",
    DocumentsCreate,
    name="publish_documents",
    rule=PUBLISH,
    doc="Publish documents to the members (documents.published.v1).",
    stamps={"published_at": datetime.isoformat},
)
record_attendance = _meeting_endpoint(
    "PUT",
    f"{MEETING_PATH}/attendance",
    "attendance.recorded.v1",
    AttendanceCreate,
    name="record_attendance",
    rule=ATTENDANCE,
    doc="Record the full roster (attendance.recorded.v1); a later roster replaces this one.",
)
submit_minutes = _meeting_endpoint(
    "PUT",
    f"{MEETING_PATH}/minutes",
    "minutes.submitted.v1",
    MinutesCreate,
    name="submit_minutes",
    rule=MINUTES,
    doc="Submit the minutes (minutes.submitted.v1).",
)
approve_minutes = _meeting_endpoint(
    "POST",
    f"{MEETING_PATH}/minutes/approval",
    "minutes.approved.v1",
    MinutesApprovalCreate,
    name="approve_minutes",
    rule=APPROVAL,
    doc="Record that the cell adopted the minutes (minutes.approved.v1).",
    stamps={"approved_at": datetime.isoformat},
)


@_command_route("POST", f"{MEETING_PATH}/assessments", ASSESS)
async def assess_meeting(
    meeting_id: IdPath, body: AssessmentCreate, request: Request, caller: Caller, state: State
) -> CommandRead:
    """Score manual items (meeting.assessed.v1): the secretary for the cell; as upper-level monitor only the officer
    whose person is assigned to follow the cell (monitor.assigned.v1), else 403."""
    ASSESS.check(caller)
    if body.role not in ASSESSORS[caller.role]:
        raise forbidden(caller.role, f"assess as {body.role.value}")
    meeting = await authorize_meeting(
        caller, meeting_id, rpc=state.rpc, directory=state.directory, roles=ASSESS.roles, action=ASSESS.action
    )
    if body.role is AssessorRole.UPPER_MONITOR:
        # only the upper-level monitor assigned to the cell (monitor.assigned.v1) confirms its points: the score
        # takes their points over the members' vote (DOMAIN.md), so no other officer may speak in their name
        followed = await followed_cells(caller, rpc=state.rpc, directory=state.directory)
        if meeting.cell_id not in {item.cell_id for item in followed}:
            raise forbidden(caller.role, "assess as upper-level monitor of a cell one is not assigned to follow")
    data = {
        "meeting_id": meeting_id,
        "assessor": {"role": body.role.value, **({"person_id": caller.person_id} if caller.person_id else {})},
        "points": body.points,
        **({"comment": body.comment} if body.comment else {}),
    }
    return await _send(request, state, caller, "meeting.assessed.v1", data)


@_command_route("POST", f"{MEETING_PATH}/tasks/{{task_id}}/completion", COMPLETE)
async def complete_task(
    meeting_id: IdPath, task_id: IdPath, body: TaskCompletionCreate, request: Request, caller: Caller, state: State
) -> CommandRead:
    """Mark a task of the meeting done (task.completed.v1)."""
    await _own_meeting(state, caller, meeting_id, rule=COMPLETE)
    data = {
        "task_id": task_id,
        "meeting_id": meeting_id,
        **({"completed_on": body.completed_on.isoformat()} if body.completed_on else {}),
    }
    stamps = {"completed_on": lambda at: at.date().isoformat()}  # today in Vietnam (+07:00)
    return await _send(request, state, caller, "task.completed.v1", data, subject=task_id, stamps=stamps)
