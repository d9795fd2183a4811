"""The reading models of the notifications service: for the types whose data it reads only in part, a model of the
fields its handlers read, each field with the contract model's own type and limits (EventData ignores the rest:
"producers build it (validating), consumers read what they need").

Issue 12: in the province-year the data models were the largest part of this service's decoding, most of it in what
no alert reads: a meeting score's criteria lines (about 4 KB of its 4.3), minutes' speakers, resolutions and tasks,
documents' titles and addresses, a roster's reasons and guests' names. The events on chibo.events come from the
service that owns them, which built them with the full model (shared.contracts), so what is left out was validated
there; the fields read here are validated here as strictly as before. The envelope is read in full, as before.
"""

from typing import Annotated, Any

from pydantic import Field, create_model, field_validator

from shared.contracts import evaluation, meetings
from shared.contracts.base import EventData, Items


def reading_model(
    full: type[EventData], *names: str, lists: dict[str, type[EventData]] | None = None
) -> type[EventData]:
    """A model of `full` with only the fields `names`, each of the same type and limits (a list field named in
    `lists` holds that model, a reading model of its items, instead: Items still bounds it); ValueError for a
    name `full` has no field for. Validators `full` declares on its fields do not come along."""
    fields: dict[str, Any] = {}
    for name in names:
        if name not in full.model_fields:
            raise ValueError(f"{full.__name__} has no field {name}")
        info = full.model_fields[name]
        annotation: Any = info.annotation
        if lists and name in lists:
            annotation = list[lists[name]]  # type: ignore[valid-type]
        fields[name] = (annotation, info)
    model: type[EventData] = create_model(f"{full.__name__}Read", __base__=EventData, **fields)
    return model


_DocumentKind = reading_model(meetings.DocumentItem, "kind")
_Record = reading_model(meetings.AttendanceRecord, "member_id", "status")
_GuestId = reading_model(meetings.Guest, "person_id")


class _AttendanceRead(EventData):
    """attendance.recorded.v1 as notifications reads it: the meeting, each record's member and status, the guests'
    ids (not the reasons, not the guests' names)."""

    meeting_id: Annotated[str, meetings.AttendanceRecorded.model_fields["meeting_id"]]
    records: Annotated[list[_Record], Items]  # type: ignore[valid-type]
    guests: Annotated[list[_GuestId], Items] = Field(default_factory=list)  # type: ignore[valid-type]

    @field_validator("records")
    @classmethod
    def _unique_members(cls, value: list[Any]) -> list[Any]:
        """A member listed twice is refused, as the contract model refuses it."""
        return meetings.unique_members(value)


READING_MODELS: dict[str, type[EventData]] = {
    "score.meeting.updated.v1": reading_model(
        evaluation.MeetingScoreUpdated, "meeting_id", "cell_id", "score", "rating", "provisional"
    ),
    "score.cell.updated.v1": reading_model(evaluation.CellScoreUpdated, "cell_id", "period", "rating", "score"),
    "minutes.submitted.v1": reading_model(meetings.MinutesSubmitted, "meeting_id", "ended_at"),
    "documents.published.v1": reading_model(
        meetings.DocumentsPublished, "meeting_id", "published_at", "items", lists={"items": _DocumentKind}
    ),
    "attendance.recorded.v1": _AttendanceRead,
}
"""The reading model by type, for the types whose data notifications reads in part (others: the contract's model)."""
