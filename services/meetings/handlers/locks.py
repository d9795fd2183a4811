"""What applying an event touches: the lock keys taken before it is judged (issue 12: no global lock).

An event writes its own entity (exclusive) and reads its referents (shared, or exclusive where the
reading feeds something it publishes). Every key a Held can name (`unit:`, `member:`, `meeting:`, and
`minutes:`/`roster:`/`task:` of a meeting; `monitor:` of an assessment, locked by its applier once it has read the
meeting's cell) is covered by the event's locks, and the event that provides that key
holds it exclusively: so a hold and the arrival of its referent are ordered by the lock, and the arrival
always finds the hold (see release_waiting).
"""

from typing import Any

from services.meetings.domain import LockSet, meeting_key, member_key, monitor_key, unit_key
from shared.contracts import meetings as contract
from shared.envelope import GATEWAY_SOURCE, Event, same_time_confirmed

_KINDS = (
    contract.OrgUnitUpserted,
    contract.MemberUpserted,
    contract.MemberRemoved,
    contract.MonitorAssigned,
    contract.MeetingScheduled,
    contract.AttendanceRecorded,
    contract.MinutesSubmitted,
    contract.MeetingAssessed,
)
"""The data models locks_for tells apart, in the order it tries them."""
_kind_by_class: dict[type, type | None] = {}
"""The first of _KINDS each data class seen is an instance of (None: none of them), found once per class."""


def _kind_of(data: Any) -> type | None:
    """The first of _KINDS `data` is an instance of, None when none: a pydantic model's isinstance goes through
    ABCMeta's check, and an event of the last kinds went through eight of them (issue 12: ~3 % of meetings' ingest)."""
    cls = type(data)
    try:
        return _kind_by_class[cls]
    except KeyError:
        kind = _kind_by_class[cls] = next((model for model in _KINDS if isinstance(data, model)), None)
        return kind


def locks_for(event: Event[Any]) -> LockSet:
    """The keys applying `event` needs; ValueError for a type no applier takes."""
    data = event.data
    kind = _kind_of(data)
    if kind is contract.OrgUnitUpserted:
        # the parent is read (kind, ancestors); a cell's members and meetings only read the cell
        return LockSet(
            exclusive=frozenset({unit_key(data.id)}),
            shared=frozenset({unit_key(data.parent_id)} if data.parent_id else ()),
        )
    if kind is contract.MemberUpserted:
        return LockSet(exclusive=frozenset({member_key(data.id)}), shared=frozenset({unit_key(data.cell_id)}))
    if kind is contract.MemberRemoved:
        return LockSet(exclusive=frozenset({member_key(data.id)}))
    if kind is contract.MonitorAssigned:
        return LockSet(
            exclusive=frozenset({monitor_key(data.person_id, data.cell_id)}),
            shared=frozenset({unit_key(data.cell_id), unit_key(data.committee_id)}),
        )
    if kind is contract.MeetingScheduled:
        if event.source == GATEWAY_SOURCE and not same_time_confirmed(event.envelope):
            # the secretary's schedule reads the cell's other meetings (domain.check_same_start): it holds the cell
            # exclusively, so no other schedule of the cell (each holds it shared) commits unseen meanwhile
            return LockSet(exclusive=frozenset({meeting_key(data.meeting_id), unit_key(data.cell_id)}))
        return LockSet(exclusive=frozenset({meeting_key(data.meeting_id)}), shared=frozenset({unit_key(data.cell_id)}))
    if kind is contract.AttendanceRecorded:
        # exclusive on the members: the roster rewrites their attendance histories, which this event publishes
        members = {member_key(record.member_id) for record in data.records}
        return LockSet(exclusive=frozenset({meeting_key(data.meeting_id), *members}))
    if kind is contract.MinutesSubmitted:
        named = {data.chair_id, data.recorder_id, *data.speakers, *(task.assignee_id for task in data.tasks)}
        return LockSet(
            exclusive=frozenset({meeting_key(data.meeting_id)}),
            shared=frozenset(member_key(member_id) for member_id in named),
        )
    if kind is contract.MeetingAssessed:
        # a members' vote or cell committee in a person's name reads that member's history (apply._check_assessor);
        # an upper_monitor's assignment is locked once the meeting's cell is read
        person_id = data.assessor.person_id
        by_member = person_id is not None and data.assessor.role != contract.AssessorRole.UPPER_MONITOR
        return LockSet(
            exclusive=frozenset({meeting_key(data.meeting_id)}),
            shared=frozenset({member_key(person_id)} if by_member and person_id else ()),
        )
    meeting_id = getattr(data, "meeting_id", None)
    if isinstance(meeting_id, str):
        # rescheduled, cancelled, documents, approved, assessed, task completed: about one meeting only
        return LockSet(exclusive=frozenset({meeting_key(meeting_id)}))
    raise ValueError(f"type: no lock keys known for {event.type!r}")
