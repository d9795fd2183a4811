"""Events applied to notifications' tables as its consumer applies them, without the broker: for tests that compare
what the service keeps, one delivery or one batch at a time."""

import asyncpg

from services.notifications.config import Settings
from services.notifications.handlers import BATCH_HANDLERS, HANDLERS
from services.notifications.reading import READING_MODELS
from services.notifications.unit_of_work import NotificationsUnitOfWork
from shared.contracts.registry import read_event
from shared.envelope import CloudEvent
from tests.notifications.fakes import Clock


async def apply_events(
    pool: asyncpg.Pool, settings: Settings, clock: Clock, events: list[CloudEvent], *, batch: bool
) -> None:
    """`events` in one transaction: as one batch (the type's batch handler, when it has one, the data read with the
    service's reading models as its consumer reads them) or one by one (the contract's models)."""
    read = [read_event(item, READING_MODELS if batch else None) for item in events]
    async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
        if batch and read[0].type in BATCH_HANDLERS:
            await BATCH_HANDLERS[read[0].type](read, uow)
        else:
            for item in read:
                await HANDLERS[item.type](item, uow)
        await uow.commit()
