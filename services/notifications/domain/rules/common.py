"""What every rule module shares: the alert builder and the values a meeting's templates name."""

from typing import Any

from services.notifications.domain import settings as r
from services.notifications.domain.model import Alert, CellContext, Meeting, Recipient

NOTICE_RULES = (r.MEETING_SCHEDULED, r.MEETING_RESCHEDULED, r.MEETING_CANCELLED)
FINAL_DOCUMENT_KINDS = ("minutes", "resolution")
EARLY_DOCUMENT_KINDS = ("content", "draft_resolution")


def build_alerts(
    rule: str,
    *,
    subject_id: str,
    period: str,
    recipients: tuple[Recipient, ...],
    cell_id: str | None,
    **values: Any,
) -> list[Alert]:
    """One alert to its recipients, or none when nobody is there to hear it."""
    if not recipients:
        return []
    return [
        Alert(rule=rule, subject_id=subject_id, period=period, recipients=recipients, cell_id=cell_id, values=values)
    ]


def meeting_values(meeting: Meeting, ctx: CellContext) -> dict[str, Any]:
    """The cell, kind, topic, start, place and id of a meeting, for its templates."""
    return {
        "cell": ctx.cell_name or meeting.cell_id,
        "meeting_kind": meeting.kind,
        "topic": meeting.topic,
        "starts_at": meeting.starts_at,
        "location": meeting.location,
        "meeting_id": meeting.meeting_id,
    }
