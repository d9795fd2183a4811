"""API models of POST /v1/events."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.gateway.schemas.common import ErrorRead
from shared.contracts.base import Timestamp
from shared.contracts.ingest_answer import IngestOutcomeRead, IngestRead

__all__ = [
    "CloudEventCreate",
    "EventSchemaIndexRead",
    "EventSchemaRead",
    "IngestCountsRead",
    "IngestOutcomeRead",
    "IngestRead",
    "IngestUnfinishedRead",
    "NotJudgedRead",
    "ReplayOutcomeRead",
]


class ReplayOutcomeRead(IngestOutcomeRead):
    """How a replayed rejection's event was judged, and how many held events it released that are judged after the
    replay (`releasing`: follow them by `GET /v1/held-events` emptying, each logged `event_accepted` with route
    `release`); 0 when none or all were judged with the replay."""

    releasing: int = 0


class NotJudgedRead(BaseModel):
    """An event of the body meetings had no time to judge before the call's answer was due: nothing of it stored."""

    index: int
    id: str | None = None
    source: str | None = None
    type: str | None = None


class IngestCountsRead(BaseModel):
    """How many events of the body had each outcome, and how many were not judged."""

    accepted: int
    duplicate: int
    held: int
    rejected: int
    not_judged: int


class IngestUnfinishedRead(ErrorRead):
    """The 503 of POST /v1/events when meetings did not judge every event before the answer was due
    (CHIBO_INGEST_TIMEOUT): `judged` lists the judged events' outcomes exactly as a 200's `results` would (their
    `index` the body's), `not_judged` the others (nothing of them stored), `counts` both. Sending the whole body
    again is safe: the judged events are answered `duplicate`."""

    judged: list[IngestOutcomeRead]
    not_judged: list[NotJudgedRead]
    counts: IngestCountsRead


class CloudEventCreate(BaseModel):
    """A structured-mode CloudEvent (CONTRACT.md); `data` is checked against the type's model by meetings."""

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"]
    id: Annotated[str, Field(min_length=1, max_length=256)]
    source: Annotated[str, Field(min_length=1, max_length=512)]
    type: Annotated[str, Field(min_length=1, max_length=128)]
    time: Timestamp
    """RFC 3339 with seconds and an offset, read as strictly as meetings reads it (a number is not a time)."""
    datacontenttype: Literal["application/json"] = "application/json"
    subject: str | None = None
    data: dict[str, Any]


class EventSchemaRead(BaseModel):
    """Where the JSON Schema of one event type in is."""

    type: str
    description: str
    url: str
    component: str


class EventSchemaIndexRead(BaseModel):
    """Every event type in, in type order."""

    items: list[EventSchemaRead]
