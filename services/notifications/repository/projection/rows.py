"""Rows of the projection tables as domain objects, and the SQL pieces the repositories share."""

import json
from datetime import datetime

import asyncpg

from services.notifications.domain.model import Meeting, Member, Monitor, Unit

# a snapshot applies only when newer than the stored one, by event time (to the nanosecond) then id
NEWER = (
    "(EXCLUDED.version_time, EXCLUDED.version_ns, EXCLUDED.version_id) > ({t}.version_time, {t}.version_ns,"
    " {t}.version_id)"
)
VERSION_SET = "version_time = EXCLUDED.version_time, version_ns = EXCLUDED.version_ns, version_id = EXCLUDED.version_id"
"""The SET items that keep the version of the snapshot written."""


def to_unit(row: asyncpg.Record) -> Unit:
    """A unit row as the domain's Unit."""
    return Unit(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        parent_id=row["parent_id"],
        contact_emails=tuple(row["contact_emails"]),
        active=row["active"],
        known_since=row["known_since"],
    )


def to_member(row: asyncpg.Record) -> Member:
    """A member row as the domain's Member."""
    return Member(
        id=row["id"],
        full_name=row["full_name"],
        cell_id=row["cell_id"],
        status=row["status"],
        role=row["role"],
        email=row["email"],
        phone=row["phone"],
        exempt=row["exempt"],
        admitted_on=row["admitted_on"],
        removed=row["removed"],
    )


def to_monitor(row: asyncpg.Record) -> Monitor:
    """A monitor row as the domain's Monitor."""
    return Monitor(
        person_id=row["person_id"],
        cell_id=row["cell_id"],
        committee_id=row["committee_id"],
        full_name=row["full_name"],
        email=row["email"],
        yearly_quota=row["yearly_quota"],
    )


MEETING_SELECT = """
SELECT m.*, COALESCE(m.rescheduled_starts_at, m.scheduled_starts_at) AS starts_at,
       COALESCE(m.rescheduled_location, m.location) AS effective_location,
       COALESCE((SELECT jsonb_object_agg(d.kind, d.published_at) FROM meeting_document d
                 WHERE d.meeting_id = m.meeting_id), '{}'::jsonb)::text AS documents
FROM meeting m
"""


def to_meeting(row: asyncpg.Record) -> Meeting:
    """A row of MEETING_SELECT as the domain's Meeting."""
    documents = {kind: datetime.fromisoformat(value) for kind, value in json.loads(row["documents"]).items()}
    return Meeting(
        meeting_id=row["meeting_id"],
        cell_id=row["cell_id"],
        kind=row["kind"],
        topic=row["topic"],
        starts_at=row["starts_at"],
        location=row["effective_location"],
        cancelled=row["cancelled_time"] is not None,
        cancel_reason=row["cancel_reason"],
        minutes_submitted_at=row["minutes_submitted_at"],
        ended_at=row["ended_at"],
        documents=documents,
        agenda=tuple(json.loads(row["agenda"])) if isinstance(row["agenda"], str) else tuple(row["agenda"] or ()),
    )
