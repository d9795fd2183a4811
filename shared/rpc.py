"""Request/reply over RabbitMQ between the gateway and the services.

A request names a method and its parameters; the reply is either a result or an error with a
code the gateway maps to HTTP (not_found 404, invalid 422, conflict 409, forbidden 403).
Requests travel to the `<service>.rpc` queue with direct reply-to and always carry a timeout.
"""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage
from faststream.rabbit import RabbitBroker
from opentelemetry import trace
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.logs import get_logger
from shared.metrics import RPC_CLIENT_SECONDS, RPC_SERVER_SECONDS
from shared.telemetry import inject_trace_headers

log = get_logger(__name__)
_TRACER = trace.get_tracer("chibo.rpc")

DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"

ErrorCode = Literal["not_found", "invalid", "conflict", "forbidden", "unavailable", "internal"]


class RpcRequest(BaseModel):
    """A call to one method of a service."""

    model_config = ConfigDict(frozen=True)

    method: str
    params: dict[str, Any] = Field(default_factory=dict)
    correlation_id: str | None = None


class RpcErrorBody(BaseModel):
    """What went wrong, for the caller."""

    code: ErrorCode
    message: str
    field: str | None = None


class RpcReply(BaseModel):
    """A result or an error."""

    ok: bool
    result: Any = None
    error: RpcErrorBody | None = None


class RpcError(Exception):
    """Raised by a method to answer with an error, and by the client when the answer is one."""

    def __init__(self, code: ErrorCode, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class ServiceUnavailable(RpcError):
    """The service did not answer in time."""

    def __init__(self, service: str) -> None:
        super().__init__("unavailable", f"the {service} service did not answer", field=None)
        self.service = service


RpcMethod = Callable[..., Awaitable[Any]]


async def answer(request: RpcRequest, methods: Mapping[str, RpcMethod]) -> dict[str, Any]:
    """Run the requested method and wrap its result or error in a reply (timed by method and outcome)."""
    started = time.perf_counter()
    reply = await _answer(request, methods)
    label = request.method if request.method in methods else "unknown"
    outcome = "ok" if reply.get("ok") else str((reply.get("error") or {}).get("code", "internal"))
    RPC_SERVER_SECONDS.labels(label, outcome).observe(time.perf_counter() - started)
    return reply


async def _answer(request: RpcRequest, methods: Mapping[str, RpcMethod]) -> dict[str, Any]:
    method = methods.get(request.method)
    if method is None:
        reply = RpcReply(ok=False, error=RpcErrorBody(code="invalid", message=f"unknown method {request.method!r}"))
        return reply.model_dump(mode="json")
    try:
        result = await method(**request.params)
    except RpcError as exc:
        reply = RpcReply(ok=False, error=RpcErrorBody(code=exc.code, message=exc.message, field=exc.field))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in first.get("loc", ())) or None
        reply = RpcReply(ok=False, error=RpcErrorBody(code="invalid", message=first.get("msg", "invalid"), field=field))
    except TypeError as exc:
        reply = RpcReply(ok=False, error=RpcErrorBody(code="invalid", message=f"bad parameters: {exc}"))
    except Exception as exc:
        log.exception("rpc_method_failed", method=request.method, error=repr(exc))
        reply = RpcReply(ok=False, error=RpcErrorBody(code="internal", message="internal error"))
    else:
        reply = RpcReply(ok=True, result=result)
    return reply.model_dump(mode="json")


class RpcClient:
    """Calls service methods over the broker, with a timeout on every call.

    Requests share one channel consuming RabbitMQ's direct reply-to and are matched to their
    replies by correlation id, so many calls are in flight at once: a service that does not
    answer delays only the calls made to it, each by at most its timeout. (FastStream's own
    `broker.request` serialises every request behind one lock, and cancelling one mid-way can
    close the shared channel.) Without a live connection (TestRabbitBroker) it falls back to
    `broker.request`.
    """

    def __init__(self, broker: RabbitBroker, *, timeout: float = 5.0) -> None:
        self._broker = broker
        self._timeout = timeout
        self._channel: AbstractChannel | None = None
        self._pending: dict[str, asyncio.Future[bytes]] = {}
        self._opening: asyncio.Lock | None = None

    async def call(
        self,
        service: str,
        method: str,
        *,
        correlation_id: str | None = None,
        timeout: float | None = None,
        **params: Any,
    ) -> Any:
        """Call `service.method(**params)`; raise RpcError on an error reply, ServiceUnavailable on silence."""
        request = RpcRequest(method=method, params=params, correlation_id=correlation_id)
        limit = timeout or self._timeout
        started = time.perf_counter()
        outcome = "ok"
        try:
            with _TRACER.start_as_current_span(f"{service}.rpc {method}", kind=trace.SpanKind.CLIENT) as span:
                span.set_attribute("rpc.service", service)
                span.set_attribute("rpc.method", method)
                if getattr(self._broker, "_connection", None) is None:
                    body = await self._call_through_broker(service, request, limit)
                else:
                    body = await self._call_concurrently(service, request, limit)
                reply = RpcReply.model_validate_json(body)
                if not reply.ok:
                    error = reply.error or RpcErrorBody(code="internal", message="empty error")
                    outcome = error.code
                    raise RpcError(error.code, error.message, field=error.field)
                return reply.result
        except ServiceUnavailable:
            outcome = "unavailable"
            raise
        finally:
            RPC_CLIENT_SECONDS.labels(service, method, outcome).observe(time.perf_counter() - started)

    async def _call_concurrently(self, service: str, request: RpcRequest, limit: float) -> bytes:
        key = uuid.uuid4().hex
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            async with asyncio.timeout(limit):
                channel = await self._reply_channel()
                await channel.default_exchange.publish(
                    aio_pika.Message(
                        request.model_dump_json().encode(),
                        content_type="application/json",
                        correlation_id=key,
                        headers=inject_trace_headers({}),
                        reply_to=DIRECT_REPLY_TO,
                        expiration=limit,  # seconds: a request nobody took in time is dropped, not run late
                    ),
                    routing_key=f"{service}.rpc",
                    mandatory=False,
                )
                return await future
        except (TimeoutError, aio_pika.exceptions.AMQPError, ConnectionError) as exc:
            raise ServiceUnavailable(service) from exc
        finally:
            self._pending.pop(key, None)

    async def _reply_channel(self) -> AbstractChannel:
        if self._channel is not None and not self._channel.is_closed:
            return self._channel
        self._opening = self._opening or asyncio.Lock()
        async with self._opening:
            if self._channel is None or self._channel.is_closed:
                connection = self._broker._connection  # the broker's own connection: no second login
                assert connection is not None
                channel = await connection.channel(publisher_confirms=False)
                queue = await channel.get_queue(DIRECT_REPLY_TO, ensure=False)
                await queue.consume(self._on_reply, no_ack=True)
                self._channel = channel
        return self._channel

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        future = self._pending.get(message.correlation_id or "")
        if future is not None and not future.done():
            future.set_result(message.body)

    async def _call_through_broker(self, service: str, request: RpcRequest, limit: float) -> bytes:
        try:
            response = await self._broker.request(
                request.model_dump_json(),
                queue=f"{service}.rpc",
                timeout=limit,
                correlation_id=request.correlation_id,
                headers=inject_trace_headers({}),
                content_type="application/json",
                expiration=limit,
            )
        except TimeoutError as exc:
            raise ServiceUnavailable(service) from exc
        return bytes(response.body)
