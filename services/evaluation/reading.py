"""The reading models of the evaluation service: for the facts whose data it reads only in part, a model of the fields
its handlers and scoring read, built with shared.contracts.reading_models (each field with the contract model's own
type, limits and field validators; EventData ignores the rest), as notifications reads its types.

In the province-year, reading the facts' data with the contract's models was about 6 % of this service's CPU, most of
it in fields no score reads: the minutes' chair, recorder, resolution texts and task descriptions, a roster's
reasons and guests, documents' titles and addresses, a schedule's topic, place and agenda, a member's name and
contact details, an assessment's comment. Every fact reaches evaluation from meetings, which read it from outside
with the full model (its ingest) and republished it; a field read here is refused as strictly as before, naming
`data.<field>`, and the delivery dead-lettered as before.

The minutes and the roster are read in full (the contract's models): whether the cell's adoption stands depends on
their content keys (shared.minutes), every field of them, as meetings computes them; read in part, evaluation's keys
missed the chair, resolution texts, task descriptions, absence reasons and guests, so it kept an adoption meetings
had voided (and a roster's key could not be computed at all). The minutes are stored as read (their JSON is what
scoring reads back: handlers/scores.py `_minutes` and the previous meeting's tasks).
"""

from shared.contracts import meetings
from shared.contracts.base import EventData
from shared.contracts.reading_models import DOCUMENT_KINDS, reading_model

READING_MODELS: dict[str, type[EventData]] = {
    "documents.published.v1": DOCUMENT_KINDS,
    "meeting.assessed.v1": reading_model(meetings.MeetingAssessed, "meeting_id", "assessor", "points"),
    "meeting.scheduled.v1": reading_model(
        meetings.MeetingScheduled, "meeting_id", "cell_id", "kind", "starts_at", "notified_at", "committee_prepared"
    ),
    "member.upserted.v1": reading_model(meetings.MemberUpserted, "id", "cell_id", "status", "role", "exempt"),
}
"""The reading model by type, for the facts evaluation reads in part (others: the contract's model)."""
