"""Facts applied to evaluation's tables as its consumer applies them, without the broker or the scorer: for tests
that compare what the service keeps, one delivery or one batch at a time."""

from collections.abc import Callable
from typing import Any

from services.evaluation.handlers import FACT_HANDLERS
from services.evaluation.handlers.facts import FACT_BATCH_HANDLERS, lock_order
from services.evaluation.handlers.pending import write_pending


async def apply_facts(factory: Callable[[], Any], events: list[Any], *, batch: bool) -> None:
    """`events` (read) in one unit of `factory`: as one batch in lock order (the type's batch handler, when it has
    one) or one by one; pending work written, the touched cells dropped (what the scorer would rescore)."""
    async with factory() as uow:
        if batch and events[0].type in FACT_BATCH_HANDLERS:
            await FACT_BATCH_HANDLERS[events[0].type](sorted(events, key=lock_order), uow)
        else:
            for item in events:
                await FACT_HANDLERS[item.type](item, uow)
        await write_pending(uow)
        list(uow.touched.take())  # what the scorer would rescore: not these tests' concern
        await uow.commit()
