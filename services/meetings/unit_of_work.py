"""The meetings unit of work: one transaction with the org, meeting and ingest repositories."""

import asyncpg

from services.meetings.repository import PgIngestRepository, PgMeetingRepository, PgOrgRepository
from shared.unit_of_work import PgUnitOfWork

SCHEMA = "meetings"


class MeetingsUnitOfWork(PgUnitOfWork):
    """PgUnitOfWork on the meetings schema."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool, schema=SCHEMA)

    def start_repositories(self, connection: asyncpg.Connection) -> None:
        """Build the repositories on the transaction's connection."""
        self.org = PgOrgRepository(connection)
        self.meetings = PgMeetingRepository(connection)
        self.ingest = PgIngestRepository(connection)
