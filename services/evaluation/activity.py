"""What this process's fact consumer is doing, so the scoring worker lets deliveries about the same meetings fold.

Meetings' relay sends bulk work as one-type batches: a backfill reaches evaluation as the scheduled batch, then
the documents, attendance, minutes ... batches about the same meetings. Scoring after each one would publish each
meeting's score once per batch. So while batches flow, a scoring round waits for the consumer to settle (no
delivery in flight and none for `settle` s), up to `bulk_wait` (bulk work is judged by its completion time, and
every batch a round waits for is one fewer republication).

Whatever the load, a round never starts between two messages of one relay fetch: meetings writes a transaction's
facts grouped by type and its relay sends them back to back as one-type batches (scheduled, documents, attendance,
minutes, completions, assessments ...), each naming its fetch and how many messages of each type the fetch sends
(shared.outbox.FETCH_HEADER, FETCH_TYPES_HEADER). A round that started in the gap after the scheduled batch
published every meeting of the cell provisional and again final (issue 12: 1.30 score messages a meeting and 1.65 a
closed period in the province-year preset), so while a fetch of which a delivery began has messages of this
consumer's types not yet begun (counted per type, distinct messages), the round waits for them, at most `bulk_wait`.
Deliveries run concurrently (up to the prefetch) and the relay publishes a fetch's messages concurrently: which
began first, and whatever other deliveries began in between, does not matter. (Before, the last delivery to end said
whether "more follows"; one ending after its successor had begun left a round waiting the whole bound for nothing,
and ignoring it once any later delivery had begun let rounds start mid-cell.)

Single events are judged by their latency, but coalesced under load:
- lightly loaded (the consumer was busy less than `busy_share` of the time since the previous round began), a round
  starts as soon as no delivery is in flight (woken the moment the last one ends, no quiet period): an idle
  consumer's fact is scored at once;
- under load, the round waits for the consumer to settle as for batches, at most `max_wait`: the deliveries that
  arrive meanwhile fold into it, so a meeting's facts close together cost one scoring and one publication.
"""

import asyncio
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from shared.outbox import FetchPart

FETCHES_KEPT = 256
"""Relay fetches remembered (the latest seen): a late or redelivered message of one of them is known as such."""


@dataclass
class _Fetch:
    """What this consumer has begun of one relay fetch: the distinct message numbers per type, against the counts
    the fetch announced; `given_up` once a round stopped waiting for it (its missing messages lost or elsewhere),
    until another of its messages begins."""

    counts: dict[str, int]
    begun: dict[str, set[int]] = field(default_factory=dict)
    given_up: bool = False

    def missing(self) -> bool:
        """Some message of the consumer's types announced in the fetch has not begun here."""
        return not self.given_up and any(len(self.begun.get(kind, ())) < n for kind, n in self.counts.items())


@dataclass
class FactActivity:
    """Deliveries of `evaluation.facts` in flight in this process, when the last one ended, whether it was a batch,
    and how long the consumer has been busy."""

    in_flight: int = 0
    last_end: float = 0.0
    bulk: bool = False
    _busy_seconds: float = 0.0
    """Time with a delivery in flight, up to `_busy_since` when one is."""
    _busy_since: float = 0.0
    _round_began: float = 0.0
    """When the previous round stopped waiting, and the busy time then."""
    _busy_then: float = 0.0
    _pending_since: float | None = None
    """When the first delivery since the previous round began started: its facts wait for the next round from then."""
    _fetches: OrderedDict[str, _Fetch] = field(default_factory=OrderedDict, repr=False)
    """The relay fetches seen lately (at most FETCHES_KEPT), the latest last."""
    _waiting_for: set[str] = field(default_factory=set)
    """The fetches of `_fetches` with messages announced and not begun (_Fetch.missing)."""
    _inside_in_flight: int = 0
    """Deliveries in flight that are one of several messages of this consumer's types in their relay fetch."""
    noted_before: float | None = None
    """After a round's wait cut short by its bound (deliveries still in flight or announced): the seconds since the
    previous round stopped waiting. The round claims only cells noted before then (scoring.claim_dirty_cells): a
    cell noted since likely has more of its facts in flight, and its meetings scored now would be published
    provisional and again a round later (issue 12). None when the consumer settled: every cell is claimed."""
    _batches_in_flight: int = 0
    _last_batch_end: float | None = None
    """When the latest batch message (of any size) ended here; None before the first."""
    _idle: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    """Set when the last delivery in flight ends (a waiting round looks again at once)."""

    @property
    def expecting(self) -> bool:
        """A relay fetch of which a delivery began here has messages of this consumer's types not begun yet."""
        return bool(self._waiting_for)

    @contextmanager
    def delivery(self, *, batch: bool, part: FetchPart | None = None, several: bool = False) -> Iterator[None]:
        """Mark one delivery (a bulk batch or not) as being applied; `part`: its place in its relay fetch
        (shared.outbox.fetch_part; None when alone in it); `several`: a batch message of any size."""
        if not self.in_flight:
            self._busy_since = time.monotonic()
        if self._pending_since is None:
            self._pending_since = time.monotonic()
        self.in_flight += 1
        self._batches_in_flight += several
        self.bulk = batch
        inside = part is not None and sum(part.counts.values()) > 1
        self._inside_in_flight += inside
        if part is not None:
            self._begin_part(part)
        try:
            yield
        finally:
            self.in_flight -= 1
            self._batches_in_flight -= several
            self._inside_in_flight -= inside
            self.last_end = time.monotonic()
            if several:
                self._last_batch_end = self.last_end
            if self.in_flight == 0:
                self._busy_seconds += self.last_end - self._busy_since
                self._idle.set()

    def batches_flowing(self, *, quiet: float) -> bool:
        """A batch message is being applied, or one ended less than `quiet` s ago: a backfill is still coming in
        (meetings' relay sends a loaded history as batches), so a cell with no meeting yet may get its meetings
        from the next ones (issue 12, scoring.hold_periods_quiet_seconds)."""
        if self._batches_in_flight:
            return True
        return self._last_batch_end is not None and time.monotonic() - self._last_batch_end < quiet

    def _begin_part(self, part: FetchPart) -> None:
        """Count a delivery's message among its fetch's; a fetch first seen now starts waiting for the rest."""
        fetch = self._fetches.get(part.fetch)
        if fetch is None:
            fetch = self._fetches[part.fetch] = _Fetch(counts=dict(part.counts))
            while len(self._fetches) > FETCHES_KEPT:
                forgotten, _ = self._fetches.popitem(last=False)
                self._waiting_for.discard(forgotten)
        else:
            self._fetches.move_to_end(part.fetch)
        begun = fetch.begun.setdefault(part.kind, set())
        if part.number not in begun:  # more of a fetch given up still comes: its rest is awaited again
            begun.add(part.number)
            fetch.given_up = False
        if fetch.missing():
            self._waiting_for.add(part.fetch)
        else:
            self._waiting_for.discard(part.fetch)

    def _give_up_waiting(self) -> None:
        """A round's bound passed with fetches still missing messages: they are not waited for again."""
        for name in self._waiting_for:
            self._fetches[name].given_up = True
        self._waiting_for.clear()

    def busy_share(self) -> float:
        """The share of the time since the previous round began that a delivery was in flight (0 to 1)."""
        now = time.monotonic()
        busy = self._busy_seconds + (now - self._busy_since if self.in_flight else 0.0)
        elapsed = now - self._round_began
        return min(1.0, (busy - self._busy_then) / elapsed) if elapsed > 0 else 1.0

    def settled(self, *, settle: float, coalesce: bool = True) -> bool:
        """No delivery in flight or announced and, when coalescing (batches flow, or under load), none in the last
        `settle` s."""
        if self.in_flight or self.expecting:
            return False
        return not (coalesce or self.bulk) or time.monotonic() - self.last_end >= settle

    async def wait_settled(self, *, settle: float, max_wait: float, bulk_wait: float, busy_share: float = 0.5) -> float:
        """Wait until the consumer settled, at most `max_wait` s (`bulk_wait` while batches flow); seconds waited.

        After single events a round coalesces (waits for `settle` s of quiet) only when the consumer was busy at
        least `busy_share` of the time since the previous round began; otherwise no delivery in flight will do.
        After single events `max_wait` counts from the first delivery since the previous round began: facts that
        arrived while that round scored have waited already (under load at 200 events/s a round of ~80 cells
        scores for a few tenths of a second, and waiting the whole bound after it put both in each fact's latency)."""
        started = time.monotonic()
        previous_round = self._round_began
        coalesce = self.busy_share() >= busy_share
        cut_short = False
        pending_since = min(started, self._pending_since if self._pending_since is not None else started)
        while not self.settled(settle=settle, coalesce=coalesce):
            now = time.monotonic()
            # inside a relay fetch (messages of it awaited, or one of several in flight): bound as for batches
            patient = self.bulk or self.expecting or bool(self._inside_in_flight)
            left = bulk_wait - (now - started) if patient else max_wait - (now - pending_since)
            if left <= 0:
                # batches of facts still coming (not single events, whose rounds keep their latency bound)
                cut_short = bool(self._batches_in_flight or self.expecting)
                self._give_up_waiting()
                break
            if not self.in_flight and not self.expecting:  # a delivery ended lately: the rest of the quiet period
                left = min(left, max(settle - (now - self.last_end), 0.001))
            self._idle.clear()
            try:
                async with asyncio.timeout(left):  # not wait_for: it drops a cancel that comes with the wake-up
                    await self._idle.wait()
            except TimeoutError:
                pass
        self._round_began = time.monotonic()
        self.noted_before = self._round_began - previous_round if cut_short and previous_round > 0 else None
        # deliveries still in flight commit after this round claims: their facts are the next round's
        self._pending_since = self._round_began if self.in_flight else None
        self._busy_then = self._busy_seconds + (self._round_began - self._busy_since if self.in_flight else 0.0)
        return self._round_began - started
