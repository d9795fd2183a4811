"""In-memory doubles of the meetings unit of work and its repositories, for the rule tests.

`FakeStore` is the "database"; a `FakeUnitOfWork` works on a copy of it and writes the copy back on
commit only (leaving without commit rolls back, a failing savepoint restores what was before it), so
handlers meet the same transaction semantics as with PostgreSQL. The repositories follow the snapshot
rules of their Pg counterparts: a write is kept only when its (time, ns, id) version is newer.
"""

import copy
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Any, Self

from services.meetings.domain import (
    AttendanceEntry,
    LockSet,
    MeetingState,
    StartFact,
    UnitRef,
    Version,
    attendance_history,
    first_cancellation,
    probation_ends_on,
    scheduled_from_fact,
)
from services.meetings.repository.ingest import ProcessedBefore, StoredRejection
from shared.contracts import meetings as contract
from shared.contracts.frameworks import FrameworkAdopted, ItemTable, table_of
from shared.contracts.meetings_rpc import NO_CODE
from shared.envelope import CloudEvent, now
from shared.membership import MemberVersion
from shared.minutes import adopted_version, minutes_content_key, roster_content_key
from shared.refusals import Refusal, RefusalCode
from tests.meetings.events import BASE_TIME, TEST_ROOT


def newer(candidate: Version, stored: Version | None) -> bool:
    """True when a write at `candidate` replaces what was stored at `stored`."""
    return stored is None or stored < candidate


ROOT_RECORD: dict[str, Any] = {
    "id": TEST_ROOT,
    "name": "Tỉnh ủy thử",
    "kind": "committee",
    "parent_id": None,
    "version": (BASE_TIME, 0, "root"),
}
"""The tests' province committee (tests.meetings.events.TEST_ROOT), known to every fake store."""


@dataclass
class FakeState:
    """Everything the meetings schema holds, as plain values."""

    units: dict[str, dict[str, Any]] = field(default_factory=lambda: {TEST_ROOT: dict(ROOT_RECORD)})
    member_versions: dict[str, list[tuple[MemberVersion, dict[str, Any]]]] = field(default_factory=dict)
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    monitors: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    meetings: dict[str, dict[str, Any]] = field(default_factory=dict)
    start_facts: dict[str, list[StartFact]] = field(default_factory=dict)
    rosters: dict[str, dict[str, Any]] = field(default_factory=dict)
    minutes: dict[str, dict[str, Any]] = field(default_factory=dict)
    minutes_content: dict[str, dict[Version, str]] = field(default_factory=dict)
    roster_content: dict[str, dict[Version, str]] = field(default_factory=dict)
    tasks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    completions: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    documents: set[tuple[str, str, str, int]] = field(default_factory=set)
    assessments: set[tuple[str, str, str]] = field(default_factory=set)
    held: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    rejections: dict[str, dict[str, Any]] = field(default_factory=dict)
    processed: set[tuple[str, str, str]] = field(default_factory=set)
    digests: dict[tuple[str, str, str], bytes] = field(default_factory=dict)
    processed_at: dict[tuple[str, str, str], datetime] = field(default_factory=dict)
    inbox_routes: dict[tuple[str, str, str], str] = field(default_factory=dict)
    stored_by: dict[tuple[str, str, str], str | None] = field(default_factory=dict)
    registered_sources: dict[str, str] = field(default_factory=dict)
    roster_history: dict[str, list[tuple[Version, str, str]]] = field(default_factory=dict)
    """The integrations' rosters accepted per meeting (version, source, raw), as roster_history."""
    roster_senders: dict[tuple[str, Version], str | None] = field(default_factory=dict)
    """The account that sent each kept roster (meeting, version), as roster_history's sender."""
    outbox: list[CloudEvent] = field(default_factory=list)
    figures: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    announced: dict[str, int] = field(default_factory=dict)
    """How many announcements of each member were published (attendance_figures.announced_sequence)."""
    framework_tables: dict[tuple[str, str, str, date], ItemTable] = field(default_factory=dict)


class FakeStore:
    """The committed state, shared by every unit of work of a test."""

    def __init__(self) -> None:
        self.state = FakeState()

    def uow(self) -> "FakeUnitOfWork":
        """A new unit of work on this store (use as the handlers' unit-of-work factory)."""
        return FakeUnitOfWork(self)

    def rejection_of(self, event_id: str) -> dict[str, Any] | None:
        """The stored rejection of an event, if any."""
        return next((r for r in self.state.rejections.values() if r["event_id"] == event_id), None)

    def held_event(self, event_id: str) -> dict[str, Any] | None:
        """The held event with this id, if any."""
        return next((h for (_, held_id), h in self.state.held.items() if held_id == event_id), None)

    def published(self, event_type: str | None = None) -> list[CloudEvent]:
        """The committed outbox, optionally of one type."""
        return [e for e in self.state.outbox if event_type is None or e.type == event_type]


class FakeOrg:
    """OrgRepository in memory."""

    def __init__(self, uow: "FakeUnitOfWork") -> None:
        self._uow = uow

    @property
    def _s(self) -> FakeState:
        return self._uow.state

    async def get_unit(self, unit_id: str) -> UnitRef | None:
        """The unit's kind and parent."""
        unit = self._s.units.get(unit_id)
        return UnitRef(id=unit_id, kind=unit["kind"], parent_id=unit.get("parent_id")) if unit else None

    async def unit_record(self, unit_id: str) -> dict[str, Any] | None:
        """The unit's stored snapshot."""
        unit = self._s.units.get(unit_id)
        return {key: value for key, value in unit.items() if key != "version"} if unit else None

    async def ancestors(self, unit_id: str, *, fresh: bool = False) -> list[str]:
        """Root first, down to the unit, as far as known."""
        chain: list[str] = []
        current: str | None = unit_id
        while current is not None and current in self._s.units and current not in chain:
            chain.insert(0, current)
            current = self._s.units[current].get("parent_id")
        return chain

    async def upsert_unit(self, data: dict[str, Any], *, version: Version) -> bool:
        """Keep the snapshot when newer."""
        stored = self._s.units.get(data["id"])
        if stored is not None and not newer(version, stored["version"]):
            return False
        self._s.units[data["id"]] = {**data, "version": version}
        return True

    async def histories(self, member_ids: Sequence[str]) -> dict[str, list[MemberVersion]]:
        """Every version of the members."""
        return {
            member_id: [version for version, _ in self._s.member_versions[member_id]]
            for member_id in member_ids
            if member_id in self._s.member_versions
        }

    async def add_member_version(
        self,
        *,
        member_id: str,
        effective_at: datetime,
        effective_ns: int,
        version_id: str,
        removed: bool,
        cell_id: str | None,
        data: dict[str, Any],
    ) -> Version | None:
        """Keep a snapshot or removal (once per version); the current member row's version before it."""
        current = self._s.members.get(member_id)
        before = current["version"] if current else None
        versions = self._s.member_versions.setdefault(member_id, [])
        if not any(
            (v.effective_at, v.version_id, v.removed) == (effective_at, version_id, removed) for v, _ in versions
        ):
            version = MemberVersion(effective_at, version_id, removed, cell_id, effective_ns)
            versions.append((version, json.loads(json.dumps(data))))
        return before

    async def refresh_member(self, member_id: str) -> None:
        """Rebuild the current member from its history: the latest snapshot's data, the latest removal."""
        ordered = sorted(
            self._s.member_versions.get(member_id, []),
            key=lambda v: (v[0].effective_at, v[0].effective_ns, v[0].version_id),
        )
        snapshots = [(v, d) for v, d in ordered if not v.removed]
        if not snapshots:
            return
        version, data = snapshots[-1]
        latest, latest_data = ordered[-1]
        admitted_on = date.fromisoformat(data["admitted_on"]) if data.get("admitted_on") else None
        self._s.members[member_id] = {
            **data,
            "id": member_id,
            "role": data.get("role", "member"),
            "admitted_on": admitted_on,
            "probation_ends_on": probation_ends_on(status=data["status"], admitted_on=admitted_on),
            "removed_on": date.fromisoformat(latest_data["effective_on"]) if latest.removed else None,
            "version": (version.effective_at, version.effective_ns, version.version_id),
        }

    async def upsert_monitor(self, data: dict[str, Any], *, version: Version) -> bool:
        """Keep the assignment when newer."""
        key = (data["person_id"], data["cell_id"])
        stored = self._s.monitors.get(key)
        if stored is not None and not newer(version, stored["version"]):
            return False
        self._s.monitors[key] = {**data, "version": version}
        return True

    async def prefetch(
        self, *, unit_ids: Iterable[str], member_ids: Iterable[str], monitors: Iterable[tuple[str, str]] = ()
    ) -> None:
        """Nothing to read ahead in memory."""

    async def members_brief(self, member_ids: Sequence[str]) -> Mapping[str, Mapping[str, Any]]:
        """Name, cell and probation end of the current members."""
        return {
            member_id: {key: member[key] for key in ("id", "full_name", "cell_id", "probation_ends_on")}
            for member_id in member_ids
            if (member := self._s.members.get(member_id)) is not None
        }

    async def ever_in_cell(self, cell_id: str) -> list[str]:
        """The members some version ever put in the cell, sorted."""
        return sorted(
            member_id
            for member_id, versions in self._s.member_versions.items()
            if any(version.cell_id == cell_id for version, _ in versions)
        )

    async def prefetch_cells(self, cell_ids: Iterable[str]) -> None:
        """Nothing to read ahead in memory."""

    async def monitor_assigned(self, person_id: str, cell_id: str) -> bool:
        """Whether the assignment is stored."""
        return (person_id, cell_id) in self._s.monitors


class FakeMeetings:
    """MeetingRepository in memory."""

    def __init__(self, uow: "FakeUnitOfWork") -> None:
        self._uow = uow

    @property
    def _s(self) -> FakeState:
        return self._uow.state

    async def prefetch(self, meeting_ids: Iterable[str]) -> set[str]:
        """Nothing to read ahead in memory; the cells of the meetings known."""
        return {self._s.meetings[m]["cell_id"] for m in meeting_ids if m in self._s.meetings}

    def _adopted_key(self, meeting_id: str, approval: Version | None, *, of: str = "minutes_content") -> str | None:
        """The content key of the minutes (or roster: `of`) in force at the adoption `approval` (shared.minutes)."""
        if approval is None:
            return None
        keys = getattr(self._s, of).get(meeting_id, {})
        taken = adopted_version(keys, approval[0])
        return keys[taken] if taken is not None else None

    async def get_state(self, meeting_id: str, *, adoption_current: bool = False) -> MeetingState | None:
        """The lifecycle facts of a meeting (read whole every time: always adoption_current)."""
        meeting = self._s.meetings.get(meeting_id)
        if meeting is None:
            return None
        roster, minutes = self._s.rosters.get(meeting_id), self._s.minutes.get(meeting_id)
        return MeetingState(
            meeting_id=meeting_id,
            cell_id=meeting["cell_id"],
            kind=meeting["kind"],
            starts_at=meeting["starts_at"],
            cancel_version=meeting.get("cancel_version"),
            last_cancel_version=meeting.get("last_cancel_version"),
            minutes_key=self._s.minutes_content.get(meeting_id, {}).get(minutes["version"]) if minutes else None,
            adopted_key=self._adopted_key(meeting_id, meeting.get("approval_version")),
            roster_key=self._s.roster_content.get(meeting_id, {}).get(roster["version"]) if roster else None,
            adopted_roster_key=self._adopted_key(meeting_id, meeting.get("approval_version"), of="roster_content"),
            has_roster=roster is not None,
            has_minutes=minutes is not None,
            minutes_version=minutes["version"] if minutes else None,
            roster_version=roster["version"] if roster else None,
            approval_version=meeting.get("approval_version"),
            minutes_ended_at=datetime.fromisoformat(minutes["ended_at"]) if minutes else None,
            minutes_started_at=datetime.fromisoformat(minutes["started_at"]) if minutes else None,
            start_version=meeting.get("start_version"),
            held_recorded_at=meeting.get("held_recorded_at"),
            notified_at=meeting.get("notified_at"),
        )

    async def starting_near(
        self, cell_id: str, starts_at: datetime, *, window: timedelta, other_than: str
    ) -> list[dict[str, Any]]:
        """The cell's meetings, not cancelled and other than `other_than`, starting less than `window` away."""
        found = [
            {"meeting_id": m["meeting_id"], "starts_at": m["starts_at"], "location": m.get("location")}
            for m in self._s.meetings.values()
            if m["cell_id"] == cell_id
            and m["meeting_id"] != other_than
            and m.get("cancel_version") is None
            and abs(m["starts_at"] - starts_at) < window
        ]
        return sorted(found, key=lambda m: (m["starts_at"], m["meeting_id"]))

    def record_held(self, meeting_id: str, *, at: datetime) -> None:
        """Keep the earliest time the meeting was recorded as already held."""
        meeting = self._s.meetings[meeting_id]
        kept = meeting.get("held_recorded_at")
        meeting["held_recorded_at"] = at if kept is None else min(kept, at)

    def add_start_fact(self, meeting_id: str, fact: StartFact) -> None:
        """Keep an accepted schedule or move beside the current start."""
        facts = self._s.start_facts.setdefault(meeting_id, [])
        if all(kept.version != fact.version for kept in facts):
            facts.append(fact)

    async def start_facts(self, meeting_id: str) -> list[StartFact]:
        """The meeting's kept schedules and moves, oldest first."""
        return sorted(self._s.start_facts.get(meeting_id, []), key=lambda fact: fact.version)

    async def restore_start(
        self, meeting_id: str, *, start: StartFact, location: StartFact | None, undone: Sequence[StartFact]
    ) -> None:
        """Set the start (and place) back to the facts in force and forget the undone moves."""
        meeting = self._s.meetings[meeting_id]
        meeting.update(starts_at=start.starts_at, start_version=start.version, reschedule_reason=start.reason)
        if location is not None:
            meeting.update(location=location.location, location_version=location.version)
        gone = {fact.version for fact in undone}
        self._s.start_facts[meeting_id] = [f for f in self._s.start_facts.get(meeting_id, []) if f.version not in gone]

    async def restore_schedule(self, meeting_id: str, *, fact: StartFact) -> None:
        """Set what a schedule says besides its start and place back to the kept schedule `fact`."""
        data, notified_at = scheduled_from_fact(fact)
        self._s.meetings[meeting_id].update(
            kind=data.kind.value,
            topic=data.topic,
            agenda=list(data.agenda),
            notified_at=notified_at,
            committee_prepared=data.committee_prepared,
            schedule_version=fact.version,
        )

    async def schedule(self, data: contract.MeetingScheduled, *, version: Version, notified_at: datetime) -> bool:
        """Create the meeting or merge a newer schedule; start and place only when newer than their own versions."""
        stored = self._s.meetings.get(data.meeting_id)
        if stored is not None and not newer(version, stored["schedule_version"]):
            return False
        meeting = dict(stored or {})
        meeting.update(
            meeting_id=data.meeting_id,
            cell_id=data.cell_id,
            kind=data.kind.value,
            topic=data.topic,
            agenda=list(data.agenda),
            notified_at=notified_at,
            committee_prepared=data.committee_prepared,
            schedule_version=version,
        )
        if newer(version, meeting.get("start_version")):
            meeting.update(starts_at=data.starts_at, start_version=version)
        if newer(version, meeting.get("location_version")):
            meeting.update(location=data.location, location_version=version)
        self._s.meetings[data.meeting_id] = meeting
        return True

    async def reschedule(self, data: contract.MeetingRescheduled, *, version: Version) -> bool:
        """Move the start (and place) when this is the latest word on them."""
        meeting = self._s.meetings.get(data.meeting_id)
        if meeting is None:
            return False
        moved = relocated = False
        if newer(version, meeting.get("start_version")):
            meeting.update(starts_at=data.starts_at, start_version=version, reschedule_reason=data.reason)
            moved = True
        if data.location is not None and newer(version, meeting.get("location_version")):
            meeting.update(location=data.location, location_version=version)
            relocated = True
        return moved or relocated

    async def cancel(self, data: contract.MeetingCancelled, *, version: Version) -> bool:
        """Mark the meeting cancelled from its earliest cancellation, the latest one's reason winning."""
        meeting = self._s.meetings.get(data.meeting_id)
        if meeting is None:
            return False
        state = await self.get_state(data.meeting_id)
        assert state is not None
        first, last = first_cancellation(state, version)
        if (first, last) == (state.cancel_version, state.last_cancel_version):
            return False
        if last == version:
            meeting.update(cancel_reason=data.reason)
        meeting.update(cancel_version=first, last_cancel_version=last)
        return True

    async def replace_roster(self, data: contract.AttendanceRecorded, *, version: Version) -> list[str]:
        """Replace the roster; the members of the previous one."""
        previous = self._s.rosters.get(data.meeting_id)
        self._s.rosters[data.meeting_id] = {
            "records": [r.model_dump(mode="json") for r in data.records],
            "guests": [g.model_dump(mode="json", exclude_none=True) for g in data.guests],
            "version": version,
        }
        return [record["member_id"] for record in previous["records"]] if previous else []

    async def prefetch_naming(self, member_ids: Iterable[str]) -> set[str]:
        """Nothing to read ahead in memory; the members on the rosters naming them, stored or kept in a history."""
        meetings = {meeting_id for member_id in set(member_ids) for meeting_id in await self.rosters_naming(member_id)}
        stored = {r["member_id"] for m in meetings for r in self._s.rosters.get(m, {"records": []})["records"]}
        kept = {member for m in meetings for _, _, raw in self._s.roster_history.get(m, []) for member in _listed(raw)}
        return stored | kept

    async def rosters_naming(self, member_id: str) -> list[str]:
        """The meetings whose roster, or a roster kept in their history, lists the member other than transferred."""
        stored = {
            meeting_id
            for meeting_id, roster in self._s.rosters.items()
            if any(r["member_id"] == member_id and r["status"] != "transferred" for r in roster["records"])
        }
        kept = {
            meeting_id
            for meeting_id, history in self._s.roster_history.items()
            for _, _, raw in history
            if member_id in _listed(raw)
        }
        return sorted(stored | kept)

    async def roster_history(self, meeting_id: str) -> list[tuple[Version, str, str]]:
        """The integrations' rosters kept for the meeting, newest first."""
        return sorted(self._s.roster_history.get(meeting_id, []), key=lambda entry: entry[0], reverse=True)

    def kept_sender(self, meeting_id: str, version: Version) -> str | None:
        """The account that sent a roster kept in the meeting's history (None: not known)."""
        return self._s.roster_senders.get((meeting_id, version))

    async def forget_roster(self, meeting_id: str, version: Version) -> None:
        """Drop a roster from the meeting's history."""
        history = self._s.roster_history.get(meeting_id, [])
        history[:] = [entry for entry in history if entry[0] != version]

    async def drop_roster(self, meeting_id: str) -> None:
        """Withdraw the stored roster."""
        roster = self._s.rosters.pop(meeting_id, None)
        if roster is not None:
            self._s.roster_content.get(meeting_id, {}).pop(roster["version"], None)

    async def roster_members(self, meeting_id: str) -> list[str]:
        """The members on the meeting's roster (none without a roster)."""
        roster = self._s.rosters.get(meeting_id)
        return [record["member_id"] for record in roster["records"]] if roster else []

    async def roster_statuses(self, meeting_id: str) -> dict[str, str]:
        """Each member on the meeting's roster and their status (empty without a roster)."""
        roster = self._s.rosters.get(meeting_id)
        return {record["member_id"]: record["status"] for record in roster["records"]} if roster else {}

    async def replace_minutes(self, data: contract.MinutesSubmitted, *, version: Version) -> None:
        """Store the minutes and their tasks, replacing earlier ones."""
        self._s.minutes[data.meeting_id] = {**data.model_dump(mode="json", exclude={"tasks"}), "version": version}
        self._s.tasks[data.meeting_id] = [t.model_dump(mode="json") for t in data.tasks]

    async def record_minutes_content(self, data: contract.MinutesSubmitted, *, version: Version) -> None:
        """Keep the content key of minutes taken, older ones too (shared.minutes)."""
        self._s.minutes_content.setdefault(data.meeting_id, {})[version] = minutes_content_key(data)

    async def record_roster_content(
        self,
        data: contract.AttendanceRecorded,
        *,
        version: Version,
        source: str | None = None,
        raw: str | None = None,
        sender: str | None = None,
    ) -> None:
        """Keep the content key of a roster taken, older ones too (shared.minutes), and an integration's in history."""
        self._s.roster_content.setdefault(data.meeting_id, {})[version] = roster_content_key(data)
        if source is not None and raw is not None:
            history = self._s.roster_history.setdefault(data.meeting_id, [])
            if all(entry[0] != version for entry in history):
                history.append((version, source, raw))
                self._s.roster_senders[(data.meeting_id, version)] = sender

    async def stored_minutes(self, meeting_id: str) -> dict[str, Any] | None:
        """The stored minutes as MinutesSubmitted.model_dump() gives them, None without minutes."""
        minutes = self._s.minutes.get(meeting_id)
        if minutes is None:
            return None
        fields = {key: value for key, value in minutes.items() if key != "version"}
        stored = contract.MinutesSubmitted.model_validate({**fields, "tasks": self._s.tasks.get(meeting_id, [])})
        return stored.model_dump()

    async def stored_roster(self, meeting_id: str) -> dict[str, Any] | None:
        """The stored roster: its records and guests, None without a roster."""
        roster = self._s.rosters.get(meeting_id)
        if roster is None:
            return None
        records = [
            {"member_id": r["member_id"], "status": r["status"], "reason": r.get("reason")} for r in roster["records"]
        ]
        guests = [{key: value for key, value in guest.items() if value is not None} for guest in roster["guests"]]
        return {"records": records, "guests": guests}

    async def stored_approval(self, meeting_id: str) -> tuple[datetime, int | None, int | None] | None:
        """The stored adoption's moment and votes (approved_at, for, against), None when not adopted."""
        meeting = self._s.meetings.get(meeting_id)
        if meeting is None or meeting.get("approval_version") is None:
            return None
        return meeting["approved_at"], meeting.get("approval_votes_for"), meeting.get("approval_votes_against")

    async def approve(self, data: contract.MinutesApproved, *, version: Version) -> bool:
        """Record the approval unless a later one is stored."""
        meeting = self._s.meetings.get(data.meeting_id)
        if meeting is None or not newer(version, meeting.get("approval_version")):
            return False
        meeting.update(
            approved_at=data.approved_at,
            approval_votes_for=data.votes_for,
            approval_votes_against=data.votes_against,
            approval_version=version,
        )
        return True

    async def add_documents(self, data: contract.DocumentsPublished, *, source: str, event_id: str) -> None:
        """Keep the published items."""
        self._s.documents.update((data.meeting_id, source, event_id, i) for i in range(len(data.items)))

    async def add_assessment(
        self, data: contract.MeetingAssessed, *, source: str, event_id: str, assessed_time: datetime, assessed_ns: int
    ) -> None:
        """Keep one assessment."""
        self._s.assessments.add((data.meeting_id, source, event_id))

    async def task_exists(self, *, meeting_id: str, task_id: str) -> bool:
        """True when the meeting's minutes assign the task."""
        return any(task["task_id"] == task_id for task in self._s.tasks.get(meeting_id, []))

    async def complete_task(self, data: contract.TaskCompleted, *, version: Version) -> bool:
        """Record the completion unless a later report is stored."""
        key = (data.meeting_id, data.task_id)
        stored = self._s.completions.get(key)
        if stored is not None and not newer(version, stored["version"]):
            return False
        self._s.completions[key] = {"completed_on": data.completed_on, "version": version}
        return True

    async def attendance_entries(self, member_ids: Sequence[str]) -> dict[str, list[AttendanceEntry]]:
        """Each member's status on every roster of a meeting that is not cancelled, each saying whether the meeting
        is held (has minutes)."""
        found: dict[str, list[AttendanceEntry]] = {member_id: [] for member_id in member_ids}
        for meeting_id, roster in self._s.rosters.items():
            meeting = self._s.meetings[meeting_id]
            if meeting.get("cancel_version") is not None:
                continue
            held = meeting_id in self._s.minutes
            for record in roster["records"]:
                if record["member_id"] in found:
                    found[record["member_id"]].append(
                        AttendanceEntry(
                            meeting_id=meeting_id, starts_at=meeting["starts_at"], status=record["status"], held=held
                        )
                    )
        return found

    async def attendance_news(
        self, member_ids: Sequence[str], *, announcements: Mapping[str, int] | None = None
    ) -> dict[str, dict[str, Any]]:
        """The current members whose figures (domain.attendance_history) differ from the last announced, with name,
        cell, probation end and the last announcement's number (`announcements` of a member take as many numbers,
        default 1); remembers them as announced."""
        entries = await self.attendance_entries(member_ids)
        members = await self._uow.org.members_brief(member_ids)
        news: dict[str, dict[str, Any]] = {}
        for member_id in dict.fromkeys(member_ids):
            member = members.get(member_id)
            if member is None:
                continue
            history = attendance_history(entries[member_id])
            figures = (
                history.consecutive_absences,
                history.consecutive_excused_absences,
                history.unexcused_months_last_year,
            )
            if self._s.figures.get(member_id) == figures:
                continue
            self._s.figures[member_id] = figures
            taken = max(1, (announcements or {}).get(member_id, 1))
            self._s.announced[member_id] = self._s.announced.get(member_id, 0) + taken
            news[member_id] = {
                "member_id": member_id,
                "consecutive_absences": figures[0],
                "consecutive_excused_absences": figures[1],
                "unexcused_months_last_year": figures[2],
                "full_name": member["full_name"],
                "cell_id": member["cell_id"],
                "probation_ends_on": member["probation_ends_on"],
                "sequence": self._s.announced[member_id],
            }
        return news


class FakeIngest:
    """IngestRepository in memory."""

    def __init__(self, uow: "FakeUnitOfWork") -> None:
        self._uow = uow
        self._deferred: list[tuple[str, str]] = []
        self._first_received: dict[tuple[str, str], datetime | None] = {}
        self._first_routes: dict[tuple[str, str], str | None] = {}
        self._stored_by: dict[tuple[str, str], str | None] = {}
        self._read_before: dict[tuple[str, str], tuple[str, ProcessedBefore]] = {}

    @property
    def _s(self) -> FakeState:
        return self._uow.state

    async def hold(
        self,
        *,
        source: str,
        event_id: str,
        event_type: str,
        raw: dict[str, Any],
        waiting_for: str,
        reason: str,
        field: str | None,
        route: str,
        scope: str | None = None,
        refusal: Refusal | None = None,
        answer: str | None = None,
        account: str | None = None,
        message_id: str | None = None,
        sources_listed: bool = True,
    ) -> None:
        """Park the event (keeping its first hold time, its write scope, account, AMQP message id and sources rule,
        why by code, and the sender's answer)."""
        key = (source, event_id)
        self._read_before.pop(key, None)
        first = self._s.held.get(key, {}).get("held_at", now())
        self._s.held[key] = {
            "source": source,
            "event_id": event_id,
            "type": event_type,
            "raw": json.dumps(raw, ensure_ascii=False),
            "waiting_for": waiting_for,
            "reason": reason,
            "field": field,
            "route": route,
            "scope": scope,
            "refusal": refusal,
            "answer": answer if answer != reason else None,
            "account": account,
            "message_id": message_id,
            "sources_listed": sources_listed,
            "held_at": first,
            "released_at": None,
        }

    async def waiting_for(self, keys: Sequence[str]) -> Sequence[Mapping[str, Any]]:
        """Held events waiting for any of the keys, oldest first."""
        found = [h for h in self._s.held.values() if h["waiting_for"] in keys and not h.get("released_at")]
        return sorted(found, key=lambda h: (h["held_at"], h["source"], h["event_id"]))

    async def release(self, *, source: str, event_id: str) -> None:
        """Forget a held event."""
        self._read_before.pop((source, event_id), None)
        self._s.held.pop((source, event_id), None)

    async def expired(self, *, older_than: datetime, limit: int) -> Sequence[Mapping[str, Any]]:
        """Held events that waited since before `older_than`."""
        found = sorted((h for h in self._s.held.values() if h["held_at"] < older_than), key=lambda h: h["held_at"])
        return found[:limit]

    async def reject(
        self,
        *,
        source: str,
        event_id: str,
        event_type: str,
        reason: str,
        field: str | None,
        raw: str,
        route: str,
        received_at: datetime,
        scope: str | None = None,
        refusal: Refusal | None = None,
        account: str | None = None,
        message_id: str | None = None,
        sources_listed: bool = True,
    ) -> StoredRejection:
        """Store a rejection once per event (source, id): an event refused again refreshes its one rejection, opened
        again when it was closed, and is not `first`; with its write scope, the account that sent it and the AMQP
        message it came in. A copy of a message it was refused in already (its id and content) is that attempt."""
        values = {
            "type": event_type,
            "reason": reason,
            "field": field,
            "raw": raw,
            "received_at": received_at,
            "scope": scope,
            "refusal": refusal,
            "message_id": message_id,
            "sender": account,
            "sources_listed": sources_listed,
        }
        if event_id:
            for rejection in self._s.rejections.values():
                if (rejection["source"], rejection["event_id"]) == (source, event_id):
                    attempts = rejection.setdefault("attempts", [])
                    again = route != "replay" and message_id is not None  # its message again: that attempt
                    seen = {(kept["route"], kept["message_id"], kept["raw"]) for kept in attempts}
                    if again and (route, message_id, raw) in seen:
                        if rejection["status"] != "open":
                            rejection.update(status="open", dismissed_at=None, replayed_at=None, replay_outcome=None)
                        return StoredRejection(str(rejection["rejection_id"]), first=False)
                    if route == "replay":  # a replay refused again keeps the first cause, its own beside it
                        rejection.update(
                            last_replay_reason=reason, last_replay_field=field, last_replay_refusal=refusal
                        )
                    else:
                        rejection.update(values)
                    if rejection["status"] != "open":  # closed (replayed, dismissed), refused again: open again
                        rejection.update(status="open", dismissed_at=None, replayed_at=None, replay_outcome=None)
                    if route == "replay":  # judged as the rejection's sender
                        values["sender"] = rejection.get("sender")
                    attempts.append({"attempt": len(attempts) + 1, "route": route, **values})
                    return StoredRejection(str(rejection["rejection_id"]), first=False)
        rejection_id = str(uuid.uuid4())
        self._s.rejections[rejection_id] = {
            "rejection_id": rejection_id,
            "source": source,
            "event_id": event_id,
            "route": route,
            "scope": scope,
            "account": account,
            "status": "open",
            **values,
            "attempts": [{"attempt": 1, "route": route, **values}],
        }
        return StoredRejection(rejection_id, first=True)

    async def get_rejection(self, rejection_id: str, *, lock_row: bool) -> Mapping[str, Any] | None:
        """One stored rejection."""
        return self._s.rejections.get(rejection_id)

    async def get_attempt(self, rejection_id: str, attempt: int) -> Mapping[str, Any] | None:
        """One refused attempt of a rejection (numbered from 1), None when it has no such attempt."""
        attempts = self._s.rejections.get(rejection_id, {}).get("attempts", [])
        return next((kept for kept in attempts if kept["attempt"] == attempt), None)

    async def prefetch_refused(self, member_ids: Iterable[str]) -> None:
        """Nothing to read ahead in memory."""

    async def rosters_refused_for(self, member_id: str) -> Sequence[Mapping[str, Any]]:
        """Open rejections of rosters refused member_not_in_cell naming the member."""
        return [
            {**rejection, "refusal": rejection["refusal"].model_dump(mode="json", exclude_none=True)}
            for rejection in self._s.rejections.values()
            if rejection["status"] == "open"
            and rejection["type"] == "attendance.recorded.v1"
            and rejection["refusal"] is not None
            and rejection["refusal"].code == RefusalCode.MEMBER_NOT_IN_CELL
            and rejection["refusal"].member_id == member_id
        ]

    async def release_applied(self, *, source: str, event_id: str, at: datetime) -> None:
        """Forget a held event applied at `at`; its rejection closed as held, or still open or dismissed, says
        accepted."""
        self._read_before.pop((source, event_id), None)
        self._s.held.pop((source, event_id), None)
        for rejection in self._s.rejections.values():
            if (rejection["source"], rejection["event_id"]) == (source, event_id) and (
                rejection["status"] in ("open", "dismissed")
                or (rejection["status"], rejection.get("replay_outcome")) == ("replayed", "held")
            ):
                rejection.update(status="replayed", replay_outcome="accepted", replayed_at=at)

    async def close_superseded(self, *, source: str, event_id: str, at: datetime) -> None:
        """An event accepted: its open or dismissed rejection is closed as accepted (the dismissal kept)."""
        for rejection in self._s.rejections.values():
            open_one = rejection["status"] in ("open", "dismissed") and event_id
            if open_one and (rejection["source"], rejection["event_id"]) == (source, event_id):
                rejection.update(status="replayed", replay_outcome="accepted", replayed_at=at)

    async def mark_replayed(self, rejection_id: str, *, at: datetime, outcome: str) -> None:
        """Close a rejection, keeping how its replay judged the event."""
        self._s.rejections[rejection_id].update(status="replayed", replayed_at=at, replay_outcome=outcome)

    async def name_sender(self, rejection_id: str, *, sender: str, by: str, at: datetime) -> None:
        """Record the account an operator named as a rejection's sender, when it records none."""
        stored = self._s.rejections[rejection_id]
        if not stored.get("sender"):
            stored.update(sender=sender, sender_named_by=by, sender_named_at=at)

    async def note_replay_refused(
        self, rejection_id: str, *, reason: str, field: str | None, refusal: Refusal | None
    ) -> None:
        """Keep a replay's refusal of a body naming no event as the rejection's last replay's."""
        self._s.rejections[rejection_id].update(
            last_replay_reason=reason, last_replay_field=field, last_replay_refusal=refusal
        )

    async def dismiss(self, rejection_id: str, *, at: datetime, by: str, reason: str) -> None:
        """Close a rejection unreplayed, with when, who and why."""
        self._s.rejections[rejection_id].update(
            status="dismissed", dismissed_at=at, dismissed_by=by, dismissal_reason=reason
        )

    async def dismiss_matching(self, selected: Any, *, limit: int, at: datetime, by: str, reason: str) -> list[str]:
        """Close up to `limit` open rejections `selected` (a RejectionFilter) chooses, as `dismiss` closes one; the ids
        closed (the criteria read as the repository's REJECTION_FILTER_COLUMNS read them)."""
        given = selected.given()
        wanted = given.get("code")
        without_code = wanted == NO_CODE  # WITHOUT_CODE: refusal NULL

        def chosen(rejection: dict[str, Any]) -> bool:
            refusal = rejection.get("refusal")
            code = str(refusal.code) if refusal is not None else None
            return (
                rejection["status"] == "open"
                and (code is None if without_code else wanted in (None, code))
                and given.get("source", rejection["source"]) == rejection["source"]
                and given.get("sender", rejection.get("sender")) == rejection.get("sender")
                and ("received_before" not in given or rejection["received_at"] < given["received_before"])
                and ("received_after" not in given or rejection["received_at"] >= given["received_after"])
            )

        closed = [key for key, rejection in self._s.rejections.items() if chosen(rejection)][:limit]
        for rejection_id in closed:
            await self.dismiss(rejection_id, at=at, by=by, reason=reason)
        return closed

    async def forget_processed(self, *, consumer: str, source: str, event_id: str) -> None:
        """Drop the inbox record of a rejected event."""
        self._read_before.pop((source, event_id), None)
        self._s.processed.discard((consumer, source, event_id))
        self._s.digests.pop((consumer, source, event_id), None)
        self._s.processed_at.pop((consumer, source, event_id), None)
        self._s.inbox_routes.pop((consumer, source, event_id), None)
        self._s.stored_by.pop((consumer, source, event_id), None)

    async def source_owner(self, source: str) -> str | None:
        """The unit a source is registered to."""
        return self._s.registered_sources.get(source)

    async def sources_of_unit(self, unit_id: str) -> frozenset[str]:
        """The sources registered to a unit."""
        return frozenset(source for source, unit in self._s.registered_sources.items() if unit == unit_id)

    async def sources_of_account(self, account: str, unit_id: str) -> frozenset[str]:
        """The sources registered to an account of a unit (the fake keeps no accounts: the unit's)."""
        return await self.sources_of_unit(unit_id)

    async def record_inbox(
        self, *, consumer: str, entries: Sequence[tuple[str, str, bytes, str, str | None]]
    ) -> dict[tuple[str, str], bytes | None]:
        """Record events with their digests and routes; return those there before, with the digest they were
        recorded with."""
        before: dict[tuple[str, str], bytes | None] = {}
        for source, event_id, digest, route, mark in entries:
            key = (consumer, source, event_id)
            if key in self._s.processed:
                before[(source, event_id)] = self._s.digests.get(key)
                self._first_received[(source, event_id)] = self._s.processed_at.get(key)
                self._first_routes[(source, event_id)] = self._s.inbox_routes.get(key)
                self._stored_by[(source, event_id)] = self._s.stored_by.get(key)
                self._read_before[(source, event_id)] = (consumer, ProcessedBefore(self._s.digests.get(key)))
            else:
                self._s.processed.add(key)
                self._s.digests[key] = digest
                self._s.processed_at[key] = now()
                self._s.inbox_routes[key] = route
                self._s.stored_by[key] = mark
        return before

    async def lock(self, locks: LockSet) -> None:
        """One test task at a time: nothing to wait for; the keys are recorded for the tests that look."""
        self._uow.locked |= locks.keys

    async def wait_at_most(self, seconds: float) -> None:
        """Nothing waits in memory."""

    async def try_lock(self, locks: LockSet) -> bool:
        """Never busy: one test task at a time."""
        self._uow.locked |= locks.keys
        return True

    async def defer_release(self, *, source: str, event_id: str) -> None:
        """Mark a held event released (never called while try_lock always succeeds)."""
        self._read_before.pop((source, event_id), None)
        self._s.held[(source, event_id)]["released_at"] = now()
        self._deferred.append((source, event_id))

    async def defer_releases(self, held: Sequence[tuple[str, str]]) -> None:
        """defer_release of each."""
        for source, event_id in held:
            await self.defer_release(source=source, event_id=event_id)

    @property
    def deferred(self) -> list[tuple[str, str]]:
        """The held events this unit of work marked released."""
        return list(self._deferred)

    async def get_held(self, *, source: str, event_id: str, lock_row: bool) -> Mapping[str, Any] | None:
        """One held event."""
        return self._s.held.get((source, event_id))

    def held_copy(self, *, source: str, event_id: str) -> Mapping[str, Any] | None:
        """The hold of an event processed before and still held."""
        return self._s.held.get((source, event_id))

    def processed_before(self, *, consumer: str, source: str, event_id: str) -> ProcessedBefore | None:
        """The inbox row a record_inbox found recorded before, while neither it nor its hold was written since."""
        read = self._read_before.get((source, event_id))
        return read[1] if read is not None and read[0] == consumer else None

    def first_received(self, *, source: str, event_id: str) -> datetime | None:
        """When the inbox row of an event the last record_inbox found processed before was recorded."""
        return self._first_received.get((source, event_id))

    def first_route(self, *, source: str, event_id: str) -> str | None:
        """The route the first copy of an event the last record_inbox found processed before came by."""
        return self._first_routes.get((source, event_id))

    def stored_by(self, *, source: str, event_id: str) -> str | None:
        """The mark of the request that stored an event the last record_inbox found processed before."""
        return self._stored_by.get((source, event_id))

    async def prefetch_waiting(self, keys: Iterable[str]) -> None:
        """Nothing to read ahead in memory."""

    async def released(self, *, older_than: datetime, limit: int) -> Sequence[tuple[str, str]]:
        """Held events released before `older_than`."""
        found = [h for h in self._s.held.values() if h.get("released_at") and h["released_at"] < older_than]
        return [(h["source"], h["event_id"]) for h in found[:limit]]


class FakeFrameworks:
    """FrameworkRepository in memory."""

    def __init__(self, uow: "FakeUnitOfWork") -> None:
        self._uow = uow

    async def record(self, adopted: FrameworkAdopted) -> bool:
        """Keep an adoption's table; True when it was new."""
        table = table_of(adopted)
        new = table.key not in self._uow.state.framework_tables
        self._uow.state.framework_tables[table.key] = table
        return new

    async def tables(self) -> list[ItemTable]:
        """Every kept table."""
        return list(self._uow.state.framework_tables.values())


class FakeUnitOfWork:
    """MeetingsUnit over a FakeStore: works on a copy, writes it back on commit."""

    def __init__(self, store: FakeStore) -> None:
        self._store = store
        self.state = FakeState()
        self.org = FakeOrg(self)
        self.meetings = FakeMeetings(self)
        self.ingest = FakeIngest(self)
        self.frameworks = FakeFrameworks(self)
        self._events: list[CloudEvent] = []
        self.committed = False
        self.locked: set[str] = set()
        """Every lock key taken in this unit of work."""

    async def __aenter__(self) -> Self:
        self.state = copy.deepcopy(self._store.state)
        self._events = []
        self.committed = False
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None  # without commit the copy is simply dropped

    @property
    def emitted(self) -> list[CloudEvent]:
        """The events emitted so far in this unit of work."""
        return list(self._events)

    def emit(self, event: CloudEvent) -> None:
        """Queue an event for the outbox."""
        self._events.append(event)

    async def already_processed(self, *, consumer: str, source: str, event_id: str) -> bool:
        """Record the message in the inbox; True when it was there."""
        key = (consumer, source, event_id)
        if key in self.state.processed:
            return True
        self.state.processed.add(key)
        return False

    async def record_processed(self, *, consumer: str, identities: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Record many messages in the inbox; return those that were there."""
        before = {identity for identity in identities if (consumer, *identity) in self.state.processed}
        self.state.processed.update((consumer, *identity) for identity in identities)
        return before

    @asynccontextmanager
    async def _savepoint(self) -> AsyncIterator[None]:
        before = copy.deepcopy(self.state)
        events = list(self._events)
        try:
            yield
        except BaseException:
            self.state.__dict__.update(before.__dict__)
            self._events = events
            raise

    def savepoint(self) -> Any:
        """A savepoint: an exception inside restores the state as it was."""
        return self._savepoint()

    async def rollback(self) -> None:
        """Drop the copy: nothing of this unit of work reaches the store."""
        self.state = copy.deepcopy(self._store.state)
        self._events = []

    async def commit(self) -> None:
        """Write the copy back, with the emitted events in the outbox."""
        self.state.outbox.extend(self._events)
        self._store.state = self.state
        self.committed = True


UowFactory = Callable[[], FakeUnitOfWork]


def _listed(raw: str) -> set[str]:
    """The members a kept roster's raw event lists other than transferred (roster_history's members)."""
    return {r["member_id"] for r in json.loads(raw)["data"]["records"] if r["status"] != "transferred"}
