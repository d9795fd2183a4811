"""What every rule module shares: the alert builder, the values a meeting's templates name, and the grouping of a
meeting's members into one alert per recipient."""

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from services.notifications.domain import settings as r
from services.notifications.domain.model import Alert, CellContext, Meeting, Recipient

T = TypeVar("T")

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
    member_ids: tuple[str, ...] = (),
    **values: Any,
) -> list[Alert]:
    """One alert to its recipients, or none when nobody is there to hear it; `member_ids`: the members it names."""
    if not recipients:
        return []
    return [
        Alert(
            rule=rule,
            subject_id=subject_id,
            period=period,
            recipients=recipients,
            cell_id=cell_id,
            values=values,
            member_ids=member_ids,
        )
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


def absence_added_period(meeting_id: str, member_ids: Iterable[str]) -> str:
    """The period of the follow-up telling of members a later fact adds to those a meeting's alert told of: the
    meeting and a digest of the added members' ids (a key holds it to once whatever their number; the same members
    added again, after a correction removed them, are not told twice)."""
    digest = hashlib.sha256("\n".join(sorted(member_ids)).encode()).hexdigest()[:16]
    return f"{meeting_id}|added:{digest}"


def by_recipients(
    items: Sequence[T], recipients_of: Callable[[T], Iterable[Recipient]]
) -> list[tuple[tuple[T, ...], tuple[Recipient, ...]]]:
    """The items one meeting's alert tells of (its absentees, the members crossing a threshold at it) grouped so
    that each recipient gets one alert naming every item addressed to them: (items, recipients) per alert, the
    items in their given order, recipients sharing the same items in one group (DOMAIN.md "Alerts": each recipient
    once; committees want no stream of single alerts)."""
    heard: dict[str, tuple[Recipient, list[int]]] = {}
    for index, item in enumerate(items):
        for recipient in recipients_of(item):
            positions = heard.setdefault(recipient.id, (recipient, []))[1]
            if not positions or positions[-1] != index:
                positions.append(index)
    groups: dict[tuple[int, ...], list[Recipient]] = {}
    for recipient, positions in heard.values():
        groups.setdefault(tuple(positions), []).append(recipient)
    return [(tuple(items[i] for i in positions), tuple(recipients)) for positions, recipients in groups.items()]
