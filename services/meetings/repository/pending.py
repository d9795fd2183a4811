"""Writes a transaction's repositories put off, to send them together: one statement per kind (issue 12).

An applier's write is decided in memory (the repositories read ahead what the transaction holds locked, and
know whether a snapshot is newer) and queued here; `flush` sends each kind of statement once, with every row
of the transaction (`executemany`, one round trip), in a fixed order where one depends on another (a meeting's
row before the updates of it). A repository flushes before any statement of its own that reads or writes
directly, and the unit of work before it commits, so every statement sees what was queued before it.
"""

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from pydantic_core import to_json


def jsonb(value: Any) -> str:
    """`value` (JSON-able: dicts, lists, texts, numbers) as compact JSON text for a `jsonb` parameter, written by
    pydantic_core (json.dumps cost 2.2 % of meetings' ingest samples, a few µs per agenda, roster or points); jsonb
    keeps no spacing or key order, so the stored value is the one json.dumps gave."""
    return to_json(value).decode()


class PendingWrites:
    """The transaction's queued statements, by kind, and the repositories' hooks around sending them."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._conn = connection
        self._rows: dict[tuple[int, str, bool, int], list[tuple[Any, ...]]] = {}
        self._before: list[Callable[[], None]] = []
        self._after: list[Callable[[], Awaitable[None]]] = []
        self.dirty = False

    def add(self, sql: str, args: tuple[Any, ...], *, rank: int = 1, columns: bool = False, key: int = 0) -> None:
        """Queue one row for `sql`; statements run by `rank` (lower first), then in the order first queued.

        `columns`: `sql` takes each column as one array (`unnest($1::text[], ...)`) and runs once for all rows, one
        message instead of one per row. A plain INSERT or `ON CONFLICT DO NOTHING` may meet the same key twice in one
        statement; an upsert (`DO UPDATE`) or an `UPDATE ... FROM unnest` may not: `key` > 0 names its first `key`
        arguments as the row's key, and only the last row queued per key is sent. That is what sending every row in
        turn leaves only when each row queued for a key supersedes the ones before it (the repositories queue a
        versioned write only after finding it newer than the version they hold, issue 12)."""
        self._rows.setdefault((rank, sql, columns, key), []).append(args)
        self.dirty = True

    def hooks(self, *, before: Callable[[], None], after: Callable[[], Awaitable[None]]) -> None:
        """A repository's hooks: `before` queues the rows of what it coalesced (the last roster of a meeting),
        `after` runs what must see the rows sent (rebuilding the current member rows from their histories)."""
        self._before.append(before)
        self._after.append(after)

    async def flush(self) -> None:
        """Send every queued row, one statement per kind, then run the hooks that need them sent."""
        if not self.dirty:
            return
        for before in self._before:
            before()
        rows, self._rows = self._rows, {}
        self.dirty = False
        for rank, sql, columns, key in sorted(rows, key=lambda kind: kind[0]):
            queued = rows[(rank, sql, columns, key)]
            if key:
                queued = list({args[:key]: args for args in queued}.values())
            if columns:
                await self._conn.execute(sql, *(list(column) for column in zip(*queued, strict=True)))
            else:
                await self._conn.executemany(sql, queued)
        for after in self._after:
            await after()
