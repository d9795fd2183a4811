"""The projection of units, members, monitors, meetings and scores that addressing needs.

Snapshots apply only when newer than what is stored, by event `time` then `id`, so any order
of arrival converges to the same rows.
"""

import asyncpg

from services.notifications.repository.projection.directory import PgDirectory
from services.notifications.repository.projection.figures import NewFigures, PgFigures, ToldCrossing
from services.notifications.repository.projection.meetings import PgMeetings
from services.notifications.repository.projection.protocol import ProjectionRepository


class PgProjectionRepository(PgDirectory, PgMeetings, PgFigures):
    """The projection tables on the unit of work's connection (directory, meetings and figures parts)."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        PgDirectory.__init__(self, connection)
        PgMeetings.__init__(self, connection)
        PgFigures.__init__(self, connection)


__all__ = ["NewFigures", "PgProjectionRepository", "ProjectionRepository", "ToldCrossing"]
