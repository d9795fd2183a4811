"""asyncpg pools bound to one service's schema, and the ordered-SQL migration runner."""

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg

from shared.logs import get_logger

SHARED_MIGRATIONS = Path(__file__).parent / "migrations"
log = get_logger(__name__)


class PooledConnection(asyncpg.Connection):
    """A pool's connection that knows whether it took session state (a session advisory lock, LISTEN, a session
    SET): only such a connection needs the full reset when it goes back to the pool."""

    session_state = False

    def keeps_session_state(self) -> None:
        """Mark this connection: its next release runs asyncpg's full reset (advisory unlock all, CLOSE ALL,
        UNLISTEN *, RESET ALL). Call it before taking the state, so a failure half-way still cleans up."""
        self.session_state = True


async def reset_connection(conn: asyncpg.Connection) -> None:
    """The pool's reset on release. asyncpg itself already rolled back a transaction left open (and dropped the
    listener callbacks) before calling this; the full reset's round trip (~3 % of evaluation's and notifications'
    busy samples: one per transaction) runs only for a connection marked by `keeps_session_state`. Every other
    use of a pooled connection is a transaction (SET LOCAL, xact advisory locks, ON COMMIT DROP temp tables)."""
    if getattr(conn, "session_state", False):
        query = conn.get_reset_query()
        if query:
            await conn.execute(query)
        conn.session_state = False


async def create_pool(dsn: str, *, schema: str, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """A pool whose connections see the service's schema first on their search path."""
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings={"search_path": f"{schema},public", "application_name": f"chibo-{schema}"},
        command_timeout=60,
        connection_class=PooledConnection,
        reset=reset_connection,
    )


STUCK_AFTER_SERVER_ERROR = "another operation (2) is in progress"
"""What asyncpg says of an operation begun on a connection that received an error while idle (its protocol waits in
state 2, consuming an error, for a sync that never comes): the only such unsolicited errors are the FATAL ones the
server sends as it ends the connection (pg_terminate_backend, a shutdown, idle_session_timeout), and the end of the
socket follows in a later turn of the loop."""


def connection_ended(conn: asyncpg.Connection, exc: BaseException) -> bool:
    """Whether `exc`, raised by an operation on `conn`, says the server ended the connection (terminated backend,
    shutdown, a socket closed under it), not that the statement failed: asyncpg's connection errors, and its
    InterfaceError / InternalClientError on a connection now closed or stuck after the server's last error
    (STUCK_AFTER_SERVER_ERROR). An InterfaceError on an open connection (a DataError: a bad argument) is not."""
    if isinstance(
        exc,
        asyncpg.exceptions.ConnectionDoesNotExistError
        | asyncpg.exceptions.AdminShutdownError
        | asyncpg.exceptions.CrashShutdownError,
    ):
        return True
    if isinstance(exc, asyncpg.exceptions.InterfaceError | asyncpg.exceptions.InternalClientError):
        return _closed(conn) or STUCK_AFTER_SERVER_ERROR in str(exc)
    return False


def _closed(conn: asyncpg.Connection) -> bool:
    """Whether the connection is closed; a pool's proxy asyncpg detached already (it saw the connection close and
    gave it back to its pool) is closed too."""
    try:
        return conn.is_closed()
    except asyncpg.exceptions.InterfaceError:
        return True


def ended_error(exc: BaseException) -> asyncpg.exceptions.ConnectionDoesNotExistError:
    """The error a transaction whose connection the server ended raises instead of asyncpg's own (raise it `from
    exc`): ConnectionDoesNotExistError (08003), a database outage for shared.outages, so a consumer holds its
    delivery and tries the transaction again on another connection instead of counting it toward its limit."""
    return asyncpg.exceptions.ConnectionDoesNotExistError(f"the server ended the connection mid-transaction: {exc!r}")


def drop_connection(conn: asyncpg.Connection) -> None:
    """Close an ended connection at once (no ROLLBACK, no reset: it would fail the same way); its pool opens a fresh
    one on a later acquire, and releasing it afterwards is a no-op."""
    if not _closed(conn):
        conn.terminate()


async def begin(pool: asyncpg.Pool) -> tuple[asyncpg.Connection, asyncpg.transaction.Transaction]:
    """A pooled connection with a transaction started on it. asyncpg hands out a connection the server ended while
    it sat idle in the pool (pg_terminate_backend, a restart) until it has read the end, and its BEGIN then fails
    (InternalClientError 'cannot switch to state 15', InterfaceError, AdminShutdownError): such a connection is
    dropped and BEGIN tried again on another, which is safe as no statement ran yet (at most once per connection
    the pool holds, plus one: all of them may have been ended at once; then ended_error, an outage). Any other
    failure is raised as it is, the connection released."""
    attempts = pool.get_max_size() + 1
    for attempt in range(1, attempts + 1):
        conn = await pool.acquire()
        try:
            started = conn.transaction()
            await started.start()
        except BaseException as exc:
            ended = isinstance(exc, Exception) and connection_ended(conn, exc)
            if ended:
                drop_connection(conn)
            await pool.release(conn)
            if not ended:
                raise
            log.info("database_connection_ended_in_pool", attempt=attempt, error=repr(exc))
            if attempt == attempts:
                raise ended_error(exc) from exc
            continue
        return conn, started
    raise AssertionError("unreachable")


async def finish(
    pool: asyncpg.Pool,
    conn: asyncpg.Connection,
    transaction: asyncpg.transaction.Transaction,
    exc: BaseException | None,
    *,
    done: bool,
) -> None:
    """End what `begin` started, its block left with `exc` (None: normally): roll back unless `done` (committed or
    rolled back already), then release the connection. A connection the server ended (connection_ended of `exc` or
    of the rollback's error) is dropped instead, and asyncpg's client error saying so raised as ended_error from it;
    any other `exc` is left for the caller to re-raise."""
    try:
        if exc is not None and isinstance(exc, Exception) and connection_ended(conn, exc):
            drop_connection(conn)
            if isinstance(exc, _CLIENT_ERRORS):
                raise ended_error(exc) from exc
            return
        if not done:
            try:
                await transaction.rollback()
            except Exception as failed:
                if not connection_ended(conn, failed):
                    raise
                drop_connection(conn)
                if exc is None:  # the block ended normally: nothing else says why this one failed
                    raise ended_error(failed) from failed
    finally:
        await pool.release(conn)


_CLIENT_ERRORS = asyncpg.exceptions.InterfaceError | asyncpg.exceptions.InternalClientError
"""asyncpg's own errors, which say nothing of an outage by their type: finish raises ended_error for them."""


@asynccontextmanager
async def transaction(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """`async with pool.acquire() as conn, conn.transaction():` that survives ended connections (begin, finish): a
    pooled connection in a transaction, committed when the block ends normally, else rolled back; a connection the
    server ended raises an outage (ConnectionDoesNotExistError, AdminShutdownError), never asyncpg's InterfaceError
    or InternalClientError."""
    conn, started = await begin(pool)
    committing = False
    try:
        yield conn
        committing = True
        await started.commit()
    except BaseException as exc:
        await finish(pool, conn, started, exc, done=committing)  # a failed COMMIT ended the transaction already
        raise
    await finish(pool, conn, started, None, done=True)


def keeps_session_state(conn: object) -> None:
    """Mark a pooled connection (or its pool proxy) as holding session state; a no-op for other connections."""
    mark = getattr(conn, "keeps_session_state", None)
    if mark is not None:
        mark()


def migration_files(service_dir: Path) -> list[Path]:
    """The shared messaging tables first, then the service's own files in name order."""
    own = sorted((service_dir / "migrations").glob("*.sql"))
    return sorted(SHARED_MIGRATIONS.glob("*.sql")) + own


async def apply_migrations(dsn: str, *, schema: str, files: list[Path]) -> list[str]:
    """Apply the files not yet applied to the schema, each in its own transaction; return their names."""
    conn = await asyncpg.connect(dsn)
    applied_now: list[str] = []
    try:
        # one migrator per schema at a time, whichever process starts first
        lock_key = int.from_bytes(hashlib.sha1(f"chibo-migrate-{schema}".encode()).digest()[:8], "big", signed=True)
        await conn.execute("SELECT pg_advisory_lock($1)", lock_key)
        try:
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            await conn.execute(f'SET search_path TO "{schema}", public')
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migration ("
                " name text PRIMARY KEY, checksum text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {
                row["name"]: row["checksum"] for row in await conn.fetch("SELECT name, checksum FROM schema_migration")
            }
            for path in files:
                sql = path.read_text(encoding="utf-8")
                checksum = hashlib.sha256(sql.encode()).hexdigest()
                if path.name in done:
                    if done[path.name] != checksum:
                        log.warning("migration_changed_after_apply", schema=schema, migration=path.name)
                    continue
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute(
                        "INSERT INTO schema_migration (name, checksum) VALUES ($1, $2)", path.name, checksum
                    )
                applied_now.append(path.name)
                log.info("migration_applied", schema=schema, migration=path.name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", lock_key)
    finally:
        await conn.close()
    return applied_now


async def ensure_database(dsn: str) -> None:
    """Create the database named in the DSN if the server lacks it (a fresh machine). Its default collation, the
    server's, does not matter: the ids that order snapshots carry COLLATE "C" (docs/architecture.md)."""
    try:
        conn = await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError:
        parts = urlsplit(dsn)  # not the last "/": a socket URL's query holds its directory
        name = unquote(parts.path.lstrip("/"))
        admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        except asyncpg.DuplicateDatabaseError:
            pass
        finally:
            await admin.close()
        return
    await conn.close()
