"""Coalesced scoring: fact transactions note what they touched durably; a worker scores it later, set-based.

The fact consumer's `finish` step (`defer_touched`) appends one `dirty_cell` row per touched cell in the facts'
own transaction, and the unit of work wakes the worker once that commits. The worker (`score_dirty`, run by
`shared.background.poll`) claims the oldest rows and every other row of their cells FOR UPDATE SKIP LOCKED,
merges them per cell (earliest `since`, union of `only`), scores those cells set-based under their cell locks
(`score_cells`), deletes the claimed rows and commits with the outbox rows: many deliveries about the same
meetings fold into one scoring and one published change. A fact committed after the claim has its own row, so
the cell is scored again; nothing is lost on a crash (the rows stay until a scoring commits).
"""

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import asyncpg

from services.evaluation.domain.touched import Touched, TouchedCell
from services.evaluation.handlers.scores import score_cells
from services.evaluation.repository import DirtyRow, JobRepository
from shared.logs import get_logger

log = get_logger(__name__)

RETRIED_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
)
"""A scoring round that lost a deadlock (a batch of member facts locks cells in its own order) is run again."""


class DeferringUnitOfWork(Protocol):
    """What noting touched cells needs from a unit of work."""

    @property
    def touched(self) -> Touched: ...
    @property
    def jobs(self) -> JobRepository: ...

    def wake_scoring_after_commit(self) -> None: ...


async def defer_touched(uow: DeferringUnitOfWork) -> int:
    """The fact consumer's `finish`: store the cells the transaction's facts touched for the scoring worker (one
    row each, one statement) and have the worker woken once the transaction commits; how many cells."""
    cells = list(uow.touched.take())
    if cells:
        await uow.jobs.add_dirty_cells(cells)
        uow.wake_scoring_after_commit()
    return len(cells)


def merge_dirty(rows: Sequence[DirtyRow]) -> dict[str, TouchedCell]:
    """Per cell, what its rows ask for together: the earliest `since`, every `only`, the first correlation id."""
    merged = Touched()
    for row in sorted(rows, key=lambda row: row.id):
        merged.touch(row.cell_id, since=row.since, only=row.only, correlation_id=row.correlation_id)
        cell = merged.cells[row.cell_id]
        cell.correlation_id = cell.correlation_id or row.correlation_id
    return dict(merged.take())


async def score_dirty(*, uow_factory: Callable[[], AbstractAsyncContextManager[Any]], limit: int) -> bool:
    """One scoring round: claim up to `limit` dirty rows (and their cells' others), score, delete, commit.

    True when more may be waiting (a full claim, or a round lost to a deadlock and worth running again)."""
    try:
        async with uow_factory() as uow:
            rows = await uow.jobs.claim_dirty_cells(limit=limit)
            if not rows:
                return False
            cells = merge_dirty(rows)
            outcome = await score_cells(uow, cells)
            await uow.jobs.delete_dirty([row.id for row in rows])
            await uow.commit()
    except RETRIED_ERRORS as exc:
        log.warning("scoring_round_retried", error=repr(exc))
        return True
    log.debug(
        "scoring_round_done", rows=len(rows), cells=len(cells), meetings=outcome.meetings, changed=outcome.changed
    )
    return len(rows) >= limit
