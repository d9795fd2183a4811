"""What this process's fact consumer is doing, so the scoring worker lets deliveries about the same meetings fold.

Meetings' relay sends bulk work as one-type batches: a backfill reaches evaluation as the scheduled batch, then
the documents, attendance, minutes ... batches about the same meetings. Scoring after each one would publish each
meeting's score once per batch. So while batches flow, a scoring round waits for the consumer to settle (no
delivery in flight and none for `settle` s), up to `bulk_wait` (bulk work is judged by its completion time, and
every batch a round waits for is one fewer republication).

Single events are judged by their latency: a round starts as soon as no delivery is in flight (woken the moment
the last one ends, no quiet period), so an idle consumer's fact is scored at once. Under load deliveries overlap
and a round waits for a gap, at most `max_wait`, folding what arrived meanwhile; the round itself takes time too,
during which the next round's cells gather.
"""

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class FactActivity:
    """Deliveries of `evaluation.facts` in flight in this process, when the last one ended, whether it was a batch."""

    in_flight: int = 0
    last_end: float = 0.0
    bulk: bool = False
    _idle: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    """Set when the last delivery in flight ends (a waiting round looks again at once)."""

    @contextmanager
    def delivery(self, *, batch: bool) -> Iterator[None]:
        """Mark one delivery (a batch or a single event) as being applied."""
        self.in_flight += 1
        self.bulk = batch
        try:
            yield
        finally:
            self.in_flight -= 1
            self.last_end = time.monotonic()
            if self.in_flight == 0:
                self._idle.set()

    def settled(self, *, settle: float) -> bool:
        """No delivery in flight and, while batches flow, none ended in the last `settle` seconds."""
        if self.in_flight:
            return False
        return not self.bulk or time.monotonic() - self.last_end >= settle

    async def wait_settled(self, *, settle: float, max_wait: float, bulk_wait: float) -> float:
        """Wait until the consumer settled, at most `max_wait` s (`bulk_wait` while batches flow); seconds waited."""
        started = time.monotonic()
        while not self.settled(settle=settle):
            now = time.monotonic()
            left = (bulk_wait if self.bulk else max_wait) - (now - started)
            if left <= 0:
                break
            if not self.in_flight:  # a batch ended lately: the rest of the quiet period
                left = min(left, max(settle - (now - self.last_end), 0.001))
            self._idle.clear()
            try:
                await asyncio.wait_for(self._idle.wait(), left)
            except TimeoutError:
                pass
        return time.monotonic() - started
