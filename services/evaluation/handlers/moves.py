"""A unit moved to another parent after months closed: the committees whose finished months changed are told.

The tree keeps one parent per unit and every roll-up reads it, so a moved cell's whole history counts under its new
committee from the move on, finished months included, whatever the snapshot's `time` (which only orders snapshots,
CONTRACT.md). The committees that lost the cell and those that gained it (not those above both) see a finished
month change; each such month that was shown is noted (migration 0034; docs/architecture.md "A cell moved to another
committee"), and their roll-ups list it among the late changes, kind "unit_moved".
"""

from services.evaluation.handlers import scores
from services.evaluation.handlers.scores import ScoringUnitOfWork
from services.evaluation.repository.results import UnitMove
from shared.logs import get_logger

log = get_logger(__name__)


async def note_unit_move(
    uow: ScoringUnitOfWork, *, unit_id: str, old_parent: str | None, new_parent: str | None
) -> int:
    """Note the move of `unit_id` (a cell, or a committee with its cells) from `old_parent` (None: it was a root) to
    `new_parent` (None: made a root), the tree already holding the new parent: each shown closed month of its cells,
    with the committees that lost and gained them (the old parent's chain and the new one's, less what they share).
    How many months were noted."""
    old_chain = [old_parent, *await uow.facts.ancestors(old_parent)] if old_parent is not None else []
    new_chain = [new_parent, *await uow.facts.ancestors(new_parent)] if new_parent is not None else []
    if unit_id in old_chain:
        return 0  # bad data: a unit moved under itself
    left = [committee for committee in old_chain if committee not in new_chain]
    joined = [committee for committee in new_chain if committee not in old_chain]
    cells = await uow.facts.subtree_cells(unit_id)
    move = UnitMove(
        cell_ids=cells,
        from_parent_id=old_parent,
        to_parent_id=new_parent,
        left_ids=left,
        joined_ids=joined,
        through=f"{uow.today():%Y-%m}",
        at=scores.clock(),  # the module's clock, as tests set it
        unit_id=unit_id,
    )
    noted = await uow.results.note_moves(move)
    if noted:
        log.info(
            "closed_months_unit_moved", unit_id=unit_id, from_parent=old_parent, to_parent=new_parent, months=noted
        )
    return noted
