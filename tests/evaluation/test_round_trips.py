"""How many statements one scoring round sends the database: each is a round trip, and their socket writes were
evaluation's busiest own-time in the province-year preset (17 %, issue 12). The bound keeps joined reads joined."""

from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Any

import asyncpg
import pytest

from services.evaluation.bootstrap import prepare
from services.evaluation.handlers.coalesced import score_dirty
from services.evaluation.unit_of_work import EvaluationUnitOfWork
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
