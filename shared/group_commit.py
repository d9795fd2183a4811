"""Group commit: items submitted at about the same time (one per delivery) are judged together in one call.

A consumer that settles each message on its own pays one transaction and one commit per message. Here each
delivery's task submits its item and waits for its own outcome; a flush takes what is pending (up to `max_items`),
in submission order, and hands each waiter its outcome. A flush starts once a slot is free (at most `concurrency`
flushes at once) and its oldest item has waited `window` seconds for company, or `max_items` are pending: when
idle, the first item waits at most `window`; items that arrived during a flush go in the next one, which starts as
soon as a slot frees. Beside a flush under way, another starts only for a backlog (a quarter of `max_items`
pending and free of its keys) or an item kept waiting ten windows: when the flushes keep up, groups stay as big as
one at a time makes them (fewer transactions and commits per item); when they fall behind, the backlog is judged
side by side.

Weight: an item may weigh more than one (a batch delivery: its event count); a group then also stays within
`max_weight` (at least one item, however heavy), and a backlog counts by weight too.

Order: with one flush at a time, items submitted in an order are judged in that order. With several, each item
names its `keys` (what it locks: meetings' cells, members, meetings) and an item sharing a key with a flush under
way, or with an earlier item still pending, waits for it: items sharing a key are judged in submission order, one
group after the other, while items about other keys are judged beside them. So the next group gathers and runs
while the previous one is still being judged and committed.

The flush decides per item: a result, or an exception for that item only (the caller then settles that message
alone, for example by requeueing it). Nothing is settled here, so a process killed with a group pending leaves
its messages unacknowledged: the broker delivers them again.
"""

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable, Collection, Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from shared.logs import get_logger
from shared.metrics import GROUP_COMMIT_SECONDS, GROUP_COMMIT_SIZE

log = get_logger(__name__)

T = TypeVar("T")
R = TypeVar("R")

Flush = Callable[[list[T]], Awaitable[Sequence[R | Exception]]]
"""Judges a group of items; returns one outcome per item, in order: its result, or the exception that is its own."""
Keys = Callable[[T], Collection[Hashable]]
"""What an item locks: items sharing a key are never judged by two flushes at once, and keep their order."""
Weight = Callable[[T], int]
"""How much an item counts toward `max_weight` (for example a batch delivery's events)."""


@dataclass(slots=True)
class _Pending(Generic[T, R]):
    item: T
    future: "asyncio.Future[R]"
    keys: Collection[Hashable]
    since: float
    weight: int = 1


class GroupCommit(Generic[T, R]):
    """Gathers the items submitted together and flushes them as groups, up to `concurrency` flushes at once."""

    def __init__(
        self,
        flush: Flush[T, R],
        *,
        name: str,
        max_items: int = 250,
        window: float = 0.005,
        concurrency: int = 1,
        keys: Keys[T] | None = None,
        weight: Weight[T] | None = None,
        max_weight: int | None = None,
    ) -> None:
        """`name` labels the metrics and logs; `max_items` bounds a group (items), `max_weight` (optional) their
        total `weight` (each item 1 without it); `window`: seconds an idle collector waits after the first item for
        more; `concurrency`: flushes at once, above 1 only with `keys`."""
        if max_items < 1 or window < 0 or concurrency < 1 or (max_weight is not None and max_weight < 1):
            raise ValueError("max_items, max_weight, concurrency: at least 1; window: seconds, not negative")
        if concurrency > 1 and keys is None:
            raise ValueError("flushes side by side need the items' keys to keep their order")
        self._flush = flush
        self.name = name
        self.max_items = max_items
        self.window = window
        self.concurrency = concurrency
        self.max_weight = max_weight if max_weight is not None else max_items
        self.spare_items = max(1, max_items // 4)
        self.spare_weight = max(1, self.max_weight // 4)
        """A flush beside one under way starts with this many items (or this weight) pending ..."""
        self.spare_wait = window * 10
        """... or once the oldest has waited this long (s)."""
        self._keys = keys
        self._weight = weight
        self._pending: list[_Pending[T, R]] = []
        self._pending_weight = 0
        self._busy: dict[Hashable, int] = {}
        """Keys of the flushes under way (how many of them hold each)."""
        self._flushing: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()
        self._ended = 0
        """Flushes ended so far; `_refused`: their count when a spare group was last refused, and whether its oldest
        item had waited `spare_wait` then."""
        self._refused: tuple[int, bool] = (-1, False)
        self._runner: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        """Items waiting for a flush (not those of the flushes under way)."""
        return len(self._pending)

    async def submit(self, item: T) -> R:
        """Wait for `item`'s outcome in the next group: its result, or raise the exception the flush gave it."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        keys = self._keys(item) if self._keys is not None else ()
        weight = max(1, self._weight(item)) if self._weight is not None else 1
        self._pending.append(_Pending(item, future, keys, time.monotonic(), weight))
        self._pending_weight += weight
        if self._worth_a_look(first=len(self._pending) == 1):
            self._changed.set()
        if self._runner is None or self._runner.done():
            # a fresh context: the flush's logs must not carry the first delivery's event id
            self._runner = asyncio.create_task(self._run(), context=contextvars.Context())
        # the waiter may be cancelled (shutdown): that cancels its future, but its item is still judged (the flush
        # skips a future already done), and its message, unsettled, comes back. No asyncio.shield: an outer future
        # and two callbacks per item (about half the cost of waiting, measured) guard nothing else awaits
        return await future

    def _worth_a_look(self, *, first: bool) -> bool:
        """Whether the item just submitted may let a group start (else the collector is not woken for it):
        `first`, it is the only one pending."""
        pending = len(self._pending)
        if not self._flushing:
            return first or self._full(pending, self._pending_weight, self.max_items, self.max_weight)
        # beside a flush: the first item (its spare wait starts) and a backlog not refused since the last flush ended
        return len(self._flushing) < self.concurrency and (
            first
            or (
                self._full(pending, self._pending_weight, self.spare_items, self.spare_weight)
                and self._refused[0] != self._ended
            )
        )

    @staticmethod
    def _full(items: int, weight: int, fill_items: int, fill_weight: int) -> bool:
        return items >= fill_items or weight >= fill_weight

    async def _run(self) -> None:
        """Start flushes while items are pending and slots free, until nothing is pending or under way."""
        try:
            while self._pending or self._flushing:
                self._changed.clear()
                timeout: float | None = None
                if self._pending and len(self._flushing) < self.concurrency:
                    waited = time.monotonic() - self._pending[0].since
                    # beside a flush under way, only a backlog (or an item kept waiting long) is worth a group of
                    # its own: a few items wait for that flush to end and join the next group, so groups stay big
                    # and transactions few when the flushes keep up
                    fill, fill_weight, wait = (
                        (self.max_items, self.max_weight, self.window)
                        if not self._flushing
                        else (self.spare_items, self.spare_weight, self.spare_wait)
                    )
                    if self._flushing and self._refused == (self._ended, waited >= wait):
                        # the spare group was refused and no flush ended since: a submit alone frees no key, so
                        # no scan of the whole backlog per submit; look again when a flush ends or time is up
                        timeout = wait - waited if waited < wait else None
                    elif self._full(len(self._pending), self._pending_weight, fill, fill_weight) or waited >= wait:
                        group, rest = self._take()
                        # beside a flush, a group of a few free items (the rest waiting on its keys) is not worth
                        # a transaction of its own until the oldest has waited long
                        weight = sum(pending.weight for pending in group)
                        if group and (
                            not self._flushing or self._full(len(group), weight, fill, fill_weight) or waited >= wait
                        ):
                            self._pending = rest
                            self._pending_weight -= weight
                            self._start(group)
                            continue
                        # too few free items: look again when the oldest has waited long; none: when a flush ends
                        self._refused = (self._ended, waited >= wait)
                        timeout = wait - waited if group else None
                    else:
                        timeout = wait - waited
                try:
                    async with asyncio.timeout(timeout):  # no task per wait, as wait_for makes
                        await self._changed.wait()
                except TimeoutError:
                    pass
        except asyncio.CancelledError:
            for task in list(self._flushing):
                task.cancel()
            raise

    def _take(self) -> tuple[list[_Pending[T, R]], list[_Pending[T, R]]]:
        """The next group and what stays pending: pending items in order, up to `max_items` and `max_weight` (at
        least one item), leaving those that share a key with a flush under way or with an item left behind before
        them (they keep their order); once an item does not fit, the group is full."""
        if not self._busy and self._weight is None:
            return self._pending[: self.max_items], self._pending[self.max_items :]
        group: list[_Pending[T, R]] = []
        rest: list[_Pending[T, R]] = []
        held: set[Hashable] = set()
        weight = 0
        for index, pending in enumerate(self._pending):
            if len(group) >= self.max_items or (group and weight + pending.weight > self.max_weight):
                rest += self._pending[index:]  # full: the rest keeps its order
                break
            if not any(key in self._busy or key in held for key in pending.keys):
                group.append(pending)
                weight += pending.weight
            else:
                rest.append(pending)
                held.update(pending.keys)
        return group, rest

    def _start(self, group: list[_Pending[T, R]]) -> None:
        for pending in group:
            for key in pending.keys:
                self._busy[key] = self._busy.get(key, 0) + 1
        task = asyncio.create_task(self._flush_group(group))
        self._flushing.add(task)

    async def _flush_group(self, group: list[_Pending[T, R]]) -> None:
        started = time.perf_counter()
        outcomes: Sequence[R | Exception]
        try:
            try:
                outcomes = await self._flush([pending.item for pending in group])
                if len(outcomes) != len(group):
                    raise RuntimeError(f"flush: {len(outcomes)} outcomes for {len(group)} items")
            except asyncio.CancelledError:
                for pending in group:
                    pending.future.cancel()
                raise
            except Exception as exc:
                log.exception("group_flush_failed", group=self.name, size=len(group), error=repr(exc))
                outcomes = [exc] * len(group)
            failed = 0
            for pending, outcome in zip(group, outcomes, strict=True):
                if pending.future.done():
                    continue
                if isinstance(outcome, Exception):
                    failed += 1
                    pending.future.set_exception(outcome)
                else:
                    pending.future.set_result(outcome)
        finally:
            for pending in group:
                for key in pending.keys:
                    if self._busy[key] <= 1:
                        del self._busy[key]
                    else:
                        self._busy[key] -= 1
            self._flushing.discard(asyncio.current_task())
            self._ended += 1
            self._changed.set()
        seconds = time.perf_counter() - started
        GROUP_COMMIT_SIZE.labels(self.name).observe(len(group))
        GROUP_COMMIT_SECONDS.labels(self.name).observe(seconds)
        log.info("group_flushed", group=self.name, size=len(group), failed=failed, seconds=round(seconds, 4))
