"""asyncpg pools bound to one service's schema, and the ordered-SQL migration runner."""

import hashlib
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
