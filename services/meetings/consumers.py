"""FastStream subscribers of the meetings service: ingestion on `meetings.ingest`, RPC on `meetings.rpc`."""

import asyncio
import base64
from collections.abc import Mapping
from typing import Annotated, Any

import asyncpg
from faststream import AckPolicy, Context
from faststream.message import StreamMessage
from faststream.rabbit import Channel, RabbitRouter
from faststream.rabbit.annotations import RabbitMessage

from services.meetings import handlers, queries
from services.meetings.handlers.ingest import reject
from services.meetings.unit_of_work import MeetingsUnitOfWork
from shared.bindings import Mode, read_message
from shared.consuming import retry_delay
from shared.envelope import CLOUDEVENT_CONTENT_TYPE, InvalidEvent, is_batch, now, parse_batch
from shared.logs import get_logger
from shared.metrics import EVENTS_CONSUMED, type_label
from shared.rpc import RpcError, RpcMethod, RpcRequest, answer
from shared.topology import MEETINGS_INGEST, RpcQueue

log = get_logger(__name__)
router = RabbitRouter()
RPC_QUEUE = RpcQueue("meetings")
INGEST_PREFETCH = 1
"""Deliveries of meetings.ingest in flight at once. Every delivery runs as its own task, and ingestion is
serialized by one lock anyway: more would only wait on the lock holding pooled connections (starving the
RPC queries) and apply batches out of their publishing order (needless holds)."""


async def keep_raw_body(message: StreamMessage[Any]) -> bytes:
    """Hand the body over undecoded: a malformed one must become a rejection, not a decoding error."""
    return bytes(message.body)


@router.subscriber(
    MEETINGS_INGEST.rabbit_queue(),
    MEETINGS_INGEST.rabbit_exchange(),
    ack_policy=AckPolicy.MANUAL,
    channel=Channel(prefetch_count=INGEST_PREFETCH),
    decoder=keep_raw_body,
    title="meetings.ingest",
    description="External facts (one CloudEvent, or a batch of up to 1,000) to validate, apply and re-publish.",
)
async def on_ingest(body: bytes, message: RabbitMessage, pool: Annotated[asyncpg.Pool, Context("pool")]) -> None:
    """Judge every event of the delivery; requeue with backoff only when the infrastructure fails."""
    raw = message.raw_message
    kind = type_label(raw.routing_key)
    try:
        await ingest_delivery(
            body,
            pool=pool,
            batch=is_batch(raw.content_type, raw.routing_key),
            route="amqp",
            headers=raw.headers or {},
            content_type=raw.content_type,
        )
    except Exception as exc:
        deliveries = int(str((raw.headers or {}).get("x-delivery-count", 0) or 0))
        log.exception("ingest_delivery_failed", deliveries=deliveries, error=repr(exc))
        await asyncio.sleep(retry_delay(deliveries))
        await message.reject(requeue=True)
        EVENTS_CONSUMED.labels(MEETINGS_INGEST.name, kind, "retried").inc()
        return
    await message.ack()
    EVENTS_CONSUMED.labels(MEETINGS_INGEST.name, kind, "handled").inc()


async def ingest_delivery(
    body: bytes,
    *,
    pool: asyncpg.Pool,
    batch: bool,
    route: str = "amqp",
    headers: Mapping[str, Any] | None = None,
    content_type: str | None = CLOUDEVENT_CONTENT_TYPE,
    dry_run: bool = False,
) -> list[handlers.IngestResult]:
    """Judge a body's events (one, or a batch) a chunk per transaction, so a redelivered batch finds the done ones
    duplicate; a batch body that cannot be read is one stored and published rejection (field `body`).

    The AMQP consumer and the HTTP route (`ingest_body`) both come here: one reading of the bytes for both. A
    message in binary content mode (attributes in headers, shared.bindings) is translated into the structured
    event it stands for; one in neither mode is a stored and published rejection naming what is missing.
    A dry run answers the same outcomes and keeps nothing (handlers.dry_run).
    """
    items: list[Any] = [body]
    if not batch:
        try:
            incoming = read_message(headers or {}, content_type, body, route=route)
        except InvalidEvent as exc:
            if not dry_run:
                await _reject_body(pool, body, reason=exc.reason, field=exc.field, route=route, event_type="")
            return [handlers.IngestResult("", "", "", "rejected", exc.reason, exc.field, "neither_mode")]
        if incoming.mode is Mode.BINARY:
            items = [incoming.event]
    if batch:
        try:
            items = parse_batch(body)
        except InvalidEvent as exc:
            if not dry_run:
                await _reject_body(pool, body, reason=exc.reason, field=exc.field, route=route, event_type="batch")
            return [handlers.IngestResult("", "", "batch", "rejected", exc.reason, exc.field, exc.problem)]
    judge = handlers.dry_run if dry_run else handlers.ingest_batch
    return await judge(items, lambda: MeetingsUnitOfWork(pool), route=route)


async def _reject_body(
    pool: asyncpg.Pool, body: bytes, *, reason: str, field: str | None, route: str, event_type: str
) -> None:
    """Store and publish the rejection of a whole body that holds no event to judge."""
    async with MeetingsUnitOfWork(pool) as uow:
        await uow.ingest.lock()
        await reject(
            uow,
            source="",
            event_id="",
            event_type=event_type,
            reason=reason,
            field=field,
            raw=body.decode("utf-8", errors="replace").replace("\x00", "\ufffd"),
            route=route,
            received_at=now(),
            correlation_id=None,
        )
        await uow.commit()


def rpc_methods(pool: asyncpg.Pool) -> Mapping[str, RpcMethod]:
    """The meetings.rpc catalog of docs/architecture.md."""

    async def ingest(
        events: list[Any], route: str = "http", account: str = "", dry_run: bool = False
    ) -> dict[str, Any]:
        if not isinstance(events, list):
            raise RpcError("invalid", "events must be a list", field="events")
        judge = handlers.dry_run if dry_run is True else handlers.ingest_batch
        outcomes = await judge(events, lambda: MeetingsUnitOfWork(pool), route=route or "http")
        log.info("rpc_ingest", account=account, events=len(events), dry_run=dry_run is True)
        return {"results": [result.as_dict(index) for index, result in enumerate(outcomes)]}

    async def ingest_body(
        body_base64: str,
        content_type: str | None = None,
        route: str = "http",
        account: str = "",
        headers: dict[str, str] | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        try:
            body = base64.b64decode(body_base64, validate=True)
        except ValueError:
            raise RpcError("invalid", "body_base64 is not base64", field="body_base64") from None
        if headers is not None and not isinstance(headers, dict):
            raise RpcError("invalid", "headers must be an object", field="headers")
        outcomes = await ingest_delivery(
            body,
            pool=pool,
            batch=is_batch(content_type, body=body),
            route=route or "http",
            headers=headers,
            content_type=content_type,
            dry_run=dry_run is True,
        )
        log.info("rpc_ingest_body", account=account, events=len(outcomes), dry_run=dry_run is True)
        return {"results": [result.as_dict(index) for index, result in enumerate(outcomes)]}

    async def replay_rejection(rejection_id: str, event: Any | None = None) -> dict[str, Any]:
        try:
            async with MeetingsUnitOfWork(pool) as uow:
                result = await handlers.replay_rejection(rejection_id, uow, event=event)
                await uow.commit()
        except handlers.RejectionNotFound:
            raise RpcError("not_found", f"no rejection {rejection_id}", field="rejection_id") from None
        return result.as_dict(0)

    async def get_unit(unit_id: str) -> dict[str, Any]:
        async with pool.acquire() as conn:
            return _found(await queries.get_unit(conn, unit_id), f"no unit {unit_id}", "unit_id")

    async def list_units(parent_id: str | None = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        async with pool.acquire() as conn:
            return await queries.list_units(conn, parent_id=parent_id, **_paging(limit, offset))

    async def list_members(cell_id: str, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        async with pool.acquire() as conn:
            return await queries.list_members(conn, cell_id=cell_id, **_paging(limit, offset))

    async def list_meetings(
        cell_id: str, period: str | None = None, limit: int = 50, offset: int = 0
    ) -> dict[str, Any]:
        try:
            async with pool.acquire() as conn:
                return await queries.list_meetings(conn, cell_id=cell_id, period=period, **_paging(limit, offset))
        except InvalidEvent as exc:
            raise RpcError("invalid", exc.reason, field=exc.field) from None

    async def get_meeting(meeting_id: str) -> dict[str, Any]:
        async with pool.acquire() as conn:
            return _found(await queries.get_meeting(conn, meeting_id), f"no meeting {meeting_id}", "meeting_id")

    async def list_tasks(cell_id: str, open_only: bool = False, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        async with pool.acquire() as conn:
            return await queries.list_tasks(conn, cell_id=cell_id, open_only=open_only, **_paging(limit, offset))

    async def member_history(member_id: str) -> dict[str, Any]:
        async with pool.acquire() as conn:
            return _found(await queries.member_history(conn, member_id), f"no member {member_id}", "member_id")

    async def list_rejections(
        limit: int = 50, offset: int = 0, type: str | None = None, status: str | None = None
    ) -> dict[str, Any]:
        if status not in (None, "open", "replayed"):
            raise RpcError("invalid", "status must be open or replayed", field="status")
        async with pool.acquire() as conn:
            return await queries.list_rejections(conn, type=type, status=status, **_paging(limit, offset))

    return {
        "ingest": ingest,
        "ingest_body": ingest_body,
        "replay_rejection": replay_rejection,
        "get_unit": get_unit,
        "list_units": list_units,
        "list_members": list_members,
        "list_meetings": list_meetings,
        "get_meeting": get_meeting,
        "list_tasks": list_tasks,
        "member_history": member_history,
        "list_rejections": list_rejections,
    }


def _found(value: dict[str, Any] | None, message: str, field: str) -> dict[str, Any]:
    if value is None:
        raise RpcError("not_found", message, field=field)
    return value


def _paging(limit: int, offset: int) -> dict[str, int]:
    if not 1 <= limit <= 1000:
        raise RpcError("invalid", "limit must be between 1 and 1000", field="limit")
    if offset < 0:
        raise RpcError("invalid", "offset must not be negative", field="offset")
    return {"limit": limit, "offset": offset}


@router.subscriber(RPC_QUEUE.rabbit_queue(), title="meetings.rpc", description="Requests from the gateway.")
async def on_rpc(
    request: RpcRequest, methods: Annotated[Mapping[str, RpcMethod], Context("meetings_rpc")]
) -> dict[str, Any]:
    """Answer one request of the meetings.rpc catalog."""
    return await answer(request, methods)
