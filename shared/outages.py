"""A dependency a consumer cannot reach: which errors say so, and holding a delivery through the outage.

A routine PostgreSQL restart or failover lasts longer than a message's whole retry budget (backoff 0.5+1+2+4 s over
the queue's delivery limit of 5, ~7.5 s), so counting such failures toward the delivery limit dead-letters every
message consumed meanwhile. An error of `is_dependency_unavailable` says nothing about the message: the consumer
keeps the delivery (unsettled, so the prefetch fills and the broker sends no more) and tries it again with a bounded
backoff until the dependency answers, up to the service's hold_limit_seconds (CHIBO_HOLD_LIMIT_SECONDS, 600 by
default; set_hold_limit); only then, or on any other error, does the
delivery count toward its limit. A service that stops while deliveries are held (stop_holding, before its broker
stops) ends their holds at once with HandBack: the consumer hands each back to the broker without spending its
delivery limit (shared.consuming.hand_back), where letting the broker take it back at the channel's close counted it
as a failed delivery (a quorum queue's `x-delivery-count`). While deliveries are held, /health
(`held_for_dependency`), the metrics (`chibo_deliveries_held`, `chibo_delivery_held_seconds`,
`chibo_dependency_unavailable_total`) and the log (`dependency_unavailable_holding`, and `dependency_available_again`
once per consumer and recovery with the count) say so.

Which dependency (RabbitMQ or PostgreSQL) a failure says is unreachable, and why, in words an operator can act on
(outage_of, broker_reason): the gateway's one mapping of such failures to 503 and the services' /health lines.
"""

import asyncio
import errno
import itertools
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

import aio_pika
import aiormq
import aiormq.exceptions
import asyncpg

from shared.config import HOLD_LIMIT_DEFAULT_SECONDS
from shared.logs import get_logger
from shared.metrics import DELIVERIES_HELD, DELIVERY_HELD_SECONDS, DEPENDENCY_UNAVAILABLE

log = get_logger(__name__)
T = TypeVar("T")

_hold_limit = HOLD_LIMIT_DEFAULT_SECONDS
"""How long one delivery is held through an outage before its failure counts toward its delivery limit (the service's
hold_limit_seconds, set at start by set_hold_limit): under RabbitMQ's consumer timeout (30 min by default, after which
the broker closes the channel of an unsettled delivery); with the limit of 5 and the default 600 s, an outage
dead-letters a message after ~50 min."""
HOLD_FIRST_DELAY = 0.5
HOLD_MAX_DELAY = 5.0
"""Seconds between the tries of a held delivery: 0.5, 1, 2, 4, then every 5 (so it resumes within 5 s of recovery)."""
HOLD_LOG_INTERVAL = 10.0
"""Seconds between two `dependency_unavailable_holding` warnings of one consumer: every held delivery tries again
every few seconds (a prefetch of 256 would log 256 lines each time), so one line says how many are held."""

DATABASE_UNREACHABLE: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.PostgresConnectionError,  # SQLSTATE class 08, and a connection lost mid-operation (08003)
    asyncpg.exceptions.CannotConnectNowError,  # 57P03: the server is starting up, shutting down or in recovery
    asyncpg.exceptions.AdminShutdownError,  # 57P01: the backend was terminated (pg_terminate_backend, fast shutdown)
    asyncpg.exceptions.CrashShutdownError,  # 57P02: another backend crashed, the server restarts
    asyncpg.exceptions.TooManyConnectionsError,  # 53300: max_connections reached, by others
)
"""PostgreSQL errors that always mean the database cannot be used now (both UNAVAILABLE and outage_of read them)."""

UNAVAILABLE: tuple[type[BaseException], ...] = (
    *DATABASE_UNREACHABLE,
    ConnectionError,  # refused, reset, aborted, broken pipe (aiormq.AMQPConnectionError is one too)
    socket.gaierror,  # the host name does not resolve (DNS during a failover)
    aiormq.exceptions.ChannelInvalidStateError,  # the broker channel closed under a publish
)
"""Errors that always mean the dependency is unreachable; is_dependency_unavailable adds a few by their text."""
_UNREACHABLE_ERRNOS = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN})


def is_dependency_unavailable(exc: BaseException) -> bool:
    """Whether `exc` (or an error in its chain, _chain) says a dependency cannot be reached, not that the message
    failed: an error of the chain _judge finds `certain`, whichever dependency it names, or none (outage_of reads
    the same judgements).

    Unavailable: UNAVAILABLE (PostgreSQL connection errors and shutdowns, too many connections, refused or reset
    sockets, unresolvable hosts, a closed broker channel); an OSError of an unreachable network or host;
    ObjectNotInPrerequisiteStateError "database … is not currently accepting connections" (ALTER DATABASE …
    ALLOW_CONNECTIONS false); asyncpg's InterfaceError on a closed connection. Not unavailable: timeouts (a slow
    query is the message's own), a closing or closed pool (the service is stopping), every other database error."""
    return any(judged.certain for judged in _judgements(exc))


def _unavailable(error: BaseException) -> bool:
    """One error, by its own type or text, without its chain (_judge's `certain`)."""
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
_recovered: dict[str, tuple[int, float]] = {}
"""Per consumer, the deliveries of the current recovery that went through since the outage ended and the longest
wait among them: one `dependency_available_again` line says them when the consumer's last held delivery is done."""
_tokens = itertools.count()
_stopping = False
_waking: set["asyncio.Future[None]"] = set()
"""The futures held deliveries wait on between tries: stop_holding wakes them."""


class HandBack(Exception):
    """A delivery held through an outage while its service stops (stop_holding): not its own failure, to be handed
    back to the broker without counting toward its delivery limit; the outage's last error is its __cause__."""


def stop_holding(stopping: bool = True) -> None:
    """The service is stopping (True, at shutdown before the broker stops): every held delivery stops waiting and
    raises HandBack, and so does a delivery that meets an outage from now on; False: hold again (tests)."""
    global _stopping
    _stopping = stopping
    if stopping:
        for waiting in list(_waking):
            _wake(waiting)


def _wake(waiting: "asyncio.Future[None]") -> None:
    if not waiting.done():
        waiting.set_result(None)


async def _pause(seconds: float) -> None:
    """Sleep `seconds`, or less when stop_holding wakes the held deliveries."""
    waiting: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    _waking.add(waiting)
    handle = asyncio.get_running_loop().call_later(seconds, _wake, waiting)
    try:
        await waiting
    finally:
        handle.cancel()
        _waking.discard(waiting)


def set_hold_limit(seconds: float) -> None:
    """Hold each delivery at most `seconds` (> 0; the service's hold_limit_seconds, validated by ServiceSettings)."""
    global _hold_limit
    if seconds <= 0:
        raise ValueError(f"hold_limit_seconds must be above 0, not {seconds}")
    _hold_limit = seconds


def hold_limit() -> float:
    """Seconds a delivery is held at most now (set_hold_limit)."""
    return _hold_limit


def hold_delay(attempt: int) -> float:
    """Seconds before a held delivery's try number `attempt` (1, 2, …): 0.5, 1, 2, 4, then HOLD_MAX_DELAY."""
    return min(HOLD_FIRST_DELAY * (2 ** max(attempt - 1, 0)), HOLD_MAX_DELAY)


async def hold_through_outage(attempt: Callable[[], Awaitable[T]], *, consumer: str, limit: float | None = None) -> T:
    """Run `attempt` until it returns, trying it again while it fails with is_dependency_unavailable (hold_delay
    between tries, `limit` seconds in all, hold_limit() when None); any other error, or the outage's after `limit`,
    is raised at once; HandBack (from the outage's error) once the service is stopping (stop_holding)."""
    if limit is None:
        limit = _hold_limit
    token: int | None = None
    tries = 0
    try:
        while True:
            try:
                result = await attempt()
            except Exception as exc:
                if not is_dependency_unavailable(exc):
                    raise
                if _stopping:
                    log.warning("dependency_unavailable_handing_back", consumer=consumer, error=repr(exc))
                    raise HandBack(f"stopping while {exc!r}") from exc
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
                await _pause(min(hold_delay(tries), max(limit - waited, 0.0)))
                continue
            if token is not None:
                waited = time.monotonic() - _holds[token].since
                DELIVERY_HELD_SECONDS.labels(consumer).observe(waited)
                count, longest = _recovered.get(consumer, (0, 0.0))
                _recovered[consumer] = (count + 1, max(longest, waited))
            return result
    finally:
        if token is not None:
            del _holds[token]
            DELIVERIES_HELD.labels(consumer).dec()
            _end_of_recovery(consumer)


def _end_of_recovery(consumer: str) -> None:
    """Once no delivery of `consumer` is held any more: one `dependency_available_again` line for those that went
    through (their count, the longest wait), not one per delivery (a full prefetch would log hundreds)."""
    if any(hold.consumer == consumer for hold in _holds.values()) or consumer not in _recovered:
        return
    count, longest = _recovered.pop(consumer)
    log.info("dependency_available_again", consumer=consumer, deliveries=count, waited_seconds=round(longest, 1))


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


BROKER = "broker"
DATABASE = "database"

_BROKER_MODULES = ("aio_pika", "aiormq", "pamqp", "faststream")
_DATABASE_MODULES = ("asyncpg",)
_DATABASE_CONNECT_ERRORS: tuple[type[BaseException], ...] = (
    *DATABASE_UNREACHABLE,
    asyncpg.exceptions.InvalidCatalogNameError,  # the database does not exist
    asyncpg.exceptions.InvalidAuthorizationSpecificationError,  # role missing, password wrong, pg_hba refused
)
"""What outage_of names the database for, beside what _unavailable says of a PostgreSQL error (a database not
accepting connections, a closed connection): a request also fails on a database missing or refusing our login."""


@dataclass(frozen=True)
class Outage:
    """A dependency (`broker` or `database`) that could not be used, and why (`access refused: ...`)."""

    dependency: str
    reason: str


def _modules(traceback: TracebackType | None) -> list[str]:
    names = []
    while traceback is not None:
        names.append(str(traceback.tb_frame.f_globals.get("__name__", "")))
        traceback = traceback.tb_next
    return names


def _within(modules: list[str], roots: tuple[str, ...]) -> bool:
    return any(name == root or name.startswith(root + ".") for name in modules for root in roots)


def broker_reason(exc: BaseException) -> str:
    """Why the broker refused or dropped us, in words: `access refused (...)` for a login or virtual-host permission
    refusal, `connection refused (...)` for nothing listening, `not connected, reconnecting (...)` for a link lost and
    not yet back, else the exception's repr."""
    text = repr(exc)
    refused = isinstance(exc, aiormq.exceptions.ProbableAuthenticationError | aiormq.exceptions.AuthenticationError)
    if refused or "ACCESS_REFUSED" in text or "NOT_ALLOWED" in text or "access to vhost" in text:
        return f"access refused ({text})"
    if isinstance(exc, ConnectionRefusedError) or (exc.args and exc.args[0] == errno.ECONNREFUSED):
        return f"connection refused ({text})"
    if "was not opened" in text or "closed" in text.lower():
        return f"not connected, reconnecting ({text})"
    if isinstance(exc, TimeoutError):
        return f"no answer in time ({text})"
    return text


def outage_of(exc: BaseException) -> Outage | None:
    """The dependency `exc` (or an exception in its chain, _chain) says is unreachable: a connection-level error of
    RabbitMQ (not opened, closed, refused, access refused) or of PostgreSQL (refused, not accepting connections,
    lost, pool acquire timed out); None for any other failure, a bug's included (_judge)."""
    for judged in _judgements(exc):
        if judged.outage is not None:
            return judged.outage
    return None


@dataclass(frozen=True)
class _Judgement:
    """What one error of a chain says (_judge): the outage it names (None: a socket error raised outside both
    clients, so which peer is not known: a consumer still holds for it, the gateway cannot name it), and whether it
    says *unreachable* by its own type or text (`certain`: is_dependency_unavailable) or only by where it was raised,
    or by a refused login or a missing database. The one deliberate difference: the gateway answers 503 for the
    uncertain ones, a consumer does not hold its delivery for them (a timeout is a slow query's own, a closing pool
    a service stopping, a refused login no outage that passes)."""

    outage: Outage | None
    certain: bool


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, then what it was raised from or while handling (`__cause__`, else `__context__`), each once: the one
    chain rule of outage_of and is_dependency_unavailable."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _judgements(exc: BaseException) -> Iterator[_Judgement]:
    """_judge of each error of `exc`'s chain that says a dependency is unreachable, in chain order."""
    for error in _chain(exc):
        judged = _judge(error)
        if judged is not None:
            yield judged


_ASYNCPG_CLIENT_ERRORS = asyncpg.exceptions.InterfaceError | asyncpg.exceptions.InternalClientError
"""asyncpg's own errors about a connection's state (a pool closing, an operation said to be in progress on a connection
the server has just ended): an outage when raised within the database client, never on their own a hold."""


def _judge(error: BaseException) -> _Judgement | None:
    """The one judgement of one error (its chain aside): which dependency it says is unreachable, and how surely."""
    modules = _modules(error.__traceback__)
    in_database = _within(modules, _DATABASE_MODULES)
    in_broker = _within(modules, _BROKER_MODULES)
    certain = _unavailable(error)
    if isinstance(error, _DATABASE_CONNECT_ERRORS) or (
        isinstance(error, asyncpg.exceptions.PostgresError | asyncpg.exceptions.InterfaceError) and certain
    ):
        return _Judgement(Outage(DATABASE, repr(error)), certain)
    if isinstance(error, OSError | TimeoutError | _ASYNCPG_CLIENT_ERRORS) and in_database:
        return _Judgement(Outage(DATABASE, repr(error)), certain)
    if isinstance(
        error,
        aiormq.exceptions.AMQPConnectionError
        | aiormq.exceptions.ChannelInvalidStateError
        | aiormq.exceptions.ChannelAccessRefused,
    ) or (isinstance(error, RuntimeError | OSError | TimeoutError) and in_broker):
        return _Judgement(Outage(BROKER, broker_reason(error)), certain)
    return _Judgement(None, certain=True) if certain else None


async def broker_refusal(url: str, *, timeout: float = 2.0) -> str:
    """Why a fresh connection to `url` fails (broker_reason), or `` when it opens (then closed at once): asked only
    once a ping has failed, to name the cause (an access refusal reads differently from a broker that is down)."""
    try:
        async with asyncio.timeout(timeout):
            connection = await aio_pika.connect(url, timeout=timeout)
    except Exception as exc:
        return broker_reason(exc)
    await connection.close()
    return ""
