"""Use cases of the notifications service, and the event handlers by type."""

from typing import Any

from services.notifications.handlers import facts, histories, scores
from shared.consuming import BatchHandler, EventHandler

HANDLERS: dict[str, EventHandler[Any]] = {
    "org.unit.upserted.v1": facts.on_unit_upserted,
    "member.upserted.v1": facts.on_member_upserted,
    "member.removed.v1": facts.on_member_removed,
    "monitor.assigned.v1": facts.on_monitor_assigned,
    "meeting.scheduled.v1": facts.on_meeting_scheduled,
    "meeting.rescheduled.v1": facts.on_meeting_rescheduled,
    "meeting.cancelled.v1": facts.on_meeting_cancelled,
    "documents.published.v1": facts.on_documents_published,
    "attendance.recorded.v1": facts.on_attendance_recorded,
    "attendance.withdrawn.v1": facts.on_attendance_withdrawn,
    "minutes.submitted.v1": facts.on_minutes_submitted,
    "member.attendance.updated.v1": histories.on_member_attendance_updated,
    "score.meeting.updated.v1": scores.on_meeting_score,
    "score.meeting.withdrawn.v1": scores.on_meeting_score_withdrawn,
    "score.cell.updated.v1": scores.on_cell_score,
}
"""The types this service reacts to; others on its queue are acknowledged and ignored."""

BATCH_HANDLERS: dict[str, BatchHandler[Any]] = {
    "member.upserted.v1": facts.on_members_upserted,
    "meeting.scheduled.v1": facts.on_meeting_scheduled_many,
    "attendance.recorded.v1": facts.on_attendance_recorded_many,
    "documents.published.v1": facts.on_documents_published_many,
    "minutes.submitted.v1": facts.on_minutes_submitted_many,
    "member.attendance.updated.v1": histories.on_member_attendance_updates,
    "score.meeting.updated.v1": scores.on_meeting_scores,
    "score.meeting.withdrawn.v1": scores.on_meeting_scores_withdrawn,
    "score.cell.updated.v1": scores.on_cell_scores,
}
"""The types whose runs in a batch are decided at once (the same outcome as their HANDLERS one by one)."""
