"""How many statements one scoring round sends the database: each is a round trip, and their socket writes were
evaluation's busiest own-time in the province-year preset (17 %, issue 12). The bound keeps joined reads joined."""

import json
from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Any

import asyncpg
import pytest

from services.evaluation.bootstrap import prepare
from services.evaluation.handlers import FACT_HANDLERS
from services.evaluation.handlers.coalesced import defer_touched, score_dirty
from services.evaluation.handlers.facts import FACT_BATCH_HANDLERS, batch_order
from services.evaluation.unit_of_work import EvaluationUnitOfWork
from shared.contracts.registry import read_event
from shared.envelope import parse_envelope
from shared.topology import EVALUATION_FACTS
from tests.evaluation.private_db import private_pool
from tests.evaluation.stream import by_type, cell_history
from tests.evaluation.test_coalesced import deliver
from tests.support.private_db import StatementLog


class CountingUnitOfWork(EvaluationUnitOfWork):
    """A unit of work noting every statement its connection sends (asyncpg's query logger), BEGIN and COMMIT too."""

    sent: list[str]

    def start_repositories(self, connection: asyncpg.Connection) -> None:
        """Build the repositories and start noting the connection's statements."""
        super().start_repositories(connection)
        self.sent = []
        self._log = StatementLog(self.sent)
        connection.add_query_logger(self._log)

    async def __aexit__(self, *exc: Any) -> None:
        self.connection.remove_query_logger(self._log)
        await super().__aexit__(*exc)


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[tuple[asyncpg.Pool, Callable[[], EvaluationUnitOfWork]]]:
    """A private database with the shipped frameworks registered."""
    async with private_pool(database_url) as pool:
        yield pool, await prepare(pool, today=lambda: date(2026, 6, 20))


async def test_a_scoring_round_of_two_cells_sends_a_bounded_number_of_statements(
    world: tuple[asyncpg.Pool, Callable[[], EvaluationUnitOfWork]],
) -> None:
    pool, factory = world
    for cell in ("a", "b"):
        for batch in by_type(cell_history(committee_id=f"ward-{cell}", cell_id=f"cell-{cell}", prefix=cell)):
            await deliver(factory, batch)
    rounds: list[CountingUnitOfWork] = []

    def counting() -> EvaluationUnitOfWork:
        made = factory()
        uow = CountingUnitOfWork(pool, framework_cache=made.framework_cache, today=made.today)
        rounds.append(uow)
        return uow

    assert await score_dirty(uow_factory=counting, limit=100) is False
    assert await pool.fetchval("SELECT count(*) FROM meeting_score") == 8  # both cells' meetings scored
    assert await pool.fetchval("SELECT count(*) FROM dirty_cell") == 0
    scoring, periods = rounds
    listing = "\n".join(f"{len(query)} {query[:80]}" for query in scoring.sent + ["--"] + periods.sent)
    # the meetings: claim (deleting the claimed rows), lock, meetings with their task completions, the targets'
    # stored scores with their documents and assessments, committees, ancestors, adoptions, the scores' write, the
    # period notes, outbox with its notify, COMMIT (BEGIN, sent before the logger is on, makes one more)
    assert len(scoring.sent) <= 11, listing
    # the periods, committed apart so the meetings' scores do not wait for them (issue 12): the notes taken, lock,
    # spans, their two writes (the cells are new), stored periods, summaries, the periods' write, outbox, COMMIT;
    # ancestors and adoptions as the meetings' transaction read them (16 round trips in all in one transaction);
    # and, the cells' closed months rated for the first time, whether their committee had shown those months
    # (shown_months: a cell set up late into a month it had shown is a late change)
    assert len(periods.sent) <= 11, listing


async def _delivered_statements(pool: asyncpg.Pool, factory: Callable[[], EvaluationUnitOfWork], cells: int) -> int:
    """`cells` cells' histories (each under its own ward) delivered as the relay sends a bulk load, one batch per
    type, each applied as the consumer applies it (inbox, the type's batch handler in the consumer's order (its
    handler one by one without one), the
    touched cells noted, commit): the most statements one delivery sent."""
    history = [
        event
        for n in range(cells)
        for event in cell_history(committee_id=f"ward-{n}", cell_id=f"cell-{n}", prefix=f"p{n}")
    ]
    most = 0
    for batch in by_type(history):
        events = sorted((read_event(parse_envelope(json.dumps(raw))) for raw in batch), key=batch_order)
        made = factory()
        uow = CountingUnitOfWork(pool, framework_cache=made.framework_cache, today=made.today)
        async with uow:
            identities = [(event.envelope.source, event.envelope.id) for event in events]
            await uow.record_processed(consumer=EVALUATION_FACTS.name, identities=identities)
            many = FACT_BATCH_HANDLERS.get(events[0].type)
            if many is not None:
                await many(events, uow)
            else:  # as the consumer applies a type without a batch handler
                for event in events:
                    await FACT_HANDLERS[event.type](event, uow)
            await defer_touched(uow)
            await uow.commit()
        most = max(most, len(uow.sent))
    return most


async def test_a_delivered_batch_sends_a_number_of_statements_that_does_not_grow_with_its_facts(
    world: tuple[asyncpg.Pool, Callable[[], EvaluationUnitOfWork]],
) -> None:
    """Issue 12 (pg_stat_statements over 4,056 province-year facts in 1,000-fact batches: 797 statements, most of
    them one or more per committee member, unit or reschedule): every type's batch is applied in a bounded number of
    statements, the same for 3 cells' facts as for 15 cells' (5 times the facts)."""
    pool, factory = world
    small = await _delivered_statements(pool, factory, 3)
    large = await _delivered_statements(pool, factory, 15)
    assert large <= small <= 13, (small, large)
