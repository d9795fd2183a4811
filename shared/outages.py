"""A dependency a consumer cannot reach: which errors say so, and holding a delivery through the outage.

A routine PostgreSQL restart or failover lasts longer than a message's whole retry budget (backoff 0.5+1+2+4 s over
the queue's delivery limit of 5, ~7.5 s), so counting such failures toward the delivery limit dead-letters every
message consumed meanwhile. An error of `is_dependency_unavailable` says nothing about the message: the consumer
keeps the delivery (unsettled, so the prefetch fills and the broker sends no more) and tries it again with a bounded
backoff until the dependency answers, up to HOLD_LIMIT_SECONDS; only then, or on any other error, does the
delivery count toward its limit. While deliveries are held, /health (`held_for_dependency`), the metrics
(`chibo_deliveries_held`, `chibo_delivery_held_seconds`, `chibo_dependency_unavailable_total`) and the log
(`dependency_unavailable_holding`, `dependency_available_again`) say so.
"""

import asyncio
import errno
import itertools
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiormq
import asyncpg

from shared.logs import get_logger
from shared.metrics import DELIVERIES_HELD, DELIVERY_HELD_SECONDS, DEPENDENCY_UNAVAILABLE

log = get_logger(__name__)
T = TypeVar("T")

HOLD_LIMIT_SECONDS = 600.0
"""How long one delivery is held through an outage before its failure counts toward its delivery limit: well under
RabbitMQ's consumer timeout (30 min by default, after which the broker closes the channel of an unsettled delivery);
with the limit of 5, an outage dead-letters a message after ~50 min."""
HOLD_FIRST_DELAY = 0.5
HOLD_MAX_DELAY = 5.0
HOLD_LOG_INTERVAL = 10.0
"""Seconds between two `dependency_unavailable_holding` warnings of one consumer: every held delivery tries again
every few seconds (a prefetch of 256 would log 256 lines each time), so one line says how many are held."""
"""Seconds between the tries of a held delivery: 0.5, 1, 2, 4, then every 5 (so it resumes within 5 s of recovery)."""

UNAVAILABLE: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.PostgresConnectionError,  # SQLSTATE class 08, and a connection lost mid-operation (08003)
    asyncpg.exceptions.CannotConnectNowError,  # 57P03: the server is starting up, shutting down or in recovery
    asyncpg.exceptions.AdminShutdownError,  # 57P01: the backend was terminated (pg_terminate_backend, fast shutdown)
    asyncpg.exceptions.CrashShutdownError,  # 57P02: another backend crashed, the server restarts
    asyncpg.exceptions.TooManyConnectionsError,  # 53300: max_connections reached, by others
    ConnectionError,  # refused, reset, aborted, broken pipe (aiormq.AMQPConnectionError is one too)
    socket.gaierror,  # the host name does not resolve (DNS during a failover)
    aiormq.exceptions.ChannelInvalidStateError,  # the broker channel closed under a publish
)
"""Errors that always mean the dependency is unreachable; is_dependency_unavailable adds a few by their text."""
_UNREACHABLE_ERRNOS = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN})


def is_dependency_unavailable(exc: BaseException) -> bool:
    """Whether `exc` (or an error it was raised from) says a dependency cannot be reached, not that the message failed.

    Unavailable: UNAVAILABLE (PostgreSQL connection errors and shutdowns, too many connections, refused or reset
    sockets, unresolvable hosts, a closed broker channel); an OSError of an unreachable network or host;
    ObjectNotInPrerequisiteStateError "database … is not currently accepting connections" (ALTER DATABASE …
    ALLOW_CONNECTIONS false); asyncpg's InterfaceError on a closed connection. Not unavailable: timeouts (a slow
    query is the message's own), a closing or closed pool (the service is stopping), every other database error."""
    seen: set[int] = set()
    error: BaseException | None = exc
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if _unavailable(error):
            return True
        error = error.__cause__
    return False


def _unavailable(error: BaseException) -> bool:
    """One error, without its causes (is_dependency_unavailable)."""
    if isinstance(error, UNAVAILABLE):
        return True
    text = str(error)
    if isinstance(error, asyncpg.exceptions.ObjectNotInPrerequisiteStateError):
        return "not currently accepting connections" in text
    if isinstance(error, asyncpg.exceptions.InterfaceError):
        return "connection is closed" in text or "connection was closed" in text
    return isinstance(error, OSError) and not isinstance(error, TimeoutError) and error.errno in _UNREACHABLE_ERRNOS


@dataclass
class _Hold:
    """One delivery held through an outage: since when (monotonic seconds) and the last error."""

    consumer: str
    since: float
    error: str


_holds: dict[int, _Hold] = {}
_last_warned: dict[str, float] = {}
_tokens = itertools.count()


def hold_delay(attempt: int) -> float:
    """Seconds before a held delivery's try number `attempt` (1, 2, …): 0.5, 1, 2, 4, then HOLD_MAX_DELAY."""
    return min(HOLD_FIRST_DELAY * (2 ** max(attempt - 1, 0)), HOLD_MAX_DELAY)


async def hold_through_outage(
    attempt: Callable[[], Awaitable[T]], *, consumer: str, limit: float = HOLD_LIMIT_SECONDS
) -> T:
    """Run `attempt` until it returns, trying it again while it fails with is_dependency_unavailable (hold_delay
    between tries, `limit` seconds in all); any other error, or the outage's after `limit`, is raised at once."""
    token: int | None = None
    tries = 0
    try:
        while True:
            try:
                result = await attempt()
            except Exception as exc:
                if not is_dependency_unavailable(exc):
                    raise
                now = time.monotonic()
                if token is None:
                    token = next(_tokens)
                    _holds[token] = _Hold(consumer, now, repr(exc))
                    DELIVERIES_HELD.labels(consumer).inc()
                hold = _holds[token]
                hold.error = repr(exc)
                waited = now - hold.since
                DEPENDENCY_UNAVAILABLE.labels(consumer).inc()
                if waited >= limit:
                    log.error("dependency_hold_exhausted", consumer=consumer, waited_seconds=round(waited, 1))
                    raise
                tries += 1
                if now - _last_warned.get(consumer, -HOLD_LOG_INTERVAL) >= HOLD_LOG_INTERVAL:
                    _last_warned[consumer] = now
                    log.warning(
                        "dependency_unavailable_holding",
                        consumer=consumer,
                        held=sum(1 for other in _holds.values() if other.consumer == consumer),
                        attempt=tries,
                        waited_seconds=round(waited, 1),
                        error=repr(exc),
                    )
                await asyncio.sleep(min(hold_delay(tries), max(limit - waited, 0.0)))
                continue
            if token is not None:
                waited = time.monotonic() - _holds[token].since
                DELIVERY_HELD_SECONDS.labels(consumer).observe(waited)
                log.info("dependency_available_again", consumer=consumer, waited_seconds=round(waited, 1))
            return result
    finally:
        if token is not None:
            del _holds[token]
            DELIVERIES_HELD.labels(consumer).dec()


def held_deliveries() -> dict[str, dict[str, Any]]:
    """Deliveries held through an outage now, by consumer: how many, the oldest's seconds, the latest error."""
    now = time.monotonic()
    report: dict[str, dict[str, Any]] = {}
    for hold in _holds.values():
        entry = report.setdefault(hold.consumer, {"deliveries": 0, "oldest_seconds": 0.0, "error": hold.error})
        entry["deliveries"] += 1
        entry["oldest_seconds"] = max(entry["oldest_seconds"], round(now - hold.since, 1))
        entry["error"] = hold.error
    return report
