"""asyncpg repositories of the notifications schema: the projection and the outgoing side."""

from services.notifications.repository.outgoing import OutgoingRepository, PgOutgoingRepository
from services.notifications.repository.projection import PgProjectionRepository, ProjectionRepository

__all__ = ["OutgoingRepository", "PgOutgoingRepository", "PgProjectionRepository", "ProjectionRepository"]
