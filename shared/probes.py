"""Short-lived broker channels (passive declares, one-off moves), kept off a process's shared connection.

RabbitMQ closes a channel whose passive declare names a missing queue (NOT_FOUND), as it does one publishing to a
missing exchange. aiormq frees that channel's number as soon as the broker's Channel.Close arrives, before its
Close-Ok is written; a channel opened meanwhile on the same connection is given the freed number, and its
Channel.Open reaches the broker ahead of the Close-Ok. RabbitMQ answers `CHANNEL_ERROR - second 'channel.open'
seen` (504) by closing the whole connection, and with it every consumer, publisher and RPC reply channel on it.
Concurrent passive declares (the gateway's operations page, a health check beside a metrics scrape) hit that window.

So these channels live on a connection of their own, one per owning connection (opened on first use with the
owner's address and login, closed when the owner closes; a plain connection, opened again when lost), and take
their numbers there in turn, 1, 2, 3, ... up to the broker's channel_max (2047 by default) and round again,
skipping those in use: a number a broker's close freed early is not given again until thousands of channels
later, long after its Close-Ok. A channel gone wrong costs at most this side connection, never the owner's; many
at once, and one inside another (a listing checking its queue's arguments), are fine. Opening and closing are
shielded from the caller's cancellation (a timeout around a probe cancels the wait, not the handshake).
"""

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import AbstractChannel, AbstractConnection
from aiormq import spec

log = structlog.get_logger()

MOST_CHANNELS = 65535
"""AMQP's highest channel number (channel 0 is the connection's own)."""


class _SideConnection:
    """The probe connection of one owning connection, and the channel number its next probe takes."""

    def __init__(self, owner: AbstractConnection) -> None:
        self.url = getattr(owner, "url", None)
        self.last_number = 0
        self.opened = 0  # channels opened on it so far (channels_opened)
        self.kept: AbstractChannel | None = None  # kept_declared_queue's channel, while the broker leaves it open
        self.keeping = asyncio.Lock()  # questions at once open one kept channel, not one each
        self.connecting = asyncio.Lock()  # probes at once open one side connection, not one each
        self.connection: AbstractConnection | None = None
        self.watcher: asyncio.Task[None] | None = None
        self.owner_closed: Any = owner.closed() if hasattr(owner, "closed") else None

    async def connect(self, owner: AbstractConnection) -> AbstractConnection:
        if self.url is None:  # not an aio_pika connection (no address to log in again): the owner itself
            return owner
        async with self.connecting:
            return await self._connect()

    async def _connect(self) -> AbstractConnection:
        if self.connection is not None and _lost(self.connection):
            await self.connection.close()
            self.connection = None
        if self.connection is None:
            # not a robust one: a robust channel the broker closes reopens itself at once, out of turn
            self.connection = await aio_pika.connect(self.url, client_properties={"connection_name": "chibo probes"})
            if self.watcher is None and self.owner_closed is not None:
                self.watcher = asyncio.ensure_future(self._close_with_owner())
        return self.connection

    async def _close_with_owner(self) -> None:
        await self.owner_closed
        connection, self.connection = self.connection, None
        if connection is not None and not connection.is_closed:
            await connection.close()


def _lost(connection: AbstractConnection) -> bool:
    """Closed, or its transport gone or closing (a plain connection does not come back by itself)."""
    transport = getattr(connection, "transport", None)
    return connection.is_closed or transport is None or transport.connection.is_closed


_SIDES: "weakref.WeakKeyDictionary[AbstractConnection, _SideConnection]" = weakref.WeakKeyDictionary()


def channel_max(connection: AbstractConnection) -> int:
    """The highest channel number the broker allows on `connection` (its Connection.Tune; 0 there: no limit but
    AMQP's own, MOST_CHANNELS)."""
    transport = getattr(connection, "transport", None)
    tune = getattr(getattr(transport, "connection", None), "connection_tune", None)
    most = getattr(tune, "channel_max", 0)
    return min(most, MOST_CHANNELS) if isinstance(most, int) and most > 0 else MOST_CHANNELS


async def _open(side: _SideConnection, owner: AbstractConnection, publisher_confirms: bool) -> AbstractChannel:
    connection = await side.connect(owner)
    if connection is owner:  # no side connection: the library numbers it
        return await connection.channel(publisher_confirms=publisher_confirms)
    most = channel_max(connection)
    for _ in range(most):
        side.last_number = side.last_number % most + 1
        try:
            channel = await connection.channel(channel_number=side.last_number, publisher_confirms=publisher_confirms)
        except ValueError:  # aiormq: "Channel N already used" (still open, or its close not confirmed yet)
            continue
        side.opened += 1
        return channel
    raise RuntimeError("every channel number of the probe connection is in use")


async def _close(channel: AbstractChannel) -> None:
    if not channel.is_closed:
        await channel.close()


async def side_channel(connection: AbstractConnection, *, publisher_confirms: bool = False) -> AbstractChannel:
    """A channel for a passive declare or a one-off operation on `connection`'s probe connection (see the module's
    docstring); the caller closes it (in a `finally`; one the broker closed needs no closing). Its opening is
    shielded from the caller's cancellation, and a channel opened after its caller gave up is closed all the same."""
    side = _SIDES.get(connection)
    if side is None:
        side = _SIDES[connection] = _SideConnection(connection)
    opening = asyncio.ensure_future(_open(side, connection, publisher_confirms))
    try:
        return await asyncio.shield(opening)
    except asyncio.CancelledError:
        opening.add_done_callback(_close_late)
        raise


@asynccontextmanager
async def probe_channel(
    connection: AbstractConnection, *, publisher_confirms: bool = False
) -> AsyncIterator[AbstractChannel]:
    """side_channel's channel, closed on leaving (shielded). A declare the broker refuses raises aio_pika's
    ChannelClosed as usual; the next probe gets a fresh channel."""
    channel = await side_channel(connection, publisher_confirms=publisher_confirms)
    try:
        yield channel
    finally:
        await asyncio.shield(_close(channel))


async def declared_queue(connection: AbstractConnection, name: str) -> spec.Queue.DeclareOk | None:
    """Queue `name`'s figures (message_count: ready messages; consumer_count) by a passive declare on a probe
    channel of `connection`'s, None when the queue does not exist. Run to its end even when the caller is cancelled
    (a timeout around it stops the wait): a declare cancelled half-way closes its channel from this side while the
    broker may be closing it from its own, and the crossed closes make the broker drop the whole connection."""

    async def declare() -> spec.Queue.DeclareOk | None:
        try:
            async with probe_channel(connection) as channel:
                return (await channel.declare_queue(name, passive=True)).declaration_result
        except aio_pika.exceptions.ChannelClosed:
            return None

    task = asyncio.ensure_future(declare())
    _LATE.add(task)
    task.add_done_callback(_settled)
    return await asyncio.shield(task)


async def kept_declared_queue(connection: AbstractConnection, name: str) -> spec.Queue.DeclareOk | None:
    """declared_queue's answer, asked on one channel kept open on `connection`'s probe connection for every such
    question (a question asked before each call, as rpc_consumers is per POST /v1/events: a channel opened and closed
    each time cost 2.3-3.0 ms CPU and 7.3 ms p50, the passive declare alone 0.3-0.5 ms and 0.5-0.7 ms). The answer
    is as fresh: one passive declare per question. A channel the broker closed (a missing queue, this question's or
    one asked beside it, or the connection lost) is replaced at the next question, and the question it failed is
    asked again on a probe channel of its own (declared_queue), so a missing queue's NOT_FOUND is never read as
    another queue's absence. Run to its end even when the caller is cancelled, as declared_queue."""
    side = _SIDES.get(connection)
    if side is None:
        side = _SIDES[connection] = _SideConnection(connection)
    if side.url is None:  # no side connection: the owner's channels are not kept for this
        return await declared_queue(connection, name)

    async def declare() -> spec.Queue.DeclareOk | None:
        async with side.keeping:
            if side.kept is None or side.kept.is_closed:
                side.kept = await side_channel(connection)
            channel = side.kept
        try:
            return (await channel.declare_queue(name, passive=True)).declaration_result
        except (aio_pika.exceptions.ChannelClosed, aio_pika.exceptions.ChannelInvalidStateError):
            return await declared_queue(connection, name)

    task = asyncio.ensure_future(declare())
    _LATE.add(task)
    task.add_done_callback(_settled)
    return await asyncio.shield(task)


def channels_opened(connection: AbstractConnection) -> int:
    """How many channels `connection`'s probe connection has opened so far (0 before its first probe)."""
    side = _SIDES.get(connection)
    return 0 if side is None else side.opened


def _settled(task: "asyncio.Future[Any]") -> None:
    """Forget a finished background task, its failure read (a caller who stopped waiting no longer asks)."""
    _LATE.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.debug("probe_failed_unwaited", error=repr(task.exception()))


def _close_late(opening: "asyncio.Future[AbstractChannel]") -> None:
    """Close a channel whose opening outlived the caller that wanted it."""
    if opening.cancelled() or opening.exception() is not None:
        return
    closing = asyncio.ensure_future(_close(opening.result()))
    _LATE.add(closing)
    closing.add_done_callback(_settled)


_LATE: set["asyncio.Future[Any]"] = set()
"""Probes and closes running on after their callers stopped waiting (held here so they are not collected)."""
