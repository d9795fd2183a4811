"""The meetings unit of work: one transaction with the org, meeting and ingest repositories.

Handlers are written against `MeetingsUnit`, which the Postgres unit below and the tests' FakeUnitOfWork
(tests/meetings/fakes.py) both satisfy.
"""

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import Any, Protocol, Self

import asyncpg

from services.meetings.repository import (
    FrameworkRepository,
    IngestRepository,
    MeetingRepository,
    OrgRepository,
    PgFrameworkRepository,
    PgIngestRepository,
    PgMeetingRepository,
    PgOrgRepository,
)
from services.meetings.repository.pending import PendingWrites
from shared.envelope import CloudEvent
from shared.unit_of_work import PgUnitOfWork

SCHEMA = "meetings"
RETRYABLE_ERRORS = (asyncpg.exceptions.TransactionRollbackError,)
"""What a transaction that lost a race raises (SQLSTATE class 40: deadlock detected, serialization failure):
run it again; never a reason to dead-letter a message."""


class MeetingsUnit(Protocol):
    """What the meetings use cases need of a unit of work: repositories, inbox, outbox, savepoints, commit."""

    @property
    def org(self) -> OrgRepository: ...
    @property
    def meetings(self) -> MeetingRepository: ...
    @property
    def ingest(self) -> IngestRepository: ...
    @property
    def frameworks(self) -> FrameworkRepository: ...
    @property
    def emitted(self) -> list[CloudEvent]: ...

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def emit(self, event: CloudEvent) -> None:
        """Queue an event for the outbox of this transaction."""
        ...

    async def already_processed(self, *, consumer: str, source: str, event_id: str) -> bool:
        """Record the message in the inbox; True when it had been processed before."""
        ...

    async def record_processed(self, *, consumer: str, identities: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Record many messages (source, id) in the inbox at once; return those processed before."""
        ...

    def savepoint(self) -> AbstractAsyncContextManager[Any]:
        """A savepoint: leaving it by an exception undoes only what was done inside it."""
        ...

    async def commit(self) -> None:
        """Write the outbox and commit."""
        ...

    async def rollback(self) -> None:
        """Abandon the transaction explicitly."""
        ...


class MeetingsUnitOfWork(PgUnitOfWork):
    """PgUnitOfWork on the meetings schema."""

    org: PgOrgRepository
    meetings: PgMeetingRepository
    ingest: PgIngestRepository
    frameworks: PgFrameworkRepository

    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool, schema=SCHEMA)

    def start_repositories(self, connection: asyncpg.Connection) -> None:
        """Build the repositories on the transaction's connection, sharing one queue of pending writes."""
        self.pending = PendingWrites(connection)
        self.org = PgOrgRepository(connection, self.pending)
        self.meetings = PgMeetingRepository(connection, self.pending)
        self.ingest = PgIngestRepository(connection, self.pending)
        self.frameworks = PgFrameworkRepository(connection)

    def savepoint(self) -> AbstractAsyncContextManager[Any]:
        """A savepoint, entered once the pending writes are sent: a rollback to it must undo only what was done
        inside it (an applier queues nothing before it raises Held or InvalidEvent, apply.py)."""
        return self._savepoint()

    @asynccontextmanager
    async def _savepoint(self) -> AsyncIterator[None]:
        await self.pending.flush()
        async with self.connection.transaction():
            yield

    async def commit(self) -> None:
        """Send the pending writes, then write the outbox and commit."""
        await self.pending.flush()
        await super().commit()
