"""The reading models of the notifications service: for the types whose data it reads only in part, a model of the
fields its handlers read, built with shared.contracts.reading_models (each field with the contract model's own type,
limits and field validators; EventData ignores the rest).

Issue 12: in the province-year the data models were the largest part of this service's decoding, most of it in what
no alert reads: a meeting score's criteria lines (about 4 KB of its 4.3), minutes' speakers, resolutions and tasks,
documents' titles and addresses, a roster's reasons and guests' names. The events on chibo.events come from the
service that owns them, which built them with the full model (shared.contracts), so what is left out was validated
there; the fields read here are validated here as strictly as before. The envelope is read in full, as before.
"""

from shared.contracts import evaluation, meetings
from shared.contracts.base import EventData
from shared.contracts.reading_models import DOCUMENT_KINDS, reading_model

_Record = reading_model(meetings.AttendanceRecord, "member_id", "status")
_GuestId = reading_model(meetings.Guest, "person_id")

READING_MODELS: dict[str, type[EventData]] = {
    "score.meeting.updated.v1": reading_model(
        evaluation.MeetingScoreUpdated, "meeting_id", "cell_id", "score", "rating", "provisional"
    ),
    "score.cell.updated.v1": reading_model(evaluation.CellScoreUpdated, "cell_id", "period", "rating", "score"),
    "minutes.submitted.v1": reading_model(meetings.MinutesSubmitted, "meeting_id", "ended_at"),
    "documents.published.v1": DOCUMENT_KINDS,
    # the meeting, each record's member and status (a member listed twice refused, as the contract refuses it), the
    # guests' ids (not the reasons, not the guests' names)
    "attendance.recorded.v1": reading_model(
        meetings.AttendanceRecorded, "meeting_id", "records", "guests", lists={"records": _Record, "guests": _GuestId}
    ),
}
"""The reading model by type, for the types whose data notifications reads in part (others: the contract's model)."""
