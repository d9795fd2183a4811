"""The meetings service's background job, a step run by shared.background.poll."""

from datetime import timedelta

from services.meetings.context import MeetingsContext
from services.meetings.handlers import expire_holds
from shared.background import poll
from shared.logs import get_logger

log = get_logger(__name__)


async def expire_held_events(app: MeetingsContext) -> None:
    """Reject held events that waited longer than the hold timeout, every `hold_sweep_seconds`."""
    timeout = timedelta(seconds=app.settings.hold_timeout_seconds)

    async def step() -> bool:
        async with app.uow_factory() as uow:
            expired = await expire_holds(uow, timeout=timeout)
            await uow.commit()
        if expired:
            log.info("held_events_expired", count=expired)
        return False

    await poll("meetings.hold_sweep", step, poll_seconds=app.settings.hold_sweep_seconds)
