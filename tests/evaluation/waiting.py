"""Conditions the service tests wait on: facts applied (inbox) and their cells scored (no dirty note left)."""

from collections.abc import Sequence

import asyncpg


async def applied_and_scored(db: asyncpg.Connection, *, event_ids: Sequence[str], cell_ids: Sequence[str]) -> bool:
    """Every fact is in evaluation's inbox and no dirty-cell note of the cells waits: their scores are committed.

    A fact's note commits with it, so once the fact is in the inbox, no note left means it was scored."""
    done = await db.fetchval(
        "SELECT count(DISTINCT event_id) FROM evaluation.processed_message WHERE consumer = 'evaluation.facts'"
        " AND event_id = ANY($1::text[])",
        list(event_ids),
    )
    if done != len(set(event_ids)):
        return False
    waiting = await db.fetchval(
        "SELECT count(*) FROM evaluation.dirty_cell WHERE cell_id = ANY($1::text[])", list(cell_ids)
    )
    return waiting == 0
