"""Limits and the audit trail around every request: body size, per-token rate, audit rows."""

import json
import math
import time
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.gateway.repository import AuditEntry, AuditLog
from shared.logs import get_logger

log = get_logger(__name__)

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class RateLimiter:
    """A token bucket per subject: `per_minute` sustained, `burst` at once."""

    def __init__(self, *, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = per_minute / 60.0
        self._burst = float(max(burst, 1))
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> float:
        """Spend one token; 0 when allowed, else the seconds to wait before retrying."""
        now = self._clock()
        tokens, stamp = self._buckets.get(key, (self._burst, now))
        tokens = min(self._burst, tokens + (now - stamp) * self._rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self._rate if self._rate > 0 else 60.0

    @staticmethod
    def retry_after(wait: float) -> str:
        """The Retry-After header value (whole seconds, at least 1)."""
        return str(max(1, math.ceil(wait)))


def _error_body(code: str, message: str) -> bytes:
    return json.dumps({"code": code, "message": message, "field": "body", "service": None}).encode()


class BodySizeLimit:
    """Answer 413 to a body larger than the limit, by its Content-Length or while it streams in."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._too_large(send)

    async def _too_large(self, send: Send) -> None:
        body = _error_body("payload_too_large", f"body: larger than {self.max_bytes} bytes")
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


class AuditTrail:
    """Write one audit row for every state-changing call, whatever its outcome."""

    def __init__(self, app: ASGIApp, *, audit_log: Callable[[Scope], AuditLog | None]) -> None:
        self.app = app
        self.audit_log = audit_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != "http" or scope["method"] not in STATE_CHANGING:
            await self.app(scope, receive, send)
            return
        status = 500

        async def tracking_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        finally:
            await self._record(scope, status)

    async def _record(self, scope: Scope, status: int) -> None:
        state: dict[str, Any] = scope.get("state") or {}
        principal = state.get("principal")
        client = scope.get("client")
        # uvicorn already applies X-Forwarded-For from trusted proxies only; a client cannot spoof this
        client_ip = client[0] if client else None
        entry = AuditEntry(
            sub=principal.sub if principal else None,
            role=principal.role.value if principal else None,
            method=scope["method"],
            path=scope["path"],
            status=status,
            client_ip=client_ip,
            detail=state.get("audit_detail"),
        )
        audit_log = self.audit_log(scope)
        if audit_log is None:
            log.error("audit_unavailable", method=entry.method, path=entry.path, status=status)
            return
        try:
            await audit_log.record(entry)
        except Exception as exc:
            # the call already happened: losing its trace is an operator alarm, not the client's error
            log.error("audit_write_failed", method=entry.method, path=entry.path, sub=entry.sub, error=repr(exc))
