"""Coalesced scoring: fact transactions note what they touched durably; a worker scores it later, set-based.

The fact consumer's `finish` step (`defer_touched`) appends one `dirty_cell` row per touched cell in the facts'
own transaction, and the unit of work wakes the worker once that commits. The worker (`score_dirty`, run by
`shared.background.poll`) claims the oldest rows and every other row of their cells FOR UPDATE SKIP LOCKED,
merges them per cell (earliest `since`, union of `only`), scores those cells' meetings set-based under their cell
locks (`rescore_cells`) and commits with the outbox rows (the claim deleted the rows it took, in the same
transaction) and one note per cell of the months whose periods to refresh; a second transaction takes those notes
and refreshes the periods (`refresh_noted_periods`): a meeting's score is published without waiting for them. Many
deliveries about the same meetings fold into one scoring and one published change. A fact committed after the
claim has its own row, so the cell is scored again; nothing is lost on a crash (the rows stay until a scoring
commits, the period notes until their periods do). A cell whose scoring fails is retried later on its own
(`defer_dirty`), so it holds up no other cell.
"""

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg

from services.evaluation.domain.touched import Touched, TouchedCell
from services.evaluation.handlers.pending import write_pending
from services.evaluation.handlers.scores import (
    Rescored,
    ScoringUnitOfWork,
    periods_due,
    refresh_due_periods,
    rescore_cells,
    score_cells,
)
from services.evaluation.repository import DirtyRow, JobRepository
from shared.background import raise_if_cancelling
from shared.logs import get_logger
from shared.metrics import SCORING_SECONDS
from shared.reading import bounded

log = get_logger(__name__)

RETRIED_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
)
"""A scoring round that lost a deadlock (a batch of member facts locks cells in its own order) is run again."""


class DeferringUnitOfWork(ScoringUnitOfWork, Protocol):
    """What noting touched cells needs from a unit of work (the pending facts are written first)."""

    @property
    def jobs(self) -> JobRepository: ...

    def wake_scoring_after_commit(self) -> None: ...


async def defer_touched(uow: DeferringUnitOfWork) -> int:
    """The fact consumer's `finish`: store the cells the transaction's facts touched for the scoring worker (one
    row each, one statement) and have the worker woken once the transaction commits; how many cells."""
    await write_pending(uow)
    cells = list(uow.touched.take())
    if cells:
        await uow.jobs.add_dirty_cells(cells, received_month=f"{uow.today():%Y-%m}")
        uow.wake_scoring_after_commit()
    return len(cells)


def merge_dirty(rows: Sequence[DirtyRow]) -> dict[str, TouchedCell]:
    """Per cell, what its rows ask for together: the earliest `since`, every `only` and `months`, the first
    correlation id, the latest `recorded_at`."""
    merged = Touched()
    for row in sorted(rows, key=lambda row: row.id):
        merged.touch(
            row.cell_id,
            since=row.since,
            only=row.only,
            correlation_id=row.correlation_id,
            months=row.months,
            recorded_at=row.recorded_at,
        )
        cell = merged.cells[row.cell_id]
        cell.correlation_id = cell.correlation_id or row.correlation_id
    return dict(merged.take())


def received_months(rows: Sequence[DirtyRow]) -> dict[str, str | None]:
    """Per cell, the latest month (YYYY-MM) a fact among its rows was received in; None when no row holds a fact (a
    recheck released at a window's end: a deadline passing is no late record, DOMAIN.md "After")."""
    months: dict[str, str | None] = {}
    for row in rows:
        known = months.get(row.cell_id)
        months[row.cell_id] = max(filter(None, (known, row.received_month)), default=None)
    return months


MAX_RETRY_DELAY = 300.0
"""A cell whose scoring keeps failing is tried again at most this many seconds apart (never dropped)."""


@dataclass
class ScoredMeetings:
    """A scoring round's first transaction, committed: whether more may be waiting, the period notes it left for
    the second (`refresh_noted_periods`), its scoring (ancestors and adoptions read) and how long it took (s)."""

    more: bool
    notes: list[int] = field(default_factory=list)
    outcome: Rescored | None = None
    seconds: float = 0.0


async def score_dirty(
    *, uow_factory: Callable[[], AbstractAsyncContextManager[Any]], limit: int, noted_before: float | None = None
) -> bool:
    """One scoring round, its two transactions one after the other (`score_dirty_meetings`, then
    `refresh_noted_periods`); True when more may be waiting (as `score_dirty_meetings` says, or the periods' refresh
    failed and left its notes)."""
    scored = await score_dirty_meetings(uow_factory=uow_factory, limit=limit, noted_before=noted_before)
    if not scored.notes:
        return scored.more
    started = time.perf_counter()
    refreshed = await refresh_noted_periods(uow_factory=uow_factory, ids=scored.notes, known=scored.outcome)
    SCORING_SECONDS.observe(scored.seconds + time.perf_counter() - started)
    return scored.more or not refreshed


async def score_dirty_meetings(
    *, uow_factory: Callable[[], AbstractAsyncContextManager[Any]], limit: int, noted_before: float | None = None
) -> ScoredMeetings:
    """A scoring round's first transaction: claim (and delete) up to `limit` dirty rows and their cells' others,
    score the meetings and commit them with their `score.meeting.*` events and a note per cell of the periods to
    refresh (`periods_due`), which `refresh_noted_periods` takes in a transaction of its own: a meeting's score does
    not wait for its periods (issue 12). A crash between the two leaves the notes for the next round.

    When the round fails, each of its cells is scored in its own transaction (periods too), and a cell that fails
    alone has its rows deferred (retried later, the error noted), so one cell that cannot be scored holds up no
    other. `more` when more may be waiting (a full claim, a failed round, or one lost to a deadlock and worth
    running again). `noted_before` (seconds): only cells noted at least that long ago, for a round cut short by its
    bound while facts still flow (a cell noted during its wait likely has more of its facts in flight: issue 12)."""
    claimed: list[DirtyRow] = []
    started = time.perf_counter()
    try:
        async with uow_factory() as uow:
            claimed = await uow.jobs.claim_dirty_cells(limit=limit, noted_before=noted_before)
            if not claimed:
                return ScoredMeetings(more=False)
            # the claim deleted the rows: gone on commit, the period notes in their place
            cells = merge_dirty(claimed)
            outcome = await rescore_cells(uow, cells)
            due = periods_due(cells, outcome)
            notes = await uow.jobs.note_periods(list(due.items()), received=received_months(claimed))
            await uow.commit()
    except RETRIED_ERRORS as exc:
        log.warning("scoring_round_retried", error=repr(exc))
        return ScoredMeetings(more=True)
    except Exception as exc:
        raise_if_cancelling()
        if not claimed:
            raise
        log.warning("scoring_round_failed_scoring_cells_alone", rows=len(claimed), error=repr(exc))
        await _score_cells_alone(uow_factory, claimed)
        return ScoredMeetings(more=True)
    log.debug("scoring_round_done", rows=len(claimed), meetings=outcome.meetings, changed=outcome.changed)
    return ScoredMeetings(
        more=len(claimed) >= limit, notes=notes, outcome=outcome, seconds=time.perf_counter() - started
    )


@dataclass
class Hold:
    """While batch messages flow (`flowing`), a refreshed cell with no meeting in a touched year has that year's
    periods held back for `seconds` at most (issue 12: a province's tree loaded before its history published every
    cell's closed periods Poor, then again once its meetings came in the next batches). `unreleased`: periods may
    be held that were not released since (true at start: a process gone may have left some)."""

    flowing: Callable[[], bool]
    seconds: float
    unreleased: bool = True

    async def release(self, uow_factory: Callable[[], AbstractAsyncContextManager[Any]]) -> int:
        """Once the batches stopped, make the held notes claimable now (a refresh that holds more after this sets
        `unreleased` again); how many notes, 0 without a database call while batches flow or nothing is held."""
        if not self.unreleased or self.flowing():
            return 0
        self.unreleased = False
        async with uow_factory() as uow:
            released = await uow.jobs.release_held_periods()
            await uow.commit()
        return released


async def refresh_noted_periods(
    *,
    uow_factory: Callable[[], AbstractAsyncContextManager[Any]],
    ids: Sequence[int],
    known: Rescored | None = None,
    hold: Hold | None = None,
) -> bool:
    """A scoring round's second transaction: take its period notes (`ids`; those another round claimed meanwhile
    are its), refresh their periods under their cells' locks, commit with the `score.cell.*` events. False when it
    failed: the notes are left to a later round, deferred as a failed cell's are (`defer_dirty`: tried again after
    1, 2, 4 ... s), so a refresh that keeps failing is no busy loop. `known`: the round's scoring (its ancestors and
    adoptions). `hold`: while batches flow, the periods not rated yet of a cell's year without meetings are not
    rated now but noted again, claimable after `hold.seconds` or once released (`release_held_periods`), and taken
    at once with the cell's next facts (claim_dirty_cells takes every note of a claimed cell)."""
    held: dict[str, set[str]] | None = None
    try:
        async with uow_factory() as uow:
            taken = await uow.jobs.take_dirty(ids)
            if taken:
                due = merge_dirty(taken)
                received = received_months(taken)
                held = {} if hold is not None and hold.flowing() else None
                await refresh_due_periods(uow, due, received=received, known=known, held=held)
                if held and hold is not None:
                    cells = [
                        (
                            cell_id,
                            TouchedCell(
                                months=months,
                                correlation_id=due[cell_id].correlation_id,
                                recorded_at=due[cell_id].recorded_at,
                            ),
                        )
                        for cell_id, months in sorted(held.items())
                    ]
                    await uow.jobs.note_periods(cells, received=received, hold_seconds=hold.seconds)
                    log.info("cell_periods_held", cells=len(cells))
            await uow.commit()
        if held and hold is not None:
            hold.unreleased = True  # after the commit: a release that ran meanwhile did not see these notes
    except Exception as exc:
        raise_if_cancelling()
        log.warning("scoring_round_periods_deferred", notes=len(ids), error=repr(exc))
        try:
            async with uow_factory() as uow:
                await uow.jobs.defer_dirty(ids, error=bounded(repr(exc)), max_delay=MAX_RETRY_DELAY)
                await uow.commit()
        except Exception as again:  # the database away: the notes stay due, the next round claims them
            raise_if_cancelling()
            log.warning("scoring_round_periods_not_deferred", notes=len(ids), error=repr(again))
        return False
    return True


@dataclass
class PeriodRefreshes:
    """A scoring worker's period refreshes, run beside its next rounds (issue 12: the facts committed while a round
    refreshed its periods waited for that refresh before their own round began). One at a time: the notes of the
    rounds that commit while one runs are taken together by the next, so a slow refresh never holds up the worker's
    rounds, and under load it coalesces. A refresh that fails leaves its notes to a later round
    (`refresh_noted_periods`)."""

    uow_factory: Callable[[], AbstractAsyncContextManager[Any]]
    hold: Hold | None = None
    """Periods of cells without meetings held back while batches flow (refresh_noted_periods)."""
    _notes: list[int] = field(default_factory=list, repr=False)
    _known: Rescored | None = field(default=None, repr=False)
    _seconds: float = 0.0
    """The scoring time of the rounds whose notes wait (chibo_scoring_duration_seconds counts both halves)."""
    _running: asyncio.Task[None] | None = field(default=None, repr=False)

    def start(self, scored: ScoredMeetings) -> None:
        """Refresh the periods a committed round noted: at once when no refresh runs, else right after it."""
        if not scored.notes:
            return
        self._notes.extend(scored.notes)
        self._known = _together(self._known, scored.outcome)
        self._seconds += scored.seconds
        if self._running is None or self._running.done():
            self._running = asyncio.create_task(self._drain(), name="evaluation.scoring.periods")

    async def close(self) -> None:
        """Stop the refresh running (shutdown): rolled back, its notes and those waiting stay for the next start."""
        if self._running is not None:
            self._running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._running
            self._running = None

    async def _drain(self) -> None:
        while self._notes:
            notes, known, seconds = self._notes, self._known, self._seconds
            self._notes, self._known, self._seconds = [], None, 0.0
            started = time.perf_counter()
            if await refresh_noted_periods(uow_factory=self.uow_factory, ids=notes, known=known, hold=self.hold):
                SCORING_SECONDS.observe(seconds + time.perf_counter() - started)


def _together(first: Rescored | None, then: Rescored | None) -> Rescored | None:
    """What two scorings read of their cells' ancestors and the adoptions (the later one's), for one refresh."""
    if first is None or then is None:
        return then or first
    return Rescored(ancestors_of={**first.ancestors_of, **then.ancestors_of}, adoptions=then.adoptions)


async def release_rechecks(*, uow_factory: Callable[[], AbstractAsyncContextManager[Any]], limit: int) -> int:
    """Note for scoring the meetings whose recheck moment has come (a start reached, a window over: scores.py
    `Recheck`), in a transaction of its own; how many."""
    async with uow_factory() as uow:
        released = int(await uow.jobs.release_due_rechecks(limit=limit))
        if released:
            uow.wake_scoring_after_commit()
        await uow.commit()
    if released:
        log.info("score_rechecks_due", meetings=released)
    return released


async def _score_cells_alone(uow_factory: Callable[[], AbstractAsyncContextManager[Any]], rows: list[DirtyRow]) -> None:
    by_cell: dict[str, list[int]] = {}
    for row in rows:
        by_cell.setdefault(row.cell_id, []).append(row.id)
    for cell_id, ids in sorted(by_cell.items()):
        try:
            async with uow_factory() as uow:
                again = await uow.jobs.claim_dirty(ids)
                if again:
                    await score_cells(uow, merge_dirty(again), received=received_months(again))
                    await uow.jobs.delete_dirty([row.id for row in again])
                await uow.commit()
        except Exception as exc:
            raise_if_cancelling()
            log.exception("cell_scoring_failed", cell_id=cell_id, error=repr(exc))
            async with uow_factory() as uow:
                await uow.jobs.defer_dirty(ids, error=bounded(repr(exc)), max_delay=MAX_RETRY_DELAY)
                await uow.commit()
