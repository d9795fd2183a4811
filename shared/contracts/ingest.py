"""Event types about the ingestion of external facts."""

from pydantic import AwareDatetime, BaseModel

from shared.contracts.base import EventData


class IngestRejected(EventData):
    """ingest.rejected.v1: an incoming event that was not accepted, and why."""

    source: str
    event_id: str
    type: str
    reason: str
    field: str | None = None
    received_at: AwareDatetime


class IngestWarning(BaseModel):
    """What an accepted event's answer says it lacks though it is valid: `code` (shared.refusals, e.g.
    roster_incomplete), the `field` it concerns, the English `reason`, the members it names (`member_ids`, the first
    `member_names`) and how many (`missing`)."""

    code: str
    field: str
    reason: str
    member_ids: list[str] = []
    member_names: list[str] = []
    missing: int = 0


class IngestWarned(EventData):
    """ingest.warned.v1: an incoming event that was accepted but lacks something (an attendance.recorded.v1 leaving
    out members of the cell: CONTRACT.md makes it a full roster), for the AMQP route, which answers only a direct
    reply-to (shared.replies)."""

    source: str
    event_id: str
    type: str
    code: str
    field: str
    reason: str
    member_ids: list[str] = []
    missing: int = 0
    received_at: AwareDatetime


TYPES: dict[str, type[EventData]] = {"ingest.rejected.v1": IngestRejected, "ingest.warned.v1": IngestWarned}
