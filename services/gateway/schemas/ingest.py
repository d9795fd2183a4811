"""API models of POST /v1/events."""

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.gateway.schemas.common import ReadModel


class IngestOutcomeRead(ReadModel):
    """What happened to one event of the body."""

    index: int
    id: str | None = None
    source: str | None = None
    type: str | None = None
    outcome: Literal["accepted", "duplicate", "held", "rejected"]
    reason: str | None = None
    field: str | None = None
    waiting_for: str | None = None
    """For a held event, what it waits for (`unit:<id>`, `member:<id>`, `meeting:<id>`, `minutes:<m>`, ...)."""
    ignored_fields: list[str] | None = None
    """Keys of the event's data that no field of its type reads (`data.committe_prepared`, a misspelling?): the
    event was taken without them. Absent when there are none."""


class IngestRead(BaseModel):
    """Each event's outcome, in the body's order, and the counts."""

    results: list[IngestOutcomeRead]
    accepted: int
    duplicate: int
    held: int
    rejected: int
    dry_run: bool = False
    """True when nothing was kept (POST /v1/events?dry_run=true)."""


class CloudEventCreate(BaseModel):
    """A structured-mode CloudEvent (CONTRACT.md); `data` is checked against the type's model by meetings."""

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"]
    id: Annotated[str, Field(min_length=1, max_length=256)]
    source: Annotated[str, Field(min_length=1, max_length=512)]
    type: Annotated[str, Field(min_length=1, max_length=128)]
    time: AwareDatetime
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
