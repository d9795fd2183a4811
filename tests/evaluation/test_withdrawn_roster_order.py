"""A roster meetings withdrew (attendance.withdrawn.v1) ends withdrawn whichever of the two facts evaluation applies
first: they travel as separate messages, and a withdrawal applied first found nothing to drop, so the roster was then
stored and scored (tests/e2e/test_backdated_member_moves.py's AMQP-batch case, roster first, scored 5/5 present
where meetings had refused the roster; seen in two runs under load). Evaluation keeps the withdrawn roster's stamp
(0047 withdrawn_roster) and stores neither it nor its content key when it comes later. On the real database."""

import json
from datetime import date
from typing import Any

import asyncpg

from services.evaluation.bootstrap import prepare
from services.evaluation.handlers import FACT_HANDLERS
from services.evaluation.handlers.pending import write_pending
from shared.contracts.registry import read_event
from shared.envelope import parse_envelope
from tests.evaluation.private_db import private_pool
from tests.evaluation.stream import at, fact, regular_meeting, ward_with_cell

ROSTER = fact(
    "attendance.recorded.v1",
    {"meeting_id": "m10", "records": [{"member_id": f"c1-m{n}", "status": "present"} for n in (1, 2, 3)]},
    time=at(10, 5, 21),
    event_id="roster-1",
)
WITHDRAWN = fact(
    "attendance.withdrawn.v1", {"meeting_id": "m10", "roster_id": "roster-1", "restored": None}, time=at(10, 5, 21)
)


async def _stored(pool: asyncpg.Pool) -> tuple[list[Any], list[Any]]:
    """The meeting's stored roster and its kept content keys."""
    attendance = await pool.fetch("SELECT records::text FROM attendance WHERE meeting_id = 'm10'")
    contents = await pool.fetch("SELECT version_id FROM roster_content WHERE meeting_id = 'm10'")
    return [row[0] for row in attendance], [row[0] for row in contents]


async def _applied(database_url: str, order: list[dict[str, Any]]) -> tuple[list[Any], list[Any]]:
    """On a private database: the ward, its cell c1 and October's meeting, then `order`, each in its own transaction
    (as two deliveries are); what is stored of the meeting's roster then."""
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=lambda: date(2026, 11, 20))
        for raw in [*ward_with_cell("c1", time=at(1, 1, 8)), regular_meeting("m10", 10), *order]:
            event = read_event(parse_envelope(json.dumps(raw)))
            async with factory() as uow:
                await FACT_HANDLERS[event.type](event, uow)
                await write_pending(uow)
                list(uow.touched.take())
                await uow.commit()
        return await _stored(pool)


async def test_a_withdrawn_roster_stays_withdrawn_whichever_fact_comes_first(database_url: str) -> None:
    assert await _applied(database_url, [ROSTER, WITHDRAWN]) == ([], [])
    assert await _applied(database_url, [WITHDRAWN, ROSTER]) == ([], [])  # before 0047: the roster stored and kept


async def test_a_later_roster_after_the_withdrawal_is_stored(database_url: str) -> None:
    """Only the withdrawn roster is refused: the secretary's next roster of the meeting stands."""
    later = fact(
        "attendance.recorded.v1",
        {"meeting_id": "m10", "records": [{"member_id": "c1-m1", "status": "present"}]},
        time=at(10, 6, 9),
        event_id="roster-2",
    )
    attendance, contents = await _applied(database_url, [WITHDRAWN, ROSTER, later])
    assert [json.loads(row) for row in attendance] == [{"c1-m1": "present"}] and contents == ["roster-2"]
