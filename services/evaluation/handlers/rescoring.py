"""The explicit re-scoring job: a subtree and a span of months, one transaction per cell."""

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

from services.evaluation.domain.facts import VIETNAM
from services.evaluation.domain.periods import period_months
from services.evaluation.handlers.scores import refresh_periods, rescore_cell
from shared.logs import get_logger

log = get_logger(__name__)


def month_start(month: str) -> datetime:
    """Midnight of the first day of a month, Vietnam time."""
    year, number = (int(part) for part in month.split("-"))
    return datetime(year, number, 1, tzinfo=VIETNAM)


def next_month(month: str) -> str:
    """The month after."""
    year, number = (int(part) for part in month.split("-"))
    return f"{year + 1}-01" if number == 12 else f"{year}-{number + 1:02d}"


def months_between(first: str, last: str) -> list[str]:
    """Every month from first to last inclusive."""
    months, month = [], first
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


async def rescore(
    *,
    uow_factory: Callable[[], AbstractAsyncContextManager[Any]],
    unit_id: str | None,
    period_from: str | None,
    period_to: str | None,
    on_total: Callable[[int], None] = lambda total: None,
    on_cell: Callable[[], None] = lambda: None,
) -> dict[str, int]:
    """Rescore the meetings of a subtree (or every cell) starting in the periods' months; refresh their periods."""
    first = period_months(period_from)[0] if period_from else None
    last = period_months(period_to)[-1] if period_to else None
    since = month_start(first) if first else datetime(1900, 1, 1, tzinfo=VIETNAM)
    until = month_start(next_month(last)) if last else None
    async with uow_factory() as uow:
        cells = await uow.facts.subtree_cells(unit_id) if unit_id else await uow.facts.cells_with_meetings()
        through = f"{uow.today():%Y-%m}"
    span = months_between(first, min(last or through, through)) if first else []
    on_total(len(cells))
    meetings = changed = 0
    for cell_id in cells:
        async with uow_factory() as uow:
            outcome = await rescore_cell(uow, cell_id, since=since, until=until)
            months = {*span, *outcome.months.get(cell_id, set())}
            for cell, touched in sorted(outcome.months.items()):
                await refresh_periods(uow, cell, touched | (months if cell == cell_id else set()))
            if cell_id not in outcome.months and months:
                await refresh_periods(uow, cell_id, months)
            await uow.commit()
        meetings += outcome.meetings
        changed += outcome.changed
        on_cell()
    log.info("rescore_done", unit_id=unit_id, cells=len(cells), meetings=meetings, changed=changed)
    return {"cells": len(cells), "meetings_rescored": meetings, "changed": changed}
