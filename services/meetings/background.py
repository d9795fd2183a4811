"""The meetings service's background job, a step run by shared.background.poll."""

from datetime import timedelta

from services.meetings.context import MeetingsContext
from services.meetings.handlers import expire_holds, sweep_released, trace, with_retries
from shared.background import poll
from shared.logs import get_logger

log = get_logger(__name__)


async def expire_held_events(app: MeetingsContext) -> None:
    """Every `hold_sweep_seconds`: settle held events released but left unsettled (their process stopped), and
    reject those that waited longer than the hold timeout."""
    timeout = timedelta(seconds=app.settings.hold_timeout_seconds)

    async def expire() -> int:
        with trace.tracing() as rejected:
            async with app.uow_factory() as uow:
                expired = await expire_holds(uow, timeout=timeout)
                await uow.commit()
            trace.report(rejected)  # each expired hold's event_rejected line, once committed
        return expired

    async def step() -> bool:
        settled = await sweep_released(app.uow_factory)
        if settled:
            log.info("released_held_events_settled", count=settled)
        expired = await with_retries(expire, what="expire_holds")
        if expired:
            log.info("held_events_expired", count=expired)
        return False

    await poll("meetings.hold_sweep", step, poll_seconds=app.settings.hold_sweep_seconds)
