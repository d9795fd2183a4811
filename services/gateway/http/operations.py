"""Operators (rejections, dead letters, health, failed deliveries) and administrators (frameworks, accounts)."""

import asyncio
import time
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar

import httpx
from fastapi import APIRouter, Depends, Path, Query, Request, status
from pydantic import Field

from services.gateway.auth import Role
from services.gateway.bootstrap import GatewayState
from services.gateway.handlers import (
    authorize_unit,
    create_account,
    found,
    missing_as,
    not_found,
    require_member,
    require_unit,
)
from services.gateway.http.commands import resubmission_event_id
from services.gateway.http.deps import Caller, Limit, Offset, RoleCheck, State
from services.gateway.http.errors import COMMON_ERRORS, WRITE_ERRORS
from services.gateway.http.paging import Carried, Cursor, cursor_page, paged_route, read_cursor, service_page
from services.gateway.http.reads import committee_first_month, province_first_month
from services.gateway.http.routing import ApiRoute
from services.gateway.queries import list_accounts, list_audit
from services.gateway.schemas import (
    AccountCreate,
    AccountRead,
    AccountTokenRead,
    AuditEntryRead,
    DeadLetterQueueRead,
    DeadLettersRead,
    FailedDeliveryRead,
    FrameworkCreate,
    FrameworkListRead,
    FrameworkRead,
    InstanceRead,
    RejectionDismissCreate,
    RejectionRead,
    RejectionsCursorPageRead,
    RejectionsDismissCreate,
    RejectionsDismissedRead,
    RejectionsPageRead,
    ReplayCreate,
    ReplayOutcomeRead,
    RescoreCreate,
    RescoreRead,
    ServiceHealthRead,
    SystemHealthRead,
    rejection_page,
)
from services.gateway.schemas.recovery import QueueRead
from shared.broker_api import management_url, queue_figures
from shared.contracts import evaluation_rpc as evaluation
from shared.contracts import meetings_rpc as meetings
from shared.contracts import notifications_rpc as notifications
from shared.envelope import now
from shared.logs import get_logger
from shared.ops.dead_letters import dead_letter_attention, dead_letter_counts
from shared.outages import broker_refusal
from shared.plausible import span_range_problem
from shared.probes import declared_queue
from shared.rejection_dismissal import dismiss_filtered
from shared.rpc import RpcError, ServiceUnavailable
from shared.topology import CONSUMER_QUEUES, RPC_SERVICES, UNROUTED_QUEUE, unbound_types

log = get_logger(__name__)

router = APIRouter(prefix="/v1", responses={**COMMON_ERRORS, **WRITE_ERRORS}, route_class=ApiRoute)

IdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
DeliveryPath = Annotated[int, Path(ge=1, le=2**63 - 1)]
OPERATORS = frozenset({Role.OPERATOR})
RETRY_DELIVERIES = RoleCheck(OPERATORS, "retry deliveries")
REPLAY_REJECTIONS = RoleCheck(OPERATORS, "replay rejections")
DISMISS_REJECTIONS = RoleCheck(OPERATORS, "dismiss rejections")
ADMINS = frozenset({Role.ADMIN})
MANAGE_ACCOUNTS = RoleCheck(ADMINS, "manage accounts")
MANAGE_FRAMEWORKS = RoleCheck(ADMINS, "manage frameworks")
LIST_REJECTIONS = RoleCheck(OPERATORS, "list rejections")
READ_DEAD_LETTERS = RoleCheck(OPERATORS, "read dead letters")
READ_HEALTH = RoleCheck(OPERATORS, "read the system's health")
LIST_FAILED_DELIVERIES = RoleCheck(OPERATORS, "list failed deliveries")
READ_AUDIT = RoleCheck(ADMINS | OPERATORS, "read the audit log")
"""An operator reads only the operators' actions in it (list_audit's operations_only), an admin all of it."""
"""Each route's role, checked before its body or parameters are validated (the route's dependency) and again by the
endpoint, for callers that run it directly (the web app)."""


# ---- operators ---------------------------------------------------------------------------------


class RejectionsQuery(Carried):
    """What a rejections cursor carries: the type and status the first page kept."""

    type: Annotated[str | None, Field(max_length=128)] = None
    status: Literal["open", "replayed", "dismissed"] | None = None


@router.get(
    "/rejections",
    response_model=RejectionsPageRead | RejectionsCursorPageRead,
    tags=["operations"],
    dependencies=[Depends(LIST_REJECTIONS)],
)
async def list_rejections(
    caller: Caller,
    state: State,
    type: Annotated[str | None, Query(max_length=128)] = None,
    status: Literal["open", "replayed", "dismissed"] | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
    cursor: Cursor = None,
) -> Any:
    """Events meetings rejected, newest first, by `offset` or by `cursor` (paging.read_cursor). `total` counts those
    `status` selects, every status when none is given; every page's `counts`, offset or cursor, gives each status's
    number read with its rows (`open` is the operator page's figure), so the two reconcile."""
    LIST_REJECTIONS.check(caller)
    if cursor is None:
        return rejection_page(
            await state.rpc.call(meetings.ListRejections(type=type, status=status, limit=limit, offset=offset))
        )
    given = {"type": type, "status": status}
    position = read_cursor(
        state.secret, cursor, list_name="rejections", carried=RejectionsQuery, given=given, offset=offset
    )
    query = position.query
    asked = meetings.ListRejections(type=query.type, status=query.status, limit=limit, after=position.after)
    listed = rejection_page(await state.rpc.call(asked))
    shown = cursor_page(
        state.secret, "rejections", listed["items"], after=listed["next_after"], query=query, limit=limit
    )
    return shown | {"counts": listed.get("counts")}


T = TypeVar("T")
ACTION_UNANSWERED = (
    "the action was sent and may already have been carried out before the service stopped answering: read the list"
    " again before sending it again. Sent again it does nothing twice: a row acted on already is answered as not found"
    " or done (404, 409), and a dead-letter replay sent again from the same web form sends no letter back twice"
)
"""Said with a 503 of an operator's action (a replay, retry, drop or dismissal) its service did not answer: asked,
perhaps done; what the same action sent again does (each checked: one row's action finds it gone or done, a web
replay of dead letters names itself, shared.ops.dead_letters.replay_dead_letters)."""
PURGE_UNANSWERED = (
    "the purge was sent and the queue may already have been emptied before the service stopped answering: list it"
    " again before purging it again, which deletes every dead letter it holds then, those that arrived since too"
)
"""Said with a 503 of a dead-letter purge its service did not answer: sent again it is no longer the same deletion."""


async def acting(call: Awaitable[T], detail: str = ACTION_UNANSWERED) -> T:
    """The answer of an operator's action (`call`: its RPC); a silence of its service is ServiceUnavailable with
    `detail` (the action was sent: perhaps done, and what sending it again does), as a command's 503 says, never
    "did not answer" alone, which a web form read as nothing sent (core.WebRoute)."""
    try:
        return await call
    except ServiceUnavailable as exc:
        raise exc.explained(detail) from exc.__cause__


@router.post(
    "/rejections/{rejection_id}/replay",
    response_model=ReplayOutcomeRead,
    tags=["operations"],
    dependencies=[Depends(REPLAY_REJECTIONS)],
)
async def replay_rejection(
    rejection_id: IdPath, request: Request, caller: Caller, state: State, body: ReplayCreate | None = None
) -> Any:
    """Judge a rejected event again: as it was (no body, or no `event`) or corrected (`event`); `attempt` chooses
    which refused attempt's copy (default: the latest received from a sender); `sender` names the account that sent
    a rejection stored before senders were kept (audited); 409 once replayed, 404 for a rejection or attempt there
    is not."""
    REPLAY_REJECTIONS.check(caller)
    event = body.event.model_dump(mode="json", exclude_none=True) if body is not None and body.event else None
    attempt = body.attempt if body is not None else None
    sender = body.sender if body is not None else None
    detail: dict[str, Any] = {"rejection_id": rejection_id, "corrected": event is not None, "attempt": attempt}
    if sender is not None:  # an operator's word on who sent it: the audit log keeps it
        detail["sender"] = sender
    request.state.audit_detail = detail
    try:
        asked = meetings.ReplayRejection(
            rejection_id=rejection_id, event=event, attempt=attempt, sender=sender, replayed_by=caller.sub
        )
        reply = await acting(state.rpc.call(asked))
    except RpcError as exc:
        # the audit row and the line say what the answer says: refused (and why), or sent and perhaps done
        detail["outcome"] = "unanswered" if isinstance(exc, ServiceUnavailable) else f"refused: {exc.code}"
        log.info("operator_action", action="rejection_replayed", sub=caller.sub, **detail)
        if exc.code == "not_found" and exc.field == "attempt":
            raise not_found("attempt", f"{attempt} of rejection {rejection_id}", field="attempt") from None
        if exc.code == "not_found":
            raise not_found("rejection", rejection_id, field="rejection_id") from None
        raise
    detail |= {"outcome": reply.outcome, "event_id": reply.id, "releasing": reply.releasing}
    log.info("operator_action", action="rejection_replayed", sub=caller.sub, **detail)
    return reply.model_dump()


@router.post(
    "/rejections/dismiss",
    response_model=RejectionsDismissedRead,
    tags=["operations"],
    dependencies=[Depends(DISMISS_REJECTIONS)],
)
async def dismiss_rejections(body: RejectionsDismissCreate, request: Request, caller: Caller, state: State) -> Any:
    """Close every open rejection the filter selects (refusal `code`, event `source`, `sender` account, received
    before/after), as one dismissal closes one, in batches, each row saying who, when and why; `dry_run` counts
    them only; 422 naming `code` for no criterion without `all` or a code no RefusalCode, `received_after` for an
    empty window (checked_filter). Sent again it closes nothing more. The dry run says when it counted (`counted_at`):
    confirming with it as `received_before` and `expected` the count closes exactly those counted, or nothing
    (`expected_differs`) when some were closed meanwhile."""
    DISMISS_REJECTIONS.check(caller)
    selected = meetings.RejectionFilter.model_validate(
        body.model_dump(include={"code", "source", "sender", "received_before", "received_after"})
    )
    try:
        meetings.checked_filter(selected, every=body.all)
    except meetings.FilterRefused as exc:
        raise RpcError("invalid", str(exc), field=exc.field) from None
    detail: dict[str, Any] = {
        "action": "rejections_dismissed",
        "filter": selected.model_dump(mode="json", exclude_none=True),
        "all": body.all,
        "dry_run": body.dry_run,
        "reason": body.reason,
        "expected": body.expected,
    }
    request.state.audit_detail = detail
    asked = meetings.DismissRejections(
        filter=selected,
        all=body.all,
        reason=body.reason,
        dismissed_by=caller.sub,
        dry_run=body.dry_run,
        expected=body.expected,
    )
    done = await acting(dismiss_filtered(state.rpc.call, asked))
    detail |= {
        "matched": done["matched"],
        "dismissed": done["dismissed"],
        "remaining": done["remaining"],
        "expected_differs": done["expected_differs"],
    }
    log.info("operator_action", sub=caller.sub, **detail)
    return done


@router.post(
    "/rejections/{rejection_id}/dismiss",
    response_model=RejectionRead,
    tags=["operations"],
    dependencies=[Depends(DISMISS_REJECTIONS)],
)
async def dismiss_rejection(
    rejection_id: IdPath, body: RejectionDismissCreate, request: Request, caller: Caller, state: State
) -> Any:
    """Close an open rejection without replaying it (garbage, an event dropped for good), saying why: it no longer
    counts as open and stays listed as `dismissed` with who, when and why; 409 once replayed or dismissed."""
    DISMISS_REJECTIONS.check(caller)
    request.state.audit_detail = {"action": "rejection_dismissed", "rejection_id": rejection_id, "reason": body.reason}
    log.info("operator_action", action="rejection_dismissed", sub=caller.sub, rejection_id=rejection_id)
    asked = meetings.DismissRejection(rejection_id=rejection_id, reason=body.reason, dismissed_by=caller.sub)
    reply = await found(acting(state.rpc.call(asked)), "rejection", rejection_id, field="rejection_id")
    return RejectionRead.model_validate(reply.model_dump()).model_dump()


@router.get(
    "/dead-letters", response_model=DeadLettersRead, tags=["operations"], dependencies=[Depends(READ_DEAD_LETTERS)]
)
async def get_dead_letters(caller: Caller, state: State) -> DeadLettersRead:
    """How many messages wait in each consumer queue's dead letters (passive declares)."""
    READ_DEAD_LETTERS.check(caller)
    try:
        connection = await state.broker.connect()  # the broker's own connection: no second login per probe
    except Exception as exc:
        raise RpcError("unavailable", "the gateway is not connected to the broker") from exc
    queues: list[DeadLetterQueueRead] = []
    for spec in CONSUMER_QUEUES:
        # a passive declare of a missing queue closes its channel: a probe channel, off the broker's connection
        result = await declared_queue(connection, spec.dead_letter_queue)
        if result is not None:
            queues.append(
                DeadLetterQueueRead(
                    queue=spec.name,
                    dead_letter_queue=spec.dead_letter_queue,
                    messages=result.message_count or 0,
                    consumers=result.consumer_count or 0,
                )
            )
        else:
            queues.append(
                DeadLetterQueueRead(
                    queue=spec.name,
                    dead_letter_queue=spec.dead_letter_queue,
                    messages=None,
                    consumers=None,
                    error="not declared yet (ChannelNotFoundEntity)",
                )
            )
    return DeadLettersRead(queues=queues, total=sum(queue.messages or 0 for queue in queues))


async def timed(took: dict[str, float], part: str, call: Awaitable[T]) -> T:
    """`call`'s answer, with the milliseconds it took kept in `took[part]` (whether it answered or raised)."""
    started = time.perf_counter()
    try:
        return await call
    finally:
        took[part] = round((time.perf_counter() - started) * 1000, 1)


async def queue_states(state: GatewayState, names: list[str]) -> dict[str, QueueRead]:
    """Each queue's figures as the broker counts them: ready messages and consumers by passive declares on the
    gateway's own connection (exact at once; `source` "declare"), and, when RabbitMQ's management API answers, the
    messages delivered and not yet acknowledged and the acks/s from it (sampled every 5 s; `source` "management",
    `backlog` = ready + unacknowledged); None figures for a queue not declared yet, or all of them when the broker
    does not answer."""
    found: dict[str, QueueRead] = {name: QueueRead(name=name, messages=None, consumers=None) for name in names}
    try:
        connection = await state.broker.connect()
    except Exception:
        return found

    async def declared(name: str) -> None:
        # a passive declare of a missing queue closes its channel: a probe channel, off the broker's connection
        result = await declared_queue(connection, name)
        if result is not None:
            found[name] = QueueRead(
                name=name,
                messages=result.message_count or 0,
                consumers=result.consumer_count or 0,
                source="declare",
            )

    settings = state.settings
    # every queue and the management API at once: one round trip each, not one after another (queue_figures keeps
    # the management API's answer for its FRESH_SECONDS)
    figures = asyncio.ensure_future(
        queue_figures(
            settings.amqp_url,
            management_url(settings.amqp_url, settings.broker_api_url),
            timeout=settings.health_timeout,
        )
    )
    await asyncio.gather(*(declared(name) for name in names))
    api = await figures
    for name, queue in found.items():
        if api is not None and queue.messages is not None and (row := api.get(name)) is not None:
            found[name] = queue.model_copy(
                update={
                    "unacknowledged": row.unacknowledged,
                    "backlog": queue.messages + row.unacknowledged,
                    "acks_per_second": row.acks_per_second,
                    "source": "management",
                }
            )
    return found


def served_queues(service: str) -> list[str]:
    """The queues a service's consumers read: its event queues and its RPC queue (`<service>.rpc`)."""
    return [*(queue.name for queue in CONSUMER_QUEUES if queue.service == service), f"{service}.rpc"]


def no_consumer(queue: QueueRead) -> str | None:
    """The attention line of a served queue nobody reads (`no consumer on meetings.ingest`), the overview's words;
    None when it has a consumer or its depth is unknown."""
    return f"no consumer on {queue.name}" if queue.consumers == 0 else None


@router.get("/system/health", response_model=SystemHealthRead, tags=["operations"], dependencies=[Depends(READ_HEALTH)])
async def get_system_health(caller: Caller, state: State) -> SystemHealthRead:
    """Each service's own /health page, the broker, every served queue's consumers and every dead-letter queue's
    depth: a service not ok, a queue no consumer reads or any dead letter makes the system `degraded`, and
    `attention` names each."""
    READ_HEALTH.check(caller)
    urls = state.settings.service_health_urls

    async def probe(client: httpx.AsyncClient, url: str) -> ServiceHealthRead:
        try:
            response = await client.get(url)
        except httpx.HTTPError as exc:
            return ServiceHealthRead(status="down", detail=f"{exc.__class__.__name__}: {exc}")
        try:
            detail = response.json()
        except ValueError:
            detail = response.text[:500]
        reported = detail.get("status") if isinstance(detail, dict) else None
        healthy = response.status_code == 200 and reported in (None, "ok")
        return ServiceHealthRead(status="ok" if healthy else "degraded", detail=detail)

    # a service whose processes send heartbeats is judged by all of them (shared.instances); the configured /health
    # address (one process) is asked only for a service none of whose processes has reported. A process of this
    # host killed outright is found dead now, as `make status` finds it, not once its heartbeats are overdue. The
    # checks that depend on nothing else are made at once (the operations page waited for their sum: 2-5 s idle, up
    # to 8.7 s under load); then the broker's figures, the probes and the queues' states, at once again
    async def broker_answer() -> str:
        if await state.broker.ping(timeout=2):
            return "ok"
        refusal = await broker_refusal(state.settings.amqp_url)  # says whether access was refused
        return f"down: {refusal}" if refusal else "down"

    took: dict[str, float] = {}
    _, broker = await asyncio.gather(
        timed(took, "local", state.instances.check_local(timeout=min(1.0, state.settings.health_timeout))),
        timed(took, "ping", broker_answer()),
    )
    measured_at = datetime.now(UTC)
    dead_letters: dict[str, int | None] = {spec.dead_letter_queue: None for spec in CONSUMER_QUEUES}
    reported = state.instances.services()
    probed = {service: url for service, url in urls.items() if service not in reported}

    async def broker_figures() -> tuple[dict[str, int | None], int | None, dict[str, QueueRead]]:
        if broker != "ok":
            return dead_letters, None, {}
        connection = await state.broker.connect()
        # passive declares: the gateway's broker user may not read these queues, only see their depth; the unrouted
        # queue says how many messages nobody was bound for (what they are: unbound_types)
        counts, served = await asyncio.gather(
            dead_letter_counts(connection, [*dead_letters, UNROUTED_QUEUE]),
            queue_states(state, [name for service in RPC_SERVICES for name in served_queues(service)]),
        )
        unrouted = counts.pop(UNROUTED_QUEUE)
        return counts, unrouted, served

    async with httpx.AsyncClient(timeout=state.settings.health_timeout) as client:
        (dead_letters, unrouted, served), reports = await asyncio.gather(
            timed(took, "broker_figures", broker_figures()),
            timed(took, "probes", asyncio.gather(*(probe(client, url) for url in probed.values()))),
        )
    log.info("system_health_read", **{f"{part}_ms": ms for part, ms in took.items()})
    # the heartbeats say the depths their process measured up to a few seconds ago: a purge or replay since (through
    # any gateway replica, or the ops CLI) made them stale, so they are corrected by these figures, measured now
    state.instances.measured_dead_letters(dead_letters)
    services = dict(zip(probed, reports, strict=True))
    for service in sorted(reported):
        verdict, instances, lines = state.instances.view(service)
        reporting = sum(1 for instance in instances if instance["state"] == "reporting")
        # the /health body of the process that reported last, as the one configured address gave it, with the
        # attention lines of all of them
        counts = {"reporting": reporting, "instances": len(instances), "attention": lines}
        latest = state.instances.latest_report(service)
        if latest is not None:
            detail: dict[str, Any] = {**latest, **counts}
        else:
            # no process reports now (a kill -9, a freeze, a stop): its last heartbeat is shown as that, with when it
            # came, never as the service's state (a trial read `down` over a dead process's `"status": "ok"`)
            heard = state.instances.last_heard(service)
            detail = {"status": verdict, **counts}
            if heard is not None:
                detail["last_report"] = heard[0]
                detail["last_seen"] = (measured_at - timedelta(seconds=heard[1])).isoformat()
        services[service] = ServiceHealthRead(
            status=verdict,
            detail=detail,
            instances=[InstanceRead.model_validate(instance) for instance in instances],
        )
    services = {service: services[service] for service in [*urls, *sorted(reported - set(urls))]}
    waiting = {queue: count for queue, count in dead_letters.items() if count}
    waiting_lines = dead_letter_attention(waiting)
    attention = [f"broker {broker}"] if broker != "ok" else []
    for service, report in services.items():
        if report.status != "ok":
            attention.append(f"{service} {report.status}")
            told = report.detail.get("attention") if isinstance(report.detail, dict) else None
            # a service's own dead-letter lines are said once below, for every queue
            attention += [
                f"{service}: {item}" for item in told or [] if isinstance(item, str) and item not in waiting_lines
            ]
    attention += [line for queue in served.values() if (line := no_consumer(queue)) is not None]
    attention += waiting_lines
    return SystemHealthRead(
        status="degraded" if attention else "ok",
        broker=broker,
        services=services,
        dead_letters=dead_letters,
        dead_letters_total=sum(waiting.values()),
        unrouted=unrouted,
        unrouted_types=unbound_types(),
        attention=attention,
        measured_at=measured_at,
    )


@paged_route(
    router,
    "/deliveries/failed",
    FailedDeliveryRead,
    tags=["operations"],
    dependencies=[Depends(LIST_FAILED_DELIVERIES)],
)
async def list_failed_deliveries(
    caller: Caller, state: State, limit: Limit = 50, offset: Offset = 0, cursor: Cursor = None
) -> Any:
    """Notifications that could not be delivered, newest first, by `offset` or by `cursor` (paging.service_page)."""
    LIST_FAILED_DELIVERIES.check(caller)
    asked = notifications.ListFailedDeliveries
    name = "deliveries/failed"
    return await service_page(
        state.secret, state.rpc.call, asked, list_name=name, cursor=cursor, offset=offset, limit=limit
    )


@router.post(
    "/deliveries/{delivery_id}/retry",
    response_model=FailedDeliveryRead,
    tags=["operations"],
    dependencies=[Depends(RETRY_DELIVERIES)],
)
async def retry_delivery(delivery_id: DeliveryPath, request: Request, caller: Caller, state: State) -> Any:
    """Try a failed delivery again."""
    RETRY_DELIVERIES.check(caller)
    request.state.audit_detail = {"delivery_id": delivery_id}
    retried = acting(state.rpc.call(notifications.RetryDelivery(delivery_id=delivery_id)))
    return (await found(retried, "delivery", str(delivery_id), field="delivery_id")).model_dump()


# ---- administrators ----------------------------------------------------------------------------


@router.get(
    "/frameworks", response_model=FrameworkListRead, tags=["administration"], dependencies=[Depends(MANAGE_FRAMEWORKS)]
)
async def list_frameworks(caller: Caller, state: State) -> dict[str, Any]:
    """Every scoring framework evaluation knows."""
    MANAGE_FRAMEWORKS.check(caller)
    page = await state.rpc.call(evaluation.ListFrameworks())
    return {"items": [item.model_dump() for item in page.items]}


@router.get(
    "/frameworks/{framework_id}",
    response_model=FrameworkRead,
    tags=["administration"],
    dependencies=[Depends(MANAGE_FRAMEWORKS)],
)
async def get_framework(framework_id: IdPath, caller: Caller, state: State) -> Any:
    """One framework with its criteria, bands and rules."""
    MANAGE_FRAMEWORKS.check(caller)
    asked = evaluation.GetFramework(framework_id=framework_id)
    return (await found(state.rpc.call(asked), "framework", framework_id, field="framework_id")).model_dump()


@router.post(
    "/frameworks",
    status_code=status.HTTP_201_CREATED,
    response_model=FrameworkRead,
    tags=["administration"],
    dependencies=[Depends(MANAGE_FRAMEWORKS)],
)
async def adopt_framework(body: FrameworkCreate, request: Request, caller: Caller, state: State) -> Any:
    """Adopt a framework; it applies to meetings from its effective date on."""
    MANAGE_FRAMEWORKS.check(caller)
    stored = await state.rpc.call(evaluation.AdoptFramework(document=body.document, committee_id=body.committee_id))
    request.state.audit_detail = {"framework_id": stored.id, "committee_id": body.committee_id}
    return stored.model_dump()


RESCORERS = frozenset({Role.ADMIN, Role.COMMITTEE_OFFICER})
RESCORE = RoleCheck(RESCORERS, "re-score history")


@router.post(
    "/rescore",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RescoreRead,
    tags=["administration"],
    dependencies=[Depends(RESCORE)],
)
async def rescore(body: RescoreCreate, request: Request, caller: Caller, state: State) -> Any:
    """Start re-scoring history under the frameworks now in force; follow it at /v1/rescore/{job_id}. Administrators
    anywhere; a committee officer a committee of their own subtree (`unit_id` required). The span's errors are
    shared.plausible.span_range_problem's (422 naming the field), a last period ending before the first month of
    data of the committee's subtree, or without `unit_id` of the whole province, among them (`period_to`)."""
    RESCORE.check(caller)
    if caller.role is Role.COMMITTEE_OFFICER:
        if body.unit_id is None:
            raise RpcError("invalid", "a committee officer re-scores a committee of their subtree", field="unit_id")
        await authorize_unit(caller, body.unit_id, directory=state.directory, kind="committee", field="unit_id")
    if problem := span_range_problem(body.period_from, body.period_to, now=now()):
        raise RpcError("invalid", problem.message, field=problem.field)
    if body.period_to is not None:
        # a span before the data re-scored 0 meetings where the pages answer 404 "Không có dữ liệu": the committee's
        # subtree's data, or without `unit_id` (an administrator's, every cell) the whole province's
        if body.unit_id is not None:
            first_month = await committee_first_month(state, body.unit_id)
        else:
            first_month = await province_first_month(state)
        if problem := span_range_problem(body.period_from, body.period_to, now=now(), first_month=first_month):
            raise RpcError("invalid", problem.message, field=problem.field)
    request.state.audit_detail = body.model_dump(exclude_none=True)
    # a web form's one-time key names the job: the same form sent twice (a double click, a browser's resend) is the
    # one job, shown as it stands, not a second run over the same cells
    job_id = resubmission_event_id(
        request, caller, event_type="rescore", subject=body.unit_id or "", content=body.model_dump(mode="json")
    )
    try:
        queued = await state.rpc.call(
            evaluation.Rescore(
                unit_id=body.unit_id, period_from=body.period_from, period_to=body.period_to, job_id=job_id
            )
        )
    except ServiceUnavailable as exc:
        raise exc.explained(RESCORE_UNANSWERED) from exc.__cause__
    return queued.model_dump()


RESCORE_UNANSWERED = (
    "the re-scoring may already have been queued before it stopped answering. Re-scoring the same months again"
    " changes no result, it only takes longer"
)
"""Said with a 503 of POST /v1/rescore whose job evaluation did not answer: asked for, perhaps queued (a web form
sent again with its one-time key is the same job)."""


@router.get("/rescore/{job_id}", response_model=RescoreRead, tags=["administration"], dependencies=[Depends(RESCORE)])
async def rescore_status(job_id: Annotated[str, Path(max_length=64)], caller: Caller, state: State) -> Any:
    """Progress of a rescoring job (a committee officer's: only of a job over a committee of their subtree, any other
    the 404 of a job that does not exist, naming `job_id`: it named the job's committee, telling the job existed)."""
    RESCORE.check(caller)
    asked = evaluation.GetRescoreStatus(job_id=job_id)
    job = await found(state.rpc.call(asked), "rescoring job", job_id, field="job_id")
    if caller.role is Role.COMMITTEE_OFFICER:
        if job.unit_id is None:
            raise not_found("rescoring job", job_id, field="job_id")
        with missing_as("rescoring job", job_id, field="job_id"):
            await authorize_unit(caller, job.unit_id, directory=state.directory, kind="committee")
    return job.model_dump()


@paged_route(router, "/accounts", AccountRead, tags=["administration"], dependencies=[Depends(MANAGE_ACCOUNTS)])
async def get_accounts(
    caller: Caller, state: State, limit: Limit = 50, offset: Offset = 0, cursor: Cursor = None
) -> Any:
    """Local accounts, newest first, by `offset` or by `cursor` (paging.read_cursor)."""
    MANAGE_ACCOUNTS.check(caller)
    if cursor is None:
        return _offset_page(await list_accounts(state.pool, limit=limit, offset=offset))
    position = read_cursor(state.secret, cursor, list_name="accounts", carried=Carried, given={}, offset=offset)
    listed = await list_accounts(state.pool, limit=limit, offset=0, after=position.after)
    return cursor_page(
        state.secret, "accounts", listed["items"], after=listed["next_after"], query=position.query, limit=limit
    )


def _offset_page(listed: dict[str, Any]) -> dict[str, Any]:
    """An offset page's answer (schemas.Page): the list's page without the key cursor pages follow."""
    return {key: value for key, value in listed.items() if key != "next_after"}


class AuditQuery(Carried):
    """What an audit cursor carries: the subject the first page kept, and whether it read as an operator reads."""

    sub: Annotated[str | None, Field(max_length=64)] = None
    operations_only: bool = False


@router.post(
    "/accounts",
    status_code=status.HTTP_201_CREATED,
    response_model=AccountTokenRead,
    tags=["administration"],
    dependencies=[Depends(MANAGE_ACCOUNTS)],
)
async def post_account(body: AccountCreate, request: Request, caller: Caller, state: State) -> AccountTokenRead:
    """Create (or update) a local account and return its token once; 422 naming `unit_id` for a unit the system
    does not have, or `person_id` for a member's or secretary's person the cell does not list."""
    MANAGE_ACCOUNTS.check(caller)
    await require_unit(state.directory.get, body.unit_id)
    await require_member(state.rpc, role=body.role, unit_id=body.unit_id, person_id=body.person_id)
    sub = body.sub or f"{body.role.value}-{uuid.uuid4().hex[:12]}"
    account, token = await create_account(
        state.accounts,
        secret=state.secret,
        issuer=state.settings.jwt_issuer,
        sub=sub,
        role=body.role,
        unit_id=body.unit_id,
        person_id=body.person_id,
        days=body.days or state.settings.token_days,
        max_days=state.settings.token_max_days,
        province_wide=body.province_wide,
        sources=body.sources,
    )
    request.state.audit_detail = {
        "account": sub,
        "role": body.role.value,
        "unit_id": body.unit_id,
        "province_wide": body.province_wide,
        "sources": list(account.sources),
    }
    state.sources_changed.set()  # meetings refuses the account's sources to others at once, not at its first call
    return AccountTokenRead(account=AccountRead.model_validate(account, from_attributes=True), token=token)


@router.delete(
    "/accounts/{sub}", response_model=AccountRead, tags=["administration"], dependencies=[Depends(MANAGE_ACCOUNTS)]
)
async def disable_account(sub: IdPath, request: Request, caller: Caller, state: State) -> AccountRead:
    """Disable a local account: its tokens stop working."""
    MANAGE_ACCOUNTS.check(caller)
    account = await state.accounts.set_active(sub, active=False)
    if account is None:
        raise not_found("account", sub, field="sub")
    request.state.audit_detail = {"account": sub}
    state.sources_changed.set()  # its sources are released
    return AccountRead.model_validate(account, from_attributes=True)


@paged_route(router, "/audit", AuditEntryRead, tags=["administration"], dependencies=[Depends(READ_AUDIT)])
async def get_audit(
    caller: Caller,
    state: State,
    sub: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
    cursor: Cursor = None,
) -> Any:
    """The audit log of state-changing calls and personal-data reads, newest first: all of it for an admin; for an
    operator only the operators' actions (API and command line), never who read members' data (docs/security.md)."""
    READ_AUDIT.check(caller)
    operations_only = caller.role != Role.ADMIN
    if cursor is None:
        listed = await list_audit(state.pool, sub=sub, limit=limit, offset=offset, operations_only=operations_only)
        return _offset_page(listed)
    given = {"sub": sub, "operations_only": operations_only}
    position = read_cursor(state.secret, cursor, list_name="audit", carried=AuditQuery, given=given, offset=offset)
    query = position.query
    listed = await list_audit(
        state.pool, sub=query.sub, limit=limit, offset=0, operations_only=query.operations_only, after=position.after
    )
    return cursor_page(state.secret, "audit", listed["items"], after=listed["next_after"], query=query, limit=limit)
