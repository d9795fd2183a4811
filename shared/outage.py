"""Which dependency an exception says is unreachable (RabbitMQ or PostgreSQL), and why, in words an operator can act
on: the gateway's one mapping of such failures to 503 and the services' /health lines use it."""

import asyncio
import errno
from dataclasses import dataclass
from types import TracebackType

import aio_pika
import aiormq.exceptions
import asyncpg

BROKER = "broker"
DATABASE = "database"

_BROKER_MODULES = ("aio_pika", "aiormq", "pamqp", "faststream")
_DATABASE_MODULES = ("asyncpg",)
_DATABASE_CONNECT_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.PostgresConnectionError,  # cannot connect now, too many connections, connection lost
    asyncpg.exceptions.InvalidCatalogNameError,  # the database does not exist
    asyncpg.exceptions.InvalidAuthorizationSpecificationError,  # role missing, password wrong, pg_hba refused
    asyncpg.exceptions.ObjectNotInPrerequisiteStateError,  # the database does not accept connections
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
)


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
    """The dependency `exc` (or an exception it was raised from) says is unreachable: a connection-level error of
    RabbitMQ (not opened, closed, refused, access refused) or of PostgreSQL (refused, not accepting connections,
    lost, pool acquire timed out); None for any other failure, a bug's included."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        modules = _modules(current.__traceback__)
        if isinstance(current, _DATABASE_CONNECT_ERRORS):
            return Outage(DATABASE, repr(current))
        if isinstance(current, OSError | TimeoutError | asyncpg.exceptions.InterfaceError) and _within(
            modules, _DATABASE_MODULES
        ):
            return Outage(DATABASE, repr(current))
        if isinstance(
            current,
            aiormq.exceptions.AMQPConnectionError
            | aiormq.exceptions.ChannelInvalidStateError
            | aiormq.exceptions.ChannelAccessRefused,
        ):
            return Outage(BROKER, broker_reason(current))
        if isinstance(current, RuntimeError | OSError | TimeoutError) and _within(modules, _BROKER_MODULES):
            return Outage(BROKER, broker_reason(current))
        current = current.__cause__ or current.__context__
    return None


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
