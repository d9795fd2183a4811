"""Re-planning the time-based rules of a subtree when its rule settings change."""

from datetime import datetime

from services.notifications.domain import rules
from services.notifications.domain import settings as r
from services.notifications.handlers.alerts import configs_for
from services.notifications.unit_of_work import NotificationsUnit
from shared.logs import get_logger
from shared.periods import at_local_hour

log = get_logger(__name__)


async def replan_subtree(unit_id: str, uow: NotificationsUnit) -> int:
    """Move the pending (not yet fired) jobs of every cell under `unit_id` to the lead times now in force.

    Jobs that fired keep their history: a lead time made longer does not fire a reminder twice,
    and a notification's unique key would drop the repeat anyway.
    """
    cells = await uow.projection.subtree_cells(unit_id)
    if not cells:
        return 0
    configs = await configs_for(cells, uow)
    moves: list[tuple[str, str, datetime]] = []
    for meeting in await uow.projection.pending_meeting_jobs(cells):
        if meeting.cell_id is None or not meeting.known or meeting.cancelled:
            continue
        due = rules.meeting_due_times(meeting, configs[meeting.cell_id])
        moves += [(kind, meeting.meeting_id, due_at) for kind, due_at in due.items()]
    for member in await uow.projection.pending_probations(cells):
        day = rules.probation_check_day(member, configs[member.cell_id])
        if day is not None:
            moves.append(("member.probation", member.id, at_local_hour(day, uow.settings.daily_sweep_hour)))
    for cell_id, period, received_at in await uow.outgoing.pending_cell_periods(cells):
        grace = configs[cell_id].param(r.PERIOD_RATED_LOW, "grace_days")
        settle = configs[cell_id].param(r.PERIOD_RATED_LOW, "settle_minutes")
        check = rules.period_check_due(period, grace_days=grace, settle_minutes=settle, received_at=received_at)
        moves.append(("cell.period", f"{cell_id}|{period}", check))
    for score in await uow.projection.pending_meeting_scores(cells):
        settle = configs[score.cell_id].param(r.MEETING_RATED_LOW, "settle_minutes")
        moves.append(
            (
                rules.MEETING_SCORE_CHECK,
                score.meeting_id,
                rules.meeting_score_due(score.received_at, settle_minutes=settle),
            )
        )
    await uow.outgoing.replan_pending(moves)
    log.info("rules_replanned", unit_id=unit_id, cells=len(cells), jobs=len(moves))
    return len(moves)
