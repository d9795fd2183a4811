"""Whether an adoption of minutes stands, defined once for meetings and evaluation (DOMAIN.md "Meetings": the
minutes are read and adopted; CONTRACT.md: minutes are snapshots, the latest `time` wins, the same state whatever
the arrival order).

An adoption (`minutes.approved.v1`) adopts the minutes in force at it: the latest snapshot issued at most CLOCK_SKEW
after it. Minutes issued later void it only when they say something else: a feed re-sending the same snapshot with a
later `time` (the member handbook's periodic resend) leaves the adoption standing. "Say the same" is the content key:
the minutes' `data` (every field; the event's own id, source and time are no part of it), instants compared as
instants and tasks in any order. Each service keeps every snapshot's key in its table `minutes_content` (meeting_id,
version_time, version_ns, version_id, content_key), whatever order they arrive in, so either order ends the same.
"""

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic_core import to_json

from shared.contracts.meetings import MinutesSubmitted
from shared.plausible import CLOCK_SKEW_SQL

INSTANTS = ("started_at", "ended_at")
"""The minutes' moments, compared as instants (the same moment at another offset is the same text)."""


def minutes_content_key(data: MinutesSubmitted | Mapping[str, Any]) -> str:
    """The content key of minutes (`data`, the model or a service's model_dump(mode="json") of them, not validated
    again): a SHA-256 hex digest of their fields, INSTANTS in UTC and tasks ordered by id, equal for minutes saying
    the same whatever event carries them."""
    dumped = dict(data.model_dump(mode="json") if isinstance(data, MinutesSubmitted) else data)
    for name in INSTANTS:
        if isinstance(dumped.get(name), str):
            dumped[name] = datetime.fromisoformat(dumped[name]).astimezone(UTC).isoformat()
    dumped["tasks"] = sorted(dumped.get("tasks") or [], key=lambda task: str(task.get("task_id")))
    return hashlib.sha256(to_json(dumped)).hexdigest()


def adoption_in_force_sql(
    *, meeting_id: str, approval_time: str, minutes_time: str, minutes_ns: str, minutes_id: str
) -> str:
    """SQL: whether the adoption stored at `approval_time` (an expression, NULL without one) stands over the stored
    minutes whose version is (`minutes_time`, `minutes_ns`, `minutes_id`) (NULL without minutes): adopted, and the
    minutes issued at most CLOCK_SKEW after it or saying what the minutes in force at it said (their content key in
    `minutes_content`; meetings' domain.adoption_in_force is the same rule). NULL counts as not in force."""
    at_adoption = (
        f"(SELECT a.content_key FROM minutes_content a WHERE a.meeting_id = {meeting_id}"
        f" AND a.version_time <= {approval_time} + {CLOCK_SKEW_SQL}"
        " ORDER BY a.version_time DESC, a.version_ns DESC, a.version_id DESC LIMIT 1)"
    )
    stored = (
        f"(SELECT s.content_key FROM minutes_content s WHERE s.meeting_id = {meeting_id}"
        f" AND (s.version_time, s.version_ns, s.version_id) = ({minutes_time}, {minutes_ns}, {minutes_id}))"
    )
    return (
        f"({approval_time} IS NOT NULL AND ({minutes_time} IS NULL"
        f" OR {minutes_time} <= {approval_time} + {CLOCK_SKEW_SQL} OR {stored} = {at_adoption}))"
    )
