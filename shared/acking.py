"""Acknowledging a channel's deliveries together: one `basic.ack` with `multiple` for a run of settled ones.

A consumer whose deliveries finish together (meetings' group commit resolves a whole group of single events at
once) sent one `basic.ack` frame per delivery, each its own socket write here and its own work in the broker: the
AMQP writer was 5-7 % of meetings' busy samples in the single preset. AMQP's `multiple` flag acks every delivery
of the channel still outstanding up to a tag, so the acks of consecutive deliveries that all succeeded go out as
one frame, sent once the loop has woken every delivery the group resolved.

`multiple` never reaches past a delivery that is not settled: the run starts right after the highest tag below
which everything is settled, and goes up through consecutive tags only, each acked here (done) or settled on its
own before (rejected, or acked alone); a tag this consumer never saw (another consumer's delivery on the same
channel, a delivery not yet begun) ends the run. A successful delivery after an unsettled one (still running, or
waiting for its backoff before a reject) waits at most `linger` seconds, then is acked alone, so one slow or failing
delivery never holds the others' prefetch slots for long. A delivery's ack is sent before its handler returns (the
handler awaits it), so a graceful shutdown still waits for every ack; a failed send fails the handler as before.
Delivery tags count per channel from 1, and a reconnect opens a new channel: state is kept per channel.
"""

import asyncio
import weakref
from typing import Any

from faststream.rabbit.message import RabbitMessage

from shared.logs import get_logger

log = get_logger(__name__)

LINGER_SECONDS = 0.05
"""How long a successful delivery waits for the unsettled ones before it to be acked with them."""


class ChannelAcks:
    """The acks of one channel's deliveries (see the module docstring); use `for_message`."""

    def __init__(self, *, linger: float = LINGER_SECONDS) -> None:
        self.linger = linger
        self._settled_through = 0
        """Every delivery tag up to this one is settled (acked or rejected)."""
        self._open: dict[int, tuple[RabbitMessage, asyncio.Future[None]] | None] = {}
        """Begun deliveries not settled yet: None while running, (message, waiter) once it succeeded."""
        self._settled: set[int] = set()
        """Tags above `_settled_through` settled on their own (rejected, or acked alone)."""
        self._flush_scheduled = False
        self._linger_timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._sending = asyncio.Lock()
        self.frames = 0
        """`basic.ack` frames sent (for tests and figures)."""

    def begin(self, message: RabbitMessage) -> None:
        """Note a delivery as running (call before anything can settle it)."""
        tag = _tag(message)
        if tag is not None and tag > self._settled_through:
            self._open[tag] = None

    async def ack(self, message: RabbitMessage) -> None:
        """Ack a delivery, with the consecutive ones around it when they are done too; returns once it is sent."""
        tag = _tag(message)
        if tag is None or tag not in self._open:  # never begun: acked alone, as before
            await message.ack()
            if tag is not None and tag > self._settled_through:
                self._settled.add(tag)
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._open[tag] = (message, waiter)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._spawn, False)  # after the other deliveries woken with it
        await waiter  # cancelled (shutdown): the delivery is still acked with its run; _send skips a done waiter

    async def reject(self, message: RabbitMessage, *, requeue: bool) -> None:
        """Reject a delivery alone (sent before it stops holding back the acks after it)."""
        try:
            await message.reject(requeue=requeue)
        finally:
            self._settle_alone(_tag(message))

    def _settle_alone(self, tag: int | None) -> None:
        if tag is not None and self._open.pop(tag, "absent") != "absent":
            self._settled.add(tag)
            if not self._flush_scheduled:
                self._flush_scheduled = True
                asyncio.get_running_loop().call_soon(self._spawn, False)

    def _spawn(self, alone: bool) -> None:
        if alone:
            self._linger_timer = None
        else:
            self._flush_scheduled = False
        task = asyncio.get_running_loop().create_task(self._flush(alone=alone))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _flush(self, *, alone: bool) -> None:
        """Ack the run of settled tags after `_settled_through` with one frame; with `alone`, also each successful
        delivery after it on its own (the linger expired). One flush at a time: a frame acking up to a tag must
        never follow one that acked past it (the broker closes a channel acking an unknown tag)."""
        async with self._sending:
            run: list[tuple[RabbitMessage, asyncio.Future[None]]] = []
            tag = self._settled_through + 1
            while True:
                if tag in self._settled:
                    self._settled.discard(tag)
                elif self._open.get(tag) is not None:
                    done = self._open.pop(tag)
                    assert done is not None
                    run.append(done)
                else:
                    break
                tag += 1
            self._settled_through = tag - 1
            if run:
                self.frames += 1
                await _send(run[-1][0], [waiter for _, waiter in run], multiple=len(run) > 1)
            waiting = [(tag, done) for tag, done in self._open.items() if done is not None]
            if waiting and alone:
                for tag, (message, waiter) in waiting:
                    del self._open[tag]
                    self._settled.add(tag)
                    self.frames += 1
                    await _send(message, [waiter], multiple=False)
            elif waiting and self._linger_timer is None:
                self._linger_timer = asyncio.get_running_loop().call_later(self.linger, self._spawn, True)

    @staticmethod
    def for_message(message: RabbitMessage) -> "ChannelAcks":
        """The acks of the channel the message was delivered on (one per channel: tags count per channel)."""
        try:
            channel = message.raw_message.channel
        except Exception:  # its channel closed: nothing will ack together on it, each delivery goes alone
            return ChannelAcks()
        acks = _BY_CHANNEL.get(channel)
        if acks is None:
            acks = _BY_CHANNEL[channel] = ChannelAcks()
        return acks


_BY_CHANNEL: "weakref.WeakKeyDictionary[Any, ChannelAcks]" = weakref.WeakKeyDictionary()


def _tag(message: RabbitMessage) -> int | None:
    """The delivery tag; None for a message without one (acked and rejected alone)."""
    tag = getattr(message.raw_message, "delivery_tag", None)
    return tag if isinstance(tag, int) else None


async def _send(last: RabbitMessage, waiters: list[asyncio.Future[None]], *, multiple: bool) -> None:
    """One `basic.ack` (up to and including `last` when `multiple`); its outcome goes to every waiter."""
    try:
        await last.ack(multiple=multiple)
    except BaseException as exc:
        log.warning("delivery_ack_failed", deliveries=len(waiters), error=repr(exc))
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(exc if isinstance(exc, Exception) else RuntimeError(repr(exc)))
        if not isinstance(exc, Exception):
            raise
        return
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(None)
