"""Use cases of the gateway: ingest, the secretary's commands, scoping by the org tree, accounts."""

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar, cast

from pydantic import BaseModel, ValidationError

from services.gateway.auth import Principal, Role, issue_instant, issue_token
from services.gateway.kept import KeptCopies
from services.gateway.repository import AccountRepository, AccountRow
from shared.bindings import media_type
from shared.contracts.base import EventData
from shared.contracts.ingest_answer import as_replied, body_problem
from shared.contracts.meetings_rpc import (
    CUT_BODY_KEPT,
    GetMeeting,
    GetMember,
    GetUnit,
    Ingest,
    IngestBody,
    KnownUnits,
    ListMonitorAssignments,
    MeetingReply,
    MemberReply,
    MonitorAssignmentReply,
    SourceRegistration,
    SourcesSyncedReply,
    SyncSources,
    UnitReply,
    ingest_answer_by,
)
from shared.envelope import (
    ATTRIBUTE_HEADER_PREFIXES,
    BATCH_CONTENT_TYPE,
    CLOUDEVENT_CONTENT_TYPE,
    GATEWAY_SOURCE,
    RESERVED_SOURCE_PREFIX,
    error_location,
    is_reserved_source,
    is_uri_reference,
    new_event,
    validation_message,
)
from shared.logs import get_logger
from shared.reading import body_over_limit
from shared.refusals import refusal_code
from shared.rpc import ReplyT, Request, RpcError, ServiceUnavailable
from shared.text import with_article

SUBTREE_READERS = frozenset({Role.MEMBER, Role.SECRETARY, Role.COMMITTEE_OFFICER})

log = get_logger(__name__)


class Rpc(Protocol):
    """What the gateway needs of shared.rpc.RpcClient."""

    async def call(
        self, request: Request[ReplyT], *, correlation_id: str | None = None, timeout: float | None = None
    ) -> ReplyT:
        """Call the request's method; its reply, RpcError or ServiceUnavailable when it fails."""
        ...


class BodyError(Exception):
    """An ingest body the gateway cannot even split into events."""

    def __init__(self, status: int, code: str, message: str, field: str = "body") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


class DataRefused(RpcError):
    """A command's data the shared contract refused: `invalid` naming the first field, with all of pydantic's errors
    (paths inside `data`) for a reader that words them, such as the web app's forms."""

    def __init__(self, message: str, *, field: str | None, errors: list[Any]) -> None:
        super().__init__("invalid", message, field=field)
        self.errors = errors


def not_found(kind: str, identifier: str, *, field: str) -> RpcError:
    """The one answer for both "does not exist" and "not yours", so neither leaks the other: 404 `not_found` naming
    `field`, the API name the identifier came from (a path parameter or a body field: `meeting_id`, `cell_id`), as
    every error names its field (it named none until h547); the same field for both answers, told by the route."""
    return RpcError("not_found", f"{kind} {identifier} not found", field=field)


@contextmanager
def missing_as(kind: str, identifier: str, *, field: str) -> Iterator[None]:
    """Turn a service's not_found inside the block into the gateway's own 404 naming `kind`, `identifier` and the
    `field` it came from (not_found)."""
    try:
        yield
    except RpcError as exc:
        if exc.code == "not_found":
            raise not_found(kind, identifier, field=field) from None
        raise


Answer = TypeVar("Answer")


async def found(call: Awaitable[Answer], kind: str, identifier: str, *, field: str) -> Answer:
    """The answer `call` awaits, a service's not_found being the gateway's 404 naming `kind`, `identifier` and the
    `field` it came from (not_found)."""
    with missing_as(kind, identifier, field=field):
        return await call


def forbidden(role: Role, action: str) -> RpcError:
    """A role that may never do this, whatever the target."""
    return RpcError("forbidden", f"the role {role.value} may not {action}")


def write_scope(principal: Principal) -> str | None:
    """The unit whose subtree the caller's writes must stay within (meetings judges every event against it), or None
    for an integration account that is explicitly province-wide (issue 11, fault 5); a caller with no unit and no
    province-wide grant may write nowhere (forbidden)."""
    if principal.role is Role.INTEGRATION and principal.province_wide:
        return None
    if principal.unit_id:
        return principal.unit_id
    raise forbidden(principal.role, "write without a unit (give the account a unit_id, or province_wide: true)")


def write_sources(principal: Principal) -> list[str] | None:
    """The sources the caller's events may carry: a scoped integration account's registered ones (none registered:
    none at all); None for any other caller, who may use any source no scoped account registered."""
    if principal.role is Role.INTEGRATION and not principal.province_wide:
        return sorted(principal.sources)
    return None


MAX_SOURCES = 20
"""At most this many sources per account: a system names itself with one or a few."""


def check_sources(sources: Sequence[str], *, role: Role, unit_id: str | None, province_wide: bool) -> list[str]:
    """The sources to register, deduplicated and sorted; `invalid` naming `sources` when the account may not have
    them (only a scoped integration account registers sources, each a URI reference of 1-256 characters, none of
    urn:chibo:, as CONTRACT.md's `source` is)."""
    wanted = sorted(set(sources))
    if not wanted:
        return []
    if role is not Role.INTEGRATION or province_wide or not unit_id:
        raise RpcError(
            "invalid", "sources: only an integration account scoped to a unit registers sources", field="sources"
        )
    if len(wanted) > MAX_SOURCES:
        raise RpcError("invalid", f"sources: at most {MAX_SOURCES} per account", field="sources")
    for source in wanted:
        if not 1 <= len(source) <= 256 or not is_uri_reference(source):
            raise RpcError(
                "invalid",
                f"sources: {source[:256]!r} is not a URI reference of 1-256 characters (RFC 3986), such as"
                " urn:example:system or https://example.vn/system",
                field="sources",
            )
        if is_reserved_source(source):
            raise RpcError(
                "invalid", f"sources: {RESERVED_SOURCE_PREFIX} names this system's own services", field="sources"
            )
    return wanted


def require_role(principal: Principal, roles: frozenset[Role] | set[Role], action: str) -> None:
    """Refuse the call unless the principal has one of `roles`."""
    if principal.role not in roles:
        raise forbidden(principal.role, action)


class TtlCache:
    """A small time-bounded cache; cleared whole when it grows past its bound."""

    def __init__(self, *, seconds: float, max_entries: int = 50_000, clock: Callable[[], float] = time.monotonic):
        self._seconds = seconds
        self._max = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[float, Any]] = {}

    def get(self, key: str) -> tuple[bool, Any]:
        """(hit, value) for a key still fresh."""
        entry = self._entries.get(key)
        if entry is None or entry[0] < self._clock():
            return False, None
        return True, entry[1]

    def put(self, key: str, value: Any, *, seconds: float | None = None) -> None:
        """Remember `value` for `seconds` (the configured time when None; none at all when 0 or less)."""
        kept = self._seconds if seconds is None else seconds
        if kept <= 0:
            self._entries.pop(key, None)
            return
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[key] = (self._clock() + kept, value)


_KEPT_UNITS: ContextVar[bool] = ContextVar("kept_units", default=False)


def read_with_kept_units(reading: bool) -> None:
    """Whether this request is a read (GET, HEAD, OPTIONS), which UnitDirectory may scope with its kept copy of a unit
    while meetings does not answer; a command (any other method, the default) never is: it fails closed (503)."""
    _KEPT_UNITS.set(reading)


class UnitDirectory:
    """Units and their ancestors from meetings' `get_unit` (which of many ids are units: `known_units`), cached
    briefly; an id meetings does not know only for `miss_seconds` (none by default).

    A "not found" was kept as long as a unit (30 s): a unit looked up before it was created (an account made for it,
    a page opened) stayed unknown for 30 s after meetings had it. The gateway cannot be told of new units: services
    meet only over RabbitMQ and the gateway consumes no domain events (org.unit.upserted.v1 reaches meetings on
    chibo.ingest or through the gateway's ingest as opaque bytes), so a miss is asked again instead.

    The gateway's own copy of the tree is the last answer meetings gave for each unit (`kept_entries` of them, least
    recently used first out). A read (read_with_kept_units) whose unit is no longer fresh waits `read_timeout` at most
    for meetings, then is scoped with that kept copy: an officer's roll-up or ranking, all evaluation's, no longer
    fails (503 after the RPC timeout) while meetings is down (a trial killed it). Once meetings went unanswered it is
    taken to be down for `retry_seconds` (meetings_silent): reads with a kept copy use it at once, without asking;
    a unit never answered is still asked (within `read_timeout` while meetings is taken to be down) and, unanswered,
    is ServiceUnavailable naming meetings: scoping never goes on without a copy of the unit (fail closed), and a
    command always asks meetings.

    A kept copy scopes a read for `kept_seconds` after meetings gave it (CHIBO_UNIT_KEPT_SECONDS, an hour by
    default), no longer: the copy had no age cap, so a unit moved or an officer's scope changed long before could
    still be read through it for as long as meetings stayed down. An older copy is as none (fail closed, the same
    503 as for a unit never seen); it still names a unit shown (kept)."""

    def __init__(
        self,
        rpc: Rpc,
        cache: TtlCache,
        *,
        miss_seconds: float = 0.0,
        read_timeout: float | None = None,
        retry_seconds: float = 10.0,
        kept_entries: int = 50_000,
        kept_seconds: float = 3600.0,
        timer: Callable[[], float] = time.monotonic,
        gone: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self._rpc = rpc
        self._gone = gone
        self._cache = cache
        self._miss_seconds = miss_seconds
        self._read_timeout = read_timeout
        self._retry_seconds = retry_seconds
        self._timer = timer
        self._kept: KeptCopies[UnitReply] = KeptCopies(seconds=kept_seconds, max_entries=kept_entries, timer=timer)
        self._silent_until = float("-inf")

    def meetings_silent(self) -> bool:
        """Whether meetings went unanswered in the last `retry_seconds` (a unit look-up timed out): reads then do not
        wait for it again meanwhile (the pages show their meetings-only parts' note at once)."""
        return self._timer() < self._silent_until

    def noted_silent(self) -> None:
        """Take meetings to be down for `retry_seconds` (it left a call of this gateway unanswered)."""
        self._silent_until = self._timer() + self._retry_seconds

    async def gone_now(self) -> bool:
        """Whether the broker says meetings is down this moment (`gone`: no consumer on its RPC queue, its processes
        stopped); False when it cannot say (no `gone`, or the broker does not answer within `read_timeout`). One
        answer for every caller that must not wait the whole RPC timeout on a meetings that is not there: a read
        (read_bounded), a sign-in or command's membership check (membership.MembershipCheck), an HTTP ingest call
        (ingest_events)."""
        if self._gone is None:
            return False
        try:
            return await asyncio.wait_for(self._gone(), self._read_timeout)
        except Exception as exc:  # the broker's own trouble: nothing known of meetings, the call goes on
            log.warning("meetings_presence_not_read", error=repr(exc))
            return False

    async def read_bounded(self, call: Callable[[], Awaitable[Answer]]) -> Answer:
        """`call()`'s answer (a call to meetings). A read (read_with_kept_units) waits `read_timeout` for it, then, when
        meetings is taken to be down (meetings_silent) or the broker says it is (no consumer on its RPC queue), is
        ServiceUnavailable (meetings) at once, meetings taken to be down for `retry_seconds`; a meetings that is there
        but slow is waited for as long as the call's own timeout. A command, or without `read_timeout`: `call()`."""
        if not _KEPT_UNITS.get() or self._read_timeout is None:
            return await call()
        task = asyncio.ensure_future(call())
        try:
            done, _ = await asyncio.wait({task}, timeout=self._read_timeout)
            if not done and (self.meetings_silent() or await self.gone_now()):
                task.cancel()
                self.noted_silent()
                log.warning("meetings_gone", waited=self._read_timeout)
                raise ServiceUnavailable("meetings")
            return await task
        finally:
            if not task.done():  # this read was given up (cancelled) or gave the call up
                task.cancel()

    def kept(self, unit_id: str) -> UnitReply | None:
        """The last answer meetings gave for the unit (however old), None when it gave none: for a name shown, never
        for scoping (get: at most `kept_seconds` old)."""
        return self._kept.last(unit_id)

    def _scoping_copy(self, unit_id: str) -> UnitReply | None:
        """The kept copy of the unit when a read may be scoped with it: one meetings gave at most `kept_seconds` ago."""
        return self._kept.young(unit_id) if _KEPT_UNITS.get() else None

    def read_wait(self) -> float | None:
        """Seconds a read's call to meetings waits (`read_timeout`) while meetings is taken to be down
        (meetings_silent), so a page that cannot do without it answers its 503 at once; None (the RPC timeout)
        otherwise and for a command."""
        return self._read_timeout if _KEPT_UNITS.get() and self.meetings_silent() else None

    async def get(self, unit_id: str) -> UnitReply | None:
        """The unit with its `ancestors`, or None when meetings does not know it; while meetings does not answer, a
        read's kept copy of it (see the class); ServiceUnavailable (meetings) without one, or for a command."""
        hit, cached = self._cache.get(unit_id)
        if hit:
            return cast(UnitReply | None, cached)
        kept = self._scoping_copy(unit_id)
        silent = self.meetings_silent()
        if kept is not None and silent:
            return kept
        unit: UnitReply | None
        try:
            short = kept is not None or (silent and _KEPT_UNITS.get())
            unit = await self.read_bounded(
                lambda: self._rpc.call(GetUnit(unit_id=unit_id), timeout=self._read_timeout if short else None)
            )
        except ServiceUnavailable as exc:
            if exc.service != "meetings":
                raise
            self.noted_silent()
            if kept is None and _KEPT_UNITS.get():
                raise exc.explained(
                    f"the gateway scopes a read with its copy of unit {unit_id} only while that copy is at most"
                    f" {self._kept.seconds:g} s old, and it has none that recent; try again once meetings answers"
                ) from exc.__cause__
            if kept is None:
                raise
            log.warning("unit_scoped_with_kept_copy", unit_id=unit_id)
            return kept
        except RpcError as exc:
            if exc.code != "not_found":
                raise
            unit = None
        self._silent_until = float("-inf")
        self._cache.put(unit_id, unit, seconds=None if unit is not None else self._miss_seconds)
        if unit is not None:
            self._kept.put(unit_id, unit)
        else:
            self._kept.pop(unit_id)
        return unit

    async def known(self, unit_ids: Sequence[str]) -> set[str]:
        """Those of `unit_ids` that are units: the ones cached (by get, or by known as `known:<id>`, found or not) as
        cached, the rest in one `known_units` call."""
        known: set[str] = set()
        asked: list[str] = []
        for unit_id in dict.fromkeys(unit_ids):
            hit, cached = self._cache.get(unit_id)
            if not hit:
                hit, cached = self._cache.get(f"known:{unit_id}")
            if not hit:
                asked.append(unit_id)
            elif cached is True or isinstance(cached, UnitReply):
                known.add(unit_id)
        if asked:
            found = set((await self._rpc.call(KnownUnits(unit_ids=asked))).unit_ids)
            for unit_id in asked:
                is_unit = unit_id in found
                self._cache.put(f"known:{unit_id}", is_unit, seconds=None if is_unit else self._miss_seconds)
            known |= found
        return known


class PersonNames:
    """The full name of a signed-in account's person from meetings, cached briefly: a member's or secretary's as their
    cell lists them (GetMember: one member read, not the cell's list paged through), an upper-level monitor's from
    their monitor assignments.

    The name is only the page header's nicety: the lookup gets `timeout` seconds in all (CHIBO_PERSON_NAME_TIMEOUT,
    well under the RPC timeout), and a lookup that failed is not tried again for `failures`' time, so a page (or the
    pages after it) does not wait for a meetings that does not answer."""

    def __init__(self, rpc: Rpc, cache: TtlCache, *, timeout: float = 1.0, failures: TtlCache | None = None) -> None:
        self._rpc = rpc
        self._cache = cache
        self._timeout = timeout
        self._failures = failures if failures is not None else TtlCache(seconds=10.0)

    async def full_name(self, principal: Principal) -> str | None:
        """The person's full name; None for an account without a person, a person meetings does not name, or while
        meetings does not answer within the timeout (remembered as a failure for a short while, then asked again)."""
        person, unit = principal.person_id, principal.unit_id
        if not person or not unit:
            return None
        key = f"{principal.role.value}/{unit}/{person}"
        hit, cached = self._cache.get(key)
        if hit:
            return cast(str | None, cached)
        if self._failures.get(key)[0]:
            return None
        try:
            name = await self._look_up(principal.role, person=person, unit=unit)
        except RpcError:
            self._failures.put(key, True)
            return None
        self._cache.put(key, name)
        return name

    async def _call(self, request: Request[ReplyT], deadline: float) -> ReplyT:
        """One call of the lookup, given what is left of its time (ServiceUnavailable when none is)."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise ServiceUnavailable(request.service)
        return await self._rpc.call(request, timeout=left)

    async def _look_up(self, role: Role, *, person: str, unit: str) -> str | None:
        deadline = time.monotonic() + self._timeout
        if role is Role.COMMITTEE_OFFICER:
            followed = await self._call(ListMonitorAssignments(person_id=person, limit=1), deadline)
            return followed.items[0].full_name if followed.items else None
        if role not in (Role.MEMBER, Role.SECRETARY):
            return None
        try:
            return (await self._call(GetMember(cell_id=unit, member_id=person), deadline)).full_name
        except RpcError as exc:
            if exc.code == "not_found":  # the cell does not list them (any more): no name, cached as one
                return None
            raise


def in_subtree(principal: Principal, unit: UnitReply) -> bool:
    """Members and secretaries see their own cell; officers see their committee's subtree."""
    if principal.role in (Role.MEMBER, Role.SECRETARY):
        return unit.id == principal.unit_id
    if principal.role is Role.COMMITTEE_OFFICER:
        return principal.unit_id in (unit.ancestors or [unit.id])
    return False


async def authorize_unit(
    principal: Principal,
    unit_id: str,
    *,
    directory: UnitDirectory,
    kind: str,
    roles: frozenset[Role] = SUBTREE_READERS,
    field: str | None = None,
) -> UnitReply:
    """The unit, when the principal may see it; otherwise the same 404 as for a unit that does not exist, naming the
    body field the id came from (`field`), else the path parameter `{kind}_id` (`/v1/cells/{cell_id}`,
    `/v1/committees/{committee_id}`; a caller whose id came from elsewhere answers its own 404: missing_as). A unit
    of another kind is that 404 too for an id in a path (`/v1/committees/{a cell}`); for an id the caller sent in a
    body field (`field`), one they may see is 422 naming the field and what the id names ("unit_id: unit X is a
    cell, not a committee"), not "committee X not found" about a unit that exists."""
    require_role(principal, roles, f"read {kind}s")
    named = field or f"{kind}_id"
    if principal.role in (Role.MEMBER, Role.SECRETARY) and unit_id != principal.unit_id:
        raise not_found(kind, unit_id, field=named)
    unit = await directory.get(unit_id)
    if unit is None or not in_subtree(principal, unit):
        raise not_found(kind, unit_id, field=named)
    if unit.kind != kind:
        if field is not None:
            raise RpcError(
                "invalid",
                f"{field}: unit {unit_id} is {with_article(unit.kind)}, not {with_article(kind)}",
                field=field,
            )
        raise not_found(kind, unit_id, field=named)
    return unit


async def authorize_meeting(
    principal: Principal,
    meeting_id: str,
    *,
    rpc: Rpc,
    directory: UnitDirectory,
    roles: frozenset[Role] = SUBTREE_READERS,
    action: str = "read meetings",
    field: str = "meeting_id",
) -> MeetingReply:
    """The meeting, when it belongs to a cell the principal may see; otherwise 404 as if missing, naming `field` (the
    path parameter or body field the id came from). A role outside `roles` is 403 naming `action`, what the caller was
    refused (`reschedule meetings`), not merely reading."""
    require_role(principal, roles, action)
    try:
        meeting = await directory.read_bounded(
            lambda: rpc.call(GetMeeting(meeting_id=meeting_id), timeout=directory.read_wait())
        )
    except ServiceUnavailable as exc:
        if exc.service == "meetings":
            directory.noted_silent()  # the next read of a meeting answers its 503 within `read_timeout`
        raise
    except RpcError as exc:
        if exc.code == "not_found":
            raise not_found("meeting", meeting_id, field=field) from None
        raise
    cell_id = meeting.cell_id
    if principal.role in (Role.MEMBER, Role.SECRETARY):
        allowed = cell_id == principal.unit_id
    else:
        unit = await directory.get(cell_id)
        allowed = unit is not None and in_subtree(principal, unit)
    if not allowed:
        raise not_found("meeting", meeting_id, field=field)
    return shown_to(principal, meeting)


def shown_to(principal: Principal, meeting: MeetingReply) -> MeetingReply:
    """The meeting as `principal` may read it: a plain member sees every roster line's status but the reason of an
    absence only on their own line (reasons can be about health); everyone else sees it whole."""
    if principal.role is not Role.MEMBER or meeting.attendance is None:
        return meeting
    records = [
        record if record.get("member_id") == principal.person_id else {**record, "reason": None}
        for record in meeting.attendance.records
    ]
    return meeting.model_copy(update={"attendance": meeting.attendance.model_copy(update={"records": records})})


async def waiting_named(meeting: MeetingReply, accounts: AccountRepository) -> list[dict[str, Any]]:
    """The meeting's waiting facts (MeetingReply.waiting) as dicts, each with `source_name`: the account its source is
    registered to (an integration account's sources, as ingest judges them), None when no active account holds it.
    No read of the accounts when nothing waits."""
    if not meeting.waiting:
        return []
    holders = await accounts.source_holders(sorted({fact.source for fact in meeting.waiting}))
    return [fact.model_dump() | {"source_name": holders.get(fact.source)} for fact in meeting.waiting]


async def followed_cells(principal: Principal, *, rpc: Rpc, directory: UnitDirectory) -> list[MonitorAssignmentReply]:
    """The cells the principal follows as upper-level monitor (monitor.assigned.v1 naming their person) that lie in
    their subtree, by cell name; [] for anyone but a committee officer with a person (DOMAIN.md: upper-level
    committee members assigned to follow a cell confirm its self-score)."""
    if principal.role is not Role.COMMITTEE_OFFICER or not principal.person_id:
        return []
    assignments: list[MonitorAssignmentReply] = []
    while True:
        page = await rpc.call(ListMonitorAssignments(person_id=principal.person_id, limit=200, offset=len(assignments)))
        assignments += page.items
        if not page.items or len(assignments) >= page.total:
            break
    units = [await directory.get(item.cell_id) for item in assignments]
    return [
        item
        for item, unit in zip(assignments, units, strict=True)
        if unit is not None and unit.kind == "cell" and in_subtree(principal, unit)
    ]


async def ingest_events(
    body: bytes,
    content_type: str | None,
    *,
    principal: Principal,
    rpc: Rpc,
    timeout: float | None = None,
    headers: Iterable[tuple[str, str]] = (),
    dry_run: bool = False,
    over_limit: int | None = None,
    declared_size: int | None = None,
    correlation_id: str | None = None,
    gone: Callable[[], Awaitable[bool]] | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Hand the body's bytes to meetings, which reads and judges them exactly as on chibo.ingest; each event's
    outcome, and the one correlation id its events name when it is not `correlation_id` (IngestReply), else None.

    A body that is not an event or a batch at all is stored and published as a rejection by meetings,
    and answered here as BodyError (400 not JSON, 422 not an object or array, 413 too many events, 415 in neither
    content mode). With `ce-` headers the request is in binary content mode: they go along and meetings translates
    them (shared.bindings); so do headers under a prefix the HTTP binding does not use (`ce_`), which meetings refuses
    naming them.
    A body over the gateway's limit (`over_limit`, the limit; `body` then only what was read of it, and
    `declared_size` its Content-Length) is judged no further: only its first CUT_BODY_KEPT bytes go to meetings,
    which stores the rejection naming `body` as cut, and the answer is the 413 of any body over the limit.
    A dry run is judged alike and keeps nothing, not even the rejection of an unreadable body.
    `timeout`: how long the call is waited for; meetings is asked to answer before it (IngestBody.answer_by), naming
    the events it had no time to judge `not_judged` (NOT_JUDGED: the route answers such a call 503 listing what was
    judged, events_unjudged_message), so a slow batch's stored events are told, not a bare 503.
    `correlation_id`: the request's (X-Correlation-ID or made for it), sent with the call: meetings logs it and gives
    it to each event that names none of its own, so the facts it re-publishes carry it on. The gateway never parses
    the body: meetings' one strict reading also finds the correlation id the events name.
    `gone` (UnitDirectory.gone_now): asked before the body is sent; when the broker says no meetings process takes
    requests, the call is ServiceUnavailable at once, as after the timeout, and nothing is sent. Asked before, not
    after a wait: a request already sent stays on meetings.rpc until its expiration (the timeout), and a meetings
    started meanwhile would store events of a call answered 503. Sent, the call is waited for up to `timeout` (a
    meetings there but slow, or stopped after the check: its `answer_by` has passed when the 503 is answered, so
    meetings stores nothing of it later).
    """
    require_role(principal, {Role.INTEGRATION}, "ingest events")
    # every header meant as an attribute goes along, a misprefixed one (`ce_id`) too: meetings refuses it by name
    attributes = [
        (name.lower(), value) for name, value in headers if name.lower().startswith(ATTRIBUTE_HEADER_PREFIXES)
    ]
    binary = bool(attributes) and media_type(content_type) not in (CLOUDEVENT_CONTENT_TYPE, BATCH_CONTENT_TYPE)
    if over_limit is not None:
        body = body[:CUT_BODY_KEPT]
    try:
        if gone is not None and await gone():  # no meetings process: nothing sent, so nothing stored after the 503
            log.warning("meetings_gone", call="ingest_body")
            raise ServiceUnavailable("meetings")
        reply = await rpc.call(
            IngestBody(
                over_limit=over_limit,
                declared_size=declared_size if over_limit is not None else None,
                body_base64=base64.b64encode(body).decode("ascii"),
                content_type=content_type,
                route="http",
                account=principal.sub,
                headers=attributes if binary else None,
                dry_run=dry_run,
                scope=write_scope(principal),
                sources=write_sources(principal),
                # meetings answers what it stored before this, the rest NOT_JUDGED, rather than run past the wait
                answer_by=ingest_answer_by(datetime.now(UTC), timeout) if timeout is not None else None,
            ),
            correlation_id=correlation_id,
            timeout=timeout,
        )
    except ServiceUnavailable as exc:
        detail = DRY_RUN_UNANSWERED if dry_run else EVENTS_UNANSWERED
        raise exc.explained(detail) from exc.__cause__
    if over_limit is not None:  # stored by meetings as cut; the answer is any over-limit body's, whatever it said
        raise BodyError(413, "payload_too_large", body_over_limit(over_limit))
    results = as_replied(reply.results)
    problem = body_problem(results)  # answered alike to a chibo.ingest message asking for a reply
    if problem is not None:
        raise BodyError(problem.status, problem.code, problem.message, field=problem.field)
    return results, reply.correlation_id


EVENTS_UNANSWERED = (
    "some or all of the events sent may already have been stored before it stopped answering. Sending the same "
    "events again (the same source and id) is safe: each one already stored is answered as a duplicate and changes "
    "nothing, and the others are taken"
)
"""Said with a 503 of POST /v1/events (CONTRACT.md "Idempotency"): a trial's 1,000-event batch had 250 stored when
meetings was stopped, and the bare "did not answer" told the partner neither that nor that resending is safe."""


def events_unjudged_message(judged: int, not_judged: int) -> str:
    """The `message` of POST /v1/events' 503 when meetings judged `judged` events of the body before the answer was due
    and `not_judged` not (counts of events)."""
    return (
        f"the meetings service judged {judged} of the {judged + not_judged} events before the answer was due and had "
        f"no time for the other {not_judged}, of which nothing was stored (`judged` lists the outcomes of the first, "
        "`not_judged` the others). Sending the whole body again is safe: the judged events change nothing (one "
        "accepted or duplicate is answered duplicate, one held or rejected held or rejected again: docs/integrations.md"
        ' "Idempotency"), and the others are judged then'
    )


DRY_RUN_UNANSWERED = "this was a dry run, so nothing was stored; send it again later"
COMMAND_UNANSWERED = (
    "the command (event {event_id}) may already have been recorded before it stopped answering. Resend it with the "
    "same Idempotency-Key header and the same body: it is then recorded once (answered as a duplicate if it was). A "
    "request sent without that header is a new event each time, not a duplicate of this one: read the meeting before "
    "sending it again"
)
"""Said with a 503 of a command (POST /v1/cells/.../meetings, /v1/meetings/...): without an Idempotency-Key the
gateway gives each request a new event id, so a resent command is not answered as a duplicate; with one, the id is
the key's (services.gateway.http.commands.keyed_event_id) and resending is safe."""


def build_command_event(
    *,
    event_type: str,
    model: type[EventData],
    data: dict[str, Any],
    subject: str,
    correlation_id: str | None,
    event_id: str | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A CloudEvent from the gateway whose data passed the shared contract model, with `extensions` (extension
    attributes, such as shared.envelope.HELD_EXTENSION) on its envelope."""
    try:
        validated = model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        field = body_field(".".join(str(part) for part in error_location(first)) or None)
        message = f"{field}: {validation_message(first)}" if field else "invalid"
        raise DataRefused(message, field=field, errors=list(errors)) from None
    event = new_event(
        type=event_type,
        source=GATEWAY_SOURCE,
        data=validated,
        subject=subject,
        correlation_id=correlation_id,
        event_id=event_id,
    )
    return {**event.model_dump(mode="json", exclude_none=True), **(extensions or {})}


async def send_command(
    *,
    rpc: Rpc,
    principal: Principal,
    event_type: str,
    model: type[EventData],
    data: dict[str, Any],
    subject: str,
    correlation_id: str | None = None,
    event_id: str | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Send one command as an ingested event (`event_id`: a resent command's own id, else a new one; `extensions` on
    its envelope); a rejection becomes an `invalid` error naming the field."""
    event = build_command_event(
        event_type=event_type,
        model=model,
        data=data,
        subject=subject,
        correlation_id=correlation_id,
        event_id=event_id,
        extensions=extensions,
    )
    try:
        reply = await rpc.call(
            Ingest(events=[event], route="http", account=principal.sub, scope=write_scope(principal))
        )
    except ServiceUnavailable as exc:
        raise exc.explained(COMMAND_UNANSWERED.format(event_id=event["id"])) from exc.__cause__
    result = reply.results[0]
    field = body_field(result.field)
    if result.outcome == "rejected":
        raise RpcError("invalid", body_reason(result.reason, result.field), field=field, refusal=result.refusal)
    return {
        "event_id": event["id"],
        "type": event_type,
        "subject": subject,
        "outcome": result.outcome,
        "reason": body_reason(result.reason, result.field) if result.reason else None,
        "field": field if result.outcome == "held" else None,
        "waiting_for": result.waiting_for,
        "reason_code": refusal_code(result.refusal) if result.outcome == "held" else None,
    }


BODY_FIELDS = {"assessor.role": "role"}
"""A command's data fields that its API body names otherwise (an assessment's `role` is its data's assessor)."""


def body_field(field: str | None) -> str | None:
    """A command's refused or held field as its API body names it: meetings names the event's path
    (`data.starts_at`, `data.records.1.member_id`), the contract's model the data's (`starts_at`); the body has no
    `data` wrapper, so both are `starts_at` (`data.assessor.role` is `role`, BODY_FIELDS). None stays None."""
    if field is None:
        return None
    own = field.removeprefix("data.")
    return BODY_FIELDS.get(own, own)


def body_reason(reason: str | None, field: str | None) -> str:
    """A command's refusal as its API body names the field: meetings' reason begins with the event's path
    (`data.starts_at: ...`), said of the body's field (`starts_at: ...`)."""
    said = reason or "rejected"
    if field is not None and said.startswith(f"{field}:"):
        return f"{body_field(field)}{said.removeprefix(field)}"
    return said


def command_data(body: BaseModel, **fixed: Any) -> dict[str, Any]:
    """The event data of a command: the body's fields plus those taken from the path."""
    return {**body.model_dump(mode="json", exclude_none=True), **fixed}


async def require_unit(get_unit: Callable[[str], Awaitable[object | None]], unit_id: str | None) -> None:
    """RpcError `invalid` naming `unit_id` when an account's unit is no unit meetings knows (`get_unit`: the
    directory's read, None for an unknown id): a token for a unit that does not exist would be refused everywhere.
    None (no unit) asks nothing."""
    if unit_id is not None and await get_unit(unit_id) is None:
        raise RpcError(
            "invalid",
            f"unit_id: no organization unit has the id {unit_id}; give the id of a cell or committee the system has"
            " (GET /v1/committees/{id} and /v1/cells/{id} read them)",
            field="unit_id",
        )


PERSON_IN_CELL = frozenset({Role.MEMBER, Role.SECRETARY})
"""The roles whose `person_id` must be a member of the account's `unit_id` (a cell): a member reads their own
inbox and history there, a secretary is the cell's own; a committee officer's person is a monitor of the committee,
listed by no cell."""
SECRETARY_POSITIONS = frozenset({"secretary", "deputy_secretary"})
"""The positions (member.upserted.v1 `role`) whose holder may have a secretary account of their cell: DOMAIN.md's
cell secretary (bí thư chi bộ) and deputy, who schedule, record and self-score the cell's meetings."""


def membership_problem(role: Role, member: MemberReply | None, *, unit_id: str, person_id: str) -> str | None:
    """Why `person_id` may not hold a `role` account of the cell `unit_id`, as an English clause ("X is not a member
    of C"); None when they may. `member` is how the cell lists them today (GetMember), None when it does not: a
    member's account needs a member of the cell, a secretary's one holding SECRETARY_POSITIONS (DOMAIN.md)."""
    if member is None:
        return f"{person_id} is not a member of {unit_id}"
    if role is Role.SECRETARY and member.role not in SECRETARY_POSITIONS:
        listed_as = member.role or "member"
        return f"{person_id} is listed by {unit_id} as {listed_as}, not as its secretary or deputy secretary"
    return None


async def listed_member(rpc: Rpc, *, unit_id: str, person_id: str, timeout: float | None = None) -> MemberReply | None:
    """The member `person_id` as the cell `unit_id` lists them today (meetings' GetMember), None when it does not;
    RpcError (ServiceUnavailable) when meetings does not answer within `timeout` (default the RPC timeout)."""
    try:
        return await rpc.call(GetMember(cell_id=unit_id, member_id=person_id), timeout=timeout)
    except RpcError as exc:
        if exc.code != "not_found" or isinstance(exc, ServiceUnavailable):
            raise
        return None


async def require_member(rpc: Rpc, *, role: Role, unit_id: str | None, person_id: str | None) -> None:
    """RpcError `invalid` naming `person_id` when a member's or secretary's account names a person that the cell
    `unit_id` does not list today (meetings' GetMember), or a secretary's names one who is not its secretary or deputy
    secretary (membership_problem): such an account read another cell's notices through its inbox, or wrote as the
    cell's secretary. Such an account without a person is refused naming `person_id` too (it would stand for no one:
    membership.MembershipCheck refuses it on every request). Other roles, or an account without a unit (refused by
    create_account), ask nothing."""
    if role not in PERSON_IN_CELL or not unit_id:
        return
    if not person_id:
        raise RpcError(
            "invalid",
            f"person_id: a {role.value} account stands for one member of its cell; give the id of that member (GET"
            f" /v1/cells/{unit_id}/members reads them)",
            field="person_id",
        )
    member = await listed_member(rpc, unit_id=unit_id, person_id=person_id)
    problem = membership_problem(role, member, unit_id=unit_id, person_id=person_id)
    if problem is None:
        return
    hint = (
        "give the id of a member the cell lists"
        if member is None
        else "give the id of the member the cell lists as its secretary or deputy secretary"
    )
    raise RpcError(
        "invalid",
        f"person_id: {problem}; {hint} (GET /v1/cells/{unit_id}/members reads them)",
        field="person_id",
    )


async def create_account(
    accounts: AccountRepository,
    *,
    secret: str,
    issuer: str,
    sub: str,
    role: Role,
    unit_id: str | None,
    person_id: str | None,
    days: int,
    max_days: int,
    province_wide: bool = False,
    sources: Sequence[str] = (),
) -> tuple[AccountRow, str]:
    """Record a local account and issue its token (`days` ≤ `max_days`); `invalid` naming the field otherwise.

    Officers, secretaries and members need their unit; an integration account needs a unit (it writes only in that
    subtree) unless it is explicitly `province_wide`. A scoped integration account's `sources` are the only ones
    its events may carry (check_sources); one registered to another active account is refused."""
    if role in (Role.MEMBER, Role.SECRETARY, Role.COMMITTEE_OFFICER) and not unit_id:
        raise RpcError("invalid", f"unit_id: a {role.value} account needs a unit_id", field="unit_id")
    if role is Role.INTEGRATION and not unit_id and not province_wide:
        raise RpcError(
            "invalid",
            "unit_id: an integration account needs the unit whose subtree it feeds, or province_wide: true",
            field="unit_id",
        )
    if province_wide and role is not Role.INTEGRATION:
        raise RpcError("invalid", "province_wide: only integration accounts have a scope", field="province_wide")
    if not 1 <= days <= max_days:
        raise RpcError("invalid", f"days: a token lives 1 to {max_days} days", field="days")
    wanted = check_sources(sources, role=role, unit_id=unit_id, province_wide=province_wide)
    held = {source: holder for source, holder in (await accounts.source_holders(wanted)).items() if holder != sub}
    if held:
        source, holder = sorted(held.items())[0]
        raise RpcError("invalid", f"sources: {source} is registered to the account {holder}", field="sources")
    at = issue_instant()
    account = await accounts.save(
        sub=sub,
        role=role.value,
        unit_id=unit_id,
        person_id=person_id,
        province_wide=province_wide,
        at=at,
        sources=wanted,
    )
    token = issue_token(
        secret=secret,
        issuer=issuer,
        sub=sub,
        role=role,
        unit_id=unit_id,
        person_id=person_id,
        days=days,
        issued_at=at,
    )
    return account, token


async def sync_registered_sources(accounts: AccountRepository, rpc: Rpc) -> SourcesSyncedReply:
    """Send meetings every active scoped integration account's sources (SyncSources), so they are refused to every
    other sender from now on, not from the account's first ingest; RpcError when meetings does not answer."""
    by_account = await accounts.registered_sources()
    registrations = [
        SourceRegistration(unit_id=unit, sources=sources, account=sub) for (unit, sub), sources in by_account.items()
    ]
    return await rpc.call(SyncSources(accounts=registrations))
