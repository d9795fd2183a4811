"""The unit of work every service's own unit_of_work.py builds on.

One connection, one transaction: state changes, the inbox record of the message being handled,
and the outbox rows of the events it causes commit together or not at all. Leaving the block
without commit() rolls everything back.
"""

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, Self, cast

import asyncpg

from shared.db import begin, finish
from shared.envelope import CloudEvent
from shared.outbox import add_to_outbox
from shared.topology import EVENTS_EXCHANGE


class PgUnitOfWork:
    """A transaction on one pooled connection, with inbox and outbox bookkeeping."""

    def __init__(self, pool: asyncpg.Pool, *, schema: str) -> None:
        self._pool = pool
        self.schema = schema
        self._events: list[tuple[str, CloudEvent]] = []
        self._ended = False

    async def __aenter__(self) -> Self:
        # a connection the server ended while pooled is dropped and BEGIN tried again on another (shared.db.begin)
        self.connection, self._transaction = await begin(self._pool)
        try:
            self._events = []
            self._ended = False
            self.start_repositories(self.connection)
        except BaseException:
            # __aexit__ does not run when entering fails (a cancel at shutdown lands here too):
            # hand the connection back, or the pool never closes
            await self._pool.release(self.connection)
            raise
        return self

    def start_repositories(self, connection: asyncpg.Connection) -> None:
        """Hook for subclasses: build repositories on the transaction's connection."""

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # rolled back unless committed; asyncpg's error on a connection the server ended mid-way is raised as an
        # outage (ConnectionDoesNotExistError), which a consumer holds its delivery for (shared.db.finish)
        await finish(self._pool, self.connection, self._transaction, exc, done=self._ended)

    def emit(self, event: CloudEvent, *, exchange: str = EVENTS_EXCHANGE) -> None:
        """Queue an event to be written to the outbox when the unit of work commits."""
        self._events.append((exchange, event))

    @property
    def emitted(self) -> list[CloudEvent]:
        """The events emitted so far in this unit of work."""
        return [event for _, event in self._events]

    def savepoint(self) -> AbstractAsyncContextManager[Any]:
        """A savepoint in the transaction: leaving it by an exception undoes only what was done inside it."""
        return cast(AbstractAsyncContextManager[Any], self.connection.transaction())

    async def already_processed(self, *, consumer: str, source: str, event_id: str) -> bool:
        """Record the message in the inbox; True when it had been processed before."""
        inserted = await self.connection.fetchval(
            "INSERT INTO processed_message (consumer, source, event_id) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING RETURNING 1",
            consumer,
            source,
            event_id,
        )
        return inserted is None

    async def record_processed(self, *, consumer: str, identities: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Record many messages (source, id) in the inbox in one statement; return those processed before."""
        if not identities:
            return set()
        sources = [source for source, _ in identities]
        ids = [event_id for _, event_id in identities]
        rows = await self.connection.fetch(
            "INSERT INTO processed_message (consumer, source, event_id)"
            " SELECT $1, s, i FROM unnest($2::text[], $3::text[]) AS t(s, i)"
            " ON CONFLICT DO NOTHING RETURNING source, event_id",
            consumer,
            sources,
            ids,
        )
        inserted = {(row["source"], row["event_id"]) for row in rows}
        return {identity for identity in identities if identity not in inserted}

    async def commit(self) -> None:
        """Write the outbox rows and commit the transaction."""
        by_exchange: dict[str, list[CloudEvent]] = {}
        for exchange, event in self._events:
            by_exchange.setdefault(exchange, []).append(event)
        for exchange, events in by_exchange.items():
            await add_to_outbox(self.connection, events, schema=self.schema, exchange=exchange)
        try:
            await self._transaction.commit()
        finally:
            self._ended = True  # a failed COMMIT ended the transaction too: nothing is left to roll back

    async def rollback(self) -> None:
        """Abandon the transaction explicitly."""
        await self._transaction.rollback()
        self._ended = True
