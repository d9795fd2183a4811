"""What operators see of the gateway's HTTP side: /metrics, request metrics by route template, traces."""

import time
import uuid

import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.logs import get_logger
from shared.metrics import HTTP_REQUESTS, HTTP_SECONDS
from shared.reading import EXTENSION_VALUE

log = get_logger(__name__)
UNMATCHED = "unmatched"
CORRELATION_HEADER = "x-correlation-id"

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def metrics() -> Response:
    """The process's Prometheus metrics in the text exposition format."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


EVENTS_CORRELATION = "events_correlation_id"
"""The request state's key for the correlation id its events name, when it is not the request's own."""


def adopt_correlation_id(request: Request, correlation_id: str) -> None:
    """Follow the rest of the request by `correlation_id` (the one its events name, CONTRACT.md `correlationid`):
    its `http_request` line names it as `correlation_id`, the request's own id staying `request_id`."""
    setattr(request.state, EVENTS_CORRELATION, correlation_id)


def correlation_id_of(request: Request) -> str:
    """The request's correlation id: the caller's X-Correlation-ID when well-formed, else one made for it."""
    value = getattr(request.state, "correlation_id", None)
    return str(value) if value else uuid.uuid4().hex


class HttpMetrics:
    """Count every request by method, route template (never the raw path) and status, and time it.

    It also gives every request a correlation id (the caller's `X-Correlation-ID` when it is a valid
    extension value, else a new one), binds it to every log line written while the request runs (as
    `correlation_id` and `request_id`), answers it in the same header, and writes one `http_request` log line per
    request (whose `correlation_id` is its events' own when adopt_correlation_id said so).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        given = dict(scope.get("headers") or []).get(CORRELATION_HEADER.encode(), b"").decode("latin-1")
        correlation_id = given if EXTENSION_VALUE.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["correlation_id"] = correlation_id

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", []), (b"x-correlation-id", correlation_id.encode())]
            await send(message)

        with structlog.contextvars.bound_contextvars(correlation_id=correlation_id, request_id=correlation_id):
            try:
                await self.app(scope, receive, send_status)
            finally:
                route = getattr(scope.get("route"), "path", None) or UNMATCHED
                method = scope["method"] if scope["method"] in _METHODS else "OTHER"
                elapsed = time.perf_counter() - started
                HTTP_REQUESTS.labels(method, route, str(status)).inc()
                HTTP_SECONDS.labels(method, route).observe(elapsed)
                if route not in _QUIET:
                    # a request whose events name their own correlation id is followed by it (adopt_correlation_id)
                    followed = scope["state"].get(EVENTS_CORRELATION) or correlation_id
                    log.info(
                        "http_request",
                        method=method,
                        route=route,
                        status=status,
                        duration_ms=round(elapsed * 1000, 1),
                        correlation_id=followed,
                    )


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_QUIET = frozenset({"/metrics", "/health"})


def instrument(app: FastAPI) -> None:
    """Add /metrics, the request metrics and OpenTelemetry's FastAPI instrumentation to the app."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    app.include_router(router)
    FastAPIInstrumentor.instrument_app(app, excluded_urls="/metrics,/health")
    app.add_middleware(HttpMetrics)
