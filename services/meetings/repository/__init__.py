"""asyncpg repositories of the meetings schema, behind small Protocols; none of them commits."""

from services.meetings.repository.frameworks import FrameworkRepository, PgFrameworkRepository
from services.meetings.repository.ingest import IngestRepository, PgIngestRepository
from services.meetings.repository.meetings import MeetingRepository, PgMeetingRepository
from services.meetings.repository.org import OrgRepository, PgOrgRepository

__all__ = [
    "FrameworkRepository",
    "IngestRepository",
    "MeetingRepository",
    "OrgRepository",
    "PgFrameworkRepository",
    "PgIngestRepository",
    "PgMeetingRepository",
    "PgOrgRepository",
]
