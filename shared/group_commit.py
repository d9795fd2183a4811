"""Group commit: items submitted at about the same time (one per delivery) are judged together in one call.

A consumer that settles each message on its own pays one transaction and one commit per message. Here each
delivery's task submits its item and waits for its own outcome; one flush at a time takes everything pending (up
to `max_items`), in submission order, and hands each waiter its outcome. When idle, the first item waits at most
`window` seconds for company; items that arrive during a flush go in the next one, which starts as soon as the
current one ends. Only one flush runs at a time, so items submitted in an order are judged in that order.

The flush decides per item: a result, or an exception for that item only (the caller then settles that message
alone, for example by requeueing it). Nothing is settled here, so a process killed with a group pending leaves
its messages unacknowledged: the broker delivers them again.
"""

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from shared.logs import get_logger
from shared.metrics import GROUP_COMMIT_SECONDS, GROUP_COMMIT_SIZE

log = get_logger(__name__)

T = TypeVar("T")
R = TypeVar("R")

Flush = Callable[[list[T]], Awaitable[Sequence[R | Exception]]]
"""Judges a group of items; returns one outcome per item, in order: its result, or the exception that is its own."""


class GroupCommit(Generic[T, R]):
    """Gathers the items submitted together and flushes them as one group, one flush at a time."""

    def __init__(self, flush: Flush[T, R], *, name: str, max_items: int = 250, window: float = 0.005) -> None:
        """`name` labels the metrics and logs; `max_items` bounds a group (items); `window`: seconds an idle
        collector waits after the first item for more."""
        if max_items < 1 or window < 0:
            raise ValueError("max_items: at least 1; window: seconds, not negative")
        self._flush = flush
        self.name = name
        self.max_items = max_items
        self.window = window
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._full = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        """Items waiting for a flush (not those of the flush under way)."""
        return len(self._pending)

    async def submit(self, item: T) -> R:
        """Wait for `item`'s outcome in the next group: its result, or raise the exception the flush gave it."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if len(self._pending) >= self.max_items:
            self._full.set()
        if self._runner is None or self._runner.done():
            # a fresh context: the flush's logs must not carry the first delivery's event id
            self._runner = asyncio.create_task(self._run(), context=contextvars.Context())
        # the waiter may be cancelled (shutdown); its item is still judged, and its message, unsettled, comes back
        return await asyncio.shield(future)

    async def _run(self) -> None:
        """Flush groups until nothing is pending; an idle start waits `window` for company first."""
        if len(self._pending) < self.max_items and self.window > 0:
            try:
                await asyncio.wait_for(self._full.wait(), self.window)
            except TimeoutError:
                pass
        while self._pending:
            group = self._pending[: self.max_items]
            del self._pending[: self.max_items]
            if len(self._pending) < self.max_items:
                self._full.clear()
            await self._flush_group(group)

    async def _flush_group(self, group: list[tuple[T, asyncio.Future[R]]]) -> None:
        started = time.perf_counter()
        outcomes: Sequence[R | Exception]
        try:
            outcomes = await self._flush([item for item, _ in group])
            if len(outcomes) != len(group):
                raise RuntimeError(f"flush: {len(outcomes)} outcomes for {len(group)} items")
        except asyncio.CancelledError:
            for _, future in group:
                future.cancel()
            raise
        except Exception as exc:
            log.exception("group_flush_failed", group=self.name, size=len(group), error=repr(exc))
            outcomes = [exc] * len(group)
        failed = 0
        for (_, future), outcome in zip(group, outcomes, strict=True):
            if future.done():
                continue
            if isinstance(outcome, Exception):
                failed += 1
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
        seconds = time.perf_counter() - started
        GROUP_COMMIT_SIZE.labels(self.name).observe(len(group))
        GROUP_COMMIT_SECONDS.labels(self.name).observe(seconds)
        log.info("group_flushed", group=self.name, size=len(group), failed=failed, seconds=round(seconds, 4))
