"""Limits and the audit trail around every request: body size, JSON depth, per-token and per-address rates,
audit rows, and the counts of refused anonymous requests."""

import asyncio
import ipaddress
import json
import math
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from limits import parse as parse_limit
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.gateway.repository import AuditEntry, AuditLog
from shared.audit import audit_json
from shared.logs import get_logger
from shared.metrics import AUDIT_WRITE_FAILURES
from shared.reading import ReadError, body_over_limit, check_tree, read_value
from shared.text import is_ascii_number

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


class AnonymousGuard:
    """Throttle requests without a valid token by client address, before their token is even looked at
    (issue 11, fault 6), and count the refusals instead of auditing each one."""

    def __init__(self, *, limit: str) -> None:
        self._item = parse_limit(limit)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._refused: Counter[str] = Counter()
        self._throttled: Counter[str] = Counter()
        self._last_path: dict[str, str] = {}

    def allows(self, client_ip: str) -> bool:
        """Whether this address may still try a credential (spends nothing)."""
        return bool(self._limiter.test(self._item, client_ip))

    def failed(self, client_ip: str) -> None:
        """Spend one of the address's attempts on a request whose credential was refused."""
        self._limiter.hit(self._item, client_ip)

    def retry_after(self, client_ip: str) -> str:
        """Seconds until the address may try again (Retry-After)."""
        stats = self._limiter.get_window_stats(self._item, client_ip)
        return str(max(1, math.ceil(stats.reset_time - time.time())))

    def count(self, client_ip: str, *, status: int, path: str) -> None:
        """Count one refused anonymous request (429 as throttled, anything else as refused)."""
        (self._throttled if status == 429 else self._refused)[client_ip] += 1
        self._last_path[client_ip] = path[:200]

    def pending(self) -> int:
        """Refusals counted but not written yet."""
        return sum(self._refused.values()) + sum(self._throttled.values())

    async def flush(self, pool: asyncpg.Pool) -> int:
        """Add the counts to `anonymous_refusal` (one row per address and minute); return how many were written."""
        refused, throttled, paths = self._refused, self._throttled, self._last_path
        self._refused, self._throttled, self._last_path = Counter(), Counter(), {}
        addresses = sorted(set(refused) | set(throttled))
        if not addresses:
            return 0
        rows = [(ip, refused[ip], throttled[ip], paths.get(ip)) for ip in addresses]
        await pool.executemany(
            "INSERT INTO anonymous_refusal (client_ip, window_start, refused, throttled, last_path)"
            " VALUES ($1, date_trunc('minute', now()), $2, $3, $4)"
            " ON CONFLICT (client_ip, window_start) DO UPDATE SET"
            " refused = anonymous_refusal.refused + EXCLUDED.refused,"
            " throttled = anonymous_refusal.throttled + EXCLUDED.throttled, last_path = EXCLUDED.last_path",
            rows,
        )
        total = sum(row[1] + row[2] for row in rows)
        log.warning("anonymous_requests_refused", addresses=len(rows), requests=total)
        return total

    async def run_flusher(self, pool: asyncpg.Pool, *, every: float) -> None:
        """Write the counts every `every` seconds until cancelled (then once more)."""
        try:
            while True:
                await asyncio.sleep(every)
                try:
                    await self.flush(pool)
                except Exception as exc:  # the counts stay in memory lost only with the process: say so
                    log.error("anonymous_count_write_failed", error=repr(exc))
        finally:
            if self.pending():
                await self.flush(pool)


@dataclass(frozen=True, slots=True)
class SignInDelays:
    """The growing delays of one (name, address) pair: `free` failures go at once, then each next attempt waits
    `first` seconds after the latest failure, twice as long after every further one, never more than `longest`;
    failures older than `memory` seconds are forgotten."""

    free: int = 3
    first: float = 2.0
    longest: float = 900.0
    memory: float = 86400.0

    def wait(self, *, failures: int, since_last: float) -> int:
        """Whole seconds this pair still waits after `failures` failures, the latest `since_last` seconds ago."""
        if failures < self.free:
            return 0
        delay = min(self.longest, self.first * 2 ** min(failures - self.free, 32))
        left = delay - since_last
        return max(1, math.ceil(left)) if left > 0 else 0


def throttled_address(client_ip: str) -> str:
    """The address a sign-in is counted under: an IPv6 client's /64 (one subscriber holds a whole /64, so counting
    each address apart would give one attacker billions of fresh pairs), any other address as it is."""
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return client_ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class SignInThrottle:
    """Failed web sign-ins slowed per (account name, client address) with growing delays, capped per account across
    addresses and per address across names, counted in PostgreSQL (`web_sign_in_attempt`) so that every gateway
    replica sees the same attempts: a pair, a name or an address over its limit is refused before its password is
    even checked.

    The pair is what a guesser from one address runs into: failing someone's password from one address never stops
    that person signing in from another (a limit per name alone let anyone lock a known person out). Guesses spread
    over many addresses are held by the name's own moving window (`per_account`), which does not apply to an address
    the name has signed in from before (`web_sign_in_known_address`), so its owner gets in from there even then.
    `limits` gives the notation of the windows; its strategies cannot grow a delay, and its storages
    (memory, Redis, Memcached, MongoDB) are not the PostgreSQL every replica already shares, so the counting is SQL.

    Attempts still being checked count too, so a burst of parallel guesses, on one replica or several, cannot slip
    past the limit while the first ones are hashed. The name is counted whether or not an account has it: the
    throttle says nothing about who exists."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        per_account: str,
        per_address: str,
        delays: SignInDelays | None = None,
        known_days: float = 90.0,
    ) -> None:
        self._pool = pool
        self._limits = {"account": parse_limit(per_account), "address": parse_limit(per_address)}
        self._delays = delays or SignInDelays()
        self._known = float(known_days * 86400)
        self._longest = max(self._delays.memory, *(item.get_expiry() for item in self._limits.values()))

    @staticmethod
    def _name(username: str) -> str:
        return username.strip().casefold()

    def _keys(self, username: str, client_ip: str) -> list[tuple[str, str]]:
        name, address = self._name(username), throttled_address(client_ip)
        return [("pair", f"{address} {name}"), ("account", name), ("address", address)]

    async def begin(self, username: str, client_ip: str) -> tuple[int, list[int]]:
        """(seconds before this name from this address may try a password again, the attempt's rows): 0 and the
        rows counting this attempt as being checked until `end`, or the wait and no rows."""
        keys = self._keys(username, client_ip)
        async with self._pool.acquire() as connection, connection.transaction():
            # one check-and-count at a time per pair, name and address, across replicas (keys in one order)
            for kind, key in sorted(keys):
                await connection.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"sign-in:{kind}:{key}"
                )
            waits = [await self._pair_wait(connection, keys[0][1])]
            known = await connection.fetchval(
                "SELECT true FROM web_sign_in_known_address WHERE name = $1 AND address = $2"
                " AND signed_in_at > now() - make_interval(secs => $3)",
                keys[1][1],
                keys[2][1],
                self._known,
            )
            for kind, key in keys[1:]:
                if kind == "account" and known:
                    continue  # the owner's own address: guesses from elsewhere do not stop them
                waits.append(await self._window_wait(connection, kind, key))
            if max(waits):
                return max(waits), []
            ids = await connection.fetch(
                "INSERT INTO web_sign_in_attempt (kind, key) SELECT * FROM unnest($1::text[], $2::text[]) RETURNING id",
                [kind for kind, _ in keys],
                [key for _, key in keys],
            )
        return 0, [row["id"] for row in ids]

    async def _pair_wait(self, connection: asyncpg.Connection, key: str) -> int:
        """The pair's growing delay: its failures (and attempts still being checked) within the memory."""
        row = await connection.fetchrow(
            "SELECT count(*) AS failures, EXTRACT(EPOCH FROM now() - max(attempted_at)) AS since_last"
            " FROM web_sign_in_attempt WHERE kind = 'pair' AND key = $1"
            " AND attempted_at > now() - make_interval(secs => $2)",
            key,
            self._delays.memory,
        )
        if not row["failures"]:
            return 0
        return self._delays.wait(failures=int(row["failures"]), since_last=float(row["since_last"]))

    async def _window_wait(self, connection: asyncpg.Connection, kind: str, key: str) -> int:
        """A moving window's wait: when the newest `amount` attempts are all in the window, the next may go once the
        oldest of them has left it."""
        item = self._limits[kind]
        rows = await connection.fetch(
            "SELECT EXTRACT(EPOCH FROM attempted_at + make_interval(secs => $3) - now()) AS left_s"
            " FROM web_sign_in_attempt WHERE kind = $1 AND key = $2"
            " AND attempted_at > now() - make_interval(secs => $3)"
            " ORDER BY attempted_at DESC LIMIT $4",
            kind,
            key,
            float(item.get_expiry()),
            item.amount,
        )
        return max(1, math.ceil(float(rows[-1]["left_s"]))) if len(rows) >= item.amount else 0

    async def end(self, username: str, client_ip: str, attempt: list[int], *, ok: bool | None) -> None:
        """The attempt's outcome: a refused password (False) keeps it as a failure of the pair, the name and the
        address; the right one (True) forgets the pair's failures and remembers the address as the name's own (the
        name's and the address's windows keep theirs: an owner's sign-in must not give a spread guess a fresh
        window); None (the check broke) spends nothing. Rows older than their memory are pruned on the way."""
        pair, name, address = (key for _, key in self._keys(username, client_ip))
        async with self._pool.acquire() as connection, connection.transaction():
            if ok is False:
                await connection.execute("UPDATE web_sign_in_attempt SET failed = true WHERE id = ANY($1)", attempt)
            else:
                await connection.execute("DELETE FROM web_sign_in_attempt WHERE id = ANY($1)", attempt)
            if ok:
                await connection.execute(
                    "DELETE FROM web_sign_in_attempt WHERE kind = 'pair' AND key = $1 AND failed", pair
                )
                await connection.execute(
                    "INSERT INTO web_sign_in_known_address (name, address) VALUES ($1, $2)"
                    " ON CONFLICT (name, address) DO UPDATE SET signed_in_at = now()",
                    name,
                    address,
                )
            await connection.execute(
                "DELETE FROM web_sign_in_attempt WHERE attempted_at < now() - make_interval(secs => $1)",
                float(self._longest),
            )
            await connection.execute(
                "DELETE FROM web_sign_in_known_address WHERE signed_in_at < now() - make_interval(secs => $1)",
                self._known,
            )


def client_address(scope: Scope) -> str:
    """The client's address as uvicorn saw it (X-Forwarded-For applied from trusted proxies only)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(rb"[\[\]{}]")


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text (strings skipped; valid or not)."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub(b'""', body)):
        if match.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _error_body(code: str, message: str, field: str) -> bytes:
    return json.dumps({"code": code, "message": message, "field": field, "service": None}).encode()


def body_refusal(body: bytes, *, levels: int) -> ReadError | None:
    """What a JSON request body breaks of CONTRACT.md's reading rules that apply to any body (a non-finite number,
    U+0000, an unpaired surrogate, a key given twice), naming the field (`params.hours_before`); None when it
    breaks none, or is no JSON at all (the route answers that: 400 naming `body`). Python's JSON reader takes
    `NaN` and `Infinity`, which PostgreSQL's json then refuses (an audit row lost) and a model may read as null."""
    try:
        value, clean = read_value(body, limit=None, levels=levels)
    except ReadError:
        return None
    if clean:
        return None
    try:
        check_tree(value, levels=levels + 1)  # depth is judged before, by json_depth against the same limit
    except ReadError as exc:
        return exc
    return None


BODY_CUT = "body_cut"
"""The key of `scope["state"]` under which BodySizeLimit leaves a BodyCut for a route that reports its bodies."""


@dataclass(frozen=True, slots=True)
class BodyCut:
    """A body over the limit on a route that reports it (BodySizeLimit's `reported_by_route`): the app was handed at
    most its first `limit` bytes (none when its Content-Length alone showed it too large) and must answer 413 with
    `body_over_limit`, after whatever keeping it does (POST /v1/events: meetings stores the rejection)."""

    limit: int
    declared: int | None
    """Its Content-Length, when that alone showed it too large: nothing of it was read."""


def too_large_message(limit: int) -> str:
    """Why a body over the gateway's limit is refused (field `body`)."""
    return f"body: larger than {limit} bytes"


def body_cut(scope: Scope) -> BodyCut | None:
    """The BodyCut BodySizeLimit left for this request, or None when its body came whole."""
    cut = (scope.get("state") or {}).get(BODY_CUT)
    return cut if isinstance(cut, BodyCut) else None


class BodySizeLimit:
    """Answer 413 to a body larger than the limit (by its Content-Length or while it streams in) and 400 to a
    JSON body nested deeper than `max_depth` (issue 11, fault 7: deep nesting crashed parsers and serializers).

    On a path of `reported_by_route` (POST /v1/events) a body over the limit is not answered here: the app is handed
    what was read of it up to the limit, then the end of the body (nothing at all when the Content-Length already
    says too much), with a BodyCut in `scope["state"]`, so that the route authenticates its caller first and has
    the refusal stored as a rejection (CONTRACT.md: a rejection is never silent). Nothing past the chunk that
    crossed the limit is ever read, and should the app answer a cut body with anything but an error, the client
    gets the 413 all the same."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        max_depth: int = 64,
        depth_checked_by_route: frozenset[str] = frozenset(),
        reported_by_route: frozenset[str] = frozenset(),
        page: Callable[[Scope, int], ASGIApp | None] | None = None,
    ) -> None:
        self.app = app
        self.page = page
        """The web app's error page for a refusal on one of its paths (a Vietnamese page, not JSON), else None."""
        self.max_bytes = max_bytes
        self.max_depth = max_depth
        self.depth_checked_by_route = depth_checked_by_route
        """Paths whose handler reads the body with its own bounded reader (POST /v1/events: shared.reading judges
        each event alone, naming the field that is too deep)."""
        self.reported_by_route = reported_by_route
        """Paths whose POST handler answers a body over the limit itself, from a BodyCut (see the class)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        reported = scope["method"] == "POST" and scope["path"] in self.reported_by_route
        if declared is not None and is_ascii_number(declared) and int(declared) > self.max_bytes:
            if reported:
                await self._hand_over_cut(scope, send, BodyCut(self.max_bytes, int(declared)))
                return
            await self._refuse(scope, send, 413, "payload_too_large", too_large_message(self.max_bytes))
            return
        if reported:
            await self._stream_reported(scope, receive, send)
            return
        if b"json" in headers.get(b"content-type", b"").lower() and scope["path"] not in self.depth_checked_by_route:
            await self._judge_json(scope, receive, send)
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
                await self._refuse(scope, send, 413, "payload_too_large", too_large_message(self.max_bytes))

    async def _stream_reported(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Hand the body on as it streams in; once it passes the limit, end it there with a BodyCut (see the class)."""
        received = 0
        cut: BodyCut | None = None

        async def bounded_receive() -> Message:
            nonlocal received, cut
            if cut is not None:  # the body was ended at the limit: nothing more of it is read
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] != "http.request":
                return message
            chunk = message.get("body", b"")
            if received + len(chunk) <= self.max_bytes:
                received += len(chunk)
                return message
            cut = BodyCut(self.max_bytes, None)
            (scope.setdefault("state", {}))[BODY_CUT] = cut
            # what is left of the limit of this last chunk: the app's prefix is whole even when one chunk crosses it
            return {"type": "http.request", "body": chunk[: self.max_bytes - received], "more_body": False}

        await self.app(scope, bounded_receive, self._answer_cut(scope, send, lambda: cut))

    async def _hand_over_cut(self, scope: Scope, send: Send, cut: BodyCut) -> None:
        """Call the app with a body of nothing (its Content-Length already said too much) and the BodyCut."""
        (scope.setdefault("state", {}))[BODY_CUT] = cut
        delivered = False

        async def nothing() -> Message:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": b"", "more_body": False}

        await self.app(scope, nothing, self._answer_cut(scope, send, lambda: cut))

    def _answer_cut(self, scope: Scope, send: Send, cut: Callable[[], BodyCut | None]) -> Send:
        """`send`, but a cut body answered with a success becomes the 413 (a route must never take it as whole)."""
        swallowing = False

        async def guarded_send(message: Message) -> None:
            nonlocal swallowing
            if message["type"] == "http.response.start" and cut() is not None and message["status"] < 400:
                log.error("cut_body_answered_as_whole", status=message["status"])
                swallowing = True
                await self._refuse(scope, send, 413, "payload_too_large", body_over_limit(self.max_bytes))
                return
            if swallowing:
                return
            await send(message)

        return guarded_send

    async def _judge_json(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the whole (bounded) JSON body, judge its depth, then hand it to the app as one message."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, send, 413, "payload_too_large", too_large_message(self.max_bytes))
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if json_depth(body) > self.max_depth:
            await self._refuse(scope, send, 400, "bad_request", f"body: nested deeper than {self.max_depth} levels")
            return
        refused = body_refusal(body, levels=self.max_depth)
        if refused is not None:
            log.info("json_body_refused", path=scope["path"], field=refused.field, reason=refused.reason)
            await self._refuse(scope, send, 422, "invalid", refused.reason, field=refused.field)
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(
        self, scope: Scope, send: Send, status: int, code: str, message: str, *, field: str = "body"
    ) -> None:
        """The JSON error answer, or the web app's page for one of its paths (`page`)."""
        page = self.page(scope, status) if self.page is not None else None
        if page is not None:
            await page(scope, _no_body, send)
            return
        body = _error_body(code, message, field)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


async def _no_body() -> Message:
    """The receive of an error page answered without reading the request's body."""
    return {"type": "http.disconnect"}


class AuditTrail:
    """Write one audit row for every state-changing call, whatever its outcome, and for every read a handler marked
    as a read of members' personal data (`request.state.personal_data`, see `audit_personal_read`)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        audit_log: Callable[[Scope], AuditLog | None],
        anonymous: Callable[[Scope], AnonymousGuard | None] = lambda scope: None,
    ) -> None:
        self.app = app
        self.audit_log = audit_log
        self.anonymous = anonymous

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        changing = scope["method"] in STATE_CHANGING
        status = 500

        async def tracking_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        finally:
            if changing or (scope.get("state") or {}).get("personal_data"):
                await self._record(scope, status)

    async def _record(self, scope: Scope, status: int) -> None:
        state: dict[str, Any] = scope.get("state") or {}
        principal = state.get("principal")
        # uvicorn already applies X-Forwarded-For from trusted proxies only; a client cannot spoof this
        client_ip = client_address(scope)
        guard = self.anonymous(scope)
        if principal is None and status >= 400 and guard is not None:
            # nobody authenticated: a flood of these must not cost one row each (issue 11, fault 6)
            guard.count(client_ip, status=status, path=scope["path"])
            return
        entry = AuditEntry(
            sub=principal.sub if principal else None,
            role=principal.role.value if principal else None,
            method=scope["method"],
            path=scope["path"],
            status=status,
            client_ip=client_ip,
            detail=state.get("audit_detail") or state.get("personal_data"),
        )
        audit_log = self.audit_log(scope)
        if audit_log is None:
            AUDIT_WRITE_FAILURES.labels(method=entry.method).inc()
            log.error("audit_unavailable", method=entry.method, path=entry.path, status=status)
            return
        try:
            await audit_log.record(entry)
        except Exception as exc:
            # the call already happened (its answer is sent, its change made in the service that owns it): losing its
            # trace is an operator alarm (ChiboAuditWriteFailed), and this line holds the whole row to restore it
            AUDIT_WRITE_FAILURES.labels(method=entry.method).inc()
            log.error(
                "audit_write_failed",
                method=entry.method,
                path=entry.path,
                sub=entry.sub,
                role=entry.role,
                status=entry.status,
                client_ip=entry.client_ip,
                detail=audit_json(entry.detail) if entry.detail is not None else None,
                error=repr(exc),
            )
