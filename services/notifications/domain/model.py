"""Entities of the notifications projection, recipients and alerts; pure values, no I/O."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from shared.contracts.meetings import REGULAR_KINDS as REGULAR_KINDS
from shared.contracts.meetings import THEMATIC_KINDS as THEMATIC_KINDS
from shared.text import BLANK_SAID, has_text
from shared.web_address import address_problem

OFFICIAL = "official"
PROBATIONARY = "probationary"
SECRETARY = "secretary"
DEPUTY_SECRETARY = "deputy_secretary"
COMMITTEE_MEMBER = "committee_member"
CELL_COMMITTEE_ROLES = (SECRETARY, DEPUTY_SECRETARY, COMMITTEE_MEMBER)
PERSON = "person"
COMMITTEE = "committee"
INBOX = "inbox"

CancelApplied = Literal["first", "newer"]
"""What storing a cancellation did: the meeting's first one, or a later one replacing the reason in force."""


def with_inbox(channels: Iterable[str]) -> tuple[str, ...]:
    """The channels that reach a recipient: those chosen, once each, and always the in-app inbox, which is the
    notification itself (kept whatever is chosen), so a preference never claims it is off."""
    return tuple(dict.fromkeys([*channels, INBOX]))


WEBHOOK = "webhook"


@dataclass(frozen=True)
class PreferenceFault:
    """Why a preference is refused: the `field` it names and an English `message` that starts with that field."""

    field: str
    message: str


def preference_fault(
    *,
    channels: Any,
    known: Iterable[str],
    offered: Iterable[str],
    webhook_url: Any = None,
    webhook_secret: Any = None,
    can_seal: bool = True,
) -> PreferenceFault | None:
    """The first fault of a preference, or None: channels not a list of the `known` ones, a `webhook_url` not
    http(s), a `webhook_secret` not a string, blank (shared.text.has_text) or with no key to seal it (`can_seal`),
    the webhook chosen where none is `offered` and the recipient has no address of their own. Every message starts
    `field: ` as every refusal does; the gateway's test fake judges with this same function, so its refusals are the
    service's."""
    known, offered = list(known), list(offered)
    if not isinstance(channels, list) or any(channel not in known for channel in channels):
        return PreferenceFault("channels", f"channels: must be a list of {', '.join(sorted(known))}")
    address = address_problem(str(webhook_url)) if webhook_url is not None else None
    if address is not None:
        return PreferenceFault("webhook_url", f"webhook_url: {address.reason}")
    if webhook_secret is not None and not isinstance(webhook_secret, str):
        return PreferenceFault("webhook_secret", "webhook_secret: must be a string")
    if webhook_secret is not None and not has_text(webhook_secret):
        # only spaces or invisible characters ("\u200b"): sealed, it signed every delivery with a key no one could
        # read back or type again
        return PreferenceFault("webhook_secret", f"webhook_secret: {BLANK_SAID}")
    if WEBHOOK in channels and not webhook_url and WEBHOOK not in offered:
        message = (
            "channels: webhook (the SMS gateway) is not available, as no SMS gateway is configured for this"
            f" province; choose among {', '.join(offered)}"
        )
        return PreferenceFault("channels", message)
    if webhook_secret and not can_seal:
        return PreferenceFault("webhook_secret", "webhook_secret: no CHIBO_SECRET_KEY to store a webhook secret with")
    return None


@dataclass(frozen=True)
class Unit:
    """A committee or cell of the organization tree, with the addresses committees read."""

    id: str
    name: str
    kind: str
    parent_id: str | None
    contact_emails: tuple[str, ...] = ()
    active: bool = True
    known_since: datetime | None = None


@dataclass(frozen=True)
class Member:
    """A party member as far as addressing and the membership rules need."""

    id: str
    full_name: str
    cell_id: str
    status: str
    role: str
    email: str | None = None
    phone: str | None = None
    exempt: bool = False
    admitted_on: date | None = None
    removed: bool = False

    @property
    def active(self) -> bool:
        """Still on the cell's roll."""
        return not self.removed


@dataclass(frozen=True)
class Monitor:
    """An upper-level committee member assigned to follow a cell."""

    person_id: str
    cell_id: str
    committee_id: str
    full_name: str
    email: str | None = None
    yearly_quota: int | None = None


@dataclass(frozen=True)
class Meeting:
    """A meeting with its effective start and place after any rescheduling."""

    meeting_id: str
    cell_id: str | None
    kind: str | None
    topic: str | None
    starts_at: datetime | None
    location: str | None
    cancelled: bool = False
    cancel_reason: str | None = None
    minutes_submitted_at: datetime | None = None
    ended_at: datetime | None = None
    """When the meeting ended, as its minutes say (minutes.submitted.v1; the latest submission's); None before any."""
    documents: dict[str, datetime] = field(default_factory=dict)
    """First publication time per document kind."""
    agenda: tuple[str, ...] = ()
    """The content items the schedule carries, in order."""
    previous_starts_at: datetime | None = None
    """The start the latest change replaced (what members were told before it): set for a change notice from the
    meeting before and after the fact (rules.meeting_change), not stored."""
    reschedule_reason: str | None = None
    """Why the latest move was made, when given (set for a change notice, not stored)."""
    previous_location: str | None = None
    """The place the latest change replaced, when it was known (set for a change notice, not stored)."""
    previous_kind: str | None = None
    """The kind the latest change replaced (set for a change notice, not stored)."""
    previous_topic: str | None = None
    """The topic the latest change replaced (set for a change notice, not stored)."""

    @property
    def known(self) -> bool:
        """Scheduled facts have arrived (cell, kind and start are known)."""
        return self.cell_id is not None and self.kind is not None and self.starts_at is not None

    def took_place_by(self, moment: datetime) -> bool:
        """Not cancelled and started at or before `moment`."""
        return not self.cancelled and self.starts_at is not None and self.starts_at <= moment

    @property
    def held(self) -> bool:
        """Held (DOMAIN.md "How to read it": minutes and not cancelled) and known: only then does an absence on its
        roster count."""
        return self.known and not self.cancelled and self.minutes_submitted_at is not None

    def held_by(self, moment: datetime) -> bool:
        """Held (`held`) and its start come by `moment`; a meeting still scheduled has no attendance or quality to
        judge."""
        return self.held and self.took_place_by(moment)


@dataclass(frozen=True)
class Recipient:
    """Someone an alert is addressed to: a person or a committee (its inbox and contact e-mails)."""

    id: str
    kind: str
    name: str
    emails: tuple[str, ...] = ()
    phone: str | None = None


@dataclass(frozen=True)
class CellScore:
    """A cell's rating for one period as score.cell.updated.v1 gave it, with the event's (time, id) version."""

    cell_id: str
    period: str
    rating: str
    score: float
    time: datetime
    event_id: str


@dataclass(frozen=True)
class MeetingScore:
    """A meeting's score as score.meeting.updated.v1 gave it, with the event's (time, id) version and when this
    service stored it (the settle period of meeting_rated_low runs from then)."""

    meeting_id: str
    cell_id: str
    rating: str
    score: float
    provisional: bool
    time: datetime
    event_id: str
    received_at: datetime


@dataclass(frozen=True)
class MeetingScoreWithdrawal:
    """score.meeting.withdrawn.v1 of a meeting (no longer scored: cancelled), with the event's (time, id) version,
    which competes with its scores', and when this service stored it."""

    meeting_id: str
    cell_id: str
    time: datetime
    event_id: str
    received_at: datetime


@dataclass(frozen=True)
class Roster:
    """A meeting's roster as attendance.recorded.v1 gave it: (member, status) records, guests' person ids, and the
    event's (time, id) version."""

    meeting_id: str
    records: tuple[tuple[str, str], ...]
    guests: tuple[str, ...]
    time: datetime
    event_id: str
    ns: int = 0
    """The nanoseconds of `time` below its microsecond (rosters order by time, ns, id)."""


def person_recipient(member: Member) -> Recipient:
    """A member as a recipient."""
    return Recipient(
        id=member.id,
        kind=PERSON,
        name=member.full_name,
        emails=(member.email,) if member.email else (),
        phone=member.phone,
    )


def monitor_recipient(monitor: Monitor) -> Recipient:
    """An upper-level monitor as a recipient."""
    return Recipient(
        id=monitor.person_id,
        kind=PERSON,
        name=monitor.full_name,
        emails=(monitor.email,) if monitor.email else (),
    )


def email_on_file(unit: Unit | None, member: Member | None, monitors: Iterable[Monitor]) -> bool | None:
    """Whether a recipient has an e-mail address to send to: a committee's contact addresses, else the member
    snapshot's or any of the person's monitor assignments' (monitor.assigned.v1 `email`), the addresses their notices
    go to (person_recipient, monitor_recipient); None when the recipient is no unit, member or monitor known here."""
    if unit is not None:
        return bool(unit.contact_emails)
    assignments = list(monitors)
    if member is None and not assignments:
        return None
    return bool(member and member.email) or any(monitor.email for monitor in assignments)


def committee_recipient(unit: Unit) -> Recipient:
    """A committee as a recipient: its inbox and its contact e-mails."""
    return Recipient(id=unit.id, kind=COMMITTEE, name=unit.name, emails=tuple(unit.contact_emails))


@dataclass(frozen=True)
class CellContext:
    """Everything about one cell that decides who hears what."""

    cell: Unit | None
    superior: Unit | None
    members: tuple[Member, ...] = ()
    monitors: tuple[Monitor, ...] = ()

    @property
    def cell_name(self) -> str:
        """The cell's name, or "" while the unit is unknown."""
        return self.cell.name if self.cell else ""

    def active_members(self) -> list[Member]:
        """Members still on the roll."""
        return [member for member in self.members if member.active]

    def expected_members(self) -> list[Recipient]:
        """Members summoned to meetings: on the roll and not exempt."""
        return [person_recipient(member) for member in self.active_members() if not member.exempt]

    def monitor_recipients(self) -> list[Recipient]:
        """The upper-level monitors following the cell."""
        return [monitor_recipient(monitor) for monitor in self.monitors]

    def secretary(self) -> list[Recipient]:
        """The cell secretary (the deputy while no secretary is known)."""
        for role in (SECRETARY, DEPUTY_SECRETARY):
            found = [person_recipient(m) for m in self.active_members() if m.role == role]
            if found:
                return found
        return []

    def cell_committee(self, *, excluding: str | None = None) -> list[Recipient]:
        """Secretary, deputy and committee members; without the member `excluding` (an alert about that member's own
        absence asks the committee to remind them: a trial's committee member was asked to remind herself)."""
        return [
            person_recipient(m) for m in self.active_members() if m.role in CELL_COMMITTEE_ROLES and m.id != excluding
        ]

    def superior_committee(self) -> list[Recipient]:
        """The cell's parent unit, addressed by its inbox and contact e-mails."""
        return [committee_recipient(self.superior)] if self.superior else []

    def official_count(self) -> int:
        """Official members on the roll."""
        return sum(1 for m in self.active_members() if m.status == OFFICIAL)

    def has_committee(self) -> bool:
        """At least one member holds the role committee_member."""
        return any(m.role == COMMITTEE_MEMBER for m in self.active_members())


@dataclass(frozen=True)
class AnnouncedFigures:
    """One member.attendance.updated.v1 of a member as the absence rules read it, in the order of the
    announcements (the member's announcement number, then event time, cause, id): its figures, whether
    its meeting was recent enough to alert about when it arrived, and whether an alert of each rule was anchored
    on it."""

    event_id: str
    consecutive_absences: int
    unexcused_months: int
    recent: bool
    run_alerted: bool = False
    months_alerted: bool = False
    meeting_id: str = ""
    """The meeting whose roster moved the figures ("" in those stored before it was kept, migration 0022)."""


@dataclass(frozen=True)
class Stretch:
    """A stretch of a member's announced figures that one alert is about: a run of absences, or a time at or above
    the unexcused-months threshold. `count` and `anchor` are the figure and event id of the announcement at
    which it crossed the threshold (about a recent meeting), while `alerting`."""

    count: int
    alerting: bool
    """Some figure in it passes the threshold and was announced about a recent meeting."""
    alerted: bool
    """An alert was anchored on one of its figures already."""
    anchor: str
    meeting_id: str = ""
    """The meeting of the anchor's figure: where the member crossed the threshold."""


@dataclass(frozen=True)
class Alert:
    """One rule firing about one subject for one period, to its recipients."""

    rule: str
    subject_id: str
    period: str
    recipients: tuple[Recipient, ...]
    cell_id: str | None
    values: dict[str, Any] = field(default_factory=dict)
    """What the template names: cell, meeting, member, dates, counts."""
    member_ids: tuple[str, ...] = ()
    """The members (ids) an alert about members names (absentees, members crossing an absence rule), so that a
    correction finds each notice naming one; () for other alerts."""


def unique_recipients(*groups: list[Recipient]) -> tuple[Recipient, ...]:
    """Recipients of several groups, each once, in first-seen order."""
    seen: dict[str, Recipient] = {}
    for group in groups:
        for recipient in group:
            seen.setdefault(recipient.id, recipient)
    return tuple(seen.values())
