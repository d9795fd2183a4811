"""The evaluation unit of work: one transaction with the fact, result, framework and job repositories."""

import asyncio
from collections.abc import Callable
from datetime import date, datetime

import asyncpg

from services.evaluation.domain.framework import Framework
from services.evaluation.domain.touched import Touched
from services.evaluation.repository import PgFactRepository, PgFrameworkRepository, PgJobRepository, PgResultRepository
from shared.periods import VIETNAM_TZ
from shared.unit_of_work import PgUnitOfWork

SCHEMA = "evaluation"


def today_in_vietnam() -> date:
    """Today's date in Vietnam (+07:00): the month periods are assessed through."""
    return datetime.now(VIETNAM_TZ).date()


class EvaluationUnitOfWork(PgUnitOfWork):
    """A transaction on the evaluation schema; `today`, the parsed-framework cache and the scoring worker's wake-up
    are shared."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        framework_cache: dict[tuple[str, str], Framework],
        today: Callable[[], date] = today_in_vietnam,
        scoring_wanted: asyncio.Event | None = None,
    ) -> None:
        super().__init__(pool, schema=SCHEMA)
        self.framework_cache = framework_cache
        self.today = today
        self._scoring_wanted = scoring_wanted
        self._wake_scoring = False

    def start_repositories(self, connection: asyncpg.Connection) -> None:
        """Build the repositories on the transaction's connection."""
        self.facts = PgFactRepository(connection)
        self.results = PgResultRepository(connection)
        self.frameworks = PgFrameworkRepository(connection)
        self.jobs = PgJobRepository(connection)
        self.touched = Touched()
        self._wake_scoring = False

    def wake_scoring_after_commit(self) -> None:
        """Wake this process's scoring worker once the transaction commits (it noted dirty cells)."""
        self._wake_scoring = True

    async def commit(self) -> None:
        """Commit; refuses while facts touched meetings nobody scored or noted for scoring (`defer_touched` or
        `score_touched` run before the commit). Wakes the scoring worker when asked to."""
        if self.touched:
            raise RuntimeError(f"{len(self.touched.cells)} touched cells were not rescored before the commit")
        await super().commit()
        if self._wake_scoring and self._scoring_wanted is not None:
            self._scoring_wanted.set()
