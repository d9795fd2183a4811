"""One error shape for every failure, and how service errors become HTTP statuses."""

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiormq.exceptions
import asyncpg
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.gateway.handlers import BodyError
from services.gateway.schemas import ErrorRead
from shared.envelope import error_location, validation_message
from shared.logs import get_logger
from shared.outages import BROKER, DATABASE, Outage, outage_of
from shared.reading import MAX_NUMBER_DIGITS
from shared.refusals import refusal_code
from shared.rpc import RpcError, ServiceUnavailable

log = get_logger(__name__)

RPC_STATUS = {"not_found": 404, "invalid": 422, "conflict": 409, "forbidden": 403, "unavailable": 503, "internal": 500}


class ApiError(Exception):
    """An error the gateway itself answers (authentication, rate limit)."""

    def __init__(
        self, status: int, code: str, message: str, *, field: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers


def _describe(description: str) -> dict[str, Any]:
    return {"model": ErrorRead, "description": description}


COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _describe("Malformed request"),
    401: _describe("Missing, invalid or expired bearer token"),
    403: _describe("The role may not do this"),
    404: _describe(
        "Not found, or outside the caller's part of the tree (the same answer); `field` names the path parameter or"
        " body field that carried the id (`meeting_id`)"
    ),
    422: _describe(
        "A parameter or field is invalid, or unexpected (a query parameter the route does not read, a body field its"
        " model has not), or a query parameter is given twice; `field` names it (`query.<name>`)"
    ),
    429: _describe("Too many requests for this token; see Retry-After"),
    500: _describe("A bug in the gateway or in the service answering (its log has the traceback)"),
    503: _describe(
        "A service did not answer in time, or the gateway cannot reach RabbitMQ or PostgreSQL; `service` names it"
        " (`broker`, `database`); see Retry-After. For a write the service may have done part or all of it before"
        " it stopped answering: `message` says so and whether sending it again is safe (events sent again with the"
        " same source and id are answered as duplicates)"
    ),
}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    409: _describe("Conflicts with the current state"),
    413: _describe("Body or batch too large"),
}


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    service: str | None = None,
    headers: dict[str, str] | None = None,
    reason_code: str | None = None,
) -> JSONResponse:
    """The JSON error answer (`reason_code` only when the service gave one)."""
    body = ErrorRead(code=code, message=message, field=field, service=service, reason_code=reason_code)
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


SERVICE_RETRY_AFTER = "5"
"""Seconds a client (the API's, the web app's 503 page) is told to wait before asking a silent service again."""
OUTAGE_RETRY_AFTER = "10"
"""Seconds a client is told to wait before retrying while the gateway's broker or database is unreachable."""
OUTAGE_WORDS = {BROKER: "the message broker (RabbitMQ)", DATABASE: "the gateway's database (PostgreSQL)"}


def outage_response(request: Request, outage: Outage) -> JSONResponse:
    """503 `unavailable` naming the unreachable dependency in `service` (`broker`, `database`) and why, with
    Retry-After; the web app's page reads `request.state.outage` to say the same in Vietnamese."""
    request.state.outage = outage
    log.warning("dependency_unavailable", dependency=outage.dependency, reason=outage.reason, path=request.url.path)
    message = f"{OUTAGE_WORDS[outage.dependency]} is unavailable to the gateway: {outage.reason}; try again later"
    return error_response(
        503, "unavailable", message, service=outage.dependency, headers={"Retry-After": OUTAGE_RETRY_AFTER}
    )


QUERY_NAMED = frozenset({"period"})
"""Fields the services (and reads.readable_period) name bare that an API request gives as a query parameter."""


def query_field(request: Request, field: str | None, message: str) -> tuple[str | None, str]:
    """(field, message) naming a query parameter as a request's own validation does (`query.period`, like
    `query.limit`): a `?period=` refused by its range or by a service is named as one refused by its form (a trial's
    `2026-13` answered `query.period`, `9999-12` `period`). A service's refused keyset key (`after`) is the cursor's
    that carried it (`query.cursor`). Other fields are returned as they are."""
    if field == "after" and "cursor" in request.query_params:
        return "query.cursor", f"query.cursor: not a cursor this list gave ({message})"
    if field not in QUERY_NAMED or field not in request.query_params:
        return field, message
    named = f"query.{field}"
    if message.startswith(f"{field}:"):
        return named, f"query.{message}"
    return named, f"{named}: {message}"


async def _on_rpc_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RpcError)
    if isinstance(exc, ServiceUnavailable):
        outage = outage_of(exc.__cause__) if exc.__cause__ is not None else None
        if outage is not None and outage.dependency == BROKER:  # not the service's silence: the gateway's own link
            return outage_response(request, outage)
        log.warning("service_unavailable", dependency=exc.service, path=request.url.path)
        retry = {"Retry-After": SERVICE_RETRY_AFTER}
        return error_response(503, "unavailable", exc.message, service=exc.service, headers=retry)
    status = RPC_STATUS.get(exc.code, 500)
    if exc.code == "internal":
        log.error("service_internal_error", path=request.url.path, message=exc.message)
    field, message = query_field(request, exc.field, exc.message)
    return error_response(status, exc.code, message, field=field, reason_code=refusal_code(exc.refusal))


async def _on_api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, field=exc.field, headers=exc.headers)


async def _on_body_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BodyError)
    return error_response(exc.status, exc.code, exc.message, field=exc.field)


UNEXPECTED_FIELD = "unexpected field: this body has no such field"
"""What a refusal says of a field the request's model does not have (pydantic's `extra_forbidden`)."""


def _refused_field(error: Mapping[str, Any]) -> str:
    """The path of one validation error as the caller sent it (`points.A1`, `query.period`), `body` for the whole."""
    return ".".join(str(part) for part in error_location(error) if part != "body") or "body"


def _refused_said(error: Mapping[str, Any], field: str) -> str:
    """What one validation error says of its field."""
    if error.get("type") == "extra_forbidden":
        return UNEXPECTED_FIELD
    return validation_message(error)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 naming in `field` the first field at fault, an unexpected (extra) one before any other (a body of another
    shape is told so, not that its own fields are missing), and in `message` every field at fault in that order,
    each `path: why` joined by `; `; 400 for a body that is not JSON."""
    assert isinstance(exc, RequestValidationError)
    errors = sorted(exc.errors(), key=_not_extra)
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        return error_response(400, "bad_request", f"body: not valid JSON ({validation_message(first)})", field="body")
    said = [f"{field}: {_refused_said(error, field)}" for error in errors for field in [_refused_field(error)]]
    message = "; ".join(dict.fromkeys(said)) or "body: invalid request"
    return error_response(422, "invalid", message, field=_refused_field(first))


def _not_extra(error: Mapping[str, Any]) -> bool:
    """Sort key putting the unexpected (extra) fields first, the others in the model's order after them."""
    return error.get("type") != "extra_forbidden"


FASTAPI_BODY_UNREADABLE = "There was an error parsing the body"
"""FastAPI's whole answer when a body cannot be decoded at all (bytes that are not UTF-8), before any JSON is read."""


def _unreadable(cause: BaseException | None) -> str:
    """Why FastAPI could not read a body as JSON, in our words (never Python's: an integer of too many digits told
    the sender to call sys.set_int_max_str_digits()): bytes that are not UTF-8, else such an integer, the only other
    ValueError json.loads raises besides its syntax errors (answered as `json_invalid` before this)."""
    if cause is None or isinstance(cause, UnicodeDecodeError):
        return "not UTF-8 text"
    if isinstance(cause, ValueError):
        return f"a number of more than {MAX_NUMBER_DIGITS} digits"
    return "unreadable"


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == FASTAPI_BODY_UNREADABLE:
        return error_response(400, "bad_request", f"body: not valid JSON ({_unreadable(exc.__cause__)})", field="body")
    codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}
    return error_response(
        exc.status_code, codes.get(exc.status_code, "error"), str(exc.detail), headers=getattr(exc, "headers", None)
    )


async def _on_dependency_error(request: Request, exc: Exception) -> JSONResponse:
    """A failure of a kind RabbitMQ's or PostgreSQL's clients raise: 503 when it says one is unreachable (outage_of),
    else raised on to the handler of unexpected failures (500)."""
    outage = outage_of(exc)
    if outage is None:
        raise exc
    return outage_response(request, outage)


DEPENDENCY_ERRORS: tuple[type[Exception], ...] = (
    RuntimeError,  # aio-pika's "Connection was not opened", aiormq's channel state errors
    OSError,  # refused connections, TimeoutError of a pool's acquire
    aiormq.exceptions.AMQPError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)
"""The kinds of failure the clients of RabbitMQ and PostgreSQL raise when one is unreachable; each answered by
_on_dependency_error in one place for every route, API and page."""


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    outage = outage_of(exc)
    if outage is not None:  # RabbitMQ or PostgreSQL unreachable: the client should retry, not report a bug
        return outage_response(request, outage)
    log.exception("gateway_error", path=request.url.path, error=repr(exc))
    return error_response(500, "internal", "internal error")


ErrorPage = Callable[[Request, int], Response | None]
"""The web app's page for an error status on one of its paths (None elsewhere): see web.errors.status_page."""


def _paged(handler: Callable[[Request, Exception], Awaitable[Response]], page: ErrorPage | None) -> Any:
    """`handler`, but on a path of the web app its answer's status as the app's Vietnamese page, not JSON."""

    async def answer(request: Request, exc: Exception) -> Response:
        response = await handler(request, exc)
        if page is None:
            return response
        paged = page(request, response.status_code)
        if paged is None:
            return response
        for header in ("allow", "retry-after"):  # what the client is told to do next still holds
            if header in response.headers:
                paged.headers[header] = response.headers[header]
        return paged

    return answer


def install_error_handlers(app: FastAPI, *, page: ErrorPage | None = None) -> None:
    """Route every failure through the one error shape (JSON), and through `page` on the web app's paths."""
    app.add_exception_handler(RpcError, _paged(_on_rpc_error, page))
    app.add_exception_handler(ApiError, _paged(_on_api_error, page))
    app.add_exception_handler(BodyError, _paged(_on_body_error, page))
    app.add_exception_handler(RequestValidationError, _paged(_on_validation_error, page))
    app.add_exception_handler(StarletteHTTPException, _paged(_on_http_error, page))
    for kind in DEPENDENCY_ERRORS:
        app.add_exception_handler(kind, _paged(_on_dependency_error, page))
    app.add_exception_handler(Exception, _paged(_on_unexpected, page))
