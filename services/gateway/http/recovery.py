"""Operators recover what failed: dead letters, parked outbox rows and held events, and see it all at once.

The broker work on dead letters and the database work on outboxes are done by the service that owns them, over
its typed RPC (shared/contracts/ops_rpc.py): only a service's own broker user may read its `.dlq` queues
(deploy/broker_users.sh), and only the service reads its schema. The gateway checks the role, names the service,
audits each change (`audit_detail`) and logs it (`operator_action`).
"""

import asyncio
from datetime import datetime
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Depends, Path, Query, Request

from services.gateway.auth import Principal, Role
from services.gateway.bootstrap import GatewayState
from services.gateway.handlers import found
from services.gateway.http.commands import resubmission_event_id
from services.gateway.http.deps import Caller, Limit, Offset, RoleCheck, State
from services.gateway.http.errors import COMMON_ERRORS, WRITE_ERRORS
from services.gateway.http.operations import (
    PURGE_UNANSWERED,
    READ_DEAD_LETTERS,
    acting,
    get_system_health,
    no_consumer,
    queue_states,
    served_queues,
    timed,
)
from services.gateway.http.paging import Cursor, paged_route, service_page
from services.gateway.http.routing import ApiRoute
from services.gateway.schemas import IngestOutcomeRead
from services.gateway.schemas.operations import InstanceRead, RejectionCountsRead
from services.gateway.schemas.recovery import (
    DeadLetterListRead,
    DeadLetterPurgeRead,
    DeadLetterReplayCreate,
    DeadLetterReplayRead,
    HeldEventCreate,
    HeldEventDropCreate,
    HeldEventRead,
    OperationsOverviewRead,
    OutboxStatusRead,
    ParkedDropCreate,
    ParkedReplayCreate,
    ParkedReplayRead,
    ParkedRowRead,
    QueueRead,
    QueueSummaryRead,
    ServiceName,
    ServiceOverviewRead,
)
from shared.contracts import evaluation_rpc as evaluation
from shared.contracts import meetings_rpc as meetings
from shared.contracts import notifications_rpc as notifications
from shared.contracts.ops_rpc import OpsCatalog
from shared.logs import get_logger
from shared.ops.dead_letters import dead_letter_attention
from shared.ops.outbox import parked_rows_missing, unknown_parked_rows
from shared.rpc import RpcError
from shared.topology import CONSUMER_QUEUES, RPC_SERVICES

log = get_logger(__name__)
router = APIRouter(prefix="/v1", responses={**COMMON_ERRORS, **WRITE_ERRORS}, tags=["operations"], route_class=ApiRoute)

OPERATORS = frozenset({Role.OPERATOR})
DROP_HELD = RoleCheck(OPERATORS, "drop held events")
RETRY_HELD = RoleCheck(OPERATORS, "retry held events")
DROP_PARKED = RoleCheck(OPERATORS, "drop parked outbox rows")
REPLAY_PARKED = RoleCheck(OPERATORS, "replay parked outbox rows")
PURGE_DEAD_LETTERS = RoleCheck(OPERATORS, "purge dead letters")
REPLAY_DEAD_LETTERS = RoleCheck(OPERATORS, "replay dead letters")
READ_PARKED = RoleCheck(OPERATORS, "read parked outbox rows")
READ_HELD = RoleCheck(OPERATORS, "read held events")
READ_OVERVIEW = RoleCheck(OPERATORS, "read the operations overview")
"""Each route's role, checked before its body or parameters are validated (the route's dependency) and again by the
endpoint, for callers that run it directly (the web app)."""
CATALOGS: dict[str, OpsCatalog] = {
    "meetings": meetings.OPS,
    "evaluation": evaluation.OPS,
    "notifications": notifications.OPS,
}
OWNER_OF_DEAD_LETTERS = {queue.dead_letter_queue: queue.service for queue in CONSUMER_QUEUES}
"""Every dead-letter queue of the system, and the service that owns (and alone may read) it."""
DEAD_LETTERS_OF = {
    name: queue.dead_letter_queue for queue in CONSUMER_QUEUES for name in (queue.name, queue.dead_letter_queue)
}
"""The dead-letter queue each name `GET /v1/dead-letters` lists stands for: a consumer queue (`queue`) and its
`.dlq` (`dead_letter_queue`) alike."""

QueuePath = Annotated[
    str,
    Path(
        pattern=r"^[a-z0-9._-]{1,255}$",
        description="a consumer queue or its dead-letter queue, as `GET /v1/dead-letters` lists them"
        " (`evaluation.facts` or `evaluation.facts.dlq`)",
    ),
]
RowPath = Annotated[int, Path(ge=1, le=2**63 - 1)]


def dead_letter_queue(queue: str) -> str:
    """The `.dlq` a name of `GET /v1/dead-letters` (a consumer queue or its dead-letter queue) stands for; RpcError
    `not_found` naming the field `queue` and how to find the names for any other."""
    dead = DEAD_LETTERS_OF.get(queue)
    if dead is None:
        raise RpcError(
            "not_found",
            f"queue: {queue[:255]} is no queue of the system: name a consumer queue or its dead-letter queue as"
            " GET /v1/dead-letters lists them (queue or dead_letter_queue, e.g. evaluation.facts or"
            " evaluation.facts.dlq)",
            field="queue",
        )
    return dead


def _owner(queue: str) -> tuple[str, ServiceName]:
    """The dead-letter queue a name stands for (dead_letter_queue) and the service that owns it."""
    dead = dead_letter_queue(queue)
    return dead, cast(ServiceName, OWNER_OF_DEAD_LETTERS[dead])


def _acted(request: Request, caller: Principal, action: str, **detail: Any) -> None:
    """Audit (the trail writes `audit_detail` with the call) and log one operator action."""
    request.state.audit_detail = {"action": action, **detail}
    log.info("operator_action", action=action, sub=caller.sub, **detail)


# ---- dead letters ------------------------------------------------------------------------------


@router.get("/dead-letters/{queue}", response_model=DeadLetterListRead, dependencies=[Depends(READ_DEAD_LETTERS)])
async def list_dead_letters(
    queue: QueuePath,
    caller: Caller,
    state: State,
    limit: Limit = 50,
    offset: Offset = 0,
) -> DeadLetterListRead:
    """`limit` messages of a dead-letter queue from position `offset`, oldest first (headers, reason, death count,
    body preview), left there."""
    READ_DEAD_LETTERS.check(caller)
    queue, service = _owner(queue)
    reply = await found(
        state.rpc.call(CATALOGS[service].list_dead_letters(queue=queue, limit=limit, offset=offset)),
        "dead-letter queue",
        queue,
        field="queue",
    )
    return DeadLetterListRead.model_validate({**reply.model_dump(), "service": service})


@router.post(
    "/dead-letters/{queue}/replay", response_model=DeadLetterReplayRead, dependencies=[Depends(REPLAY_DEAD_LETTERS)]
)
async def replay_dead_letters(
    queue: QueuePath, body: DeadLetterReplayCreate, request: Request, caller: Caller, state: State
) -> DeadLetterReplayRead:
    """Send dead letters back to the queue they died in (consumers deduplicate): one event's or message's, the first
    `limit`, or all (empty body)."""
    REPLAY_DEAD_LETTERS.check(caller)
    queue, service = _owner(queue)
    choice = body.model_dump(exclude_none=True)
    # a web form's one-time key names the replay: the same form sent again (unanswered, resent) sends no letter twice
    replay_id = resubmission_event_id(request, caller, event_type="dead_letters.replay", subject=queue, content=choice)
    asked = CATALOGS[service].replay_dead_letters(queue=queue, replay_id=replay_id, **choice)
    reply = await found(acting(state.rpc.call(asked, timeout=60)), "dead-letter queue", queue, field="queue")
    detail = {"queue": queue, "replayed": reply.replayed, "kept": reply.kept, **choice}
    if reply.replayed == 0 and (unknown := chosen_by_id(choice)) is not None:
        request.state.audit_detail = {"action": "dead_letters_replayed", **detail}
        raise RpcError(
            "not_found", f"no dead letter in {queue} has the {unknown[1]} {choice[unknown[0]]}", field=unknown[0]
        )
    _acted(request, caller, "dead_letters_replayed", **detail)
    return DeadLetterReplayRead(queue=queue, service=service, replayed=reply.replayed, kept=reply.kept)


def chosen_by_id(choice: dict[str, Any]) -> tuple[str, str] | None:
    """The field and its words (`event_id`, "event id") when a dead-letter replay names the messages it wants by an
    id (event, message or listing key): none replayed then means none has it (404), not "nothing to do"."""
    words = {"key": "listing key", "message_id": "message id", "event_id": "event id"}
    return next(((field, said) for field, said in words.items() if choice.get(field) is not None), None)


@router.post(
    "/dead-letters/{queue}/purge", response_model=DeadLetterPurgeRead, dependencies=[Depends(PURGE_DEAD_LETTERS)]
)
async def purge_dead_letters(
    queue: QueuePath,
    request: Request,
    caller: Caller,
    state: State,
    through: Annotated[datetime | None, Query()] = None,
    count: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    newest: Annotated[str | None, Query(pattern=r"^[0-9a-f]{32}$")] = None,
) -> DeadLetterPurgeRead:
    """Drop the messages of a dead-letter queue (for good: list them first): all of them, or only those a listing
    showed: `through` its newest death (the listing's `through`), `newest` the letters that died in that second (the
    listing's `newest`; without it none of that second is dropped), `count` its `listed` (a listing shows at most
    5,000 letters), so the same purge sent again deletes none that died since; a 409 naming `count`, nothing
    deleted, when more letters than `count` died by `through` (the listing was cut)."""
    PURGE_DEAD_LETTERS.check(caller)
    queue, service = _owner(queue)
    asked = CATALOGS[service].purge_dead_letters(queue=queue, through=through, most=count, newest=newest)
    reply = await found(acting(state.rpc.call(asked), PURGE_UNANSWERED), "dead-letter queue", queue, field="queue")
    named = {"through": through.isoformat() if through else None, "count": count, "newest": newest}
    detail = {key: value for key, value in named.items() if value is not None}
    _acted(request, caller, "dead_letters_purged", queue=queue, purged=reply.purged, kept=reply.kept, **detail)
    return DeadLetterPurgeRead(queue=queue, service=service, purged=reply.purged, kept=reply.kept)


# ---- parked outbox rows ------------------------------------------------------------------------


@paged_route(router, "/outbox/{service}/parked", ParkedRowRead, dependencies=[Depends(READ_PARKED)])
async def list_parked_rows(
    service: ServiceName, caller: Caller, state: State, limit: Limit = 50, offset: Offset = 0, cursor: Cursor = None
) -> Any:
    """A service's parked outbox rows (events the broker refused for good), oldest first, with why; by `offset` or
    by `cursor` (paging.service_page)."""
    READ_PARKED.check(caller)
    asked = CATALOGS[service].list_parked_rows
    name = f"outbox/{service}/parked"
    return await service_page(
        state.secret, state.rpc.call, asked, list_name=name, cursor=cursor, offset=offset, limit=limit
    )


@router.post("/outbox/{service}/parked/replay", response_model=ParkedReplayRead, dependencies=[Depends(REPLAY_PARKED)])
async def replay_parked_rows(
    service: ServiceName, body: ParkedReplayCreate, request: Request, caller: Caller, state: State
) -> ParkedReplayRead:
    """Put parked rows (`ids`, or `all: true`) back in line with fresh attempts; the relay publishes them. The rows
    replayed are listed (`replayed_ids`) and each id that names no parked row is said unknown (`unknown`, in the error
    shape); a 404 naming them when none of the ids given names a parked row."""
    REPLAY_PARKED.check(caller)
    reply = await acting(state.rpc.call(CATALOGS[service].replay_parked_rows(ids=None if body.all else body.ids)))
    detail: dict[str, Any] = {"service": service, "ids": body.ids or "all", "replayed": reply.replayed}
    if reply.missing:
        detail["missing"] = reply.missing
    if reply.replayed or not reply.missing:
        _acted(request, caller, "parked_rows_replayed", **detail)
    else:
        request.state.audit_detail = {"action": "parked_rows_replayed", **detail}
        raise RpcError("not_found", parked_rows_missing(service, reply.missing, reply.replayed), field="ids")
    return ParkedReplayRead.model_validate(
        {
            "service": service,
            "replayed": reply.replayed,
            "replayed_ids": reply.replayed_ids,
            "unknown": unknown_parked_rows(service, reply.missing),
        }
    )


@router.post(
    "/outbox/{service}/parked/{row_id}/drop", response_model=ParkedRowRead, dependencies=[Depends(DROP_PARKED)]
)
async def drop_parked_row(
    service: ServiceName, row_id: RowPath, body: ParkedDropCreate, request: Request, caller: Caller, state: State
) -> Any:
    """Delete one parked row for good: its event is never published. The row and the reason are audited."""
    DROP_PARKED.check(caller)
    reply = await found(
        acting(state.rpc.call(CATALOGS[service].drop_parked_row(id=row_id, reason=body.reason))),
        "parked row",
        str(row_id),
        field="row_id",
    )
    _acted(
        request,
        caller,
        "parked_row_dropped",
        service=service,
        row_id=row_id,
        event_id=reply.event_id,
        type=reply.type,
        reason=body.reason,
    )
    return reply.model_dump()


# ---- held events -------------------------------------------------------------------------------


@paged_route(router, "/held-events", HeldEventRead, dependencies=[Depends(READ_HELD)])
async def list_held_events(
    caller: Caller, state: State, limit: Limit = 50, offset: Offset = 0, cursor: Cursor = None
) -> Any:
    """Events meetings holds until what they refer to arrives, oldest first, by `offset` or by `cursor`."""
    READ_HELD.check(caller)
    asked = meetings.ListHeldEvents
    return await service_page(
        state.secret, state.rpc.call, asked, list_name="held-events", cursor=cursor, offset=offset, limit=limit
    )


async def not_held(state: GatewayState, *, source: str, event_id: str) -> RpcError:
    """Why an event meetings does not hold cannot be judged again: it was rejected (conflict, 409, naming its open
    rejection, which is replayed instead), or no held or rejected event has that id (not_found, 404)."""
    try:
        rejection = await state.rpc.call(meetings.GetOpenRejection(source=source, event_id=event_id))
    except RpcError as exc:
        if exc.code != "not_found":
            raise
        return RpcError("not_found", f"no held or rejected event has the id {event_id} from {source}", field="event_id")
    return RpcError(
        "conflict",
        f"event {event_id} from {source} is not held: it was rejected (rejection {rejection.rejection_id}); replay "
        "that rejection instead",
        field="event_id",
    )


@router.post("/held-events/retry", response_model=IngestOutcomeRead, dependencies=[Depends(RETRY_HELD)])
async def retry_held_event(body: HeldEventCreate, request: Request, caller: Caller, state: State) -> Any:
    """Judge a held event again now: `accepted`, `held` (still waiting), `rejected` or `duplicate`; 409 when it is
    not held but rejected (replay its rejection), 404 when no held or rejected event has that id."""
    RETRY_HELD.check(caller)
    try:
        reply = await acting(state.rpc.call(meetings.RetryHeldEvent(source=body.source, event_id=body.event_id)))
    except RpcError as exc:
        if exc.code != "not_found":
            raise
        raise await not_held(state, source=body.source, event_id=body.event_id) from None
    _acted(request, caller, "held_event_retried", source=body.source, event_id=body.event_id, outcome=reply.outcome)
    return reply.model_dump()


@router.post("/held-events/drop", response_model=IngestOutcomeRead, dependencies=[Depends(DROP_HELD)])
async def drop_held_event(body: HeldEventDropCreate, request: Request, caller: Caller, state: State) -> Any:
    """Stop holding an event: it becomes a stored, published rejection with the reason (replayable later)."""
    DROP_HELD.check(caller)
    reply = await found(
        acting(state.rpc.call(meetings.DropHeldEvent(source=body.source, event_id=body.event_id, reason=body.reason))),
        "held event",
        body.event_id,
        field="event_id",
    )
    _acted(request, caller, "held_event_dropped", source=body.source, event_id=body.event_id, reason=body.reason)
    return reply.model_dump()


# ---- the overview ------------------------------------------------------------------------------


async def _total(state: GatewayState, request: Any) -> int | None:
    try:
        return int((await state.rpc.call(request)).total)
    except RpcError:
        return None  # that service did not answer: its status says so


async def _rejection_counts(state: GatewayState) -> RejectionCountsRead | None:
    """meetings' rejections by status (shared.rejection_counts), as GET /v1/rejections' `counts`; None when meetings
    did not answer."""
    try:
        listed = await state.rpc.call(meetings.ListRejections(limit=1, offset=0))
    except RpcError:
        return None
    return None if listed.counts is None else RejectionCountsRead.model_validate(listed.counts.model_dump())


def stuck_queue(queue: QueueRead) -> str | None:
    """The attention line of a queue of a service that does not answer, when the broker counts messages on it (ready
    plus delivered and not acknowledged; `meetings.ingest: 5 messages not handled (0 ready, 5 unacknowledged) by a
    service that does not answer`); None when the broker counts none, or for a dead-letter queue."""
    if queue.name.endswith(".dlq") or not queue.backlog and not queue.messages:
        return None
    if queue.backlog is None:
        return f"{queue.name}: {queue.messages} messages ready, a service that does not answer"
    return (
        f"{queue.name}: {queue.backlog} messages not handled ({queue.messages} ready, {queue.unacknowledged}"
        " unacknowledged) by a service that does not answer"
    )


def one_state(verdict: str, instances: list[InstanceRead]) -> list[InstanceRead]:
    """The processes as the service's row shows them, never contradicting its status: a service `down` because it
    did not answer the overview's request (a hung or frozen process whose heartbeat is still within the window) shows
    such a process `unanswered` ("Không trả lời yêu cầu"), never `reporting` ("Đang hoạt động") beside "Không phản
    hồi"."""
    if verdict != "down":
        return instances
    return [
        instance.model_copy(update={"state": "unanswered"}) if instance.state == "reporting" else instance
        for instance in instances
    ]


async def operations_overview(caller: Principal, state: GatewayState) -> OperationsOverviewRead:
    """Each service's status, queues (depth, consumers), dead letters and outbox; held events, open rejections and
    failed deliveries."""
    READ_OVERVIEW.check(caller)
    queue_names = {
        service: [
            *served_queues(service),
            *(q.dead_letter_queue for q in CONSUMER_QUEUES if q.service == service),
        ]
        for service in RPC_SERVICES
    }

    async def outbox(service: str) -> OutboxStatusRead | None:
        try:
            reply = await state.rpc.call(CATALOGS[service].outbox_status())
        except RpcError:
            return None
        return OutboxStatusRead.model_validate(reply.model_dump())

    # every part at once: the page waited for the health, then the queues, then the services' answers (their sum);
    # each part's time is logged (`operations_overview_read`, milliseconds), so a slow page names its slow part
    took: dict[str, float] = {}
    health, queues, outboxes, held, rejections, failed = await asyncio.gather(
        timed(took, "health", get_system_health(caller, state)),
        timed(took, "queues", queue_states(state, [name for names in queue_names.values() for name in names])),
        asyncio.gather(*(timed(took, f"outbox_{service}", outbox(service)) for service in RPC_SERVICES)),
        timed(took, "held", _total(state, meetings.ListHeldEvents(limit=1, offset=0))),
        timed(took, "rejections", _rejection_counts(state)),
        timed(took, "failed", _total(state, notifications.ListFailedDeliveries(limit=1, offset=0))),
    )
    log.info("operations_overview_read", **{f"{part}_ms": ms for part, ms in took.items()})
    services: dict[str, ServiceOverviewRead] = {}
    for service, status in zip(RPC_SERVICES, outboxes, strict=True):
        mine = [queues[name] for name in queue_names[service]]
        dead = {q.name: q.messages for q in mine if q.name.endswith(".dlq")}
        attention = dead_letter_attention(dead)
        if status is not None and status.parked:
            attention.append(f"{status.parked} outbox rows parked")
        attention += [line for q in mine if not q.name.endswith(".dlq") and (line := no_consumer(q)) is not None]
        reported = health.services.get(service)
        verdict: Literal["ok", "degraded", "down"]
        if status is None or (reported is not None and reported.status == "down"):
            verdict = "down"
            # what its consumers hold or left waiting, as the broker counts it: a frozen consumer reports nothing
            attention += [line for q in mine if (line := stuck_queue(q)) is not None]
        elif attention or (reported is not None and reported.status != "ok"):
            verdict = "degraded"
        else:
            verdict = "ok"
        services[service] = ServiceOverviewRead(
            status=verdict,
            queues=[q for q in mine if not q.name.endswith(".dlq")],
            dead_letters=dead,
            outbox=status,
            attention=attention,
            instances=one_state(verdict, reported.instances if reported is not None else []),
        )
    dead_total = sum(n or 0 for s in services.values() for n in s.dead_letters.values())
    summary = {
        queue.name: QueueSummaryRead(
            service=service,
            ready=queue.messages,
            unacknowledged=queue.unacknowledged,
            dead_lettered=found.dead_letters.get(f"{queue.name}.dlq", 0),
            consumers=queue.consumers,
        )
        for service, found in services.items()
        for queue in found.queues
    }
    healthy = health.status == "ok" and all(s.status == "ok" for s in services.values())
    return OperationsOverviewRead(
        status="ok" if healthy else "degraded",
        broker=health.broker,
        services=services,
        queues=summary,
        dead_letters_total=dead_total,
        unrouted=health.unrouted,
        unrouted_types=health.unrouted_types,
        measured_at=health.measured_at,
        parked_rows_total=sum(s.outbox.parked for s in services.values() if s.outbox is not None),
        held_events=held,
        open_rejections=None if rejections is None else rejections.open,
        rejections=rejections,
        failed_deliveries=failed,
    )


@router.get("/operations/overview", response_model=OperationsOverviewRead, dependencies=[Depends(READ_OVERVIEW)])
async def get_operations_overview(caller: Caller, state: State) -> OperationsOverviewRead:
    """One call for the operator page: each service's status, queues with depth and consumers, dead letters and
    outbox (lag, parked rows); the numbers of held events, open rejections and failed deliveries."""
    return await operations_overview(caller, state)
