"""API models of POST /v1/events."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.gateway.schemas.common import ErrorRead, ReadModel
from shared.contracts.base import Timestamp
from shared.contracts.ingest import IngestWarning


class IngestOutcomeRead(ReadModel):
    """What happened to one event of the body."""

    @model_validator(mode="before")
    @classmethod
    def _code_of_refusal(cls, value: Any) -> Any:
        """meetings' `refusal` ({"code", ...}) answered as `reason_code`, as error answers carry it."""
        if isinstance(value, dict) and isinstance(value.get("refusal"), dict) and "reason_code" not in value:
            value = {**value, "reason_code": value["refusal"].get("code")}
        return value

    index: int
    id: str | None = None
    source: str | None = None
    type: str | None = None
    outcome: Literal["accepted", "duplicate", "held", "rejected"]
    reason: str | None = None
    field: str | None = None
    waiting_for: str | None = None
    """For a held event, what it waits for (`unit:<id>`, `member:<id>`, `meeting:<id>`, `minutes:<m>`, ...)."""
    reason_code: str | None = None
    """A rejection's or hold's machine-readable reason when the rule gives one (`id_reused`, `born_after_event`,
    ...: shared/refusals.py): match on it, not on `reason`, whose English may change."""
    ignored_fields: list[str] | None = None
    """Keys of the event's data that no field of its type reads (`data.committe_prepared`, a misspelling?): the
    event was taken without them. Absent when there are none."""
    warnings: list[IngestWarning] | None = None
    """What an accepted event lacks though valid: `roster_incomplete` naming `data.records`, the members of the cell
    at the meeting's start an attendance.recorded.v1 leaves out (`member_ids`, the first `member_names`, `missing`);
    also published as ingest.warned.v1. Absent when there is none."""


class ReplayOutcomeRead(IngestOutcomeRead):
    """How a replayed rejection's event was judged, and how many held events it released that are judged after the
    replay (`releasing`: follow them by `GET /v1/held-events` emptying, each logged `event_accepted` with route
    `release`); 0 when none or all were judged with the replay."""

    releasing: int = 0


class IngestRead(BaseModel):
    """Each event's outcome, in the body's order, and the counts."""

    results: list[IngestOutcomeRead]
    accepted: int
    duplicate: int
    held: int
    rejected: int
    dry_run: bool = False
    """True when nothing was kept (POST /v1/events?dry_run=true)."""


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
