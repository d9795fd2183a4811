"""Frameworks evaluation adopts: meetings keeps their item tables to judge assessments by the one in force."""

from typing import Any

from services.meetings.unit_of_work import MeetingsUnit
from shared.contracts.frameworks import FRAMEWORK_ADOPTED, FrameworkAdopted
from shared.envelope import Event
from shared.logs import get_logger

log = get_logger(__name__)


async def on_framework_adopted(event: Event[Any], uow: MeetingsUnit) -> None:
    """Keep the items of an adopted framework (internal `framework.adopted.v1`; the same adoption again changes
    nothing but evaluation's sequence)."""
    adopted: FrameworkAdopted = event.data
    new = await uow.frameworks.record(adopted)
    log.info(
        "framework_items_recorded",
        framework_id=adopted.framework_id,
        version=adopted.version,
        committee_id=adopted.committee_id,
        effective_from=adopted.effective_from.isoformat(),
        new=new,
    )


FRAMEWORK_HANDLERS = {FRAMEWORK_ADOPTED: on_framework_adopted}
"""What the `meetings.frameworks` consumer applies, by type."""
