"""What this process's fact consumer is doing, so the scoring worker lets deliveries about the same meetings fold.

Meetings' relay sends bulk work as one-type batches: a backfill reaches evaluation as the scheduled batch, then
the documents, attendance, minutes ... batches about the same meetings. Scoring after each one would publish each
meeting's score once per batch. So a scoring round waits while deliveries keep coming (the consumer busy, or idle
for less than `settle`), up to a bound: short after single events (latency), longer while batches flow (bulk work
is judged by its completion time, and every batch a round waits for is one fewer republication).
"""

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class FactActivity:
    """Deliveries of `evaluation.facts` in flight in this process, when the last one ended, whether it was a batch."""

    in_flight: int = 0
    last_end: float = 0.0
    bulk: bool = False

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

    def settled(self, *, settle: float) -> bool:
        """No delivery in flight and none ended in the last `settle` seconds."""
        return self.in_flight == 0 and time.monotonic() - self.last_end >= settle

    async def wait_settled(self, *, settle: float, max_wait: float, bulk_wait: float) -> float:
        """Wait until the consumer settled, at most `max_wait` s (`bulk_wait` while batches flow); seconds waited."""
        started = time.monotonic()
        while not self.settled(settle=settle):
            waited = time.monotonic() - started
            if waited >= (bulk_wait if self.bulk else max_wait):
                break
            await asyncio.sleep(min(settle, 0.02))
        return time.monotonic() - started
