"""Closing months: when a month ends (Vietnam time) every cell's month, quarter and year are recomputed.

Without it a month nobody sent an event about would keep its `in_progress` rating and the next month
would not count as Poor until some fact arrived. A close is recorded per month in `period_close`;
its run goes over every cell in batches, one transaction each, committing the cursor with the
batch's results, so a restart resumes where it stopped and two instances never take the same batch
(the row is claimed FOR UPDATE SKIP LOCKED). After downtime one run covers every missed month.
"""

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from services.evaluation.handlers.scores import refresh_cells_periods
from shared.logs import get_logger
from shared.periods import months_between, next_period, period_months, previous_period

log = get_logger(__name__)


async def open_month_close(uow: Any) -> str | None:
    """Record the close of the month before today's if it is not recorded yet; return it when opened now."""
    current = f"{uow.today():%Y-%m}"
    month = previous_period(current)
    last = await uow.jobs.last_closed_month()
    if last is not None and last >= month:
        return None
    first_month = next_period(last) if last is not None else month
    if await uow.jobs.open_period_close(month=month, first_month=first_month):
        log.info("month_close_opened", month=month, first_month=first_month)
        return month
    return None


async def close_periods(
    *,
    uow_factory: Callable[[], AbstractAsyncContextManager[Any]],
    batch_size: int = 200,
    max_batches: int | None = None,
) -> dict[str, int]:
    """Open the due month close and work through unfinished closes batch by batch; return what was done."""
    async with uow_factory() as uow:
        await open_month_close(uow)
        await uow.commit()
    done = {"batches": 0, "cells": 0, "changed": 0, "closed": 0}
    while max_batches is None or done["batches"] < max_batches:
        async with uow_factory() as uow:
            run = await uow.jobs.claim_period_close()
            if run is None:
                break
            cells = await uow.jobs.cells_after(run.cursor, limit=batch_size)
            if not cells:
                await uow.jobs.finish_period_close(run.month)
                await uow.commit()
                done["closed"] += 1
                log.info("month_closed", month=run.month, first_month=run.first_month)
                continue
            current = f"{uow.today():%Y-%m}"
            common = set(months_between(run.first_month, current))
            stale = await uow.jobs.stale_periods(cells)
            # Locked in id order as every scorer locks, so a fact's scoring and the close never interleave on a cell;
            # the batch's periods are then read and written set-based.
            await uow.facts.lock_cells(cells)
            months_of = {
                cell_id: common
                | {m for period in stale.get(cell_id, []) for m in period_months(period) if m <= current}
                for cell_id in cells
            }
            changed = await refresh_cells_periods(uow, months_of, closing=True)
            await uow.jobs.advance_period_close(month=run.month, cursor=cells[-1], cells=len(cells), changed=changed)
            await uow.commit()
        done["batches"] += 1
        done["cells"] += len(cells)
        done["changed"] += changed
    return done
