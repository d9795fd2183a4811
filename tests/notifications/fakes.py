"""In-memory doubles of the notifications repositories and unit of work, for unit tests of the handlers.

They implement the same Protocols as the Pg ones (`ProjectionRepository`, `OutgoingRepository`,
`NotificationsUnit`); snapshots win by (time, id) as in SQL, and the notification key is unique.
"""

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from services.notifications.config import Settings
from services.notifications.domain.model import (
    AnnouncedFigures,
    CancelApplied,
    CellContext,
    CellScore,
    Meeting,
    MeetingScore,
    MeetingScoreWithdrawal,
    Member,
    Monitor,
    Roster,
    Unit,
)
from services.notifications.domain.settings import RETRACTED_WHEN_CANCELLED, UNEXCUSED_ABSENCE, RuleConfig, RuleOverride
from services.notifications.repository import OutgoingRepository, ProjectionRepository
from services.notifications.repository.outgoing import (
    MailAddress,
    NewDelivery,
    NewNotification,
    Preference,
    mail_address_key,
)
from services.notifications.repository.projection import NewFigures, ToldCrossing
from services.notifications.unit_of_work import NotificationsUnit
from shared.envelope import CloudEvent


@dataclass
class FakeJob:
    """One row of the fake schedule."""

    kind: str
    subject_id: str
    due_at: datetime
    done_at: datetime | None = None


@dataclass
class FakeDelivery:
    """One planned or done delivery."""

    id: int
    notification_id: str
    channel: str
    addresses: tuple[str, ...]
    delivered_at: datetime | None
    error: str | None = None
    greeting: str | None = None


class FakeOutgoing:
    """The schedule, preferences, notifications and deliveries in dictionaries."""

    def __init__(self) -> None:
        self.jobs: dict[tuple[str, str], FakeJob] = {}
        self.preferences_by_id: dict[str, Preference] = {}
        self.notifications: dict[str, NewNotification] = {}
        self.keys: dict[tuple[str, str, str, str], str] = {}
        self.deliveries: list[FakeDelivery] = []
        self.digest_ids: dict[str, str] = {}
        self.voided: dict[str, datetime] = {}
        self.cell_scores_received: dict[tuple[str, str], datetime] = {}
        self.mail_addresses: dict[tuple[str, str, str, str, str], str] = {}

    async def schedule(self, *, kind: str, subject_id: str, due_at: datetime, rearm: bool) -> None:
        """Plan a job; `rearm` moves an existing one and makes it fire again."""
        job = self.jobs.get((kind, subject_id))
        if job is None:
            self.jobs[(kind, subject_id)] = FakeJob(kind, subject_id, due_at)
        elif rearm:
            job.due_at, job.done_at = due_at, None

    async def schedule_many(self, jobs: Sequence[tuple[str, str, datetime]], *, rearm: bool) -> None:
        """Plan each job in turn."""
        for kind, subject_id, due_at in jobs:
            await self.schedule(kind=kind, subject_id=subject_id, due_at=due_at, rearm=rearm)

    async def replan_pending(self, jobs: Sequence[tuple[str, str, datetime]]) -> None:
        """Move jobs that have not fired."""
        for kind, subject_id, due_at in jobs:
            job = self.jobs.get((kind, subject_id))
            if job is not None and job.done_at is None:
                job.due_at = due_at

    async def pending_cell_periods(self, cell_ids: Sequence[str]) -> list[tuple[str, str, datetime | None]]:
        """(cell, period, when its rating arrived) of pending period checks of the cells."""
        found: list[tuple[str, str, datetime | None]] = []
        for (kind, subject_id), job in self.jobs.items():
            cell_id, _, period = subject_id.partition("|")
            if kind == "cell.period" and job.done_at is None and cell_id in cell_ids:
                found.append((cell_id, period, self.cell_scores_received.get((cell_id, period))))
        return found

    async def last_daily(self, kind: str) -> date | None:
        """The latest day a daily job was planned for."""
        days = [date.fromisoformat(subject) for k, subject in self.jobs if k == kind]
        return max(days) if days else None

    async def unstarted_daily(self, kinds: Sequence[str]) -> list[tuple[str, str, datetime]]:
        """(kind, day, due) of the daily jobs of `kinds` not fired."""
        return [(k, s, job.due_at) for (k, s), job in self.jobs.items() if k in kinds and job.done_at is None]

    async def move_unstarted(self, jobs: Sequence[tuple[str, str, datetime]]) -> int:
        """Move jobs that have not fired; how many moved."""
        moved = [self.jobs[(k, s)] for k, s, _ in jobs if (k, s) in self.jobs and self.jobs[(k, s)].done_at is None]
        await self.replan_pending(jobs)
        return len(moved)

    async def preference(self, recipient_id: str) -> Preference | None:
        """The stored preference, if any."""
        return self.preferences_by_id.get(recipient_id)

    async def preferences(self, recipient_ids: Sequence[str]) -> dict[str, Preference]:
        """Stored preferences of those recipients that have any."""
        return {i: self.preferences_by_id[i] for i in recipient_ids if i in self.preferences_by_id}

    async def insert_notification(self, new: NewNotification) -> str | None:
        """Store a notification unless its key exists."""
        key = (new.rule, new.subject_id, new.recipient.id, new.period)
        if key in self.keys:
            return None
        notification_id = str(uuid.uuid4())
        self.keys[key] = notification_id
        self.notifications[notification_id] = new
        return notification_id

    async def add_delivery(
        self,
        *,
        notification_id: str,
        channel: str,
        addresses: Sequence[str],
        delivered_at: datetime | None,
        error: str | None = None,
    ) -> int:
        """Plan a delivery on one channel (`error`: failed at once, kept with the reason)."""
        self.deliveries.append(
            FakeDelivery(len(self.deliveries) + 1, notification_id, channel, tuple(addresses), delivered_at, error)
        )
        return len(self.deliveries)

    async def insert_notifications(self, news: Sequence[NewNotification]) -> list[str | None]:
        """Store notifications unless their key exists, one by one."""
        return [await self.insert_notification(new) for new in news]

    async def hold_mail_addresses(self, addresses: Sequence[MailAddress]) -> set[tuple[str, str]]:
        """Each alert's address, per part of its text, for the first notification to ask; the pairs taken here."""
        taken: set[tuple[str, str]] = set()
        for item in addresses:
            key = (item.rule, item.subject_id, item.period, mail_address_key(item.address), item.part)
            if key not in self.mail_addresses:
                self.mail_addresses[key] = item.notification_id
                taken.add((item.notification_id, key[3]))
        return taken

    async def prune_mail_addresses(self, *, before: datetime, after: str, limit: int) -> tuple[int, str | None]:
        """Drop the addresses held by notifications created before `before`, all at once (no meetings here)."""
        old = [key for key, held_by in self.mail_addresses.items() if self.notifications[held_by].created_at < before]
        for key in old:
            del self.mail_addresses[key]
        return len(old), None

    async def prune_notifications(self, *, before: datetime, after: str, limit: int) -> tuple[int, str | None]:
        """Nothing: the fake keeps no read marks, so every notice here is unread and stays in its inbox."""
        return 0, None

    async def add_deliveries(self, deliveries: Sequence[NewDelivery]) -> int:
        """Plan deliveries, one by one."""
        for delivery in deliveries:
            await self.add_delivery(
                notification_id=delivery.notification_id,
                channel=delivery.channel,
                addresses=delivery.addresses,
                delivered_at=delivery.delivered_at,
                error=delivery.error,
            )
            self.deliveries[-1].greeting = delivery.greeting
        return len(deliveries)

    async def digest_pending(self, *, until: datetime) -> dict[str, list[Mapping[str, Any]]]:
        """Notifications waiting for a digest, per recipient."""
        grouped: dict[str, list[Mapping[str, Any]]] = {}
        for notification_id, n in self.notifications.items():
            if n.digest_pending and notification_id not in self.digest_ids and n.created_at <= until:
                grouped.setdefault(n.recipient.id, []).append(
                    {
                        "id": notification_id,
                        "title": n.title,
                        "recipient_kind": n.recipient.kind,
                        "recipient_name": n.recipient.name,
                        "recipient_emails": list(n.recipient.emails),
                        "recipient_phone": n.recipient.phone,
                    }
                )
        return grouped

    async def void_for_cancelled(self, meeting_id: str, *, now: datetime) -> tuple[int, int]:
        """Retract the absence and low-rating alerts about the meeting (as retract_alerts)."""
        return self._retract(
            lambda n: (
                (n.rule == UNEXCUSED_ABSENCE and n.period == meeting_id)
                or (n.rule in RETRACTED_WHEN_CANCELLED and n.subject_id == meeting_id)
            ),
            now=now,
        )

    async def cancel_jobs(self, kind: str, subject_ids: Sequence[str], *, now: datetime) -> int:
        """Mark the unfired jobs of this kind about these subjects done; how many."""
        cancelled = 0
        for (job_kind, subject_id), job in self.jobs.items():
            if job_kind == kind and subject_id in subject_ids and job.done_at is None:
                job.done_at, cancelled = now, cancelled + 1
        return cancelled

    async def retract_alerts(self, rule: str, subject_ids: Sequence[str], *, now: datetime) -> tuple[int, int]:
        """Retract the alerts of the rule about these subjects."""
        return self._retract(lambda n: n.rule == rule and n.subject_id in subject_ids, now=now)

    async def withdraw_alerts(self, keys: Sequence[tuple[str, str]], *, now: datetime) -> list[tuple[str, str]]:
        """Retract the alerts of these (rule, subject) keys and set their periods aside; the keys withdrawn."""
        wanted = set(keys)
        chosen = {
            key: notification_id
            for key, notification_id in self.keys.items()
            if (key[0], key[1]) in wanted and notification_id not in self.voided
        }
        self._retract(lambda n: (n.rule, n.subject_id) in wanted, now=now)
        for key, notification_id in chosen.items():
            aside = replace(self.notifications[notification_id], period=f"{key[3]}|void:{now.isoformat()}")
            self.notifications[notification_id] = aside
            del self.keys[key]
            self.keys[(key[0], key[1], key[2], aside.period)] = notification_id
        return sorted({(key[0], key[1]) for key in chosen})

    def _retract(self, chooses: Callable[[NewNotification], bool], *, now: datetime) -> tuple[int, int]:
        """Mark void the chosen alerts, out of the digests, and drop their deliveries not yet made."""
        chosen = {key for key, n in self.notifications.items() if chooses(n)}
        voided = 0
        for notification_id in sorted(chosen - set(self.voided)):
            self.voided[notification_id] = now
            self.notifications[notification_id] = replace(self.notifications[notification_id], digest_pending=False)
            voided += 1
        kept = [d for d in self.deliveries if d.notification_id not in chosen or d.delivered_at or d.error]
        cancelled = len(self.deliveries) - len(kept)
        self.deliveries = kept
        return voided, cancelled

    async def revise_notifications(self, news: Sequence[NewNotification]) -> int:
        """Give the stored notifications of these keys the new title and body; how many there were."""
        revised = 0
        for new in news:
            notification_id = self.keys.get((new.rule, new.subject_id, new.recipient.id, new.period))
            if notification_id is not None:
                stored = self.notifications[notification_id]
                self.notifications[notification_id] = replace(
                    stored, title=new.title, body=new.body, member_ids=new.member_ids or stored.member_ids
                )
                revised += 1
        return revised

    async def undigested(self, *, rule: str, subject_id: str, period: str, recipient_ids: Sequence[str]) -> set[str]:
        """The recipients with a notification under this key that no digest has carried yet."""
        return {
            recipient_id
            for recipient_id in recipient_ids
            if (notification_id := self.keys.get((rule, subject_id, recipient_id, period))) is not None
            and notification_id not in self.digest_ids
        }

    async def gone_out(
        self, *, rule: str, subject_id: str, period: str, recipient_ids: Sequence[str], now: datetime
    ) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
        """Per recipient, the (channel, addresses) of their e-mail and webhook deliveries done under this key."""
        found: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        for recipient_id in recipient_ids:
            notification_id = self.keys.get((rule, subject_id, recipient_id, period))
            for delivery in self.deliveries:
                if delivery.notification_id == notification_id and delivery.channel != "inbox":
                    if delivery.delivered_at is not None and delivery.error is None:
                        found.setdefault(recipient_id, []).append((delivery.channel, delivery.addresses))
        return found

    async def told_of(self, *, rule: str, subject_id: str) -> set[str]:
        """The recipients with a notice of the rule about the subject not void."""
        return {
            key[2]
            for key, notification_id in self.keys.items()
            if key[0] == rule and key[1] == subject_id and notification_id not in self.voided
        }

    async def mailed_about(
        self, *, rule: str, subject_id: str, recipient_ids: Sequence[str], now: datetime
    ) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
        """Per recipient, the distinct (channel, addresses) their notices of the rule about the subject went out on."""
        found: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        for key, notification_id in self.keys.items():
            if key[0] != rule or key[1] != subject_id or key[2] not in recipient_ids or notification_id in self.voided:
                continue
            for delivery in self.deliveries:
                if delivery.notification_id == notification_id and delivery.channel != "inbox":
                    sent = (delivery.channel, tuple(delivery.addresses))
                    if (
                        delivery.delivered_at is not None
                        and delivery.error is None
                        and sent not in found.get(key[2], [])
                    ):
                        found.setdefault(key[2], []).append(sent)
        return found

    async def withdraw_corrected(
        self, *, rule: str, subject_id: str, recipient_ids: Sequence[str], now: datetime, period: str | None = None
    ) -> int:
        """Retract these recipients' notices of the rule about the subject (of `period`, None: any); how many."""
        voided, _ = self._retract(
            lambda n: (
                n.rule == rule
                and n.subject_id == subject_id
                and n.recipient.id in recipient_ids
                and period in (None, n.period)
            ),
            now=now,
        )
        return voided

    async def named_notices(
        self, *, rule: str, subject_id: str, recipient_ids: Sequence[str]
    ) -> list[tuple[str, str, tuple[str, ...] | None]]:
        """(recipient, period, member ids or None) of these recipients' notices of the rule about the subject not
        void."""
        return sorted(
            (key[2], key[3], self.notifications[notification_id].member_ids or None)
            for key, notification_id in self.keys.items()
            if key[0] == rule
            and key[1] == subject_id
            and key[2] in recipient_ids
            and notification_id not in self.voided
        )

    async def digested_about(
        self, *, rule: str, subject_id: str, recipient_ids: Sequence[str], period: str | None = None
    ) -> set[str]:
        """The recipients whose notices of the rule about the subject (of `period`, None: any), not void, a digest
        carried."""
        return {
            key[2]
            for key, notification_id in self.keys.items()
            if key[0] == rule
            and key[1] == subject_id
            and period in (None, key[3])
            and key[2] in recipient_ids
            and notification_id not in self.voided
            and notification_id in self.digest_ids
        }

    async def close_digest(self, notification_ids: Sequence[str], *, digest_id: str | None) -> None:
        """Mark notifications as carried by a digest."""
        for notification_id in notification_ids:
            self.digest_ids[notification_id] = digest_id or ""

    def sent(self, rule: str) -> list[tuple[str, str, str]]:
        """(recipient, subject, period) of each notification of a rule, sorted."""
        return sorted((n.recipient.id, n.subject_id, n.period) for n in self.notifications.values() if n.rule == rule)


@dataclass
class _StoredMeeting:
    meeting: Meeting
    roster: list[tuple[str, str]] = field(default_factory=list)
    guests: list[str] = field(default_factory=list)
    roster_version: tuple[datetime, int, str] | None = None
    minutes_version: tuple[datetime, int, str] | None = None


class FakeProjection:
    """Units, members, monitors, meetings and settings in dictionaries; the schedule is the outgoing fake's."""

    def __init__(self, outgoing: FakeOutgoing) -> None:
        self._outgoing = outgoing
        self.units: dict[str, Unit] = {}
        self.members: dict[str, Member] = {}
        self.monitors: dict[tuple[str, str], Monitor] = {}
        self.meetings: dict[str, _StoredMeeting] = {}
        self.scores: dict[tuple[str, str], tuple[str, float]] = {}
        self.meeting_scores: dict[str, MeetingScore] = {}
        self.overrides: dict[tuple[str, str], RuleOverride] = {}
        self._versions: dict[tuple[str, str], tuple[datetime, int, str]] = {}
        self.locked: list[str] = []
        self.figures: dict[str, list[tuple[tuple[int, datetime, int, str, str], NewFigures, bool, bool]]] = {}
        """Each member's announced figures in order: (order key, figures, run alerted, months alerted)."""

    def _newer(self, key: tuple[str, str], time: datetime, event_id: str, ns: int = 0) -> bool:
        if key in self._versions and self._versions[key] >= (time, ns, event_id):
            return False
        self._versions[key] = (time, ns, event_id)
        return True

    async def lock_cell(self, cell_id: str) -> None:
        """Remember the lock (one process, nothing to serialize)."""
        self.locked.append(cell_id)

    async def lock_cells(self, cell_ids: Sequence[str]) -> None:
        """Remember each lock."""
        for cell_id in cell_ids:
            await self.lock_cell(cell_id)

    def holds_lock(self, cell_id: str) -> bool:
        """Whether the cell was locked before."""
        return cell_id in self.locked

    async def upsert_unit(self, unit: Unit, *, time: datetime, event_id: str, ns: int = 0) -> bool:
        """Store a unit if newer."""
        if not self._newer(("unit", unit.id), time, event_id, ns):
            return False
        self.units[unit.id] = replace(unit, known_since=unit.known_since or time)
        return True

    async def get_unit(self, unit_id: str) -> Unit | None:
        """One unit."""
        return self.units.get(unit_id)

    async def units_by_id(self, unit_ids: Sequence[str]) -> dict[str, Unit]:
        """Known units among the ids."""
        return {i: self.units[i] for i in unit_ids if i in self.units}

    async def ancestors(self, unit_id: str) -> list[str]:
        """Root-first chain down to the unit."""
        chain = [unit_id]
        while (unit := self.units.get(chain[0])) is not None and unit.parent_id and len(chain) < 50:
            chain.insert(0, unit.parent_id)
        return chain

    async def ancestors_of(self, unit_ids: Sequence[str]) -> dict[str, list[str]]:
        """The chain of each unit."""
        return {unit_id: await self.ancestors(unit_id) for unit_id in unit_ids}

    async def subtree_cells(self, unit_id: str) -> list[str]:
        """Cells at or under the unit."""
        return sorted([u.id for u in self.units.values() if u.kind == "cell" and unit_id in await self.ancestors(u.id)])

    async def active_cells(self, *, after_id: str, limit: int) -> list[str]:
        """Active cells after an id, in id order."""
        return sorted(u.id for u in self.units.values() if u.kind == "cell" and u.active and u.id > after_id)[:limit]

    async def upsert_member(self, member: Member, *, time: datetime, event_id: str, ns: int = 0) -> bool:
        """Store a member if newer."""
        if not self._newer(("member", member.id), time, event_id, ns):
            return False
        self.members[member.id] = replace(member, removed=False)
        return True

    async def upsert_members(self, members: Sequence[tuple[Member, datetime, str, int]]) -> set[str]:
        """upsert_member of each; those applied."""
        applied = set()
        for member, time, event_id, ns in members:
            if await self.upsert_member(member, time=time, event_id=event_id, ns=ns):
                applied.add(member.id)
        return applied

    async def remove_member(self, member_id: str, *, time: datetime, event_id: str, ns: int = 0) -> bool:
        """Mark a member removed if newer."""
        if member_id not in self.members or not self._newer(("member", member_id), time, event_id, ns):
            return False
        self.members[member_id] = replace(self.members[member_id], removed=True)
        return True

    async def get_member(self, member_id: str) -> Member | None:
        """One member."""
        return self.members.get(member_id)

    async def members_by_id(self, member_ids: Sequence[str]) -> dict[str, Member]:
        """Known members among the ids."""
        return {i: self.members[i] for i in member_ids if i in self.members}

    async def upsert_monitor(self, monitor: Monitor, *, time: datetime, event_id: str, ns: int = 0) -> bool:
        """Store a monitor assignment if newer."""
        if not self._newer(("monitor", f"{monitor.person_id}:{monitor.cell_id}"), time, event_id, ns):
            return False
        self.monitors[(monitor.person_id, monitor.cell_id)] = monitor
        return True

    async def monitors_of(self, person_id: str) -> list[Monitor]:
        """The person's monitor assignments, in cell order."""
        return [m for (p, _), m in sorted(self.monitors.items()) if p == person_id]

    async def pending_probations(self, cell_ids: Sequence[str]) -> list[Member]:
        """Members of the cells with a pending probation check."""
        return [
            m
            for m in self.members.values()
            if m.cell_id in cell_ids
            and (job := self._outgoing.jobs.get(("member.probation", m.id))) is not None
            and job.done_at is None
        ]

    async def cell_context(self, cell_id: str | None) -> CellContext:
        """The cell, its superior, members and monitors."""
        if cell_id is None:
            return CellContext(cell=None, superior=None)
        cell = self.units.get(cell_id)
        return CellContext(
            cell=cell,
            superior=self.units.get(cell.parent_id) if cell and cell.parent_id else None,
            members=tuple(sorted((m for m in self.members.values() if m.cell_id == cell_id), key=lambda m: m.id)),
            monitors=tuple(m for (_, c), m in sorted(self.monitors.items()) if c == cell_id),
        )

    async def cell_contexts(
        self, cell_ids: Sequence[str], *, member_ids: Sequence[str] | None = None
    ) -> dict[str, CellContext]:
        """The context of each cell (its members only those of `member_ids` when given)."""
        contexts = {cell_id: await self.cell_context(cell_id) for cell_id in cell_ids}
        if member_ids is None:
            return contexts
        wanted = set(member_ids)
        return {
            cell_id: replace(ctx, members=tuple(m for m in ctx.members if m.id in wanted))
            for cell_id, ctx in contexts.items()
        }

    async def members_not_told(
        self, cell_id: str, *, rule: str, subject_ids: Sequence[str], period: str
    ) -> dict[str, list[str]]:
        """For each subject, the cell's members with no notification of `rule` about it for `period`."""
        found: dict[str, list[str]] = {}
        for subject_id in subject_ids:
            for member in sorted(self.members.values(), key=lambda m: m.id):
                if member.cell_id == cell_id and (rule, subject_id, member.id, period) not in self._outgoing.keys:
                    found.setdefault(subject_id, []).append(member.id)
        return found

    async def rule_overrides(self, unit_ids: Sequence[str]) -> list[RuleOverride]:
        """Settings stored for any of the units."""
        return [o for (unit_id, _), o in self.overrides.items() if unit_id in unit_ids]

    async def lock_rule_settings(self, unit_id: str, chain: Sequence[str]) -> None:
        """Remember the lock of the unit's rule settings (one process, nothing to serialize)."""
        self.locked.append(f"rules:{unit_id}")

    async def lock_rule_reads(self, chains: Sequence[Sequence[str]]) -> None:
        """Remember the shared locks of the chains' rule settings (one process, nothing to serialize)."""
        self.locked.extend(f"rules-read:{unit_id}" for unit_id in dict.fromkeys(u for chain in chains for u in chain))

    async def set_rule_override(self, override: RuleOverride) -> None:
        """Store one unit's setting of one rule."""
        self.overrides[(override.unit_id, override.rule)] = override

    def _meeting(self, meeting_id: str) -> _StoredMeeting:
        stored = self.meetings.get(meeting_id)
        if stored is None:
            stored = self.meetings[meeting_id] = _StoredMeeting(Meeting(meeting_id, None, None, None, None, None))
        return stored

    async def apply_scheduled(self, data: Any, *, time: datetime, event_id: str, ns: int = 0) -> bool:
        """Store the scheduled facts if newer."""
        if not self._newer(("scheduled", data.meeting_id), time, event_id, ns):
            return False
        stored = self._meeting(data.meeting_id)
        stored.meeting = replace(
            stored.meeting,
            cell_id=data.cell_id,
            kind=data.kind.value,
            topic=data.topic,
            starts_at=data.starts_at,
            location=data.location,
        )
        return True

    async def apply_scheduled_many(self, scheduled: Sequence[tuple[Any, datetime, str, int]]) -> set[str]:
        """apply_scheduled of each; the meetings applied."""
        applied = set()
        for data, time, event_id, ns in scheduled:
            if await self.apply_scheduled(data, time=time, event_id=event_id, ns=ns):
                applied.add(data.meeting_id)
        return applied

    async def apply_rescheduled(self, data: Any, *, time: datetime, event_id: str, ns: int = 0) -> bool:
        """Store the new start if newer."""
        if not self._newer(("rescheduled", data.meeting_id), time, event_id, ns):
            return False
        stored = self._meeting(data.meeting_id)
        stored.meeting = replace(
            stored.meeting, starts_at=data.starts_at, location=data.location or stored.meeting.location
        )
        return True

    async def apply_cancelled(
        self, meeting_id: str, *, reason: str, time: datetime, event_id: str, ns: int = 0
    ) -> CancelApplied | None:
        """Keep the latest cancellation by (time, ns, id): `first`, `newer` or None."""
        stored = self._meeting(meeting_id)
        was = stored.meeting.cancelled
        if not self._newer(("cancelled", meeting_id), time, event_id, ns):
            return None
        stored.meeting = replace(stored.meeting, cancelled=True, cancel_reason=reason)
        return "newer" if was else "first"

    async def add_documents(self, meeting_id: str, *, kinds: Sequence[str], published_at: datetime) -> None:
        """Remember the earliest publication of each kind."""
        stored = self._meeting(meeting_id)
        documents = dict(stored.meeting.documents)
        for kind in kinds:
            documents[kind] = min(documents.get(kind, published_at), published_at)
        stored.meeting = replace(stored.meeting, documents=documents)

    async def add_documents_many(self, documents: Sequence[tuple[str, str, datetime]]) -> None:
        """Each publication in turn."""
        for meeting_id, kind, published_at in documents:
            await self.add_documents(meeting_id, kinds=[kind], published_at=published_at)

    async def minutes_submitted_many(self, minutes: Sequence[tuple[str, datetime, str, datetime, int]]) -> None:
        """Each submission in turn."""
        for meeting_id, time, event_id, ended_at, ns in minutes:
            await self.minutes_submitted(meeting_id, time=time, event_id=event_id, ended_at=ended_at, ns=ns)

    async def minutes_submitted(
        self, meeting_id: str, *, time: datetime, event_id: str, ended_at: datetime, ns: int = 0
    ) -> None:
        """Remember the earliest submission and the end of the latest minutes by (time, ns, id)."""
        stored = self._meeting(meeting_id)
        earliest = min(stored.meeting.minutes_submitted_at or time, time)
        if stored.minutes_version is None or (time, ns, event_id) > stored.minutes_version:
            stored.minutes_version = (time, ns, event_id)
            stored.meeting = replace(stored.meeting, ended_at=ended_at)
        stored.meeting = replace(stored.meeting, minutes_submitted_at=earliest)

    async def replace_roster(
        self,
        meeting_id: str,
        *,
        records: Sequence[tuple[str, str]],
        guests: Sequence[str],
        time: datetime,
        event_id: str,
        ns: int = 0,
    ) -> bool:
        """Replace the roster if newer."""
        stored = self._meeting(meeting_id)
        if stored.roster_version is not None and stored.roster_version >= (time, ns, event_id):
            return False
        stored.roster, stored.guests, stored.roster_version = list(records), list(guests), (time, ns, event_id)
        return True

    async def withdraw_roster(
        self,
        meeting_id: str,
        *,
        roster_id: str,
        restored: Sequence[tuple[str, str]] | None,
        time: datetime | None,
        event_id: str | None,
        ns: int = 0,
    ) -> bool:
        """Put the restored roster in place of the withdrawn one, if stored."""
        stored = self._meeting(meeting_id)
        if stored.roster_version is None or stored.roster_version[2] != roster_id:
            return False
        stored.roster = list(restored or [])
        stored.roster_version = (time, ns, event_id) if time is not None and event_id is not None else None
        return True

    async def replace_rosters(self, rosters: Sequence[Roster]) -> set[str]:
        """replace_roster of each; the meetings applied."""
        applied = set()
        for roster in rosters:
            if await self.replace_roster(
                roster.meeting_id,
                records=roster.records,
                guests=roster.guests,
                time=roster.time,
                event_id=roster.event_id,
                ns=roster.ns,
            ):
                applied.add(roster.meeting_id)
        return applied

    async def absent_members(self, meeting_id: str) -> list[str]:
        """Members absent without valid reason."""
        return sorted(member for member, status in self._meeting(meeting_id).roster if status == "absent")

    async def absent_members_of(self, meeting_ids: Sequence[str]) -> dict[str, list[str]]:
        """absent_members of many meetings (those with nobody absent left out)."""
        absent = {meeting_id: await self.absent_members(meeting_id) for meeting_id in meeting_ids}
        return {meeting_id: ids for meeting_id, ids in absent.items() if ids}

    async def get_meeting(self, meeting_id: str) -> Meeting | None:
        """One meeting."""
        stored = self.meetings.get(meeting_id)
        return stored.meeting if stored else None

    async def meetings_by_id(self, meeting_ids: Sequence[str]) -> dict[str, Meeting]:
        """Known meetings among the ids."""
        return {i: self.meetings[i].meeting for i in meeting_ids if i in self.meetings}

    async def upcoming_meetings(self, cell_id: str, *, now: datetime) -> list[Meeting]:
        """Meetings of the cell ahead and not cancelled."""
        return [
            s.meeting
            for s in self.meetings.values()
            if s.meeting.cell_id == cell_id
            and not s.meeting.cancelled
            and s.meeting.starts_at
            and s.meeting.starts_at > now
        ]

    async def meetings_of_cells(
        self, cell_ids: Sequence[str], *, start: datetime, end: datetime
    ) -> dict[str, list[Meeting]]:
        """Meetings of the cells starting in [start, end)."""
        found: dict[str, list[Meeting]] = {}
        for s in self.meetings.values():
            m = s.meeting
            if (
                m.cell_id is not None
                and m.cell_id in cell_ids
                and m.starts_at is not None
                and start <= m.starts_at < end
            ):
                found.setdefault(m.cell_id, []).append(m)
        return found

    async def monitor_attendance(
        self, cell_ids: Sequence[str], *, start: datetime, end: datetime
    ) -> dict[tuple[str, str], int]:
        """Meetings each monitor attended as a guest."""
        counts: dict[tuple[str, str], int] = {}
        for s in self.meetings.values():
            m = s.meeting
            if m.cell_id is None or m.cell_id not in cell_ids or m.cancelled or m.starts_at is None:
                continue
            if not start <= m.starts_at < end:
                continue
            for person_id in s.guests:
                if (person_id, m.cell_id) in self.monitors:
                    counts[(person_id, m.cell_id)] = counts.get((person_id, m.cell_id), 0) + 1
        return counts

    async def pending_meeting_jobs(self, cell_ids: Sequence[str]) -> list[Meeting]:
        """Meetings of the cells with a pending job."""
        pending = {s for (k, s), job in self._outgoing.jobs.items() if k.startswith("meeting.") and job.done_at is None}
        return [s.meeting for i, s in sorted(self.meetings.items()) if i in pending and s.meeting.cell_id in cell_ids]

    async def upsert_cell_score(
        self, *, cell_id: str, period: str, rating: str, score: float, time: datetime, event_id: str
    ) -> bool:
        """Store a period rating if newer."""
        if not self._newer(("score", f"{cell_id}|{period}"), time, event_id):
            return False
        self.scores[(cell_id, period)] = (rating, score)
        return True

    async def upsert_cell_scores(self, scores: Sequence[CellScore], *, received_at: datetime) -> set[tuple[str, str]]:
        """Store each rating in turn, noting when it arrived (where the schedule's re-planning reads it); the
        (cell, period) keys applied."""
        applied = set()
        for s in scores:
            if await self.upsert_cell_score(
                cell_id=s.cell_id, period=s.period, rating=s.rating, score=s.score, time=s.time, event_id=s.event_id
            ):
                applied.add((s.cell_id, s.period))
                self._outgoing.cell_scores_received[(s.cell_id, s.period)] = received_at
        return applied

    async def get_cell_score(self, *, cell_id: str, period: str) -> tuple[str, float] | None:
        """(rating, score) of a cell's period."""
        return self.scores.get((cell_id, period))

    async def upsert_meeting_scores(self, scores: Sequence[MeetingScore]) -> list[MeetingScore]:
        """Store each meeting score in turn when newer; the latest stored of each meeting applied."""
        applied: dict[str, MeetingScore] = {}
        for score in scores:
            if self._newer(("meeting_score", score.meeting_id), score.time, score.event_id):
                self.meeting_scores[score.meeting_id] = applied[score.meeting_id] = score
        return list(applied.values())

    async def withdraw_meeting_scores(self, withdrawals: Sequence[MeetingScoreWithdrawal]) -> list[str]:
        """Drop each meeting's score when the withdrawal is newer; the meetings withdrawn, ascending."""
        withdrawn = set()
        for item in withdrawals:
            if self._newer(("meeting_score", item.meeting_id), item.time, item.event_id):
                self.meeting_scores.pop(item.meeting_id, None)
                withdrawn.add(item.meeting_id)
        return sorted(withdrawn)

    async def get_meeting_score(self, meeting_id: str) -> MeetingScore | None:
        """A meeting's latest stored score."""
        return self.meeting_scores.get(meeting_id)

    async def meeting_scores_of(self, meeting_ids: Sequence[str]) -> dict[str, MeetingScore]:
        """The latest stored scores of these meetings, by meeting id."""
        return {
            meeting_id: self.meeting_scores[meeting_id]
            for meeting_id in meeting_ids
            if meeting_id in self.meeting_scores
        }

    async def pending_meeting_scores(self, cell_ids: Sequence[str]) -> list[MeetingScore]:
        """The latest scores of the cells' meetings with a pending rating check."""
        return [
            score
            for meeting_id, score in sorted(self.meeting_scores.items())
            if score.cell_id in cell_ids
            and (job := self._outgoing.jobs.get(("score.meeting", meeting_id))) is not None
            and job.done_at is None
        ]

    async def prune_meeting_scores(self, *, before: datetime, after: str, limit: int) -> tuple[int, str | None]:
        """Drop, among the next `limit` meetings after `after`, the scores stored before `before` whose rating check
        is not pending; (how many, the batch's last meeting or None when none is left after it)."""
        batch = sorted(meeting_id for meeting_id in self.meeting_scores if meeting_id > after)[:limit]
        pruned = 0
        for meeting_id in batch:
            job = self._outgoing.jobs.get(("score.meeting", meeting_id))
            if self.meeting_scores[meeting_id].received_at < before and (job is None or job.done_at is not None):
                del self.meeting_scores[meeting_id]
                self._versions.pop(("meeting_score", meeting_id), None)  # the stored version goes with the row
                pruned += 1
        return pruned, batch[-1] if len(batch) == limit else None

    async def lock_members(self, member_ids: Sequence[str]) -> None:
        """Remember each lock."""
        self.locked.extend(f"member:{member_id}" for member_id in member_ids)

    async def add_figures(self, figures: Sequence[NewFigures]) -> dict[tuple[str, str], bool]:
        """Keep the announcements not kept yet; whether a later one of the member was kept before each."""
        before = {key: list(rows) for key, rows in self.figures.items()}
        added: dict[tuple[str, str], bool] = {}
        for new in figures:
            key = (new.sequence, new.time, new.ns, new.cause_id, new.event_id)
            rows = self.figures.setdefault(new.member_id, [])
            if any(
                (row[1].time, row[1].cause_id, row[1].event_id) == (new.time, new.cause_id, new.event_id)
                for row in rows
            ):
                continue  # the primary key leaves the number out
            rows.append((key, new, False, False))
            rows.sort(key=lambda row: row[0])
            added[(new.member_id, new.event_id)] = any(row[0] > key for row in before.get(new.member_id, []))
        return added

    async def figure_histories(self, member_ids: Sequence[str]) -> dict[str, list[AnnouncedFigures]]:
        """Each member's announcements in order."""
        return {
            member_id: [
                AnnouncedFigures(
                    event_id=new.event_id,
                    consecutive_absences=new.consecutive_absences,
                    unexcused_months=new.unexcused_months,
                    recent=new.recent,
                    run_alerted=run,
                    months_alerted=months,
                    meeting_id=new.meeting_id,
                )
                for _, new, run, months in self.figures.get(member_id, [])
            ]
            for member_id in member_ids
        }

    async def lock_meetings(self, meeting_ids: Sequence[str]) -> None:
        """Remember each lock."""
        self.locked.extend(f"figures-meeting:{meeting_id}" for meeting_id in meeting_ids)

    async def alerted_at(self, meeting_ids: Sequence[str]) -> set[tuple[str, str]]:
        """(rule, meeting) of the given meetings with an alert anchored on one of their figures."""
        found: set[tuple[str, str]] = set()
        for rows in self.figures.values():
            for _, new, run, months in rows:
                if new.meeting_id and new.meeting_id in meeting_ids:
                    found |= {("consecutive_absences", new.meeting_id)} if run else set()
                    found |= {("unexcused_months", new.meeting_id)} if months else set()
        return found

    async def told_crossings(self, meeting_ids: Sequence[str]) -> list[ToldCrossing]:
        """The members whose absence alert is anchored at the given meetings, named as the projection has them."""
        told: list[ToldCrossing] = []
        for member_id in sorted(self.figures):
            for _, new, run, months in self.figures[member_id]:
                if not new.meeting_id or new.meeting_id not in meeting_ids:
                    continue
                known = self.members.get(member_id)
                name = known.full_name if known is not None else None
                if run:
                    told.append(
                        ToldCrossing("consecutive_absences", new.meeting_id, member_id, name, new.consecutive_absences)
                    )
                if months:
                    told.append(ToldCrossing("unexcused_months", new.meeting_id, member_id, name, new.unexcused_months))
        return told

    async def told_after(self, announced: Sequence[tuple[str, str]]) -> list[ToldCrossing]:
        """The member's absence alerts anchored after their first figure about the meeting, at another meeting."""
        told: list[ToldCrossing] = []
        for member_id, meeting_id in announced:
            rows = self.figures.get(member_id, [])
            first = next((i for i, (_, new, _, _) in enumerate(rows) if new.meeting_id == meeting_id), None)
            if first is None:
                continue
            known = self.members.get(member_id)
            for _, new, run, months in rows[first + 1 :]:
                if not new.meeting_id or new.meeting_id == meeting_id:
                    continue
                for rule, alerted, count in (
                    ("consecutive_absences", run, new.consecutive_absences),
                    ("unexcused_months", months, new.unexcused_months),
                ):
                    crossing = ToldCrossing(
                        rule, new.meeting_id, member_id, known.full_name if known is not None else None, count
                    )
                    if alerted and crossing not in told:
                        told.append(crossing)
        return told

    async def mark_alerted(self, marks: Sequence[tuple[str, str, str]]) -> None:
        """Anchor each alert on its figure."""
        for member_id, event_id, rule in marks:
            rows = self.figures[member_id]
            for index, (key, new, run, months) in enumerate(rows):
                if new.event_id == event_id:
                    rows[index] = (
                        key,
                        new,
                        run or rule == "consecutive_absences",
                        months or rule == "unexcused_months",
                    )

    async def prune_figures(self, *, before: datetime, after: str, limit: int) -> tuple[int, str | None]:
        """Drop, for the next `limit` members after `after`, their figures before their latest figure at zeros
        announced, with every figure before it, before `before`; (how many, the batch's last member or None when none
        is left after it)."""
        pruned = 0
        members = sorted(member_id for member_id in self.figures if member_id > after)[:limit]
        for member_id in members:
            rows = self.figures[member_id]
            zero = [
                key
                for index, (key, new, _run, _months) in enumerate(rows)
                if all(row[1].time < before for row in rows[: index + 1])
                and not (new.consecutive_absences or new.unexcused_months)
            ]
            if not zero:
                continue
            kept = [row for row in rows if row[0] >= max(zero)]
            pruned += len(rows) - len(kept)
            self.figures[member_id] = kept
        return pruned, members[-1] if len(members) == limit else None


class FakeUnitOfWork:
    """A unit of work over the fakes: commit is a flag, emitted events are kept in a list."""

    def __init__(self, settings: Settings, *, now: datetime) -> None:
        self.outgoing = FakeOutgoing()
        self.projection = FakeProjection(self.outgoing)
        self.settings = settings
        self.clock = now
        self.events: list[CloudEvent] = []
        self.committed = False
        self.configs: dict[str, RuleConfig] = {}

    def now(self) -> datetime:
        """The test's clock."""
        return self.clock

    def emit(self, event: CloudEvent, *, exchange: str = "chibo.events") -> None:
        """Keep the event."""
        self.events.append(event)

    async def commit(self) -> None:
        """Mark committed."""
        self.committed = True


def _conforms(uow: FakeUnitOfWork) -> tuple[ProjectionRepository, OutgoingRepository, NotificationsUnit]:
    """Type-checked proof that the fakes satisfy the Protocols the handlers are written against."""
    return uow.projection, uow.outgoing, uow


class Clock:
    """A clock the test sets (and moves) by hand: calling it answers its value."""

    def __init__(self, value: datetime) -> None:
        self.value = value

    def __call__(self) -> datetime:
        return self.value
