"""How each accepted type changes the state: validate against what is stored, then write.

Each applier raises InvalidEvent (reject) or Held (wait) before writing anything, and returns
what the event changed, which keys it provides to held events, and the events it causes.
"""

import json
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from services.meetings import domain
from services.meetings.domain import Held, LockSet, Version, is_newer, member_key, monitor_key, unit_key
from services.meetings.unit_of_work import MeetingsUnit
from shared.collation import person_key
from shared.contracts import meetings as contract
from shared.contracts.frameworks import check_points, in_force, merged_tables
from shared.contracts.ingest import IngestWarning
from shared.envelope import (
    CloudEvent,
    Event,
    InvalidEvent,
    new_id,
    now,
    parse_envelope,
    recorded_as_held,
    same_time_confirmed,
)
from shared.membership import MemberVersion
from shared.periods import local_date, local_midnight
from shared.plausible import SAME_START_WINDOW
from shared.refusals import Refusal, RefusalCode
from shared.rejection_fields import ROSTER_REJUDGED_ROUTE as ROSTER_REJUDGED_ROUTE  # shared with its readers

TRANSFERRED = contract.AttendanceStatus.TRANSFERRED


@dataclass
class Applied:
    """The effect of one applied event."""

    subject: str
    changed: bool
    provides: list[str] = field(default_factory=list)
    data: dict[str, Any] | None = None
    """The validated data to re-publish when it differs from the event's (defaults filled in)."""
    attendance_changed_for: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """The members whose attendance histories changed, each with the meetings whose rosters changed it (a
    member.attendance.updated.v1 `meeting_id` each: never the subject of a member event; several when one member
    event withdrew several rosters listing the member, by their meetings' starts)."""
    announced: bool = True
    """Whether a change is re-published; False for a schedule or move stored for a cancelled meeting (silent)."""
    warnings: tuple[IngestWarning, ...] = ()
    """What the accepted event lacks though valid (domain.roster_lacks), said in its answer and ingest.warned.v1."""


SENDER: ContextVar[str | None] = ContextVar("meetings_event_sender", default=None)
"""The account that sent the event being applied (ingest._settle sets it: the API account, the broker user of its AMQP
message, a replay's or release's recorded one; None: not known), kept with the roster (roster_history) and start fact
(meeting_start_fact) it leaves, so a rejection a later fact makes of them names it (meetings 0038)."""


def version_of(event: Event[Any]) -> Version:
    """(time, nanoseconds below its microsecond, id): the order of snapshots."""
    return (event.time, event.time_ns, event.id)


async def apply_unit(event: Event[contract.OrgUnitUpserted], uow: MeetingsUnit) -> Applied:
    """A committee or cell snapshot; its parent must be a known committee, and a known unit keeps its kind."""
    data = event.data
    existing = await uow.org.get_unit(data.id)
    domain.check_unit_kind(existing, unit_id=data.id, kind=data.kind.value)
    parent = await uow.org.get_unit(data.parent_id) if data.parent_id else None
    ancestors = await uow.org.ancestors(data.parent_id) if parent and data.parent_id else []
    if parent and data.parent_id and existing is not None and existing.parent_id != data.parent_id:
        ancestors = await locked_ancestors(uow, data.parent_id, ancestors)
    domain.check_unit_placement(unit_id=data.id, parent_id=data.parent_id, parent=parent, ancestors=ancestors)
    changed = await uow.org.upsert_unit(data.model_dump(mode="json"), version=version_of(event))
    return Applied(subject=data.id, changed=changed, provides=[f"unit:{data.id}"])


async def locked_ancestors(uow: MeetingsUnit, unit_id: str, ancestors: list[str]) -> list[str]:
    """The ancestors of `unit_id`, each held shared, read again until stable: a unit moved under a new parent must
    not close a cycle with another move made at the same moment (only moves can; a new unit has no children)."""
    while True:
        await uow.ingest.lock(LockSet(shared=frozenset(unit_key(unit) for unit in ancestors)))
        again = await uow.org.ancestors(unit_id, fresh=True)
        if again == ancestors:
            return ancestors
        ancestors = again


async def apply_member(event: Event[contract.MemberUpserted], uow: MeetingsUnit) -> Applied:
    """A member snapshot in a known cell; every snapshot is kept as history."""
    data = event.data
    domain.require_unit(await uow.org.get_unit(data.cell_id), unit_id=data.cell_id, kind="cell", field="data.cell_id")
    history = (await uow.org.histories([data.id])).get(data.id, [])
    current = await uow.org.add_member_version(
        member_id=data.id,
        effective_at=event.time,
        effective_ns=event.time_ns,
        version_id=event.id,
        removed=False,
        cell_id=data.cell_id,
        data=data.model_dump(mode="json"),
    )
    await uow.org.refresh_member(data.id)
    placed = placement(event)
    withdrawn: dict[str, tuple[str, ...]] = (
        {} if placement_unchanged(history, placed) else await _rejudge_rosters(uow, data.id, event=event)
    )
    return Applied(
        subject=data.id,
        changed=is_newer(version_of(event), current),
        provides=[f"member:{data.id}"],
        attendance_changed_for=withdrawn,
    )


async def apply_member_removed(event: Event[contract.MemberRemoved], uow: MeetingsUnit) -> Applied:
    """A member leaves the roll from `effective_on`; earlier meetings still count them."""
    data = event.data
    history = (await uow.org.histories([data.id])).get(data.id, [])
    if not history:
        raise Held(
            waiting_for=f"member:{data.id}",
            reason=f"data.id: member {data.id} is unknown",
            field="data.id",
            refusal=Refusal(code=RefusalCode.MEMBER_UNKNOWN, member_id=data.id),
        )
    await uow.org.add_member_version(
        member_id=data.id,
        effective_at=local_midnight(data.effective_on),
        effective_ns=0,
        version_id=event.id,
        removed=True,
        cell_id=None,
        data=data.model_dump(mode="json"),
    )
    await uow.org.refresh_member(data.id)
    removal = placement(event)
    withdrawn: dict[str, tuple[str, ...]] = (
        {} if placement_unchanged(history, removal) else await _rejudge_rosters(uow, data.id, event=event)
    )
    return Applied(subject=data.id, changed=True, provides=[f"member:{data.id}"], attendance_changed_for=withdrawn)


def placement(event: Event[contract.MemberUpserted] | Event[contract.MemberRemoved]) -> MemberVersion:
    """The version a member snapshot (in its cell at its time) or removal (from local midnight of `effective_on`)
    adds to the member's history."""
    data = event.data
    if isinstance(data, contract.MemberRemoved):
        return MemberVersion(local_midnight(data.effective_on), event.id, True, None, 0)
    return MemberVersion(event.time, event.id, False, data.cell_id, event.time_ns)


def placement_unchanged(history: Sequence[MemberVersion], added: MemberVersion) -> bool:
    """Whether adding `added` to the member's `history` (as it stood before) leaves the member's cell at every
    moment as it was (shared.membership.cell_on, certain or not), so no roster's judgement can change and the
    re-judging (_rejudge_rosters, a few statements per member) is skipped (issue 12: a batch of new members sent
    five statements each). True for a member's first version (no integration's roster is stored or refused
    `member_not_in_cell` naming an unknown member: it is held for them) and when the version in force just before
    `added` (at or before its time, to the nanosecond and id) says the same: same cell, or both removals."""
    if not history:
        return True
    key = (added.effective_at, added.effective_ns, added.version_id)
    before = [v for v in history if (v.effective_at, v.effective_ns, v.version_id) <= key]
    if not before:
        return False
    prior = max(before, key=lambda v: (v.effective_at, v.effective_ns, v.version_id))
    return prior.removed == added.removed and (added.removed or prior.cell_id == added.cell_id)


async def _rejudge_rosters(uow: MeetingsUnit, member_id: str, *, event: Event[Any]) -> dict[str, tuple[str, ...]]:
    """A member's history changed (`event`, a snapshot or removal): the integrations' rosters naming the member (the
    stored one, and the earlier ones kept in the meeting's history, roster_history) are judged again against the
    histories as they now stand, so they end as they do when they arrive after `event` (CONTRACT.md: any arrival
    order converges; DOMAIN.md: members judged by the snapshots in force at the meeting's start). Each of a meeting's
    kept rosters now certainly wrong (a listed member out of the meeting's cell) is rejected (ROSTER_REJUDGED_ROUTE,
    ingest.rejected.v1, its inbox row forgotten) and leaves the history; when the stored one is among them it is
    withdrawn and the latest kept roster still certainly valid is stored in its place (none: the meeting has no
    roster), both told by one attendance.withdrawn.v1 (the withdrawn roster's own time and id, the restored one in
    `restored`, for evaluation to drop the one and store the other). A roster rejected `member_not_in_cell` naming
    the member is held for `member:<id>`, which `event` provides, so it is judged again in this transaction.
    Returns the members of the rosters withdrawn or restored, whose attendance histories changed, each with every
    meeting whose roster changed it, by start (each is announced: notifications decides alerts by meeting)."""
    changed_for: dict[str, set[tuple[datetime, str]]] = {}
    refused_now: set[tuple[str, str]] = set()  # rejected just now for this change: not held to be judged again
    for meeting_id in await uow.meetings.rosters_naming(member_id):
        meeting = await uow.meetings.get_state(meeting_id)
        kept = await uow.meetings.roster_history(meeting_id)
        if meeting is None or not kept:
            continue  # a person's roster, or one stored before its raw was kept: left as it stands
        valid: list[tuple[Version, str, str]] = []
        unsure: list[tuple[Version, str, str, Held]] = []
        withdrawn: tuple[str, str] | None = None
        for version, source, raw in kept:
            try:
                await _check_members(uow, meeting=meeting, references=_listed(raw), source=source)
            except Held as assumed:
                unsure.append((version, source, raw, assumed))  # left as it stands, unless the stored one goes
                continue
            except InvalidEvent as refused:
                await _refuse_kept_roster(uow, meeting_id, version, source=source, raw=raw, refused=refused, by=event)
                refused_now.add((source, str(json.loads(raw)["id"])))
                if version == meeting.roster_version:
                    withdrawn = (source, raw)
                continue
            valid.append((version, source, raw))
        if withdrawn is None:
            continue
        previous = sorted(await uow.meetings.roster_members(meeting_id))
        await uow.ingest.lock(LockSet(exclusive=frozenset(member_key(member) for member in previous)))
        await uow.meetings.drop_roster(meeting_id)
        older = [entry for entry in valid if meeting.roster_version is None or entry[0] < meeting.roster_version]
        restored = await _restore_roster(uow, meeting_id, older[0]) if older else None
        for version, source, raw, waiting in unsure:  # held, as when sent now: applied once its member is known
            await _hold_kept_roster(uow, meeting_id, version, source=source, raw=raw, waiting=waiting)
        touched = set(previous) | ({record.member_id for record in restored[1].records} if restored else set())
        for member in touched:
            changed_for.setdefault(member, set()).add((meeting.starts_at, meeting_id))
        _emit_withdrawn(uow, meeting_id, withdrawn_raw=withdrawn[1], restored=restored, by=event)
    for row in await uow.ingest.rosters_refused_for(member_id):
        if (row["source"], row["event_id"]) in refused_now:
            continue  # one change refuses a roster once (trial 43: a second attempt, received before the first)
        await uow.ingest.hold(
            source=row["source"],
            event_id=row["event_id"],
            event_type="attendance.recorded.v1",
            raw=json.loads(row["raw"]),
            waiting_for=f"member:{member_id}",
            reason=row["reason"],
            field=row["field"],
            route=row["route"],
            scope=row["scope"],
            account=row["sender"],  # released as its rejection would be replayed: as its sender, by its rule
            message_id=row["message_id"],
            sources_listed=row["sources_listed"],
        )
        await uow.ingest.mark_replayed(row["rejection_id"], at=now(), outcome="held")
    return {member: tuple(meeting for _, meeting in sorted(changed_for[member])) for member in sorted(changed_for)}


def _listed(raw: str) -> list[tuple[str, str]]:
    """(field, member id) of each member a kept roster's raw event lists other than transferred."""
    records = json.loads(raw)["data"]["records"]
    return [
        (f"data.records.{i}.member_id", str(record["member_id"]))
        for i, record in enumerate(records)
        if record["status"] != TRANSFERRED.value
    ]


async def _refuse_kept_roster(
    uow: MeetingsUnit,
    meeting_id: str,
    version: Version,
    *,
    source: str,
    raw: str,
    refused: InvalidEvent,
    by: Event[Any],
) -> None:
    """Reject a kept roster as it is when it arrives after `by` (ROSTER_REJUDGED_ROUTE) and drop it from the history;
    the rejection keeps the scope its sender had (rejudged_scope), so a replay is judged as the roster first was."""
    from services.meetings.handlers.ingest import reject  # ingest imports this module

    await reject(
        uow,
        source=source,
        event_id=str(json.loads(raw)["id"]),
        event_type="attendance.recorded.v1",
        reason=refused.reason,
        field=refused.field,
        raw=raw,
        route=ROSTER_REJUDGED_ROUTE,
        received_at=now(),
        correlation_id=by.correlation_id,
        scope=await rejudged_scope(uow, source),
        refusal=refused.refusal,
        account=uow.meetings.kept_sender(meeting_id, version),  # as it came (meetings 0038): replayed as that account
        sources_listed=False,  # judged again by the registry, as rejudged_scope says
    )
    await uow.meetings.forget_roster(meeting_id, version)


async def _hold_kept_roster(
    uow: MeetingsUnit, meeting_id: str, version: Version, *, source: str, raw: str, waiting: Held
) -> None:
    """Hold a kept roster a withdrawal leaves unsure (a listed member's cell at the start only assumed), as it is held
    when it arrives after the member event (ROSTER_REJUDGED_ROUTE, its sender's scope), and drop it from the history:
    released by the member it waits for, it is applied, stored when newest, and kept again."""
    await uow.ingest.hold(
        source=source,
        event_id=str(json.loads(raw)["id"]),
        event_type="attendance.recorded.v1",
        raw=json.loads(raw),
        waiting_for=waiting.waiting_for,
        reason=waiting.reason,
        field=waiting.field,
        route=ROSTER_REJUDGED_ROUTE,
        scope=await rejudged_scope(uow, source),
        refusal=waiting.refusal,
        account=uow.meetings.kept_sender(meeting_id, version),  # as it came (meetings 0038): released as that account
        sources_listed=False,  # released by the registry's rule (rejudged_scope)
    )
    await uow.meetings.forget_roster(meeting_id, version)


async def rejudged_scope(uow: MeetingsUnit, source: str) -> str | None:
    """The scope (a unit id; None: anywhere) of the sender of a kept roster under `source`: the unit the source is
    registered to. A kept roster was accepted, so its sender was either that unit's scoped account or, for a source
    registered to none, one that may write anywhere (check_source); the history keeps no scope of its own."""
    return await uow.ingest.source_owner(source)


async def _restore_roster(
    uow: MeetingsUnit, meeting_id: str, entry: tuple[Version, str, str]
) -> tuple[CloudEvent, contract.AttendanceRecorded]:
    """Store a kept roster (version, source, raw) again as the meeting's roster, its members held as a new roster's
    are (locks.py); returns its parsed event and data."""
    version, _, raw = entry
    restored = parse_envelope(raw)
    data = contract.AttendanceRecorded.model_validate(json.loads(raw)["data"])
    await uow.ingest.lock(LockSet(exclusive=frozenset(member_key(record.member_id) for record in data.records)))
    await uow.meetings.replace_roster(data, version=version)
    await uow.meetings.record_roster_content(data, version=version)  # kept already: sets the state's content key
    return restored, data


def _emit_withdrawn(
    uow: MeetingsUnit,
    meeting_id: str,
    *,
    withdrawn_raw: str,
    restored: tuple[CloudEvent, contract.AttendanceRecorded] | None,
    by: Event[Any],
) -> None:
    """Publish attendance.withdrawn.v1 for the withdrawn roster (its own time and id) with the one restored, if any."""
    from services.meetings.handlers.ingest import SOURCE  # ingest imports this module

    withdrawn = parse_envelope(withdrawn_raw)
    data: dict[str, Any] = {"meeting_id": meeting_id, "roster_id": withdrawn.id}
    if restored is not None:
        event, roster = restored
        data["restored"] = {
            "roster_id": event.id,
            "time": event.time.isoformat(),
            "time_ns": event.time_ns,
            "records": [record.model_dump(mode="json", exclude_none=True) for record in roster.records],
        }
    uow.emit(
        CloudEvent.of_checked(
            id=new_id(),
            source=SOURCE,
            type="attendance.withdrawn.v1",
            time=withdrawn.time,
            time_ns=withdrawn.time_ns,
            subject=meeting_id,
            data=data,
            correlationid=by.correlation_id,
            causationid=by.id,
            originsource=withdrawn.source,
            originid=withdrawn.id,
        )
    )


async def apply_monitor(event: Event[contract.MonitorAssigned], uow: MeetingsUnit) -> Applied:
    """An upper-level committee member follows a cell."""
    data = event.data
    domain.require_unit(await uow.org.get_unit(data.cell_id), unit_id=data.cell_id, kind="cell", field="data.cell_id")
    domain.require_unit(
        await uow.org.get_unit(data.committee_id),
        unit_id=data.committee_id,
        kind="committee",
        field="data.committee_id",
    )
    path = await uow.org.ancestors(data.cell_id)
    domain.check_monitor_committee(committee_id=data.committee_id, cell_id=data.cell_id, path=path)
    changed = await uow.org.upsert_monitor(data.model_dump(mode="json"), version=version_of(event))
    # assessments as upper_monitor in this person's name wait for it (domain.check_assessor_monitor)
    provides = [domain.monitor_waiting_key(data.person_id, data.cell_id)]
    return Applied(subject=data.cell_id, changed=changed, provides=provides)


async def _scheduled_meeting(uow: MeetingsUnit, meeting_id: str, *, source: str) -> domain.MeetingState:
    """The stored state of a meeting an event names; held for an integration's fact, refused for a person's command
    while it is not scheduled (domain.require_meeting)."""
    # a person's command is judged on whether the minutes are adopted as earlier events of its transaction left it
    state = await uow.meetings.get_state(meeting_id, adoption_current=domain.from_a_person(source))
    return domain.require_meeting(state, meeting_id=meeting_id, source=source)


async def apply_scheduled(event: Event[contract.MeetingScheduled], uow: MeetingsUnit) -> Applied:
    """A meeting of a known cell; members count as notified at the event's time unless told otherwise (a meeting a
    secretary records as already held, shared.envelope.HELD_EXTENSION, too: it is re-published as any schedule)."""
    data = event.data
    domain.require_unit(await uow.org.get_unit(data.cell_id), unit_id=data.cell_id, kind="cell", field="data.cell_id")
    existing = await uow.meetings.get_state(data.meeting_id)
    if existing is not None and existing.cell_id != data.cell_id:
        # a meeting never changes cell, whatever the route (issue 11: a body-named id took over another cell's meeting)
        raise InvalidEvent(
            f"data.cell_id: meeting {data.meeting_id} belongs to another cell; a meeting never changes cell",
            field="data.cell_id",
        )
    already_held = recorded_as_held(event.envelope)
    domain.check_schedule(
        existing,
        meeting_id=data.meeting_id,
        source=event.source,
        starts_at=data.starts_at,
        time=event.time,
        already_held=already_held,
    )
    if domain.from_a_person(event.source) and not same_time_confirmed(event.envelope):
        # read under the cell's exclusive lock (locks.py): a schedule of the cell committed meanwhile is seen
        others = await uow.meetings.starting_near(
            data.cell_id, data.starts_at, window=SAME_START_WINDOW, other_than=data.meeting_id
        )
        domain.check_same_start(
            others, meeting_id=data.meeting_id, source=event.source, starts_at=data.starts_at, confirmed=False
        )
    domain.check_not_rescheduled_when_cancelled(existing, source=event.source, version=version_of(event))
    domain.check_schedule_keeps_held_start(
        existing, starts_at=data.starts_at, version=version_of(event), source=event.source, time=event.time
    )
    notified_at = data.notified_at or event.time
    changed = await uow.meetings.schedule(data, version=version_of(event), notified_at=notified_at)
    uow.meetings.add_start_fact(data.meeting_id, _start_fact(event, "schedule", data.starts_at, data.location, None))
    held_at = domain.held_recorded_at(source=event.source, already_held=already_held, time=event.time)
    if held_at is not None:
        uow.meetings.record_held(data.meeting_id, at=held_at)
    validated = data.model_dump(mode="json") | {"notified_at": notified_at.isoformat()}
    return Applied(
        subject=data.meeting_id,
        changed=changed,
        provides=[f"meeting:{data.meeting_id}"],
        data=validated,
        announced=not _cancelled(existing),
    )


async def apply_rescheduled(event: Event[contract.MeetingRescheduled], uow: MeetingsUnit) -> Applied:
    """A new start (and place) for a scheduled meeting; the latest by (time, id) wins, but a move issued after the
    meeting was cancelled or held by its minutes is refused (domain.check_reschedule)."""
    data = event.data
    meeting = await _scheduled_meeting(uow, data.meeting_id, source=event.source)
    domain.check_reschedule(
        meeting, source=event.source, starts_at=data.starts_at, time=event.time, version=version_of(event)
    )
    if domain.from_a_person(event.source) and meeting.has_roster:
        await _check_roster_at_start(uow, meeting, starts_at=data.starts_at, source=event.source)
    changed = await uow.meetings.reschedule(data, version=version_of(event))
    uow.meetings.add_start_fact(data.meeting_id, _start_fact(event, "move", data.starts_at, data.location, data.reason))
    return Applied(subject=data.meeting_id, changed=changed, announced=not _cancelled(meeting))


def _start_fact(
    event: Event[Any], kind: str, starts_at: Any, location: str | None, reason: str | None
) -> domain.StartFact:
    """The accepted schedule or move as kept beside the meeting's start (domain.moves_undone_by_minutes)."""
    raw = event.envelope.to_json().decode()  # as the ingest path stores an event its state refuses
    return domain.StartFact(
        version=version_of(event),
        kind=kind,
        source=event.source,
        starts_at=starts_at,
        location=location,
        reason=reason,
        raw=raw,
        sender=SENDER.get(),
    )


async def apply_cancelled(event: Event[contract.MeetingCancelled], uow: MeetingsUnit) -> Applied:
    """The meeting is called off, whatever was recorded of it (a cancelled meeting is neither held nor scored).
    Cancelling a held one (roster and minutes) takes its roster out of its members' attendance histories: they are
    published again, as a roster recorded after the cancellation leaves them. Integrations' moves issued after it and
    applied before it arrived are undone and rejected (domain.moves_undone_by_cancellation) when it is the meeting's
    earliest cancellation (domain.first_cancellation): a later one leaves them as the earliest judged them."""
    data = event.data
    meeting = await _scheduled_meeting(uow, data.meeting_id, source=event.source)
    domain.check_cancel(meeting, source=event.source, time=event.time)
    changed = await uow.meetings.cancel(data, version=version_of(event))
    start = meeting.start_version
    earliest = meeting.cancel_version is None or version_of(event) < meeting.cancel_version
    if earliest and start is not None and version_of(event) < start:
        cancelled = version_of(event)
        undo = domain.moves_undone_by_cancellation(await uow.meetings.start_facts(data.meeting_id), cancelled=cancelled)
        if undo is not None:
            await _undo_moves(
                uow,
                meeting,
                undo,
                event=event,
                refusal=lambda fact: domain.cancelled_move_refusal(meeting, fact, cancelled=cancelled),
                route=UNDONE_BY_CANCELLATION,
                announce=False,
            )
    if not changed or meeting.cancel_version is not None or not meeting.has_roster or not meeting.has_minutes:
        return Applied(subject=data.meeting_id, changed=changed)  # not held before: no history counted it
    return Applied(
        subject=data.meeting_id,
        changed=True,
        attendance_changed_for=dict.fromkeys(await _held_roster(uow, meeting), (data.meeting_id,)),
    )


async def apply_documents(event: Event[contract.DocumentsPublished], uow: MeetingsUnit) -> Applied:
    """Documents published for a meeting; a secretary publishes none for a cancelled one (require_not_cancelled), nor
    any dated ahead of the sending or, for a meeting recorded as already held, before it was recorded
    (check_documents_moment)."""
    data = event.data
    meeting = await _scheduled_meeting(uow, data.meeting_id, source=event.source)
    domain.require_not_cancelled(meeting, source=event.source, what="publishing documents")
    domain.check_documents_moment(
        source=event.source, published_at=data.published_at, time=event.time, recorded_at=meeting.held_recorded_at
    )
    await uow.meetings.add_documents(data, source=event.source, event_id=event.id)
    return Applied(subject=data.meeting_id, changed=True)


async def apply_attendance(event: Event[contract.AttendanceRecorded], uow: MeetingsUnit) -> Applied:
    """A full roster; every listed member (but the transferred) belongs to the cell on the meeting's date. A
    secretary's roster is refused once the minutes are adopted (the same roster again is a no-op), when it
    contradicts the recorded minutes (domain.check_adopted_roster_unchanged, check_roster_against_minutes) and when
    it leaves out a member of the cell at the meeting's start (domain.check_roster_complete)."""
    data = event.data
    meeting = await _scheduled_meeting(uow, data.meeting_id, source=event.source)
    domain.require_not_cancelled(meeting, source=event.source, what="recording attendance")
    domain.check_command_after_start(meeting, source=event.source, time=event.time, what="attendance is")
    person = domain.from_a_person(event.source)
    adopted = meeting.adopted and person
    stored = await uow.meetings.stored_roster(data.meeting_id) if adopted else None
    if domain.check_adopted_roster_unchanged(meeting, data, stored=stored, source=event.source):
        return Applied(subject=data.meeting_id, changed=False)  # the adopted roster sent again: nothing to do
    if adopted and not meeting.has_roster:
        # minutes adopted before any roster (accepted before adoption waited for one): the first roster completes them
        domain.check_roster_against_adoption(data, adoption=await uow.meetings.stored_approval(data.meeting_id))
    minutes = await uow.meetings.stored_minutes(data.meeting_id) if person and meeting.has_minutes else None
    domain.check_roster_against_minutes(data, minutes=minutes, source=event.source)
    lines = [(f"data.records.{i}.member_id", record) for i, record in enumerate(data.records)]
    references = [(name, record.member_id) for name, record in lines if record.status != TRANSFERRED]
    await _check_members(uow, meeting=meeting, references=references, source=event.source)
    transferred = [(name, record.member_id) for name, record in lines if record.status == TRANSFERRED]
    if transferred and domain.from_a_person(event.source):
        domain.check_transferred_members(
            cell_id=meeting.cell_id,
            references=transferred,
            histories=await uow.org.histories(sorted({member_id for _, member_id in transferred})),
            source=event.source,
            at=meeting.starts_at,
        )
    warnings: tuple[IngestWarning, ...] = ()
    if person:
        domain.check_roster_complete(data, members=await _members_at_start(uow, meeting), source=event.source)
    else:  # an integration's, taken as sent but not without a word; names read only for those it leaves out
        missing = domain.roster_missing(data, members=await _ids_at_start(uow, meeting))
        lacks = domain.roster_lacks(data, members=await _named(uow, missing)) if missing else None
        warnings = () if lacks is None else (lacks,)
    provides = [f"roster:{data.meeting_id}"]  # an integration's adoption waits for a roster (apply_approved)
    kept = {} if person else {"source": event.source, "raw": event.envelope.to_json().decode(), "sender": SENDER.get()}
    # older ones too: an adoption may stand on them (shared.minutes), and an integration's is kept in the meeting's
    # history, for a withdrawal to fall back on (_rejudge_rosters)
    await uow.meetings.record_roster_content(data, version=version_of(event), **kept)
    if not is_newer(version_of(event), meeting.roster_version):
        return Applied(subject=data.meeting_id, changed=False, provides=provides, warnings=warnings)
    previous = await uow.meetings.replace_roster(data, version=version_of(event))
    affected = sorted({record.member_id for record in data.records} | set(previous))
    # members dropped from the roster get a new history too: hold them as the listed ones are (locks.py)
    await uow.ingest.lock(LockSet(exclusive=frozenset(member_key(member_id) for member_id in affected)))
    return Applied(
        subject=data.meeting_id,
        changed=True,
        provides=provides,
        attendance_changed_for=dict.fromkeys(affected, (data.meeting_id,)),
        warnings=warnings,
    )


async def apply_minutes(event: Event[contract.MinutesSubmitted], uow: MeetingsUnit) -> Applied:
    """Minutes of a meeting (kept for a cancelled one too: it is not held); chair, recorder, speakers and assignees
    are its cell's members."""
    data = event.data
    meeting = await _scheduled_meeting(uow, data.meeting_id, source=event.source)
    domain.require_not_cancelled(meeting, source=event.source, what="submitting minutes")
    domain.check_command_after_start(meeting, source=event.source, time=event.time, what="its minutes are")
    domain.check_person_minutes_moments(event)
    undo = await _moves_undone(uow, meeting, data, version=version_of(event))
    # judged against the start in force before the moves these minutes undo, as when the moves arrive after them
    judged = meeting if undo is None else replace(meeting, starts_at=undo.start.starts_at)
    domain.check_minutes_start(judged, data.started_at)
    adopted = meeting.adopted and domain.from_a_person(event.source)
    stored = await uow.meetings.stored_minutes(data.meeting_id) if adopted else None
    if domain.check_adopted_minutes_unchanged(meeting, data, stored=stored, source=event.source):
        return Applied(subject=data.meeting_id, changed=False)  # the adopted minutes sent again: nothing to do
    statuses = await _roster_statuses(uow, meeting) if domain.from_a_person(event.source) else None
    # without a roster a secretary's votes are judged against the cell's members at the start, as the form does
    members = (
        len(await _members_at_start(uow, meeting)) if statuses is None and domain.from_a_person(event.source) else None
    )
    domain.check_votes_within_roster(data, present=_present(statuses), members=members, source=event.source)
    domain.check_minutes_people_present(data, statuses=statuses, source=event.source)
    references = [("data.chair_id", data.chair_id), ("data.recorder_id", data.recorder_id)]
    references += [(f"data.speakers.{i}", speaker) for i, speaker in enumerate(data.speakers)]
    references += [(f"data.tasks.{i}.assignee_id", task.assignee_id) for i, task in enumerate(data.tasks)]
    await _check_members(uow, meeting=judged, references=references, source=event.source)
    provides = [f"minutes:{data.meeting_id}"] + [f"task:{data.meeting_id}:{task.task_id}" for task in data.tasks]
    await uow.meetings.record_minutes_content(data, version=version_of(event))  # older ones too: shared.minutes
    if not is_newer(version_of(event), meeting.minutes_version):
        return Applied(subject=data.meeting_id, changed=False)
    if undo is not None:
        ended = data.ended_at
        await _undo_moves(
            uow,
            meeting,
            undo,
            event=event,
            refusal=lambda fact: domain.undone_move_refusal(meeting, fact, ended_at=ended),
            route=UNDONE_ROUTE,
            announce=not _cancelled(meeting),
        )
    await uow.meetings.replace_minutes(data, version=version_of(event))
    if meeting.has_minutes or meeting.cancel_version is not None or not meeting.has_roster:
        return Applied(subject=data.meeting_id, changed=True, provides=provides)
    # its first minutes make the meeting held: its roster now counts in its members' attendance histories
    affected = await _held_roster(uow, meeting)
    return Applied(
        subject=data.meeting_id,
        changed=True,
        provides=provides,
        attendance_changed_for=dict.fromkeys(affected, (data.meeting_id,)),
    )


async def apply_approved(event: Event[contract.MinutesApproved], uow: MeetingsUnit) -> Applied:
    """The cell adopted the minutes: they and the meeting's roster must be known (else an integration's adoption waits
    for them, a secretary's is refused at once: domain.held_or_refused), since adoption freezes the minutes and the
    roster they hold (DOMAIN.md "Meetings": minutes hold members summoned, present, absent); a secretary adopts them
    once (the same votes again are a no-op)."""
    data = event.data
    meeting = await _scheduled_meeting(uow, data.meeting_id, source=event.source)
    domain.require_not_cancelled(meeting, source=event.source, what="approving minutes")
    domain.check_approval_moment(meeting, data.approved_at)
    statuses = await _roster_statuses(uow, meeting) if domain.from_a_person(event.source) else None
    domain.check_votes_within_roster(data, present=_present(statuses), source=event.source)
    if not meeting.has_minutes:
        raise _waits_or_refused(
            event.source,
            waiting_for=f"minutes:{data.meeting_id}",
            field="data.meeting_id",
            missing=f"meeting {data.meeting_id} has no minutes yet",
            why="the minutes are submitted before the cell adopts them",
            code=RefusalCode.MINUTES_NOT_SUBMITTED,
        )
    adopted = meeting.adopted and domain.from_a_person(event.source)
    stored = await uow.meetings.stored_approval(data.meeting_id) if adopted else None
    if domain.check_adoption_not_repeated(meeting, data, stored=stored, source=event.source):
        return Applied(subject=data.meeting_id, changed=False)  # the same adoption sent again: nothing to do
    if not meeting.has_roster:
        raise _waits_or_refused(
            event.source,
            waiting_for=f"roster:{data.meeting_id}",
            field="data.meeting_id",
            missing=f"meeting {data.meeting_id} has no attendance recorded yet",
            why="the roster is recorded before the cell adopts the minutes, which hold it",
            code=RefusalCode.ROSTER_NOT_RECORDED,
        )
    domain.check_adoption_voted(data, source=event.source)
    domain.check_adopted_on_meeting_day(meeting, source=event.source)
    changed = await uow.meetings.approve(data, version=version_of(event))
    return Applied(subject=data.meeting_id, changed=changed)


async def apply_assessed(event: Event[contract.MeetingAssessed], uow: MeetingsUnit) -> Applied:
    """Manual points for a meeting (kept for a cancelled one too: it is never scored), each for an item assessed by
    hand in the framework in force that applies to the meeting's kind (check_points)."""
    data = event.data
    meeting = await _scheduled_meeting(uow, data.meeting_id, source=event.source)
    domain.require_not_cancelled(meeting, source=event.source, what="assessing it")
    domain.check_command_after_start(meeting, source=event.source, time=event.time, what="its assessment is")
    path = await uow.org.ancestors(meeting.cell_id)
    table = in_force(
        local_date(meeting.starts_at),
        ancestors=path[-2::-1],  # the committees above the cell, nearest first
        adoptions=merged_tables(await uow.frameworks.tables()),
    )
    if table is None:  # never: the shipped frameworks are always there
        raise LookupError("no framework is known")
    check_points(data.points, table=table, kind=meeting.kind)
    await _check_assessor(uow, meeting, data.assessor, source=event.source)
    await uow.meetings.add_assessment(
        data, source=event.source, event_id=event.id, assessed_time=event.time, assessed_ns=event.time_ns
    )
    return Applied(subject=data.meeting_id, changed=True)


async def apply_task_completed(event: Event[contract.TaskCompleted], uow: MeetingsUnit) -> Applied:
    """A task assigned in the meeting's minutes (else an integration's completion waits for it, a secretary's is
    refused at once: domain.held_or_refused) is done, on or after the day of that meeting; a secretary marks no
    task of a cancelled meeting done (require_not_cancelled), nor one done on a day still ahead
    (check_completion_not_ahead)."""
    data = event.data
    meeting = await _scheduled_meeting(uow, data.meeting_id, source=event.source)
    domain.require_not_cancelled(meeting, source=event.source, what="completing its tasks")
    domain.check_completion_day(meeting, data.completed_on)
    domain.check_completion_not_ahead(source=event.source, completed_on=data.completed_on, time=event.time)
    if not await uow.meetings.task_exists(meeting_id=data.meeting_id, task_id=data.task_id):
        raise _waits_or_refused(
            event.source,
            waiting_for=f"task:{data.meeting_id}:{data.task_id}",
            field="data.task_id",
            missing=f"task {data.task_id} is not in the minutes of meeting {data.meeting_id}",
            why="a secretary marks done a task of the meeting's recorded minutes",
            code=RefusalCode.TASK_NOT_IN_MINUTES,
        )
    changed = await uow.meetings.complete_task(data, version=version_of(event))
    return Applied(subject=data.task_id, changed=changed)


def _waits_or_refused(
    source: str, *, waiting_for: str, field: str, missing: str, why: str, code: RefusalCode
) -> Exception:
    """What to raise when a fact's referent `waiting_for` (e.g. "roster:<meeting id>") is not known yet: an
    integration's fact is held for it, naming `field` and what is `missing`; a person's command is refused at once
    with `code`, saying also `why` (domain.held_or_refused; CONTRACT.md: order is not guaranteed)."""
    held = Held(waiting_for=waiting_for, reason=f"{field}: {missing}", field=field)
    return domain.held_or_refused(held, source=source, refusal=Refusal(code=code), reason=f"{held.reason}; {why}")


async def _moves_undone(
    uow: MeetingsUnit, meeting: domain.MeetingState, data: contract.MinutesSubmitted, *, version: Version
) -> domain.UndoneMoves | None:
    """The integrations' moves that minutes `data` (to be stored: newer than the stored ones) undo, for a meeting
    whose start was set after the end they give (domain.moves_undone_by_minutes); None otherwise, without a read."""
    start = meeting.start_version
    if start is None or start[0] <= data.ended_at or not is_newer(version, meeting.minutes_version):
        return None
    return domain.moves_undone_by_minutes(await uow.meetings.start_facts(meeting.meeting_id), ended_at=data.ended_at)


async def _undo_moves(
    uow: MeetingsUnit,
    meeting: domain.MeetingState,
    undo: domain.UndoneMoves,
    *,
    event: Event[Any],
    refusal: Callable[[domain.StartFact], InvalidEvent],
    route: str,
    announce: bool,
) -> None:
    """Minutes or a cancellation (`event`) arriving after integrations' moves issued after the meeting ended or was
    cancelled make the state the one the other order leaves (CONTRACT.md): the start (and place) back to the facts in
    force, each undone move rejected as it is when it arrives after `event` (`refusal` of it; stored by `route`,
    ingest.rejected.v1, its inbox row forgotten so it is judged again if sent again), and, when `announce`, a
    meeting.rescheduled.v1 giving the start in force again: the undone moves were re-published, and its version (the
    latest undone move's time, its id suffixed `.undone`) is newer than theirs for every listener that orders starts
    by (time, id). A cancelled meeting's start is not announced again (nothing announces a cancelled meeting)."""
    from services.meetings.handlers.ingest import SOURCE, reject  # ingest imports this module

    await uow.meetings.restore_start(meeting.meeting_id, start=undo.start, location=undo.location, undone=undo.undone)
    if undo.schedule is not None:  # a re-sent schedule undone: the meeting is again what the kept one says
        await uow.meetings.restore_schedule(meeting.meeting_id, fact=undo.schedule)
    for fact in undo.undone:
        refused = refusal(fact)
        await reject(
            uow,
            source=fact.source,
            event_id=fact.version[2],
            event_type="meeting.scheduled.v1" if fact.kind == "schedule" else "meeting.rescheduled.v1",
            reason=refused.reason,
            field=refused.field,
            raw=fact.raw,
            route=route,
            received_at=now(),
            correlation_id=event.correlation_id,
            scope=await rejudged_scope(uow, fact.source),  # its sender's, as an undone roster's (rejudged_scope)
            refusal=refused.refusal,
            account=fact.sender,  # as it came (meetings 0038): replayed as that account
            sources_listed=False,  # judged again by the registry, as rejudged_scope says
        )
    if not announce:
        return
    last = undo.undone[-1]
    data: dict[str, Any] = {"meeting_id": meeting.meeting_id, "starts_at": undo.start.starts_at.isoformat()}
    if undo.location is not None:
        data["location"] = undo.location.location
    uow.emit(
        CloudEvent.of_checked(
            id=new_id(),
            source=SOURCE,
            type="meeting.rescheduled.v1",
            time=last.version[0],
            time_ns=last.version[1],
            subject=meeting.meeting_id,
            data=data,
            correlationid=event.correlation_id,
            causationid=event.id,
            originsource=last.source,
            originid=f"{last.version[2]}.undone",
        )
    )


UNDONE_ROUTE = "undone-by-minutes"
"""The route a move undone by later-arriving minutes is stored as rejected by (it came in by another, earlier)."""

UNDONE_BY_CANCELLATION = "undone-by-cancellation"
"""The route a move undone by a later-arriving cancellation issued before it is stored as rejected by."""


def _cancelled(meeting: domain.MeetingState | None) -> bool:
    """Whether the meeting is stored cancelled: a schedule or move then applied (issued before the cancellation: one
    issued after it is refused) is stored by version (any arrival order ends the same, CONTRACT.md) but not
    re-published, so no listener hears a cancelled meeting go ahead."""
    return meeting is not None and meeting.cancel_version is not None


async def _held_roster(uow: MeetingsUnit, meeting: domain.MeetingState) -> list[str]:
    """The members on the meeting's roster, held exclusively: the meeting becoming held or no longer held changes
    their attendance histories, which the event publishes (as apply_attendance holds the members it drops,
    locks.py)."""
    affected = sorted(set(await uow.meetings.roster_members(meeting.meeting_id)))
    await uow.ingest.lock(LockSet(exclusive=frozenset(member_key(member_id) for member_id in affected)))
    return affected


async def _check_roster_at_start(
    uow: MeetingsUnit, meeting: domain.MeetingState, *, starts_at: Any, source: str
) -> None:
    """The meeting's stored roster fits `starts_at`, the start a secretary moves it to, as a secretary's roster is
    judged at the meeting's start: the members it lists (other than as transferred) are the cell's then
    (domain.check_roster_fits_start), and every member of the cell then is on it (domain.check_roster_covers_start,
    those it left out at the start it had aside), named in Vietnamese name order."""
    stored = await uow.meetings.stored_roster(meeting.meeting_id)
    records = (stored or {}).get("records", [])
    recorded = {str(r["member_id"]) for r in records}
    listed = sorted({str(r["member_id"]) for r in records if r["status"] != TRANSFERRED.value})
    if listed:
        histories = await uow.org.histories(listed)
        brief = await uow.org.members_brief(listed)
        names = {member_id: str((brief.get(member_id) or {}).get("full_name") or member_id) for member_id in listed}
        domain.check_roster_fits_start(
            cell_id=meeting.cell_id,
            starts_at=starts_at,
            listed=dict(sorted(names.items(), key=lambda item: (person_key(item[1]), item[0]))),
            histories=histories,
            source=source,
        )
    members = await _members_at_start(uow, meeting, at=starts_at)
    left_out_before = set(await _members_at_start(uow, meeting)) - recorded
    domain.check_roster_covers_start(
        cell_id=meeting.cell_id,
        starts_at=starts_at,
        members=members,
        recorded=recorded,
        left_out_before=left_out_before,
        source=source,
    )


async def _members_at_start(
    uow: MeetingsUnit, meeting: domain.MeetingState, *, at: datetime | None = None
) -> dict[str, str]:
    """Member id to full name of the cell's members by the snapshots in force at the meeting's start (or `at`, a start
    it is moved to; DOMAIN.md "How to read it"), in Vietnamese name order; their keys held shared, so no snapshot of
    them commits unseen."""
    return await _named(uow, await _ids_at_start(uow, meeting, at=at))


async def _ids_at_start(uow: MeetingsUnit, meeting: domain.MeetingState, *, at: datetime | None = None) -> list[str]:
    """The ids of _members_at_start, unnamed and unordered (no statement for their names); keys held shared."""
    candidates = await uow.org.ever_in_cell(meeting.cell_id)
    await uow.ingest.lock(LockSet(shared=frozenset(member_key(member_id) for member_id in candidates)))
    histories = await uow.org.histories(candidates)
    return domain.members_at(meeting.cell_id, meeting.starts_at if at is None else at, histories)


async def _named(uow: MeetingsUnit, member_ids: Sequence[str]) -> dict[str, str]:
    """Member id to full name (the id when unnamed) of `member_ids`, in Vietnamese name order; no statement for none."""
    if not member_ids:
        return {}
    brief = await uow.org.members_brief(member_ids)
    names = {member_id: str((brief.get(member_id) or {}).get("full_name") or member_id) for member_id in member_ids}
    return dict(sorted(names.items(), key=lambda item: (person_key(item[1]), item[0])))


async def _check_assessor(
    uow: MeetingsUnit, meeting: domain.MeetingState, assessor: contract.Assessor, *, source: str
) -> None:
    """An assessor named by `person_id` is, as upper_monitor, assigned to follow the meeting's cell
    (domain.check_assessor_monitor), and otherwise (the members' vote, the cell committee) a member of the cell on
    the meeting's date (check_members_in_cell, naming `data.assessor.person_id`). An assessor without a person is
    taken as sent (CONTRACT.md: `person_id` is optional)."""
    person_id = assessor.person_id
    if person_id is None:
        return
    if assessor.role == contract.AssessorRole.UPPER_MONITOR:
        # held shared: an assignment of this person to the cell commits before this judgement or after the hold
        await uow.ingest.lock(LockSet(shared=frozenset({monitor_key(person_id, meeting.cell_id)})))
        assigned = await uow.org.monitor_assigned(person_id, meeting.cell_id)
        domain.check_assessor_monitor(assigned=assigned, person_id=person_id, cell_id=meeting.cell_id, source=source)
        return
    await _check_members(uow, meeting=meeting, references=[("data.assessor.person_id", person_id)], source=source)


async def _roster_statuses(uow: MeetingsUnit, meeting: domain.MeetingState) -> dict[str, str] | None:
    """Member to status on the meeting's stored roster, None while no roster is known."""
    return await uow.meetings.roster_statuses(meeting.meeting_id) if meeting.has_roster else None


def _present(statuses: dict[str, str] | None) -> int | None:
    """How many members the roster lists present, None while no roster is known."""
    return None if statuses is None else sum(1 for status in statuses.values() if status == "present")


async def _check_members(
    uow: MeetingsUnit, *, meeting: domain.MeetingState, references: list[tuple[str, str]], source: str
) -> None:
    """The (field, member id) pairs are the meeting's cell's members on its date (domain.check_members_in_cell)."""
    histories = await uow.org.histories(sorted({member_id for _, member_id in references}))
    domain.check_members_in_cell(
        cell_id=meeting.cell_id, at=meeting.starts_at, references=references, histories=histories, source=source
    )


Applier = Callable[[Event[Any], MeetingsUnit], Awaitable[Applied]]

APPLIERS: dict[str, Applier] = {
    "org.unit.upserted.v1": apply_unit,
    "member.upserted.v1": apply_member,
    "member.removed.v1": apply_member_removed,
    "monitor.assigned.v1": apply_monitor,
    "meeting.scheduled.v1": apply_scheduled,
    "meeting.rescheduled.v1": apply_rescheduled,
    "meeting.cancelled.v1": apply_cancelled,
    "documents.published.v1": apply_documents,
    "attendance.recorded.v1": apply_attendance,
    "minutes.submitted.v1": apply_minutes,
    "minutes.approved.v1": apply_approved,
    "meeting.assessed.v1": apply_assessed,
    "task.completed.v1": apply_task_completed,
}
"""One applier per accepted type (CONTRACT.md "types in")."""
