"""Transactional outbox: events are rows written with the state change; a relay publishes them.

The relay publishes persistent messages with publisher confirms and `mandatory`, so a message
is marked published only once the broker has taken responsibility for it. A crash between
commit and publish leaves the row pending and the next relay run sends it (at least once;
consumers deduplicate by (source, id)).

Bulk work goes out as batches (CONTRACT.md "Route out"): consecutive due rows (in id order) of one
exchange, type and routing key travel as one `application/cloudevents-batch+json` message of up to
1,000 events; a row alone travels as one event. A transaction's rows are written grouped by type, so
the rows of one bulk transaction form such runs.
"""

import asyncio
import contextlib
import contextvars
import json
import os
import re
import struct
import time
import weakref
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aio_pika
import aiormq
import asyncpg
from aio_pika.abc import AbstractRobustConnection
from aio_pika.connection import make_url

from shared.background import raise_if_cancelling
from shared.config import broker_user_of
from shared.db import keeps_session_state, transaction
from shared.envelope import BATCH_CONTENT_TYPE, CLOUDEVENT_CONTENT_TYPE, MAX_BATCH_SIZE, CloudEvent
from shared.logs import get_logger
from shared.metrics import OUTBOX_PUBLISH_FAILURES, OUTBOX_PUBLISHED, type_label
from shared.reading import EXTENSION_VALUE
from shared.telemetry import trace_context_for
from shared.topology import EVENTS_EXCHANGE

log = get_logger(__name__)


def notify_channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel that wakes a schema's relay."""
    return f"{schema}_outbox"


async def add_to_outbox(
    conn: asyncpg.Connection,
    events: Sequence[CloudEvent],
    *,
    schema: str,
    exchange: str = EVENTS_EXCHANGE,
) -> None:
    """Write events to the outbox inside the caller's transaction and wake the relay on commit.

    The rows of one type are written together (types in the order they first appear, events in theirs), so
    the relay can send them as one batch; order between events of different types is not kept (CONTRACT.md:
    order is not guaranteed), and all of them become visible at once anyway, with the commit."""
    if not events:
        return
    first_of_type: dict[str, int] = {}
    for position, event in enumerate(events):
        first_of_type.setdefault(event.type, position)
    events = sorted(events, key=lambda event: first_of_type[event.type])
    traces: dict[str | None, str | None] = {}  # the trace context's JSON by cause (most share one)

    def trace_json(cause: str | None) -> str | None:
        if cause not in traces:
            context = trace_context_for(cause)
            traces[cause] = json.dumps(context) if context else None
        return traces[cause]

    # one statement for all rows (an executemany runs the INSERT once per row: ~3 ms more per 250 rows), ids
    # given in the rows' order (ORDER BY the arrays' ordinality) so a type's rows stay one run for the relay; the
    # relay's wake-up (delivered on commit) goes in the same statement, one round trip less
    # a held piece of work (RelayHold) notes its rows' ids before the commit makes them visible to the relay
    work = (_HELD_WORK.get() or {}).get(schema)
    ids = await conn.fetchval(
        "WITH written AS (INSERT INTO outbox (event_id, type, exchange, routing_key, payload, correlation_id,"
        " trace_context) SELECT e, t, $3, t, p::json, c, x::json FROM unnest($1::text[], $2::text[], $4::text[],"
        " $5::text[], $6::text[]) WITH ORDINALITY AS u(e, t, p, c, x, n) ORDER BY n RETURNING id)"
        " SELECT CASE WHEN $8 THEN (SELECT array_agg(id) FROM written) END FROM (SELECT pg_notify($7, '')) AS woken",
        [event.id for event in events],
        [event.type for event in events],
        exchange,
        [event.to_json().decode() for event in events],
        [event.correlationid for event in events],
        [trace_json(None if event.causationid is None else str(event.causationid)) for event in events],
        notify_channel(schema),
        work is not None,
    )
    if work is not None:
        work.note(ids or ())


HOLD_SECONDS = 2.0
"""Longest the relay keeps a held piece of work's committed rows back (RelayHold), counted from its first rows: a
stuck or very slow batch's rows then go out as they commit. Rows of other transactions are never kept back."""


@dataclass(eq=False)
class HeldWork:
    """One piece of work holding the relay: the outbox row ids its transactions wrote so far (add_to_outbox notes them
    before the commit, so the relay never sees one of them unnoted) and when it noted the first (monotonic seconds)."""

    ids: set[int] = field(default_factory=set)
    since: float | None = None

    def note(self, ids: Collection[int]) -> None:
        """Note rows the work wrote (before its transaction commits)."""
        if ids and self.since is None:
            self.since = time.monotonic()
        self.ids.update(ids)


_HELD_WORK: contextvars.ContextVar[Mapping[str, HeldWork] | None] = contextvars.ContextVar("held_work", default=None)
"""The pieces of work the running task's transactions belong to, by schema (RelayHold.holding)."""


@dataclass
class RelayHold:
    """Pieces of work of this process cut into several transactions (meetings' batch of a few cells' facts, cut at
    250 events) with transactions still to commit. The schema's relay keeps the rows such a work's transactions wrote
    (tagged by add_to_outbox through a context variable, so only the holding task's and its child tasks' writes)
    until the work ends, at most HOLD_SECONDS after its first rows, so its events go out in one fetch and a consumer
    waiting for a fetch's announced messages (services/evaluation/activity.py) never scores a cell between two of
    them: a round between the transactions of one 705-event batch published 24 periods twice (tests/benchmarks/
    test_fanout.py). Every other row goes out as it commits: when the hold kept the whole schema back, another
    consumer's single event waited 1.7 s for a batch (issue 12's 1 s target; tests/shared/test_relay_hold.py)."""

    schema: str
    works: set[HeldWork] = field(default_factory=set)
    waiting: int = 0
    """Relays waiting while some work holds (with nothing else to publish)."""
    wakers: set[asyncio.Event] = field(default_factory=set)
    """The relays' wake-up events, set when a work ends."""

    @property
    def holders(self) -> int:
        """How many pieces of work hold the relay now."""
        return len(self.works)

    def held(self, hold_seconds: float) -> list[HeldWork]:
        """The works whose rows the relay keeps back now: those whose first rows are less than `hold_seconds` old."""
        now = time.monotonic()
        return [work for work in self.works if work.since is None or now - work.since < hold_seconds]

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        """Hold back the rows the block's transactions (its task's, and tasks it starts) write to the schema's outbox
        until it ends, then wake the relays. Nested in a block already holding the schema, the outer work goes on."""
        outer = _HELD_WORK.get() or {}
        if self.schema in outer:
            yield
            return
        work = HeldWork()
        self.works.add(work)
        token = _HELD_WORK.set({**outer, self.schema: work})
        try:
            yield
        finally:
            _HELD_WORK.reset(token)
            self.works.discard(work)
            for waker in self.wakers:
                waker.set()


_HOLDS: dict[str, RelayHold] = {}


def relay_hold(schema: str) -> RelayHold:
    """The process's RelayHold of `schema`'s outbox (one per schema, made on first use)."""
    if schema not in _HOLDS:
        _HOLDS[schema] = RelayHold(schema)
    return _HOLDS[schema]


class UnusableExchange(Exception):
    """The row's exchange does not exist or may not be used (the broker refused its passive declare)."""


PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,  # includes UnicodeEncodeError, raised while encoding a property
    TypeError,
    struct.error,
    UnusableExchange,
)
"""Publish failures that will happen again however often the row is tried: the row is parked at once."""


def short_property(value: Any) -> str | None:
    """A value fit for a short AMQP property (at most 255 bytes), else None: never copy an unbounded value."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return value if len(value.encode("utf-8")) <= 255 else None
    except UnicodeEncodeError:
        return None


FETCH_HEADER = "chibo-fetch"
"""A relayed message's header when its fetch sends more than one message to its exchange: the fetch's id and the
message's number in it (`<hex id>.<n>`, n from 0)."""
FETCH_TYPES_HEADER = "chibo-fetch-types"
"""Beside FETCH_HEADER: how many messages of each type the fetch sends to that exchange, the message itself included
(`type=count,…`, sorted). A consumer counts, per type it binds, the distinct messages of the fetch it has received
against these counts: while some are missing, more of the same transactions is on its way, whichever arrived first
and whatever other deliveries began in between (evaluation's scoring round waits for them: issue 12). Only a hint: a
message may be lost, split or routed elsewhere, so wait boundedly."""
PURGE_EVERY = 600.0
"""Seconds between two purges of rows published longer ago than the retention."""
MAX_BATCH_CHARS = 8 * 1024 * 1024
"""The most payload characters the relay puts in one batch message (each event is at most 1 MiB)."""


def correlation_property(correlation_id: Any, event_id: Any) -> str | None:
    """The AMQP correlation_id: the row's correlation id when it follows the extension syntax, else its event id."""
    if isinstance(correlation_id, str) and EXTENSION_VALUE.match(correlation_id):
        return correlation_id
    return short_property(event_id)


class OutboxRelay:
    """Publishes a schema's pending outbox rows, retrying until the broker confirms them.

    Consecutive rows of one exchange, type and routing key go out as one batch message (up to
    `MAX_BATCH_SIZE` events, `MAX_BATCH_CHARS`). A batch message that fails counts against none of its
    rows: they are noted and sent again at once one row a message, so that a row that cannot be sent is
    found and judged alone. A row that fails while others get through is deferred (`next_attempt_at`,
    doubling up to `max_delay`) and, after `max_attempts` or at once for a permanent reason, parked: it
    stays in the table for an operator (`shared.ops outbox`) and never again holds up a batch. A fetch in
    which nothing got through is an outage (the broker, the connection): the relay backs off as a whole,
    then tries the rows one by one, so a row that breaks the channel shows itself. Any success resets
    the backoff.
    """

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        schema: str,
        amqp_url: str,
        batch_size: int = MAX_BATCH_SIZE,
        poll_seconds: float = 2.0,
        retention: timedelta = timedelta(days=7),
        max_attempts: int = 8,
        max_delay: float = 300.0,
        hold_seconds: float = HOLD_SECONDS,
    ) -> None:
        self._pool = pool
        self._hold = relay_hold(schema)
        self._hold_seconds = hold_seconds
        self._schema = schema
        self._amqp_url = amqp_url
        self._user_id = broker_user_of(amqp_url)
        """Every message carries its publisher's login as `user_id` (RabbitMQ refuses any other): consumers apply a
        service's event types only from its broker user (shared.consuming.publisher_refusal)."""
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._retention = retention
        self._max_attempts = max_attempts
        self._max_delay = max_delay
        self._wakeup = asyncio.Event()
        self._connection: AbstractRobustConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._exchanges: dict[str, aio_pika.abc.AbstractExchange] = {}
        self._stopping = False
        self._purged_at: float | None = None
        self._isolate = False
        self._singles_through = 0
        """Rows with an id up to this one go out one a message (a batch message holding them failed)."""
        self._again = False
        self._kept_until: float | None = None
        """When the hold of a work whose rows the last fetch kept back runs out (monotonic seconds)."""
        self._expired: weakref.WeakSet[HeldWork] = weakref.WeakSet()
        """Works whose hold ran out, already logged."""
        self.published_total = 0
        self.parked_total = 0

    async def run(self) -> None:
        """Relay until cancelled, reconnecting and backing off on errors."""
        backoff = 0.5
        listener = await self._pool.acquire()
        keeps_session_state(listener)  # LISTEN: its release runs the full reset (UNLISTEN *)
        try:
            # inside the try: a shutdown cancelling this right after start-up still hands the connection back
            await listener.add_listener(notify_channel(self._schema), self._on_notify)
            self._hold.wakers.add(self._wakeup)
            while not self._stopping:
                raise_if_cancelling()  # aio-pika may have swallowed the cancel: the relay must not run on
                try:
                    await self._ensure_connection()
                    sent = await self.publish_pending()
                    backoff = 0.5
                    if sent < self._batch_size and not self._isolate and not self._again:
                        await self._wait_for_work()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    raise_if_cancelling()  # a cancel turned into a channel error is the stop, not a relay error
                    log.error("outbox_relay_error", schema=self._schema, error=repr(exc), backoff=backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 30.0)
        finally:
            self._hold.wakers.discard(self._wakeup)
            with contextlib.suppress(Exception):
                await listener.remove_listener(notify_channel(self._schema), self._on_notify)
            with contextlib.suppress(Exception):
                await self._pool.release(listener)
            if self._connection is not None:
                with contextlib.suppress(Exception):
                    await self._connection.close()

    def stop(self) -> None:
        """Ask the loop to finish after the current batch."""
        self._stopping = True
        self._wakeup.set()

    def _on_notify(self, *_: object) -> None:
        self._wakeup.set()

    async def _wait_for_work(self) -> None:
        """Until a wake-up (a commit's notify, a held work's end), the poll interval, or the moment the rows of a
        work kept back by the last fetch are due (its hold ran out)."""
        timeout = self._poll_seconds
        if self._kept_until is not None:
            timeout = max(0.0, min(timeout, self._kept_until - time.monotonic()))
        holding = bool(self._hold.holders)
        if holding:
            self._hold.waiting += 1
        try:
            async with asyncio.timeout(timeout):  # not wait_for: it drops a cancel that comes with a wake
                await self._wakeup.wait()
        except TimeoutError:
            await self._purge_old()
        finally:
            if holding:
                self._hold.waiting -= 1
        self._wakeup.clear()

    async def _ensure_connection(self) -> None:
        if self._connection is None or self._connection.is_closed:
            self._connection = await self._connect()
            self._channel = None
        if self._channel is None or self._channel.is_closed:
            self._channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
            self._exchanges = {}

    async def _connect(self) -> AbstractRobustConnection:
        """A connected robust connection to the broker (aio_pika.connect_robust's), closed again when connecting
        fails or the relay is cancelled meanwhile: RobustConnection.connect runs the connecting in a task of its own,
        which a cancel of the waiting relay left running, a connection no one held that connected and reconnected
        on its own (tests/shared/test_outbox_connect_cancel.py)."""
        connection = aio_pika.RobustConnection(make_url(self._amqp_url))
        try:
            await connection.connect()
        except BaseException:
            # shielded: a second cancel (a shutdown's timeout) still lets the close finish
            with contextlib.suppress(Exception):
                await asyncio.shield(connection.close())
            raise
        return connection

    async def _resolve_exchanges(self, names: set[str]) -> dict[str, UnusableExchange]:
        """Passively declare each exchange not yet known, one at a time; those the broker refuses, with why.

        A refused declare closes the channel, so it is done here, before any publish shares that channel:
        only the rows naming that exchange fail, never the batch around them."""
        unusable: dict[str, UnusableExchange] = {}
        for name in sorted(names - set(self._exchanges)):
            assert self._channel is not None
            try:
                self._exchanges[name] = await self._channel.get_exchange(name)
            except (aiormq.exceptions.ChannelNotFoundEntity, aiormq.exceptions.ChannelAccessRefused) as exc:
                unusable[name] = UnusableExchange(f"exchange {name!r}: {exc!r}")
                self._channel = None
                await self._ensure_connection()
        return unusable

    async def _exchange(self, name: str) -> aio_pika.abc.AbstractExchange:
        if name not in self._exchanges:
            assert self._channel is not None
            self._exchanges[name] = await self._channel.get_exchange(name)
        return self._exchanges[name]

    async def publish_pending(self) -> int:
        """Publish one fetch of due rows in id order, same-type runs as batch messages; return how many were
        confirmed.

        Raises when nothing of a non-empty fetch got through for a transient reason (an outage)."""
        await self._ensure_connection()
        self._again = False
        held = self._held_works()
        async with transaction(self._pool) as conn:  # an ended pooled connection is dropped at BEGIN
            rows = await conn.fetch(
                "SELECT id, event_id, type, exchange, routing_key, payload::text AS payload, correlation_id, attempts,"
                " trace_context::text AS trace_context"
                " FROM outbox WHERE published_at IS NULL AND parked_at IS NULL"
                " AND (next_attempt_at IS NULL OR next_attempt_at <= now()) AND id <> ALL($2::bigint[])"
                " ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                1 if self._isolate else self._batch_size,
                sorted(set().union(*(work.ids for work in held))),
            )
            # a work's transaction that committed while the query ran noted its ids before: read them again now
            kept = set().union(*(work.ids for work in held))
            rows = [row for row in rows if row["id"] not in kept]
            # when the first of the works kept back is due: the relay fetches again then, if no wake-up comes first
            self._kept_until = min(
                (work.since + self._hold_seconds for work in held if work.since is not None), default=None
            )
            if not rows:
                self._isolate = False
                return 0
            unusable = await self._resolve_exchanges({row["exchange"] for row in rows})
            usable = [row for row in rows if row["exchange"] not in unusable]
            if self._isolate:
                messages = [usable[:1]] if usable else []
                published = [await self._try_publish(message) for message in messages]
            else:
                messages = self._messages(usable)
                after = fetch_headers(messages, os.urandom(8).hex())
                published = list(
                    await asyncio.gather(
                        *(self._try_publish(message, rest) for message, rest in zip(messages, after, strict=True))
                    )
                )
            outcome: dict[int, BaseException | None] = {}
            batched: set[int] = set()
            for message, error in zip(messages, published, strict=True):
                for row in message:
                    outcome[row["id"]] = error
                    if len(message) > 1:
                        batched.add(row["id"])
            rows = [row for row in rows if row["exchange"] in unusable or row["id"] in outcome]
            results: list[BaseException | None] = [
                unusable[row["exchange"]] if row["exchange"] in unusable else outcome[row["id"]] for row in rows
            ]
            done = [row["id"] for row, result in zip(rows, results, strict=True) if result is None]
            failures = [(row, result) for row, result in zip(rows, results, strict=True) if result is not None]
            split = [(row, error) for row, error in failures if row["id"] in batched]
            failed = [(row, error) for row, error in failures if row["id"] not in batched]
            if failures:
                OUTBOX_PUBLISH_FAILURES.labels(self._schema).inc(len(failures))
            if done:
                await conn.execute("UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])", done)
            if split:
                await self._split(conn, split)
            outage = bool(failed) and not done and all(not isinstance(error, PERMANENT_ERRORS) for _, error in failed)
            if outage and not split and not self._isolate and len(rows) > 1:
                # nothing got through: the broker is away, or one row breaks the channel for all of them
                self._isolate = True
                await self._note_outage(conn, failed)
                raise RuntimeError(f"no outbox row of {len(rows)} was confirmed: {failed[0][1]!r}")
            if outage and await self._broker_away():
                await self._note_outage(conn, failed)
                raise RuntimeError(f"the broker is unreachable: {failed[0][1]!r}")
            if not self._isolate and len(failed) > 1 and _channel_broken(failed):
                # one row closed the channel under the others, which then fail with its error (a missing
                # exchange's NOT_FOUND): their errors say nothing about them, so none is parked for it;
                # the rows are tried one by one and only the guilty one is parked
                self._isolate = True
                self._channel = None
                await conn.executemany(  # not the rows' own fault: no attempt counted
                    "UPDATE outbox SET last_error = $2 WHERE id = $1",
                    [(row["id"], repr(error)[:2000]) for row, error in failed],
                )
                log.warning(
                    "outbox_channel_broken_isolating",
                    schema=self._schema,
                    failed=len(failed),
                    error=repr(failed[0][1])[:500],
                )
                return len(done)
            if failed:
                await self._defer_or_park(conn, failed)
        if done:
            self._isolate = False
        self.published_total += len(done)
        for row, result in zip(rows, results, strict=True):
            if result is None:
                OUTBOX_PUBLISHED.labels(self._schema, type_label(row["type"])).inc()
        return len(done)

    def _held_works(self) -> list[HeldWork]:
        """The works of this process whose rows the next fetch keeps back (RelayHold), logging each work whose hold
        ran out."""
        works = self._hold.held(self._hold_seconds)
        for work in self._hold.works:
            if work not in works and work not in self._expired:
                self._expired.add(work)
                log.info("outbox_relay_hold_expired", schema=self._schema, rows=len(work.ids))
        return works

    def _messages(self, rows: list[asyncpg.Record]) -> list[list[asyncpg.Record]]:
        """The rows cut into messages: runs of consecutive rows of one exchange, type and routing key (bounded in
        count and bytes), and single rows where a batch holding them failed before."""
        messages: list[list[asyncpg.Record]] = []
        size = 0
        for row in rows:
            current = messages[-1] if messages else None
            key = (row["exchange"], row["type"], row["routing_key"])
            joins = (
                current is not None
                and row["id"] > self._singles_through
                and current[0]["id"] > self._singles_through
                and (current[0]["exchange"], current[0]["type"], current[0]["routing_key"]) == key
                and len(current) < MAX_BATCH_SIZE
                and size + len(row["payload"]) + 1 <= MAX_BATCH_CHARS
            )
            if joins and current is not None:
                current.append(row)
                size += len(row["payload"]) + 1
            else:
                messages.append([row])
                size = len(row["payload"]) + 2
        return messages

    async def _split(self, conn: asyncpg.Connection, split: list[tuple[asyncpg.Record, BaseException]]) -> None:
        """Rows of a batch message that failed: none is to blame yet; each goes out alone next, at once."""
        self._singles_through = max(self._singles_through, max(row["id"] for row, _ in split))
        self._again = True
        await conn.executemany(  # not the rows' own fault: no attempt counted
            "UPDATE outbox SET last_error = $2 WHERE id = $1", [(row["id"], repr(error)[:2000]) for row, error in split]
        )
        log.warning(
            "outbox_batch_failed_splitting", schema=self._schema, rows=len(split), error=repr(split[0][1])[:500]
        )
        if _channel_broken(split):
            self._channel = None

    async def _broker_away(self) -> bool:
        """Whether the connection itself is gone (an outage), as opposed to one row closing the channel."""
        connection = self._connection
        if connection is None or connection.is_closed:
            return True
        try:
            await self._ensure_connection()
            return False
        except Exception:
            return True

    async def _note_outage(self, conn: asyncpg.Connection, failed: list[tuple[asyncpg.Record, BaseException]]) -> None:
        await conn.executemany(
            "UPDATE outbox SET last_error = $2 WHERE id = $1",  # an outage is not the row's fault: no attempt counted
            [(row["id"], repr(error)[:2000]) for row, error in failed],
        )

    async def _defer_or_park(
        self, conn: asyncpg.Connection, failed: list[tuple[asyncpg.Record, BaseException]]
    ) -> None:
        """Rows that failed while the broker works: park the hopeless ones, try the others later."""
        park, defer = [], []
        for row, error in failed:
            attempts = row["attempts"] + 1
            reason = repr(error)[:2000]
            if isinstance(error, PERMANENT_ERRORS) or attempts >= self._max_attempts:
                park.append((row["id"], reason))
            else:
                defer.append((row["id"], reason, min(2.0**attempts, self._max_delay)))
        if defer:
            await conn.executemany(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $2,"
                " next_attempt_at = now() + make_interval(secs => $3) WHERE id = $1",
                defer,
            )
        if park:
            await conn.executemany(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $2, parked_at = now(), parked_reason = $2"
                " WHERE id = $1",
                park,
            )
            self.parked_total += len(park)
        log.warning(
            "outbox_rows_failed",
            schema=self._schema,
            deferred=len(defer),
            parked=len(park),
            event_ids=[row["event_id"] for row, _ in failed[:5]],
            error=repr(failed[0][1])[:500],
        )
        if _channel_broken(failed):
            self._channel = None  # the broker closed it: a fresh one for the next batch

    async def _try_publish(
        self, rows: list[asyncpg.Record], announced: Mapping[str, str] | None = None
    ) -> BaseException | None:
        try:
            await self._publish(rows, announced)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return exc
        return None

    async def _publish(self, rows: list[asyncpg.Record], announced: Mapping[str, str] | None = None) -> None:
        """One row as one event, or a run of rows as one batch message (bounded properties, never a payload's);
        `announced`: the headers saying what else its fetch sends (fetch_headers)."""
        first = rows[0]
        exchange = await self._exchange(first["exchange"])
        headers: dict[str, Any] = {}
        if first["trace_context"]:
            headers.update(json.loads(first["trace_context"]))  # traceparent/tracestate of the writing transaction
        if announced:
            headers.update(announced)
        if len(rows) == 1:
            headers["ce-type"] = short_property(first["type"]) or ""
            message = aio_pika.Message(
                body=first["payload"].encode(),
                content_type=CLOUDEVENT_CONTENT_TYPE,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=short_property(first["event_id"]),
                correlation_id=correlation_property(first["correlation_id"], first["event_id"]),
                type=short_property(first["type"]),
                user_id=self._user_id,
                headers=headers,
            )
        else:
            # no ce-* headers: they would make a batch look like one event in binary mode to an SDK
            correlations = {row["correlation_id"] for row in rows}
            message = aio_pika.Message(
                body=b"[" + b",".join(row["payload"].encode() for row in rows) + b"]",
                content_type=BATCH_CONTENT_TYPE,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                correlation_id=correlation_property(correlations.pop(), None) if len(correlations) == 1 else None,
                type=short_property(first["type"]),
                user_id=self._user_id,
                headers=headers,
            )
        await exchange.publish(message, routing_key=first["routing_key"], mandatory=True, timeout=30)

    async def _purge_old(self) -> None:
        # the purge reads the whole outbox (no index on published_at: one would cost every publish a write) and the
        # retention is days: at most every PURGE_EVERY seconds, not at every idle poll (a sequential scan of a
        # 670,000-row outbox every 2 s after a full-size bulk load)
        if self._purged_at is not None and time.monotonic() - self._purged_at < PURGE_EVERY:
            return
        self._purged_at = time.monotonic()
        async with self._pool.acquire() as conn:
            await conn.execute(
                "DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < now() - $1::interval",
                self._retention,
            )


def fetch_headers(messages: Sequence[Sequence[Mapping[str, Any]]], fetch_id: str) -> list[dict[str, str]]:
    """For each message of one fetch (its rows), the headers announcing the rest: FETCH_HEADER with
    FETCH_TYPES_HEADER when the fetch sends more than one message to its exchange ({} for a message alone on it)."""
    counts: dict[str, dict[str, int]] = {}
    for message in messages:
        kinds = counts.setdefault(message[0]["exchange"], {})
        kinds[message[0]["type"]] = kinds.get(message[0]["type"], 0) + 1
    totals = {
        exchange: ",".join(f"{kind}={n}" for kind, n in sorted(kinds.items())) for exchange, kinds in counts.items()
    }
    headers: list[dict[str, str]] = []
    for number, message in enumerate(messages):
        exchange = message[0]["exchange"]
        announced: dict[str, str] = {}
        if sum(counts[exchange].values()) > 1:
            announced[FETCH_HEADER] = f"{fetch_id}.{number}"
            announced[FETCH_TYPES_HEADER] = totals[exchange]
        headers.append(announced)
    return headers


@dataclass(frozen=True)
class FetchPart:
    """A received message's place in its relay fetch (fetch_part): the fetch's id, the message's number in it, its
    type, and how many messages of each of the consumer's types the fetch sends (the message included)."""

    fetch: str
    number: int
    kind: str
    counts: Mapping[str, int]


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value if isinstance(value, str) else None


_COUNT = re.compile(r"[0-9]{1,9}")
"""A count or a message number in the relay's fetch headers: ASCII digits."""


def fetch_part(headers: Mapping[str, Any] | None, kind: str | None, types: Collection[str]) -> FetchPart | None:
    """The place of a relayed message of type `kind` in its fetch (FETCH_HEADER, FETCH_TYPES_HEADER), counting only
    `types` (those the consumer binds); None for a message alone in its fetch, or with headers not the relay's."""
    place, totals = _text((headers or {}).get(FETCH_HEADER)), _text((headers or {}).get(FETCH_TYPES_HEADER))
    if place is None or totals is None or not kind:
        return None
    fetch, _, number = place.rpartition(".")
    counts: dict[str, int] = {}
    for item in totals.split(","):
        name, _, count = item.rpartition("=")
        if name in types and _COUNT.fullmatch(count):
            counts[name] = int(count)
    if not fetch or not _COUNT.fullmatch(number) or kind not in counts:
        return None
    return FetchPart(fetch=fetch, number=int(number), kind=kind, counts=counts)


def _channel_broken(failed: list[tuple[asyncpg.Record, BaseException]]) -> bool:
    return any(isinstance(error, aiormq.exceptions.AMQPChannelError) for _, error in failed)


def payload_of(row_payload: str) -> CloudEvent:
    """Rebuild the envelope stored in an outbox row (used by tests and operators' tools)."""
    return CloudEvent.model_validate(json.loads(row_payload))
