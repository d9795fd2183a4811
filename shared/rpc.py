"""Request/reply over RabbitMQ between the gateway and the services, typed end to end.

Every method is a pydantic request model in `shared/contracts/<service>_rpc.py` naming its service,
its method and (as its type parameter) its reply model: `await rpc.call(GetMeetingScore(meeting_id=m))`
returns a `MeetingScoreReply`. On the wire a request is `{"method", "params", "correlation_id"}` and a
reply `{"ok": true, "result"}` or `{"ok": false, "error": {"code", "message", "field", "refusal"?}}`; codes map to
HTTP in the gateway (not_found 404, invalid 422, conflict 409, forbidden 403, unavailable 503,
internal 500); `refusal` (shared.refusals) says why in a form a caller words itself, never by parsing `message`.
Only a request failing its model is `invalid` (naming the field); a method that
raises anything but RpcError is `internal`, logged with its traceback. Requests travel to the
`<service>.rpc` queue with direct reply-to and always carry a timeout.
"""

import asyncio
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import cache
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar, cast

import aio_pika
import structlog
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage
from faststream.rabbit import RabbitBroker
from opentelemetry import trace
from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from shared.config import broker_user_of
from shared.envelope import error_location, validation_message
from shared.logs import get_logger, request_context
from shared.metrics import RPC_CLIENT_SECONDS, RPC_SERVER_SECONDS
from shared.probes import kept_declared_queue
from shared.reading import unstorable_character
from shared.refusals import Refusal
from shared.telemetry import inject_trace_headers

log = get_logger(__name__)
_TRACER = trace.get_tracer("chibo.rpc")

DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"

ErrorCode = Literal["not_found", "invalid", "conflict", "forbidden", "unavailable", "internal"]


class RpcRequest(BaseModel):
    """A call to one method of a service, as it travels."""

    model_config = ConfigDict(frozen=True)

    method: str
    params: dict[str, Any] = Field(default_factory=dict)
    correlation_id: str | None = None


class RpcErrorBody(BaseModel):
    """What went wrong, for the caller."""

    code: ErrorCode
    message: str
    field: str | None = None
    refusal: Refusal | None = Field(default=None, exclude_if=lambda value: value is None)
    """The machine-readable reason, when the method gives one (off the wire otherwise); `message` stays English."""


class RpcReply(BaseModel):
    """A result or an error, as it travels."""

    ok: bool
    result: Any = None
    error: RpcErrorBody | None = None


class Reply(BaseModel):
    """A method's answer: the known fields typed, further ones kept (readers are tolerant)."""

    model_config = ConfigDict(extra="allow")


ReplyT = TypeVar("ReplyT", bound=BaseModel)


class TypedRpcReply(BaseModel, Generic[ReplyT]):
    """RpcReply with its `result` typed by the method's reply model: a reply read from its JSON bytes in one pass
    (pydantic-core's parser building the models straight away), not parsed to dicts and then validated again. A
    result out of the model's contract (or none) is kept as its JSON value, so an error reply and such a result are
    read in that same one pass too (read_reply)."""

    ok: bool
    result: Annotated[ReplyT | JsonValue, Field(union_mode="left_to_right")] = None
    error: RpcErrorBody | None = None


@cache
def typed_reply(reply_model: type[ReplyT]) -> type[TypedRpcReply[ReplyT]]:
    """TypedRpcReply of `reply_model`, built once per reply model and kept for the process: pydantic keeps the
    generics it parametrizes only weakly, so each reply read after a garbage collection built the whole model and its
    validator again: a 1,000-event ingest's reply took 4.0 ms CPU to read instead of 2.3 (cProfile of the HTTP ingest
    path, where profiling inflates the building to 42-67 ms)."""
    return TypedRpcReply[reply_model]  # type: ignore[valid-type]


ItemT = TypeVar("ItemT")


class Page(Reply, Generic[ItemT]):
    """One page of a list: `items`, the `total` count, and the `limit`/`offset` asked for."""

    items: list[ItemT]
    total: int
    limit: int
    offset: int
    next_after: list[str] | None = None
    """The key the following page starts after, of a list read by keyset (shared.keyset); None after the last."""


class Request(BaseModel, Generic[ReplyT]):
    """A request of one RPC method; subclasses set `service` and `method`, and parametrize the reply model.

    `class GetMeetingScore(Request[MeetingScoreReply])` declares that the method answers a
    MeetingScoreReply; `reply_model()` returns it at run time and `RpcClient.call` is typed by it.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    service: ClassVar[str]
    method: ClassVar[str]

    @classmethod
    def reply_model(cls) -> type[BaseModel]:
        """The reply model this request's method answers with (the type parameter of `Request`)."""
        for klass in cls.__mro__:
            metadata = getattr(klass, "__pydantic_generic_metadata__", None) or {}
            origin, args = metadata.get("origin"), metadata.get("args", ())
            if origin is not None and issubclass(origin, Request) and args and isinstance(args[0], type):
                return cast(type[BaseModel], args[0])
        raise TypeError(f"{cls.__name__} does not name its reply model: subclass Request[SomeReply]")


class FieldRefused(ValueError):
    """A request validator's refusal naming a field of its own below the one validated (`field`, dotted): the
    `invalid` answer names `<validated>.<field>` (meetings_rpc.FilterRefused: `filter.code`)."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class RpcError(Exception):
    """Raised by a method to answer with an error, and by the client when the answer is one."""

    def __init__(
        self, code: ErrorCode, message: str, *, field: str | None = None, refusal: Refusal | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.refusal = refusal
        """Why, as a code and values (shared.refusals), for a caller that words the error itself."""


class ServiceUnavailable(RpcError):
    """The service did not answer in time; `detail` says what that means for the request (a write that may have been
    done: whether sending it again is safe)."""

    def __init__(self, service: str, detail: str | None = None) -> None:
        said = f"the {service} service did not answer" + (f"; {detail}" if detail else "")
        super().__init__("unavailable", said, field=None)
        self.service = service
        self.detail = detail

    def explained(self, detail: str) -> "ServiceUnavailable":
        """The same silence with `detail` said after it, its cause kept (the gateway tells its own broker outage
        from a service's silence by it)."""
        said = ServiceUnavailable(self.service, detail)
        said.__cause__ = self.__cause__
        return said


Handler = Callable[[Any], Awaitable[BaseModel | Mapping[str, Any]]]
"""A method's implementation: takes its request model, returns its reply (a model, or a mapping that fits it)."""


class RpcMethods:
    """The methods one service answers: request model → handler, looked up by the model's method name."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._handlers: dict[str, tuple[type[Request[Any]], Handler]] = {}

    def add(self, request_type: type[Request[Any]], handler: Handler) -> None:
        """Answer `request_type` with `handler` (each method once, of this service)."""
        if request_type.service != self.service:
            raise ValueError(f"{request_type.__name__} belongs to {request_type.service}, not {self.service}")
        if request_type.method in self._handlers:
            raise ValueError(f"method {request_type.method!r} is answered twice")
        self._handlers[request_type.method] = (request_type, handler)

    def names(self) -> list[str]:
        """The method names answered, in the order they were added."""
        return list(self._handlers)

    def lookup(self, method: str) -> tuple[type[Request[Any]], Handler] | None:
        """The request model and handler of a method name, or None."""
        return self._handlers.get(method)


def _unstorable_at(value: Any, path: str = "") -> tuple[str, str] | None:
    """(dotted path, character) of the first string (or key) in a request's params holding a character no stored text
    may hold (shared.reading.unstorable_character: U+0000, an unpaired surrogate), or None."""
    if isinstance(value, str):
        found = unstorable_character(value)
        return (path, found) if found is not None else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            in_key = unstorable_character(str(key))
            if in_key is not None:
                return here, in_key
            inner = _unstorable_at(item, here)
            if inner is not None:
                return inner
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            inner = _unstorable_at(item, f"{path}.{index}" if path else str(index))
            if inner is not None:
                return inner
    return None


def _invalid(exc: ValidationError) -> RpcErrorBody:
    """The `invalid` answer of a request's first error, naming its field (a FieldRefused's own under the validated
    one: `filter.code`)."""
    first = exc.errors(include_url=False)[0]
    refused = (first.get("ctx") or {}).get("error")
    inner = tuple(refused.field.split(".")) if isinstance(refused, FieldRefused) else ()
    field = ".".join(str(part) for part in (*error_location(first), *inner)) or None
    message = validation_message(first)
    return RpcErrorBody(code="invalid", message=f"{field}: {message}" if field else message, field=field)


async def answer(
    request: RpcRequest,
    methods: RpcMethods,
    *,
    caller: str | None = None,
    allowed_callers: Sequence[str] = (),
) -> dict[str, Any]:
    """Validate the request against its model, run the method, and wrap its reply or error (timed by outcome).

    With `allowed_callers`, only a request whose `user_id` (`caller`; RabbitMQ refuses a publish whose user_id is not
    the publisher's own login) names one of them is run; any other is answered `forbidden` and logged (issue 11)."""
    started = time.perf_counter()
    if allowed_callers and caller not in allowed_callers:
        log.warning("rpc_caller_refused", method=request.method, caller=caller)
        refused = RpcReply(
            ok=False, error=RpcErrorBody(code="forbidden", message="this caller may not use this service")
        )
        reply = refused.model_dump(mode="json")
    else:
        with request_context(correlation_id=request.correlation_id):  # every line of the method carries the caller's
            reply = await _answer(request, methods)
    label = request.method if methods.lookup(request.method) is not None else "unknown"
    outcome = "ok" if reply.get("ok") else str((reply.get("error") or {}).get("code", "internal"))
    RPC_SERVER_SECONDS.labels(label, outcome).observe(time.perf_counter() - started)
    return reply


def caller_hint(program: str, command: str, service: str, amqp_url: str, asks: str = "") -> str:
    """One line for every command line `python -m <program> <command>` that `service` refused as an RPC caller (code
    `forbidden`: CHIBO_AMQP_URL's broker user, named from `amqp_url`, is not in its CHIBO_RPC_CALLERS, `answer`):
    what the command asks (`asks`, said in brackets when given) and how to run it as the gateway's broker user."""
    user = broker_user_of(amqp_url)
    asked = f" ({asks})" if asks else ""
    return (
        f"{command} asks {service}{asked}, which does not take calls from broker user {user!r} (not in its"
        " CHIBO_RPC_CALLERS): run it as a user it lists, such as the gateway's (after `make up`: `source"
        f" var/broker-credentials.env && CHIBO_AMQP_URL=$CHIBO_AMQP_URL_GATEWAY python -m {program} {command} ...`)"
    )


async def _answer(request: RpcRequest, methods: RpcMethods) -> dict[str, Any]:
    found = methods.lookup(request.method)
    if found is None:
        error = RpcErrorBody(code="invalid", message=f"unknown method {request.method!r}", field="method")
        return RpcReply(ok=False, error=error).model_dump(mode="json")
    request_type, handler = found
    unstorable = _unstorable_at(request.params)
    if unstorable is not None:  # PostgreSQL's text holds neither: no method could look such a value up
        field, character = unstorable
        said = "a NUL character is not allowed" if character == "\x00" else "an unpaired surrogate is not allowed"
        message = f"{field}: {said}" if field else said
        return RpcReply(ok=False, error=RpcErrorBody(code="invalid", message=message, field=field or None)).model_dump(
            mode="json"
        )
    try:
        params = request_type.model_validate(request.params)
    except ValidationError as exc:
        return RpcReply(ok=False, error=_invalid(exc)).model_dump(mode="json")
    try:
        result = await handler(params)
        reply_model = request_type.reply_model()
        reply = result if isinstance(result, reply_model) else reply_model.model_validate(result)
    except RpcError as exc:
        body = RpcErrorBody(code=exc.code, message=exc.message, field=exc.field, refusal=exc.refusal)
        return RpcReply(ok=False, error=body).model_dump(mode="json")
    except Exception as exc:
        # a bug (or a reply not fitting its model) is the service's fault, never the caller's
        log.exception("rpc_method_failed", method=request.method, error=repr(exc))  # `service`: the emitter
        body = RpcErrorBody(code="internal", message="internal error")
        return RpcReply(ok=False, error=body).model_dump(mode="json")
    # fields the method left unset stay off the wire, as they did when methods answered plain dicts; the envelope
    # RpcReply(ok=True, result=…).model_dump(mode="json") gives, written out: dumping it would walk the result again
    return {"ok": True, "result": reply.model_dump(mode="json", exclude_unset=True), "error": None}


def non_finite_field(value: Any, path: str = "") -> str | None:
    """The dotted field of the first NaN or Infinity in a request's values, or None when there is none."""
    if isinstance(value, float) and not math.isfinite(value):
        return path or "params"
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list | tuple) else ()
    for key, item in items:
        found = non_finite_field(item, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


def read_reply(request: Request[ReplyT], body: bytes) -> ReplyT:
    """The reply to `request` from its JSON bytes (RpcReply's shape), parsed once (TypedRpcReply): its reply model;
    RpcError with the error's code for an error reply, `internal` for a result out of the model's contract (logged,
    why judged from the value already read); ValidationError for bytes that are no RpcReply."""
    reply_model = request.reply_model()
    reply = typed_reply(reply_model).model_validate_json(body)
    if not reply.ok:
        error = reply.error or RpcErrorBody(code="internal", message="empty error")
        raise RpcError(error.code, error.message, field=error.field, refusal=error.refusal)
    if isinstance(reply.result, reply_model):
        return cast(ReplyT, reply.result)
    try:  # a JSON value the model did not take: judged again only to say why (no second parse of the bytes)
        return cast(ReplyT, reply_model.model_validate(reply.result))
    except ValidationError as exc:
        service, method = request.service, request.method
        log.error("rpc_reply_invalid", dependency=service, method=method, error=str(exc))
        raise RpcError("internal", f"the {service} service answered {method} out of contract") from exc


class RpcClient:
    """Calls service methods over the broker, with a timeout on every call.

    Requests share one channel consuming RabbitMQ's direct reply-to and are matched to their
    replies by correlation id, so many calls are in flight at once: a service that does not
    answer delays only the calls made to it, each by at most its timeout. (FastStream's own
    `broker.request` serialises every request behind one lock, and cancelling one mid-way can
    close the shared channel.) The channel is opened on the broker's own connection.
    """

    def __init__(self, broker: RabbitBroker, *, timeout: float = 5.0, user_id: str | None = None) -> None:
        self._broker = broker
        self._timeout = timeout
        self._user_id = user_id
        """Stamped on every request: RabbitMQ checks it is this connection's login, the services check the caller."""
        self._channel: AbstractChannel | None = None
        self._pending: dict[str, asyncio.Future[bytes]] = {}
        self._opening: asyncio.Future[AbstractChannel] | None = None
        """The reply channel's opening, shared by the calls waiting for it and run to its end whoever stops waiting."""
        self._watched: object | None = None

    async def call(
        self, request: Request[ReplyT], *, correlation_id: str | None = None, timeout: float | None = None
    ) -> ReplyT:
        """Call the request's method; its reply model, RpcError on an error reply, ServiceUnavailable on silence.
        `correlation_id`: sent with the request (the server's lines carry it); by default the one bound to the
        caller's log lines (structlog contextvars), as the gateway binds each HTTP request's."""
        service, method = request.service, request.method
        wrong = non_finite_field(request.model_dump())
        if wrong is not None:  # JSON has no NaN or Infinity: pydantic would send it as null, which means "none"
            raise RpcError("invalid", f"{wrong}: not a finite number", field=wrong)
        if correlation_id is None:  # the caller's own (the gateway binds each HTTP request's): it travels along
            bound = structlog.contextvars.get_contextvars().get("correlation_id")
            correlation_id = bound if isinstance(bound, str) else None
        wire = RpcRequest(method=method, params=request.model_dump(mode="json"), correlation_id=correlation_id)
        started = time.perf_counter()
        outcome = "ok"
        try:
            with _TRACER.start_as_current_span(f"{service}.rpc {method}", kind=trace.SpanKind.CLIENT) as span:
                span.set_attribute("rpc.service", service)
                span.set_attribute("rpc.method", method)
                body = await self._call_concurrently(service, wire, timeout or self._timeout)
                return read_reply(request, body)
        except RpcError as exc:
            outcome = exc.code
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
                        user_id=self._user_id,
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
        if self._opening is None or self._opening.done():
            self._opening = asyncio.ensure_future(self._open_reply_channel())
            self._opening.add_done_callback(_read_failure)
        # shielded: a call's timeout stops its wait, never a Channel.Open half-way on the broker's shared connection
        return await asyncio.shield(self._opening)

    async def _open_reply_channel(self) -> AbstractChannel:
        connection = await self._broker.connect()  # the broker's own connection: no second login
        if connection is not self._watched:
            # after a broker restart the robust connection comes back, but the direct reply-to
            # consumer does not: the next call opens a fresh reply channel
            callbacks = getattr(connection, "reconnect_callbacks", None)
            if callbacks is not None:
                callbacks.add(self._forget_reply_channel)
            self._watched = connection
        channel = await connection.channel(publisher_confirms=False)
        queue = await channel.get_queue(DIRECT_REPLY_TO, ensure=False)
        await queue.consume(self._on_reply, no_ack=True)
        self._channel = channel
        return channel

    def _forget_reply_channel(self, *_: Any) -> None:
        """The connection was re-established: replies to the old reply channel will never come."""
        self._channel = None
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("the broker connection was re-established"))

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        future = self._pending.get(message.correlation_id or "")
        if future is not None and not future.done():
            future.set_result(message.body)


def _read_failure(opening: "asyncio.Future[AbstractChannel]") -> None:
    """Read a failed opening's error (every waiting call raised it already; none waiting: logged, not warned of)."""
    if not opening.cancelled() and opening.exception() is not None:
        log.debug("rpc_reply_channel_failed", error=repr(opening.exception()))


async def rpc_consumers(connection: aio_pika.abc.AbstractConnection, service: str) -> int | None:
    """How many consumers `<service>.rpc` has (0: none of the service's processes takes requests), None when the
    queue does not exist; a passive declare on the probe connection's kept channel (shared.probes.kept_declared_queue:
    asked before each HTTP ingest call; one of a missing queue closes its channel, which must not take `connection`
    down with it)."""
    declared = await kept_declared_queue(connection, f"{service}.rpc")
    return None if declared is None else declared.consumer_count or 0
