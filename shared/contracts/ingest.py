"""Event types about the ingestion of external facts."""

from pydantic import AwareDatetime

from shared.contracts.base import EventData


class IngestRejected(EventData):
    """ingest.rejected.v1: an incoming event that was not accepted, and why."""

    source: str
    event_id: str
    type: str
    reason: str
    field: str | None = None
    received_at: AwareDatetime


TYPES: dict[str, type[EventData]] = {"ingest.rejected.v1": IngestRejected}
