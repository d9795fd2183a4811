"""Request/reply over RabbitMQ between the gateway and the services.

A request names a method and its parameters; the reply is either a result or an error with a
code the gateway maps to HTTP (not_found 404, invalid 422, conflict 409, forbidden 403).
Requests travel to the `<service>.rpc` queue with direct reply-to and always carry a timeout.
"""

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

from faststream.rabbit import RabbitBroker
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.logs import get_logger

log = get_logger(__name__)

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
    """Run the requested method and wrap its result or error in a reply."""
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
    """Calls service methods over the broker, with a timeout on every call."""

    def __init__(self, broker: RabbitBroker, *, timeout: float = 5.0) -> None:
        self._broker = broker
        self._timeout = timeout

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
        try:
            response = await self._broker.request(
                request.model_dump_json(),
                queue=f"{service}.rpc",
                timeout=timeout or self._timeout,
                correlation_id=correlation_id,
                content_type="application/json",
                # FastStream/aio-pika take the expiration in seconds: the request expires with the wait
                expiration=timeout or self._timeout,
            )
        except TimeoutError as exc:
            raise ServiceUnavailable(service) from exc
        reply = RpcReply.model_validate_json(response.body)
        if not reply.ok:
            error = reply.error or RpcErrorBody(code="internal", message="empty error")
            raise RpcError(error.code, error.message, field=error.field)
        return reply.result
