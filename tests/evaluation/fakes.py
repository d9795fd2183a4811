"""In-memory doubles of the evaluation repositories and unit of work, for handler tests."""

from collections.abc import Hashable, Sequence
from datetime import date, datetime
from typing import Any

from services.evaluation.domain.facts import COMMITTEE_ROLE, MemberRemoval, MemberSnapshot
from services.evaluation.domain.framework import Adoption, Framework
from services.evaluation.domain.periods import CellSpan, LateChange, MeetingSummary, PeriodResult
from services.evaluation.domain.scoring import MeetingScore
from services.evaluation.domain.touched import Touched
from services.evaluation.handlers.scores import local_year
from services.evaluation.repository import CellExistence, FactStamp, MeetingRow, ScoreRow, ScoringInputs
from shared.envelope import CloudEvent
from shared.minutes import adopted_version, minutes_content_key, part_stands
from shared.periods import period_months


def _tiebreak(stamp: FactStamp) -> tuple[int, str]:
    """What orders two facts of one microsecond: their nanoseconds below it, then their event ids (CONTRACT.md)."""
    return (stamp.ns, stamp.event_id)


def _newer(old: tuple | None, stamp: FactStamp) -> bool:
    return old is None or (old[0], old[1]) < (stamp.time, _tiebreak(stamp))


class FakeFacts:
    """FactRepository in memory: snapshots keyed by id with their (time, (ns, id)) stamp, ordered as in the database."""

    def __init__(self) -> None:
        self.units: dict[str, tuple] = {}
        self.unit_history: set[tuple[str, datetime, tuple[int, str], bool]] = set()
        self.members: dict[str, tuple] = {}
        self.meetings: dict[str, tuple] = {}
        self.reschedules: dict[str, tuple] = {}
        self.cancelled: set[str] = set()
        self.docs: dict[str, list] = {}
        self.rosters: dict[str, tuple] = {}
        self.minutes: dict[str, tuple] = {}
        self.approvals: dict[str, tuple] = {}
        self.minutes_content: dict[str, list[tuple]] = {}
        self.roster_content: dict[str, list[tuple]] = {}
        self.assessed: dict[str, list] = {}
        self.done: dict[tuple[str, str], tuple] = {}
        self.snapshots: dict[tuple[str, datetime, tuple[int, str]], MemberSnapshot] = {}
        self.removals: dict[str, MemberRemoval] = {}

    def _put(self, table: dict, key: Hashable, stamp: FactStamp, value: Any) -> bool:
        if _newer(table.get(key), stamp):
            table[key] = (stamp.time, _tiebreak(stamp), value)
            return True
        return False

    async def upsert_unit(self, *, unit, stamp):
        active = unit.get("active", True)
        entry = (unit["id"], stamp.time, _tiebreak(stamp), active)
        added = entry not in self.unit_history
        earliest = all((t, e) >= (stamp.time, _tiebreak(stamp)) for u, t, e, _ in self.unit_history if u == unit["id"])
        self.unit_history.add(entry)
        old = self.units.get(unit["id"])
        changed = self._put(self.units, unit["id"], stamp, unit)
        plain = changed and old is not None and old[2].get("active", True) and active and not earliest
        return changed, old[2].get("parent_id") if old else None, added and not plain

    async def unit_kind(self, unit_id):
        stored = self.units.get(unit_id)
        return stored[2]["kind"] if stored else None

    async def upsert_member(self, *, member, stamp):
        self._put(self.members, member["id"], stamp, member)
        key = (member["id"], stamp.time, _tiebreak(stamp))
        if key in self.snapshots:
            return False, []
        self.snapshots[key] = MemberSnapshot(
            member["id"], stamp.time, stamp.event_id, member["cell_id"], member["role"], stamp.ns
        )
        return True, self._unrostered(await self.member_cells(member["id"]))

    def _unrostered(self, cells):
        return sorted(
            (m["cell_id"], mid)
            for mid, (_, _, m) in self.meetings.items()
            if m["cell_id"] in cells and mid in self.minutes and mid not in self.rosters
        )

    async def remove_member(self, *, member_id, effective_on, stamp):
        old = self.removals.get(member_id)
        if old is not None and (old.time, old.ns, old.event_id) >= stamp.order:
            return False, []
        self.removals[member_id] = MemberRemoval(member_id, effective_on, stamp.time, stamp.event_id, stamp.ns)
        return True, self._unrostered(await self.member_cells(member_id))

    async def member_cells(self, member_id):
        return {s.cell_id for s in self.snapshots.values() if s.member_id == member_id}

    async def committee_cells(self, member_id):
        return {s.cell_id for s in self.snapshots.values() if s.member_id == member_id and s.role == COMMITTEE_ROLE}

    async def committee_members(self, member_ids):
        return {member_id for member_id in member_ids if await self.committee_cells(member_id)}

    async def upsert_members(self, rows):
        found = set()
        for member, stamp in rows:
            found.update((await self.upsert_member(member=member, stamp=stamp))[1])
        return sorted(found)

    async def upsert_meetings(self, rows):
        return {
            meeting["meeting_id"] for meeting, stamp in rows if await self.upsert_meeting(meeting=meeting, stamp=stamp)
        }

    async def upsert_meeting(self, *, meeting, stamp):
        return self._put(self.meetings, meeting["meeting_id"], stamp, meeting)

    async def reschedule_meeting(self, *, meeting_id, starts_at, stamp):
        return self._put(self.reschedules, meeting_id, stamp, starts_at)

    async def cancel_meeting(self, *, meeting_id, stamp):
        if meeting_id in self.cancelled:
            return False
        self.cancelled.add(meeting_id)
        return True

    async def add_documents(self, *, meeting_id, items, stamp):
        self.docs.setdefault(meeting_id, []).extend(items)
        return True

    async def record_attendance(self, *, meeting_id, roster, stamp):
        return self._put(self.rosters, meeting_id, stamp, roster)

    async def withdraw_attendance(self, *, meeting_id, stamp):
        row = (stamp.time, _tiebreak(stamp))
        self.roster_content[meeting_id] = [kept for kept in self.roster_content.get(meeting_id, []) if kept[:2] != row]
        stored = self.rosters.get(meeting_id)
        if stored is not None and stored[:2] == row:
            del self.rosters[meeting_id]
            return True
        return False

    async def keep_roster_content(self, rows):
        kept = set()
        for meeting_id, key, stamp in rows:
            row = (stamp.time, _tiebreak(stamp), key)
            if row not in self.roster_content.setdefault(meeting_id, []):
                self.roster_content[meeting_id].append(row)
                kept.add(meeting_id)
        return kept

    async def submit_minutes(self, *, meeting_id, minutes, stamp):
        self.minutes_content.setdefault(meeting_id, []).append(
            (stamp.time, _tiebreak(stamp), minutes_content_key(minutes))
        )
        return self._put(self.minutes, meeting_id, stamp, minutes)

    async def approve_minutes(self, *, meeting_id, adoption, stamp):
        return self._put(self.approvals, meeting_id, stamp, adoption)

    async def add_assessment(self, *, meeting_id, role, points, stamp):
        self.assessed.setdefault(meeting_id, []).append((role, stamp, points))
        return True

    async def complete_task(self, *, task_id, meeting_id, completed_on, stamp):
        return self._put(self.done, (meeting_id, task_id), stamp, completed_on)

    def _start(self, meeting_id: str) -> datetime:
        scheduled = self.meetings[meeting_id]
        moved = self.reschedules.get(meeting_id)
        return moved[2] if moved and moved[:2] > scheduled[:2] else scheduled[2]["starts_at"]

    def _adopted_at(self, meeting_id: str) -> datetime | None:
        """The adoption's moment while no minutes or roster issued after it replaced the ones it adopted
        (MEETINGS_OF_CELLS)."""
        approval, minutes = self.approvals.get(meeting_id), self.minutes.get(meeting_id)
        if approval is None:
            return None
        parts = [(minutes, self.minutes_content), (self.rosters.get(meeting_id), self.roster_content)]
        for stored, contents in parts:
            if stored is None:
                continue
            keys = contents.get(meeting_id, [])
            adopted = adopted_version(keys, approval[0])
            key = next((k for t, n, k in keys if (t, n) == tuple(stored[:2])), None)
            if not part_stands(
                stored[:2], approval_time=approval[0], same_content=adopted is not None and adopted[2] == key
            ):
                return None
        return approval[2].approved_at

    async def meeting_position(self, meeting_id):
        if meeting_id not in self.meetings:
            return None
        return self.meetings[meeting_id][2]["cell_id"], self._start(meeting_id)

    async def cells_meetings(self, cell_ids):
        return {cell_id: await self.cell_meetings(cell_id) for cell_id in cell_ids}

    async def cell_meetings(self, cell_id):
        rows = [
            MeetingRow(
                meeting_id=mid,
                cell_id=m["cell_id"],
                kind=m["kind"],
                starts_at=self._start(mid),
                notified_at=m["notified_at"],
                committee_prepared=m.get("committee_prepared"),
                cancelled=mid in self.cancelled,
                roster=self.rosters[mid][2] if mid in self.rosters else None,
                minutes=self.minutes[mid][2] if mid in self.minutes else None,
                approved_at=self._adopted_at(mid),
                approval_voted=self.approvals[mid][2].votes_for is not None if self._adopted_at(mid) else None,
                completions={task: done[2] for (of, task), done in self.done.items() if of == mid},
                minutes_first_at=min((t for t, _, _ in self.minutes_content.get(mid, [])), default=None),
            )
            for mid, (_, _, m) in self.meetings.items()
            if m["cell_id"] == cell_id
        ]
        return sorted(rows, key=lambda r: (r.starts_at, r.meeting_id))

    async def documents(self, meeting_ids):
        return {mid: self.docs[mid] for mid in meeting_ids if mid in self.docs}

    async def assessments(self, meeting_ids):
        return {mid: self.assessed[mid] for mid in meeting_ids if mid in self.assessed}

    async def committee_history(self, cell_id):
        members = {s.member_id for s in self.snapshots.values() if s.cell_id == cell_id}
        snapshots = [s for s in self.snapshots.values() if s.member_id in members]
        return snapshots, {m: r for m, r in self.removals.items() if m in members}

    async def committee_histories(self, cell_ids):
        return {cell_id: await self.committee_history(cell_id) for cell_id in cell_ids}

    async def meeting_starts(self, cell_id):
        return [(mid, self._start(mid)) for mid, (_, _, m) in self.meetings.items() if m["cell_id"] == cell_id]

    async def units_held(self, unit_ids):
        found = {}
        for unit_id in unit_ids:
            if unit_id in self.units:
                unit = self.units[unit_id][2]
                found[unit_id] = (unit["kind"], unit.get("parent_id"), unit.get("active", True))
        return found

    async def upsert_units(self, rows, held):
        return {unit["id"]: await self.upsert_unit(unit=unit, stamp=stamp) for unit, stamp in rows}

    async def meeting_starts_of(self, cell_ids):
        return {cell_id: await self.meeting_starts(cell_id) for cell_id in cell_ids}

    async def ancestors(self, unit_id):
        chain, current = [], self.units.get(unit_id)
        while current and current[2].get("parent_id"):
            chain.append(current[2]["parent_id"])
            current = self.units.get(current[2]["parent_id"])
        return chain

    async def ancestors_of(self, unit_ids):
        return {unit_id: await self.ancestors(unit_id) for unit_id in unit_ids}

    async def subtree_cells(self, unit_id):
        return sorted({m[2]["cell_id"] for m in self.meetings.values()})

    async def cells_with_meetings(self):
        return sorted({m[2]["cell_id"] for m in self.meetings.values()})

    async def lock_cell(self, cell_id):
        return None

    async def cells_of_members(self, member_ids):
        return {member_id: await self.member_cells(member_id) for member_id in member_ids}

    async def lock_cells(self, cell_ids):
        return None

    async def lock_fact_subject(self, key):
        return None

    async def lock_fact_subjects(self, keys):
        return None

    async def meeting_positions(self, meeting_ids):
        found = {mid: await self.meeting_position(mid) for mid in meeting_ids}
        return {mid: position for mid, position in found.items() if position is not None}

    async def upsert_snapshots(self, table, rows):
        write: dict[str, Any] = {
            "attendance": self.record_attendance,
            "minutes": self.submit_minutes,
            "approval": self.approve_minutes,
            "meeting_reschedule": self.reschedule_meeting,
        }
        names = {
            "attendance": "roster",
            "minutes": "minutes",
            "approval": "adoption",
            "meeting_reschedule": "starts_at",
        }
        changed = set()
        for meeting_id, value, stamp in rows:
            if await write[table](meeting_id=meeting_id, stamp=stamp, **{names[table]: value}):
                changed.add(meeting_id)
        return changed

    async def add_documents_many(self, rows):
        for meeting_id, items, stamp in rows:
            await self.add_documents(meeting_id=meeting_id, items=items, stamp=stamp)

    async def add_assessments(self, rows):
        added = set()
        for meeting_id, role, points, stamp in rows:
            if await self.add_assessment(meeting_id=meeting_id, role=role, points=points, stamp=stamp):
                added.add((meeting_id, stamp.event_id))
        return added

    async def complete_tasks(self, rows):
        done = set()
        for task_id, meeting_id, completed_on, stamp in rows:
            if await self.complete_task(task_id=task_id, meeting_id=meeting_id, completed_on=completed_on, stamp=stamp):
                done.add((meeting_id, task_id))
        return done

    async def cancel_meetings(self, rows):
        cancelled = set()
        for meeting_id, _ in rows:
            if meeting_id not in self.cancelled:
                self.cancelled.add(meeting_id)
                cancelled.add(meeting_id)
        return cancelled


class FakeResults:
    """ResultRepository in memory."""

    def __init__(self, facts: FakeFacts | None = None) -> None:
        self.facts = facts or FakeFacts()
        self.scores: dict[str, dict[str, Any]] = {}
        self.periods: dict[tuple[str, str], PeriodResult] = {}
        self.spans: dict[str, CellSpan] = {}
        self.rechecks: set[tuple[str, str, datetime]] = set()
        """(meeting id, cell id, due moment) noted by scoring."""
        self.late_changes: list[LateChange] = []
        self.moves: list[Any] = []
        self.rated_from: dict[tuple[str, str], str] = {}
        self.rated_on: dict[tuple[str, str], date | None] = {}
        self.rated_at: dict[tuple[str, str], datetime | None] = {}

    async def stored_scores(self, meeting_ids):
        return {mid: dict(self.scores[mid]) for mid in meeting_ids if mid in self.scores}

    async def scoring_inputs(self, meeting_ids):
        return ScoringInputs(
            stored=await self.stored_scores(meeting_ids),
            documents=await self.facts.documents(meeting_ids),
            assessments=await self.facts.assessments(meeting_ids),
        )

    async def save_scores(self, rows: Sequence[ScoreRow]) -> None:
        for row in rows:
            await self.save_score(
                result=row.result,
                kind=row.kind,
                starts_at=row.starts_at,
                held=row.held,
                present=row.present,
                counted=row.counted,
                speakers_present=row.speakers_present,
            )

    async def save_score(
        self,
        *,
        result: MeetingScore,
        kind: str,
        starts_at: datetime,
        held: bool,
        present: int,
        counted: int,
        speakers_present: int,
    ) -> None:
        self.scores[result.meeting_id] = {
            "meeting_id": result.meeting_id,
            "cell_id": result.cell_id,
            "kind": kind,
            "starts_at": starts_at,
            "held": held,
            "framework_id": result.framework_id,
            "framework_version": result.framework_version,
            "score": result.score,
            "rating": result.rating,
            "provisional": result.provisional,
            "criteria": [line.stored_dict() for line in result.criteria],
            "present": present,
            "counted": counted,
            "speakers_present": speakers_present,
        }

    async def delete_scores(self, meeting_ids):
        for meeting_id in meeting_ids:
            self.scores.pop(meeting_id, None)

    async def schedule_rechecks(self, rechecks):
        self.rechecks.update((recheck.meeting_id, recheck.cell_id, recheck.due_at) for recheck in rechecks)

    async def cells_summaries(self, cell_ids, *, year_from, year_to):
        return {
            cell_id: [
                summary
                for summary in await self.cell_summaries(cell_id, year_from=year_from, year_to=year_to)
                if year_from <= local_year(summary.starts_at) <= year_to
            ]
            for cell_id in cell_ids
        }

    async def cell_summaries(self, cell_id, *, year_from, year_to):
        return [
            MeetingSummary(
                **{
                    k: row[k]
                    for k in (
                        "meeting_id",
                        "kind",
                        "starts_at",
                        "held",
                        "score",
                        "rating",
                        "provisional",
                        "present",
                        "counted",
                        "speakers_present",
                    )
                }
            )
            for row in self.scores.values()
            if row["cell_id"] == cell_id
        ]

    async def stored_periods(self, keys):
        found = {}
        for key in keys:
            result = self.periods.get(key)
            if result:
                reason = None if result.rating_reason is None else result.rating_reason.data()
                found[key] = {
                    **result.__dict__,
                    "flags": list(result.flags),
                    "rating_reason": reason,
                    "rated_from": self.rated_from.get(key),
                    "rated_on": self.rated_on.get(key),
                    "rated_at": self.rated_at.get(key),
                }
        return found

    async def save_periods(
        self,
        results: list[PeriodResult],
        *,
        month: str | None,
        today: date | None = None,
        rated_at: datetime | None = None,
    ) -> None:
        for result in results:
            self.rated_from.setdefault((result.cell_id, result.period), month or result.period)
            self.rated_on.setdefault((result.cell_id, result.period), today)
            self.rated_at.setdefault((result.cell_id, result.period), rated_at)
            self.periods[(result.cell_id, result.period)] = result

    async def save_late_changes(self, changes):
        self.late_changes.extend(changes)

    async def shown_months(self, keys):
        return set()

    async def withdrawn_meetings(self, keys):
        return {}

    async def withdrawals_noted(self, keys):
        return set()

    async def note_moves(self, move):
        self.moves.append(move)
        return 0

    async def cells_existence(self, cell_ids):
        found = {}
        for cell_id in cell_ids:
            history = sorted(s for s in self.facts.unit_history if s[0] == cell_id)
            held = sorted(row["starts_at"] for row in self.scores.values() if row["cell_id"] == cell_id and row["held"])
            cancelled = sorted(
                self.facts._start(mid)
                for mid, (_, _, m) in self.facts.meetings.items()
                if m["cell_id"] == cell_id and mid in self.facts.cancelled and mid in self.facts.minutes
            )
            ended_at = None
            if history and not max(history, key=lambda s: (s[1], s[2]))[3]:
                last_active = max((s[1] for s in history if s[3]), default=None)
                ended_at = min(s[1] for s in history if not s[3] and (last_active is None or s[1] > last_active))
            found[cell_id] = CellExistence(
                first_snapshot=history[0][1] if history else None,
                ended_at=ended_at,
                first_held=held[0] if held else None,
                last_held=held[-1] if held else None,
                stored=self.spans.get(cell_id),
                first_cancelled=cancelled[0] if cancelled else None,
                last_cancelled=cancelled[-1] if cancelled else None,
            )
        return found

    async def save_spans(self, spans):
        self.spans.update(spans)

    async def delete_periods(self, keys):
        for key in keys:
            self.periods.pop(tuple(key), None)

    async def delete_periods_outside(self, spans):
        gone = [
            key
            for key in self.periods
            if key[0] in spans and not any(spans[key[0]].covers(month) for month in period_months(key[1]))
        ]
        dropped = [
            {"cell_id": key[0], "period": key[1], "rating": self.periods[key].rating, "score": self.periods[key].score}
            for key in gone
        ]
        for key in gone:
            del self.periods[key]
        return dropped


class FakeFrameworks:
    """FrameworkRepository in memory."""

    def __init__(self) -> None:
        self.documents: dict[tuple[str, str], dict] = {}
        self.adopted: list[Adoption] = []

    async def document(self, framework_id, version):
        return self.documents.get((framework_id, version))

    async def store(self, *, framework_id, version, document):
        self.documents.setdefault((framework_id, version), document)

    async def adopt(self, *, committee_id, framework_id, version, effective_from):
        key = (committee_id, framework_id, version, effective_from)
        if any((a.committee_id, a.framework_id, a.version, a.effective_from) == key for a in self.adopted):
            return None
        self.adopted.append(
            Adoption(
                committee_id=committee_id,
                framework_id=framework_id,
                version=version,
                effective_from=effective_from,
                sequence=len(self.adopted) + 1,
            )
        )
        return len(self.adopted)

    async def adoptions(self):
        return list(self.adopted)


class FakeUnitOfWork:
    """The handlers' unit of work in memory; `emitted` collects the outbox."""

    def __init__(self, today: date = date(2026, 11, 25)) -> None:
        self.facts = FakeFacts()
        self.results = FakeResults(self.facts)
        self.frameworks = FakeFrameworks()
        self.framework_cache: dict[tuple[str, str], Framework] = {}
        self.today = lambda: today
        self.emitted: list[CloudEvent] = []
        self.touched = Touched()

    def emit(self, event: CloudEvent) -> None:
        """Collect an outgoing event."""
        self.emitted.append(event)
