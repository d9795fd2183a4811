"""A roster issued after the cell adopted the minutes, from an integration (a check-in device's
attendance.recorded.v1), was stored while `closing.minutes_and_tasks` kept counting the adoption over a roster nobody
adopted (a secretary's such roster is refused). The roster is part of the adopted record (DOMAIN.md "Meetings": the
minutes hold the members present and absent with reasons), so it voids the adoption as later minutes do
(shared.minutes, MEETINGS_OF_CELLS), in either arrival order; the same roster sent again, or an older one that does
not replace the stored one, leaves it counting.

Over a private evaluation database, the real repository and scoring.
"""

import json
from datetime import date, timedelta
from typing import Any

import pytest

from services.evaluation.bootstrap import prepare
from services.evaluation.handlers import FACT_HANDLERS, score_touched
from shared.contracts.registry import read_event
from shared.envelope import parse_envelope
from tests.evaluation.private_db import private_pool
from tests.evaluation.stream import at, fact, ward_with_cell
from tests.evaluation.test_adoption_voided import ADOPTED, START, adoption, item, with_task
from tests.evaluation.test_cell_existence import Clock, apply, held


def roster(meeting_id: str, cell_id: str, *, time: Any, excused: bool, reverse: bool = False) -> dict[str, Any]:
    """The meeting's roster: all three present, or the third excused (another roster); `reverse` lists them in
    another order (the same roster)."""
    records = [{"member_id": f"{cell_id}-m{n}", "status": "present"} for n in (1, 2, 3)]
    if excused:
        records[2] = {"member_id": f"{cell_id}-m3", "status": "excused", "reason": "Ốm"}
    records = records[::-1] if reverse else records
    return fact("attendance.recorded.v1", {"meeting_id": meeting_id, "records": records}, time=time)


async def apply_together(factory: Any, events: list[dict[str, Any]]) -> None:
    """Handle the facts in one transaction (as a batch of the broker's is), then score."""
    async with factory() as uow:
        for raw in events:
            event = read_event(parse_envelope(json.dumps(raw)))
            await FACT_HANDLERS[event.type](event, uow)
        await score_touched(uow)
        await uow.commit()


@pytest.mark.parametrize("order", ["adoption_first", "roster_first", "one_transaction"])
async def test_another_roster_issued_after_the_adoption_voids_it_in_either_order(database_url: str, order: str) -> None:
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=Clock(date(2026, 11, 20)))
        cell, mtg = "cell-r", "mtg-roster-changed"
        await apply(factory, ward_with_cell(cell, time=at(1, 1)) + with_task(held(cell, mtg, START), cell))
        approved = adoption(mtg, time=ADOPTED)
        changed = roster(mtg, cell, time=START + timedelta(hours=14), excused=True)
        if order == "one_transaction":
            await apply_together(factory, [changed, approved])
        else:
            await apply(factory, [approved, changed] if order == "adoption_first" else [changed, approved])
        voided = await item(pool, mtg)
        assert voided["points"] == 0, voided
        # a newer adoption adopts the roster now in force
        await apply(factory, [adoption(mtg, time=START + timedelta(hours=15))])
        assert (await item(pool, mtg))["points"] > 0


@pytest.mark.parametrize("order", ["adoption_first", "roster_first", "one_transaction"])
@pytest.mark.parametrize("late", ["same_roster_resent", "older_roster"])
async def test_the_same_roster_resent_or_an_older_one_leaves_the_adoption_counting(
    database_url: str, order: str, late: str
) -> None:
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=Clock(date(2026, 11, 20)))
        cell, mtg = f"cell-{late[:4]}-{order[:4]}", "mtg-roster-kept"
        await apply(factory, ward_with_cell(cell, time=at(1, 1)) + with_task(held(cell, mtg, START), cell))
        if late == "same_roster_resent":
            other = roster(mtg, cell, time=START + timedelta(hours=14), excused=False, reverse=True)
        else:  # issued before the stored roster (its `time` START): it does not replace it
            other = roster(mtg, cell, time=START - timedelta(minutes=30), excused=True)
        approved = adoption(mtg, time=ADOPTED)
        if order == "one_transaction":
            await apply_together(factory, [other, approved])
        else:
            await apply(factory, [approved, other] if order == "adoption_first" else [other, approved])
        assert (await item(pool, mtg))["points"] > 0
