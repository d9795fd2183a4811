"""The outgoing side: the durable schedule, preferences, notifications, deliveries and their log."""

import json
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

import asyncpg

from services.notifications.domain.model import Recipient
from services.notifications.domain.settings import RETRACTED_WHEN_CANCELLED, UNEXCUSED_ABSENCE
from services.notifications.secrets import SecretBox, UnreadableSecret
from services.notifications.templates import with_greeting
from shared.logs import get_logger, message_correlation_id
from shared.reading import EXTENSION_VALUE
from shared.web_address import mail_key

log = get_logger(__name__)


def mail_address_key(address: str) -> str:
    """An e-mail address as the one-mail-per-address rule compares it (shared.web_address.mail_key)."""
    return mail_key(address)


DEAD_HOLDERS = (
    "SELECT instance FROM delivery_holder WHERE gone_at IS NOT NULL"
    " OR beat_at < now() - stale_after_seconds * interval '1 second'"
)
"""The delivery senders known dead (services.notifications.holders): gone, or their beat older than their own bound
by the database's clock, which stamps the beats. A lease of theirs is no lease: it is taken over, and what a
retraction cancels."""
UNHELD = (
    f"(d.locked_until IS NULL OR d.locked_until <= $1 OR (d.locked_by IS NOT NULL AND d.locked_by IN ({DEAD_HOLDERS})))"
)
"""A delivery `d` no live sender holds at $1 (now): never leased, its lease run out, or its holder dead (true or
false, never NULL: a lease of no known holder is held until it runs out)."""
CANCEL_VOIDED = (
    " held AS (SELECT d.id FROM delivery d JOIN voided v ON v.id = d.notification_id"
    f" WHERE d.status = 'pending' AND {UNHELD} FOR UPDATE OF d),"
    " cancelled AS (UPDATE delivery d SET status = 'cancelled', locked_until = NULL,"
    " last_error = $2 FROM held WHERE d.id = held.id RETURNING d.id, d.attempts),"
    " logged AS (INSERT INTO delivery_log (delivery_id, attempt, outcome, error)"
    " SELECT id, attempts, 'cancelled', $2 FROM cancelled)"
)
"""The CTEs that follow a `voided` one (the notifications a statement just made void, by `id`): their pending
deliveries no live sender holds cancelled, each with a delivery_log line saying $2 ($1: now), as _retract's."""


KNOWN_LATE_SQL = (
    "CASE WHEN {new} > coalesce({now}::timestamptz, now()) THEN NULL"
    " WHEN schedule.done_at IS NULL AND schedule.due_at > coalesce({now}::timestamptz, now())"
    " THEN coalesce(schedule.known_late_at, coalesce({now}::timestamptz, now()))"
    " ELSE schedule.known_late_at END"
)
"""A job's `known_late_at` once a fact sets its due time to `{new}` at `{now}` (the unit's clock, NULL: the
database's): NULL for a due time ahead; the moment the due time went from ahead (pending) to past, kept while it stays
past (a job put off by the grace is ahead, so a second fact within the grace keeps the first moment and does not
lengthen it); unchanged when it was past already (fired, or due and not yet run: the secretary was late before)."""

PLANNED_AT_SQL = "coalesce(known_late_at, created_at)"

_MEMBER_IDS = (
    "CASE WHEN jsonb_array_length(u.members) = 0 THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(u.members)) END"
)
"""SQL: the `member_ids` of a notification row from the JSON array `u.members` (NULL for none)."""
"""A job's `Job.planned_at`: when a fact last put its deadline in the past, else when it was first planned."""


@dataclass(frozen=True)
class Job:
    """A due row of the schedule."""

    id: int
    kind: str
    subject_id: str
    due_at: datetime
    attempts: int
    cursor: str | None = None
    """Where a job done in batches resumes (None before its first batch)."""
    planned_at: datetime | None = None
    """When the job's deadline became known as it stands (PLANNED_AT_SQL, by the planning unit's clock): when a fact
    put it in the past (`known_late_at`: a known meeting moved, its start corrected), else when the job was first
    planned (`created_at`; a rearm keeps it), for a meeting's checks when the meeting first became known here."""


PREFERENCE_FIELDS = ("channels", "digest", "webhook_url", "webhook_secret")
"""The fields of a stored preference a save may change (OutgoingRepository.set_preference's `only`)."""


@dataclass(frozen=True)
class Preference:
    """How one recipient wants to be reached."""

    recipient_id: str
    channels: tuple[str, ...]
    digest: bool
    webhook_url: str | None = None
    webhook_secret: str | None = None
    """Only on the way in (set_preference seals it); read back, a preference says `has_webhook_secret`."""
    has_webhook_secret: bool = False


@dataclass(frozen=True)
class NewNotification:
    """A notification about to be stored under its unique (rule, subject, recipient, period) key."""

    rule: str
    subject_id: str
    period: str
    recipient: Recipient
    cell_id: str | None
    title: str
    body: str
    created_at: datetime
    digest_pending: bool
    member_ids: tuple[str, ...] = ()
    """The members (ids) the notice names (Alert.member_ids), stored NULL when none."""


def deciding_correlation_id() -> str | None:
    """The correlation id a notification stored now keeps: the one the lines of the event (or run of events) being
    handled carry (shared.logs.message_correlation_id), when it follows the extension syntax (CONTRACT.md), so its
    deliveries' events may carry it; None outside any event (a timed rule's sweep, a digest)."""
    bound = message_correlation_id()
    return bound if bound is not None and EXTENSION_VALUE.match(bound) else None


@dataclass(frozen=True)
class NewDelivery:
    """A delivery about to be planned on one channel (already done when `delivered_at` is given, as for the inbox;
    failed from the start, with `error` as the reason, when the channel cannot reach the recipient at all)."""

    notification_id: str
    channel: str
    addresses: tuple[str, ...]
    delivered_at: datetime | None
    error: str | None = None
    greeting: str | None = None
    """The mail's own greeting line when it serves several recipients at one address (handlers.alerts
    .one_mail_per_address); None: the notification's text as it is."""
    not_before: datetime | None = None
    """When a pending delivery may first be sent (a grouping window: a notice a fact of the next moments may still
    revise, handlers.histories); None: at once."""


@dataclass(frozen=True)
class MailAddress:
    """An e-mail address one notification of an alert (rule, subject, period) is about to be mailed to."""

    notification_id: str
    rule: str
    subject_id: str
    period: str
    address: str
    part: str = ""
    """Which text of the alert the mail carries (templates.mail_part): each is mailed to the address once."""


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery leased for one attempt, with what the channel needs to send it."""

    id: int
    notification_id: str
    channel: str
    addresses: tuple[str, ...]
    attempts: int
    rule: str
    subject_id: str
    recipient_id: str
    recipient_kind: str
    recipient_name: str
    recipient_phone: str | None
    cell_id: str | None
    title: str
    body: str
    created_at: datetime
    webhook_secret: str | None
    cell_name: str | None = None
    """The cell's name, which a mail to many of its members is addressed to."""
    period: str = ""
    """The notification's period: which firing of its rule about its subject it is (a meeting's change, say)."""
    correlation_id: str | None = None
    """The correlation id of the event that decided the notification (deciding_correlation_id), None for none."""


@dataclass(frozen=True)
class Outcome:
    """What one attempt at a delivery came to: its new status, the error, when to try again (pending only)."""

    delivery_id: int
    status: str
    error: str | None
    next_attempt_at: datetime | None


class OutgoingRepository(Protocol):
    """What the use cases need of the outgoing tables (the Pg repository and the test fakes)."""

    async def schedule(self, *, kind: str, subject_id: str, due_at: datetime, rearm: bool) -> None: ...
    async def schedule_many(self, jobs: Sequence[tuple[str, str, datetime]], *, rearm: bool) -> None: ...
    async def replan_pending(self, jobs: Sequence[tuple[str, str, datetime]]) -> None: ...
    async def pending_cell_periods(self, cell_ids: Sequence[str]) -> list[tuple[str, str, datetime | None]]: ...
    async def last_daily(self, kind: str) -> date | None: ...
    async def unstarted_daily(self, kinds: Sequence[str]) -> list[tuple[str, str, datetime]]: ...
    async def move_unstarted(self, jobs: Sequence[tuple[str, str, datetime]]) -> int: ...
    async def preference(self, recipient_id: str) -> Preference | None: ...
    async def preferences(self, recipient_ids: Sequence[str]) -> dict[str, Preference]: ...
    async def insert_notification(self, new: NewNotification) -> str | None: ...
    async def add_delivery(
        self,
        *,
        notification_id: str,
        channel: str,
        addresses: Sequence[str],
        delivered_at: datetime | None,
        error: str | None = None,
    ) -> int: ...
    async def insert_notifications(self, news: Sequence[NewNotification]) -> list[str | None]: ...
    async def add_deliveries(self, deliveries: Sequence[NewDelivery]) -> int: ...
    async def hold_mail_addresses(self, addresses: Sequence[MailAddress]) -> set[tuple[str, str]]: ...
    async def prune_mail_addresses(self, *, before: datetime, after: str, limit: int) -> tuple[int, str | None]: ...
    async def prune_notifications(self, *, before: datetime, after: str, limit: int) -> tuple[int, str | None]: ...
    async def digest_pending(self, *, until: datetime) -> dict[str, list[Mapping[str, Any]]]: ...
    async def close_digest(self, notification_ids: Sequence[str], *, digest_id: str | None) -> None: ...
    async def revise_notifications(self, news: Sequence[NewNotification]) -> int: ...
    async def undigested(
        self, *, rule: str, subject_id: str, period: str, recipient_ids: Sequence[str]
    ) -> set[str]: ...
    async def gone_out(
        self, *, rule: str, subject_id: str, period: str, recipient_ids: Sequence[str], now: datetime
    ) -> dict[str, list[tuple[str, tuple[str, ...]]]]: ...
    async def void_for_cancelled(self, meeting_id: str, *, now: datetime) -> tuple[int, int]: ...
    async def cancel_jobs(self, kind: str, subject_ids: Sequence[str], *, now: datetime) -> int: ...
    async def retract_alerts(self, rule: str, subject_ids: Sequence[str], *, now: datetime) -> tuple[int, int]: ...
    async def withdraw_alerts(self, keys: Sequence[tuple[str, str]], *, now: datetime) -> list[tuple[str, str]]: ...
    async def told_of(self, *, rule: str, subject_id: str) -> set[str]: ...
    async def mailed_about(
        self, *, rule: str, subject_id: str, recipient_ids: Sequence[str], now: datetime
    ) -> dict[str, list[tuple[str, tuple[str, ...]]]]: ...
    async def withdraw_corrected(
        self, *, rule: str, subject_id: str, recipient_ids: Sequence[str], now: datetime, period: str | None = None
    ) -> int: ...
    async def named_notices(
        self, *, rule: str, subject_id: str, recipient_ids: Sequence[str]
    ) -> list[tuple[str, str, tuple[str, ...] | None]]: ...
    async def digested_about(
        self, *, rule: str, subject_id: str, recipient_ids: Sequence[str], period: str | None = None
    ) -> set[str]: ...


CORRECTED = "corrected"
"""The `void_reason` of a notice a later fact showed untrue (a corrected roster): the inbox labels it corrected."""


class PgOutgoingRepository:
    """The outgoing tables on the unit of work's connection; webhook secrets sealed with the box."""

    def __init__(
        self,
        connection: asyncpg.Connection,
        *,
        secrets: SecretBox | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._db = connection
        self._secrets = secrets
        self._clock = clock
        """The unit's clock, stamping a job's `created_at` when first planned (None: the database's now())."""
        self.queued_deliveries = 0
        """Deliveries this transaction queued to send (the unit of work wakes the sender when it commits them)."""
        self.held_until: datetime | None = None
        """The latest `not_before` of the deliveries this transaction queued (the unit of work wakes the sender again
        then), None when none waits."""

    async def schedule(self, *, kind: str, subject_id: str, due_at: datetime, rearm: bool) -> None:
        """Plan a job; `rearm` moves an existing one to the new time and makes it fire again."""
        await self.schedule_many([(kind, subject_id, due_at)], rearm=rearm)

    async def schedule_many(self, jobs: Sequence[tuple[str, str, datetime]], *, rearm: bool) -> None:
        """Plan many jobs (kind, subject, due) in one statement, as `schedule` would one after the other (with
        `rearm` the last of a (kind, subject) wins, without it the first)."""
        planned: dict[tuple[str, str], datetime] = {}
        for kind, subject_id, due_at in jobs if rearm else reversed(jobs):
            planned[(kind, subject_id)] = due_at
        if not planned:
            return
        conflict = (
            "DO UPDATE SET due_at = EXCLUDED.due_at, done_at = NULL, attempts = 0, last_error = NULL, cursor = NULL,"
            f" known_late_at = {KNOWN_LATE_SQL.format(new='EXCLUDED.due_at', now='$4')}"
            if rearm
            else "DO NOTHING"
        )
        await self._db.execute(
            "INSERT INTO schedule (kind, subject_id, due_at, created_at, known_late_at)"
            " SELECT j.kind, j.subject_id, j.due_at, coalesce($4::timestamptz, now()),"
            " CASE WHEN j.due_at <= coalesce($4::timestamptz, now()) THEN coalesce($4::timestamptz, now()) END"
            " FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS j(kind, subject_id, due_at)"
            f" ON CONFLICT (kind, subject_id) {conflict}",
            [kind for kind, _ in planned],
            [subject_id for _, subject_id in planned],
            list(planned.values()),
            self._clock() if self._clock is not None else None,
        )

    async def replan_pending(self, jobs: Sequence[tuple[str, str, datetime]]) -> None:
        """Move jobs (kind, subject, due) that have not fired yet, in one statement (the last of a (kind, subject)
        wins, as one after the other); fired ones stay as they are."""
        moves = {(kind, subject_id): due_at for kind, subject_id, due_at in jobs}
        if not moves:
            return
        await self._db.execute(
            "UPDATE schedule s SET due_at = j.due_at,"
            f" known_late_at = {KNOWN_LATE_SQL.format(new='j.due_at', now='$4').replace('schedule.', 's.')}"
            " FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS j(kind, subject_id, due_at)"
            " WHERE s.kind = j.kind AND s.subject_id = j.subject_id AND s.done_at IS NULL",
            [kind for kind, _ in moves],
            [subject_id for _, subject_id in moves],
            list(moves.values()),
            self._clock() if self._clock is not None else None,
        )

    async def pending_cell_periods(self, cell_ids: Sequence[str]) -> list[tuple[str, str, datetime | None]]:
        """(cell, period, when its latest rating arrived or None) of the period-rating checks of the cells that have
        not fired yet."""
        rows = await self._db.fetch(
            "SELECT j.cell_id, j.period, c.received_at FROM (SELECT split_part(subject_id, '|', 1) AS cell_id,"
            " split_part(subject_id, '|', 2) AS period FROM schedule WHERE kind = 'cell.period' AND done_at IS NULL"
            " AND split_part(subject_id, '|', 1) = ANY($1::text[])) AS j"
            " LEFT JOIN cell_score c ON c.cell_id = j.cell_id AND c.period = j.period",
            list(cell_ids),
        )
        return [(row["cell_id"], row["period"], row["received_at"]) for row in rows]

    async def claim_due_job(self, now: datetime) -> Job | None:
        """Lock the earliest due job for this transaction, skipping those other workers hold."""
        row = await self._db.fetchrow(
            f"SELECT id, kind, subject_id, due_at, attempts, cursor, {PLANNED_AT_SQL} AS planned_at FROM schedule"
            " WHERE done_at IS NULL AND due_at <= $1"
            " ORDER BY due_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
            now,
        )
        return Job(**dict(row)) if row else None

    async def finish_job(self, job_id: int, *, now: datetime) -> None:
        """Mark a job fired."""
        await self._db.execute("UPDATE schedule SET done_at = $2 WHERE id = $1", job_id, now)

    async def rearm_job(self, job_id: int, *, due_at: datetime) -> None:
        """Plan a job that ran too early again at `due_at` (not fired: its attempts and cursor start afresh)."""
        await self._db.execute(
            "UPDATE schedule SET due_at = $2, done_at = NULL, attempts = 0, last_error = NULL, cursor = NULL"
            " WHERE id = $1",
            job_id,
            due_at,
        )

    async def advance_job(self, job_id: int, *, cursor: str) -> None:
        """Record a batch done: the job stays due and its next run starts after `cursor`."""
        await self._db.execute(
            "UPDATE schedule SET cursor = $2, attempts = 0, last_error = NULL WHERE id = $1", job_id, cursor
        )

    async def postpone_job(self, job_id: int, *, error: str, retry_at: datetime) -> None:
        """Record a failed run and try again later."""
        await self._db.execute(
            "UPDATE schedule SET attempts = attempts + 1, last_error = $2, due_at = $3 WHERE id = $1",
            job_id,
            error,
            retry_at,
        )

    async def last_daily(self, kind: str) -> date | None:
        """The latest day a daily job was planned for."""
        value = await self._db.fetchval("SELECT max(subject_id) FROM schedule WHERE kind = $1", kind)
        return date.fromisoformat(value) if value else None

    async def unstarted_daily(self, kinds: Sequence[str]) -> list[tuple[str, str, datetime]]:
        """(kind, day as ISO date, due) of the daily jobs of `kinds` not yet started: not fired, no batch done, no
        failed attempt waiting for its retry."""
        rows = await self._db.fetch(
            "SELECT kind, subject_id, due_at FROM schedule WHERE kind = ANY($1::text[]) AND done_at IS NULL"
            " AND cursor IS NULL AND attempts = 0",
            list(kinds),
        )
        return [(row["kind"], row["subject_id"], row["due_at"]) for row in rows]

    async def move_unstarted(self, jobs: Sequence[tuple[str, str, datetime]]) -> int:
        """Move jobs (kind, subject, due) still not started when the statement runs (a run in progress holds the row
        and, once committed, has fired it or stored its cursor: it is left alone); returns how many moved."""
        moves = {(kind, subject_id): due_at for kind, subject_id, due_at in jobs}
        if not moves:
            return 0
        status = await self._db.execute(
            "UPDATE schedule s SET due_at = j.due_at"
            " FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS j(kind, subject_id, due_at)"
            " WHERE s.kind = j.kind AND s.subject_id = j.subject_id AND s.done_at IS NULL AND s.cursor IS NULL"
            " AND s.attempts = 0",
            [kind for kind, _ in moves],
            [subject_id for _, subject_id in moves],
            list(moves.values()),
        )
        return int(status.split()[-1])

    async def preference(self, recipient_id: str) -> Preference | None:
        """The recipient's stored preferences, if any."""
        return (await self.preferences([recipient_id])).get(recipient_id)

    async def preferences(self, recipient_ids: Sequence[str]) -> dict[str, Preference]:
        """The stored preferences of those among the recipients that have any, in one query."""
        rows = await self._db.fetch(
            "SELECT * FROM preference WHERE recipient_id = ANY($1::text[])", list(recipient_ids)
        )
        return {
            row["recipient_id"]: Preference(
                recipient_id=row["recipient_id"],
                channels=tuple(row["channels"]),
                digest=row["digest"],
                webhook_url=row["webhook_url"],
                has_webhook_secret=row["webhook_secret_sealed"] is not None,
            )
            for row in rows
        }

    async def set_preference(self, preference: Preference, *, only: Collection[str] | None = None) -> None:
        """Store a recipient's preferences, the webhook secret sealed (ValueError without a key to seal it). A row
        already stored gets `only` the fields named (`channels`, `digest`, `webhook_url`, `webhook_secret`; None: all),
        the others kept as they are in it, so two owners' saves of different fields never clear each other's."""
        sealed = None
        if preference.webhook_secret:
            if self._secrets is None:
                raise ValueError("no CHIBO_SECRET_KEY to seal the webhook secret with")
            sealed = self._secrets.seal(preference.webhook_secret)
        changed = list(PREFERENCE_FIELDS if only is None else only)
        await self._db.execute(
            "INSERT INTO preference AS p (recipient_id, channels, digest, webhook_url, webhook_secret_sealed)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (recipient_id) DO UPDATE SET"
            " channels = CASE WHEN 'channels' = ANY($6::text[]) THEN EXCLUDED.channels ELSE p.channels END,"
            " digest = CASE WHEN 'digest' = ANY($6::text[]) THEN EXCLUDED.digest ELSE p.digest END,"
            " webhook_url = CASE WHEN 'webhook_url' = ANY($6::text[]) THEN EXCLUDED.webhook_url ELSE p.webhook_url END,"
            " webhook_secret = CASE WHEN 'webhook_secret' = ANY($6::text[]) THEN NULL ELSE p.webhook_secret END,"
            " webhook_secret_sealed = CASE WHEN 'webhook_secret' = ANY($6::text[]) THEN EXCLUDED.webhook_secret_sealed"
            " ELSE p.webhook_secret_sealed END, updated_at = now()",
            preference.recipient_id,
            list(preference.channels),
            preference.digest,
            preference.webhook_url,
            sealed,
            changed,
        )

    async def seal_plain_secrets(self) -> int:
        """Seal the webhook secrets stored in plain text before they were sealed; how many."""
        if self._secrets is None:
            return 0
        rows = await self._db.fetch(
            "SELECT recipient_id, webhook_secret FROM preference WHERE webhook_secret IS NOT NULL FOR UPDATE"
        )
        await self._db.executemany(
            "UPDATE preference SET webhook_secret_sealed = $2, webhook_secret = NULL WHERE recipient_id = $1",
            [(row["recipient_id"], self._secrets.seal(row["webhook_secret"])) for row in rows],
        )
        return len(rows)

    def _open(self, sealed: str | None, *, recipient_id: str) -> str | None:
        if sealed is None or self._secrets is None:
            return None
        try:
            return self._secrets.open(sealed)
        except UnreadableSecret:
            # signing with the shared secret instead would look valid to nobody: the receiver rejects it
            log.error("webhook_secret_unreadable", recipient_id=recipient_id)
            return None

    async def insert_notification(self, new: NewNotification) -> str | None:
        """Store a notification unless its key exists; its id, or None when it was raised before."""
        value = await self._db.fetchval(
            "INSERT INTO notification (id, rule, subject_id, recipient_id, recipient_kind, recipient_name,"
            " recipient_emails, recipient_phone, period, cell_id, title, body, created_at, digest_pending,"
            " correlation_id)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
            " ON CONFLICT (rule, subject_id, recipient_id, period) DO NOTHING RETURNING id",
            uuid.uuid4(),
            new.rule,
            new.subject_id,
            new.recipient.id,
            new.recipient.kind,
            new.recipient.name,
            list(new.recipient.emails),
            new.recipient.phone,
            new.period,
            new.cell_id,
            new.title,
            new.body,
            new.created_at,
            new.digest_pending,
            deciding_correlation_id(),
        )
        return str(value) if value is not None else None

    async def add_delivery(
        self,
        *,
        notification_id: str,
        channel: str,
        addresses: Sequence[str],
        delivered_at: datetime | None,
        error: str | None = None,
    ) -> int:
        """Plan a delivery on one channel (already done when `delivered_at` is given, as for the inbox; failed at
        once, listed with the failed deliveries, when `error` says why the channel cannot reach the recipient)."""
        status = "failed" if error else "delivered" if delivered_at else "pending"
        # one round trip: a delivery done (the inbox) or failed as it is stored gets its log line in the same statement
        delivery_id = await self._db.fetchval(
            "WITH planned AS (INSERT INTO delivery (notification_id, channel, addresses, status, delivered_at,"
            " last_error) VALUES ($1, $2, $3, $4, $5::timestamptz, $6::text) RETURNING id),"
            " logged AS (INSERT INTO delivery_log (delivery_id, attempt, outcome, error)"
            " SELECT id, 1, CASE WHEN $6::text IS NULL THEN 'delivered' ELSE 'failed' END, $6::text FROM planned"
            " WHERE $5::timestamptz IS NOT NULL OR $6::text IS NOT NULL)"
            " SELECT id FROM planned",
            uuid.UUID(notification_id),
            channel,
            list(addresses),
            status,
            delivered_at,
            error,
        )
        if status == "pending":
            self.queued_deliveries += 1
        return int(delivery_id)

    async def insert_notifications(self, news: Sequence[NewNotification]) -> list[str | None]:
        """Store many notifications in one statement, each unless its key exists or came earlier in `news`; per
        notification, in order, its id, or None when it was raised before (insert_notification's rule, at once)."""
        ids: list[str | None] = [None] * len(news)
        first: dict[tuple[str, str, str, str], int] = {}
        for index, new in enumerate(news):
            first.setdefault((new.rule, new.subject_id, new.recipient.id, new.period), index)
        if not first:
            return ids
        # in key order, so that two transactions raising overlapping alerts wait on each other without deadlocking
        rows = [(news[index], uuid.uuid4(), index) for _, index in sorted(first.items())]
        inserted = await self._db.fetch(
            "INSERT INTO notification (id, rule, subject_id, recipient_id, recipient_kind, recipient_name,"
            " recipient_emails, recipient_phone, period, cell_id, title, body, created_at, digest_pending,"
            " correlation_id, member_ids)"
            " SELECT u.id, u.rule, u.subject_id, u.recipient_id, u.recipient_kind, u.recipient_name,"
            " ARRAY(SELECT jsonb_array_elements_text(u.emails)), u.recipient_phone, u.period, u.cell_id, u.title,"
            f" u.body, u.created_at, u.digest_pending, $15::text, {_MEMBER_IDS}"
            " FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[],"
            " $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::timestamptz[], $14::boolean[],"
            " $16::jsonb[])"
            " WITH ORDINALITY AS u(id, rule, subject_id, recipient_id, recipient_kind, recipient_name, emails,"
            " recipient_phone, period, cell_id, title, body, created_at, digest_pending, members, position)"
            " ORDER BY u.position"
            " ON CONFLICT (rule, subject_id, recipient_id, period) DO NOTHING RETURNING id",
            [notification_id for _, notification_id, _ in rows],
            [new.rule for new, _, _ in rows],
            [new.subject_id for new, _, _ in rows],
            [new.recipient.id for new, _, _ in rows],
            [new.recipient.kind for new, _, _ in rows],
            [new.recipient.name for new, _, _ in rows],
            [json.dumps(list(new.recipient.emails)) for new, _, _ in rows],
            [new.recipient.phone for new, _, _ in rows],
            [new.period for new, _, _ in rows],
            [new.cell_id for new, _, _ in rows],
            [new.title for new, _, _ in rows],
            [new.body for new, _, _ in rows],
            [new.created_at for new, _, _ in rows],
            [new.digest_pending for new, _, _ in rows],
            deciding_correlation_id(),
            [json.dumps(list(new.member_ids)) for new, _, _ in rows],
        )
        new_ids = {row["id"] for row in inserted}
        for _, notification_id, index in rows:
            if notification_id in new_ids:
                ids[index] = str(notification_id)
        return ids

    async def add_deliveries(self, deliveries: Sequence[NewDelivery]) -> int:
        """Plan many deliveries in one statement, in order, those done as stored (the inbox) with their log line
        (add_delivery's rows, at once); how many were planned."""
        if not deliveries:
            return 0
        planned: int = await self._db.fetchval(
            "WITH planned AS (INSERT INTO delivery (notification_id, channel, addresses, status, delivered_at,"
            " last_error, greeting, next_attempt_at)"
            " SELECT u.notification_id, u.channel, ARRAY(SELECT jsonb_array_elements_text(u.addresses)),"
            " CASE WHEN u.error IS NOT NULL THEN 'failed' WHEN u.delivered_at IS NULL THEN 'pending'"
            " ELSE 'delivered' END, u.delivered_at, u.error, u.greeting, coalesce(u.not_before, now())"
            " FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::timestamptz[], $5::text[], $6::text[],"
            " $7::timestamptz[])"
            " WITH ORDINALITY AS u(notification_id, channel, addresses, delivered_at, error, greeting, not_before,"
            " position)"
            " ORDER BY u.position RETURNING id, delivered_at, last_error),"
            " logged AS (INSERT INTO delivery_log (delivery_id, attempt, outcome, error)"
            " SELECT id, 1, CASE WHEN last_error IS NULL THEN 'delivered' ELSE 'failed' END, last_error FROM planned"
            " WHERE delivered_at IS NOT NULL OR last_error IS NOT NULL)"
            " SELECT count(*) FROM planned",
            # the ids as text: asyncpg reads a uuid from its text in C, where uuid.UUID() per delivery was Python
            [delivery.notification_id for delivery in deliveries],
            [delivery.channel for delivery in deliveries],
            [json.dumps(list(delivery.addresses)) for delivery in deliveries],
            [delivery.delivered_at for delivery in deliveries],
            [delivery.error for delivery in deliveries],
            [delivery.greeting for delivery in deliveries],
            [delivery.not_before for delivery in deliveries],
        )
        self.queued_deliveries += sum(1 for delivery in deliveries if not delivery.delivered_at and not delivery.error)
        waiting = [d.not_before for d in deliveries if d.not_before is not None and not d.delivered_at and not d.error]
        if waiting:
            self.held_until = max([*waiting, *([self.held_until] if self.held_until else [])])
        return int(planned)

    async def hold_mail_addresses(self, addresses: Sequence[MailAddress]) -> set[tuple[str, str]]:
        """Take each alert's addresses for the notifications about to be mailed to them, in one statement (table
        mail_address, keyed by the alert, the address lower-cased and the text's part): an address is held for each
        part by the first notification of the alert with that text to ask, now or in an earlier transaction; the
        (notification id, lower-cased address) pairs taken here. In key order, so two transactions raising the same
        alert wait on each other without deadlocking; the later one finds the address held once the earlier
        commits."""
        if not addresses:
            return set()
        rows = await self._db.fetch(
            "INSERT INTO mail_address (rule, subject_id, period, address, part, notification_id)"
            " SELECT DISTINCT ON (u.rule, u.subject_id, u.period, u.address, u.part)"
            " u.rule, u.subject_id, u.period, u.address, u.part, u.notification_id"
            " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[])"
            " WITH ORDINALITY AS u(rule, subject_id, period, address, part, notification_id, position)"
            " ORDER BY u.rule, u.subject_id, u.period, u.address, u.part, u.position"
            " ON CONFLICT DO NOTHING RETURNING notification_id, address",
            [item.rule for item in addresses],
            [item.subject_id for item in addresses],
            [item.period for item in addresses],
            [mail_address_key(item.address) for item in addresses],
            [item.part for item in addresses],
            [item.notification_id for item in addresses],
        )
        return {(str(row["notification_id"]), row["address"]) for row in rows}

    async def prune_mail_addresses(self, *, before: datetime, after: str, limit: int) -> tuple[int, str | None]:
        """Delete, of the next `limit` mail_address rows after the cursor `after` (key order; "" from the start),
        those whose notification was created before `before` and that name no meeting (as subject or period) starting
        at or after `before` (its scheduled or moved start, the later); (rows deleted, the cursor to resume after, None
        once the table is done). The cursor is the JSON array of the last key read (one of four, written before the
        key had its part, resumes after that key's common part: "")."""
        key = json.loads(after) if after else ["", "", "", "", ""]
        if len(key) == 4:
            key.append("")
        row = await self._db.fetchrow(
            "WITH batch AS (SELECT rule, subject_id, period, address, part, notification_id FROM mail_address"
            " WHERE (rule, subject_id, period, address, part) > ($2, $3, $4, $5, $6)"
            " ORDER BY rule, subject_id, period, address, part LIMIT $7),"
            " pruned AS (DELETE FROM mail_address AS a USING batch AS b, notification AS n"
            " WHERE (a.rule, a.subject_id, a.period, a.address, a.part)"
            " = (b.rule, b.subject_id, b.period, b.address, b.part)"
            " AND n.id = b.notification_id AND n.created_at < $1"
            " AND NOT EXISTS (SELECT 1 FROM meeting AS m WHERE m.meeting_id IN (b.subject_id, b.period)"
            " AND GREATEST(m.scheduled_starts_at, m.rescheduled_starts_at) >= $1) RETURNING 1),"
            " last AS (SELECT rule, subject_id, period, address, part FROM batch"
            " ORDER BY rule DESC, subject_id DESC, period DESC, address DESC, part DESC LIMIT 1)"
            " SELECT (SELECT count(*) FROM pruned) AS pruned, (SELECT count(*) FROM batch) AS read,"
            " (SELECT json_build_array(rule, subject_id, period, address, part)::text FROM last) AS last",
            before,
            *key,
            limit,
        )
        return int(row["pruned"]), row["last"] if row["read"] == limit else None

    async def prune_notifications(self, *, before: datetime, after: str, limit: int) -> tuple[int, str | None]:
        """Delete, of the next `limit` notifications after the cursor `after` (id order; "" from the start), those
        created before `before` that nobody needs any more, with their deliveries and delivery log: read, void or a
        digest (an unread notice stays in its recipient's inbox), no delivery pending, not waiting for a digest, no
        mail_address row holding it (that prune keeps those of a meeting still ahead) and naming no meeting (subject
        or period) starting at or after `before`, whose notices may be raised again until it starts; (notifications
        deleted, the cursor to resume after, None once the table is done)."""
        row = await self._db.fetchrow(
            "WITH batch AS (SELECT id FROM notification WHERE id > $2::uuid ORDER BY id LIMIT $3),"
            " doomed AS (SELECT n.id FROM notification AS n JOIN batch AS b ON b.id = n.id"
            " WHERE n.created_at < $1 AND NOT n.digest_pending"
            " AND (n.read_at IS NOT NULL OR n.void_at IS NOT NULL OR n.rule = 'daily_digest')"
            " AND NOT EXISTS (SELECT 1 FROM delivery AS d WHERE d.notification_id = n.id AND d.status = 'pending')"
            " AND NOT EXISTS (SELECT 1 FROM mail_address AS a WHERE a.notification_id = n.id)"
            " AND NOT EXISTS (SELECT 1 FROM meeting AS m WHERE m.meeting_id IN (n.subject_id, n.period)"
            " AND GREATEST(m.scheduled_starts_at, m.rescheduled_starts_at) >= $1)),"
            " logs AS (DELETE FROM delivery_log AS l USING delivery AS d, doomed"
            " WHERE l.delivery_id = d.id AND d.notification_id = doomed.id),"
            " deliveries AS (DELETE FROM delivery AS d USING doomed WHERE d.notification_id = doomed.id),"
            " pruned AS (DELETE FROM notification AS n USING doomed WHERE n.id = doomed.id RETURNING 1)"
            " SELECT (SELECT count(*) FROM pruned) AS pruned, (SELECT count(*) FROM batch) AS read,"
            " (SELECT id::text FROM batch ORDER BY id DESC LIMIT 1) AS last",
            before,
            after or "00000000-0000-0000-0000-000000000000",
            limit,
        )
        return int(row["pruned"]), row["last"] if row["read"] == limit else None

    async def claim_deliveries(
        self, *, now: datetime, limit: int, lease: timedelta, holder: str | None = None
    ) -> list[ClaimedDelivery]:
        """Lease due pending deliveries for one attempt each, for `holder` (a delivery_holder instance, None for
        none): those never leased, those whose lease ran out, and those whose holder is known dead (gone, or its
        beat older than its own bound, by the database's clock, which stamps the beats), whatever their lease."""
        rows = await self._db.fetch(
            f"WITH due AS (SELECT id FROM delivery d WHERE status = 'pending' AND next_attempt_at <= $1 AND {UNHELD}"
            " ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)"
            " UPDATE delivery d SET locked_until = $3, locked_by = $4 FROM due WHERE d.id = due.id"
            " RETURNING d.id, d.notification_id, d.channel, d.addresses, d.attempts, d.greeting",
            now,
            limit,
            now + lease,
            holder,
        )
        if not rows:
            return []
        details = await self._db.fetch(
            "SELECT n.*, p.webhook_secret_sealed, u.name AS cell_name FROM notification n"
            " LEFT JOIN preference p ON p.recipient_id = n.recipient_id LEFT JOIN unit u ON u.id = n.cell_id"
            " WHERE n.id = ANY($1::uuid[])",
            [row["notification_id"] for row in rows],
        )
        by_id = {row["id"]: row for row in details}
        claimed = []
        for row in rows:
            n = by_id[row["notification_id"]]
            claimed.append(
                ClaimedDelivery(
                    id=row["id"],
                    notification_id=str(row["notification_id"]),
                    channel=row["channel"],
                    addresses=tuple(row["addresses"]),
                    attempts=row["attempts"],
                    rule=n["rule"],
                    subject_id=n["subject_id"],
                    recipient_id=n["recipient_id"],
                    recipient_kind=n["recipient_kind"],
                    recipient_name=n["recipient_name"],
                    recipient_phone=n["recipient_phone"],
                    cell_id=n["cell_id"],
                    title=n["title"],
                    body=with_greeting(n["body"], row["greeting"]),
                    created_at=n["created_at"],
                    webhook_secret=self._open(n["webhook_secret_sealed"], recipient_id=n["recipient_id"]),
                    cell_name=n["cell_name"],
                    period=n["period"],
                    correlation_id=n["correlation_id"],
                )
            )
        return claimed

    async def release_deliveries(self, delivery_ids: Sequence[int], *, holder: str | None = None) -> int:
        """Hand leased, still pending deliveries back at once (a sender stopping before it tried them), those still
        leased by `holder` (none taken over meanwhile); how many."""
        result: str = await self._db.execute(
            "UPDATE delivery SET locked_until = NULL, locked_by = NULL"
            " WHERE id = ANY($1::bigint[]) AND status = 'pending' AND locked_by IS NOT DISTINCT FROM $2",
            list(delivery_ids),
            holder,
        )
        return int(result.split()[-1])

    async def record_outcomes(self, outcomes: Sequence[Outcome], *, now: datetime) -> dict[int, int]:
        """Store attempt outcomes on the deliveries still pending, and log them, in one statement (a sender commits
        every few mails: one round trip, not two); the attempt number of each delivery recorded (those settled
        meanwhile are left out)."""
        if not outcomes:
            return {}
        rows = await self._db.fetch(
            "WITH recorded AS (UPDATE delivery d SET attempts = d.attempts + 1, status = o.status,"
            " last_error = o.error, next_attempt_at = COALESCE(o.next_attempt_at, d.next_attempt_at),"
            " locked_until = NULL, locked_by = NULL,"
            " delivered_at = CASE WHEN o.status = 'delivered' THEN $5 ELSE d.delivered_at END"
            " FROM unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[])"
            " AS o(id, status, error, next_attempt_at)"
            " WHERE d.id = o.id AND d.status = 'pending' RETURNING d.id, d.attempts, d.status, d.last_error),"
            " logged AS (INSERT INTO delivery_log (delivery_id, attempt, outcome, error)"
            " SELECT id, attempts, status, last_error FROM recorded)"
            " SELECT id, attempts FROM recorded",
            [outcome.delivery_id for outcome in outcomes],
            [outcome.status for outcome in outcomes],
            [outcome.error for outcome in outcomes],
            [outcome.next_attempt_at for outcome in outcomes],
            now,
        )
        return {row["id"]: row["attempts"] for row in rows}

    async def log_attempt(self, delivery_id: int, *, attempt: int, outcome: str, error: str | None) -> None:
        """Append to the delivery log."""
        await self._db.execute(
            "INSERT INTO delivery_log (delivery_id, attempt, outcome, error) VALUES ($1, $2, $3, $4)",
            delivery_id,
            attempt,
            outcome,
            error,
        )

    async def requeue_failed(self, delivery_id: int, *, now: datetime) -> bool:
        """Make a failed delivery pending again with a fresh set of attempts."""
        done = await self._db.fetchval(
            "UPDATE delivery SET status = 'pending', attempts = 0, next_attempt_at = $2, locked_until = NULL"
            " WHERE id = $1 AND status = 'failed' RETURNING 1",
            delivery_id,
            now,
        )
        if done is not None:
            self.queued_deliveries += 1
        return done is not None

    async def mark_read(self, *, recipient_id: str, notification_id: str, now: datetime) -> bool:
        """Mark an inbox item read (the first time counts); False when it is not this recipient's."""
        found = await self._db.fetchval(
            "UPDATE notification SET read_at = COALESCE(read_at, $3) WHERE id = $1 AND recipient_id = $2 RETURNING 1",
            uuid.UUID(notification_id),
            recipient_id,
            now,
        )
        return found is not None

    async def digest_pending(self, *, until: datetime) -> dict[str, list[Mapping[str, Any]]]:
        """Notifications waiting for their recipient's digest, per recipient, oldest first."""
        rows = await self._db.fetch(
            "SELECT * FROM notification WHERE digest_pending AND created_at <= $1 ORDER BY recipient_id, created_at"
            " FOR UPDATE",
            until,
        )
        grouped: dict[str, list[Mapping[str, Any]]] = {}
        for row in rows:
            grouped.setdefault(row["recipient_id"], []).append(row)
        return grouped

    async def revise_notifications(self, news: Sequence[NewNotification]) -> int:
        """Give the stored notifications of these (rule, subject, recipient, period) keys the new title and body, and
        the members they name when they name any, in one statement (no new notification, no delivery: the inbox shows
        the latest word); how many were stored."""
        if not news:
            return 0
        revised: int = await self._db.fetchval(
            "WITH revised AS (UPDATE notification n SET title = u.title, body = u.body,"
            f" member_ids = coalesce({_MEMBER_IDS}, n.member_ids)"
            " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[])"
            " AS u(rule, subject_id, recipient_id, period, title, body, members)"
            " WHERE n.rule = u.rule AND n.subject_id = u.subject_id AND n.recipient_id = u.recipient_id"
            " AND n.period = u.period RETURNING 1) SELECT count(*) FROM revised",
            [new.rule for new in news],
            [new.subject_id for new in news],
            [new.recipient.id for new in news],
            [new.period for new in news],
            [new.title for new in news],
            [new.body for new in news],
            [json.dumps(list(new.member_ids)) for new in news],
        )
        return revised

    async def undigested(self, *, rule: str, subject_id: str, period: str, recipient_ids: Sequence[str]) -> set[str]:
        """The recipients with a notification under this key that no digest has carried yet (its text may still
        change what they will be sent)."""
        rows = await self._db.fetch(
            "SELECT recipient_id FROM notification WHERE rule = $1 AND subject_id = $2 AND period = $3"
            " AND recipient_id = ANY($4::text[]) AND digest_id IS NULL",
            rule,
            subject_id,
            period,
            list(recipient_ids),
        )
        return {row["recipient_id"] for row in rows}

    async def gone_out(
        self, *, rule: str, subject_id: str, period: str, recipient_ids: Sequence[str], now: datetime
    ) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
        """Per recipient, the (channel, addresses) of the e-mail and webhook deliveries of their notification under
        this key that went out with the text they had then: delivered, or leased by a sender now. A delivery still
        waiting is read when it is sent, so it carries the text stored now and is left out. The deliveries are
        locked first (a sender leasing one meanwhile is waited for, then seen leased)."""
        return await self._went_out(
            "n.rule = $1 AND n.subject_id = $2 AND n.period = $3 AND n.recipient_id = ANY($4::text[])",
            [rule, subject_id, period, list(recipient_ids)],
            now=now,
        )

    async def void_for_cancelled(self, meeting_id: str, *, now: datetime) -> tuple[int, int]:
        """Retract the alerts about a meeting cancelled since they were raised as retract_alerts does (_retract): its
        unexcused absences (by their period, or their subject: one alert tells of all of a meeting's) and the alerts
        of RETRACTED_WHEN_CANCELLED about it (its low rating, late minutes, missing documents, reminder) void in the
        inbox, out of the digests still to come, their deliveries not yet made cancelled (no mail about a meeting that
        will not be held); its own notices (meeting_cancelled among them) are not touched. (alerts voided, deliveries
        cancelled); a second call changes nothing."""
        return await self._retract(
            "((n.rule = $3 AND (n.period = $5 OR n.subject_id = $5))"
            " OR (n.rule = ANY($4::text[]) AND n.subject_id = $5))",
            [UNEXCUSED_ABSENCE, list(RETRACTED_WHEN_CANCELLED), meeting_id],
            now=now,
            why="retracted: its meeting was cancelled",
        )

    async def cancel_jobs(self, kind: str, subject_ids: Sequence[str], *, now: datetime) -> int:
        """Mark the jobs of this kind about these subjects that have not fired as done without running them (a later
        `schedule(rearm=True)` plans one again); how many."""
        result: str = await self._db.execute(
            "UPDATE schedule SET done_at = $3 WHERE kind = $1 AND subject_id = ANY($2::text[]) AND done_at IS NULL",
            kind,
            list(subject_ids),
            now,
        )
        return int(result.split()[-1])

    async def retract_alerts(self, rule: str, subject_ids: Sequence[str], *, now: datetime) -> tuple[int, int]:
        """Retract the alerts of `rule` about these subjects, whose ground is gone (_retract); (alerts voided,
        deliveries cancelled)."""
        return await self._retract(
            "n.rule = $3 AND n.subject_id = ANY($4::text[])",
            [rule, list(subject_ids)],
            now=now,
            why="retracted: its ground was withdrawn",
        )

    async def withdraw_alerts(self, keys: Sequence[tuple[str, str]], *, now: datetime) -> list[tuple[str, str]]:
        """Withdraw the alerts of these (rule, subject) keys that a later fact shows no longer hold (a late-records
        alert whose deadline the corrected minutes moved ahead): retracted as _retract does (void in the inbox, out of
        the digests still to come, deliveries not yet made cancelled), and each one's period set aside
        (`<period>|void:<now>`), so that the rule may raise it again should its condition come to hold later (the
        new deadline passes with the records still missing). The (rule, subject) keys withdrawn, sorted; a second
        call finds nothing left."""
        if not keys:
            return []
        pairs = sorted(set(keys))
        rows = await self._db.fetch(
            "WITH keyed AS (SELECT * FROM unnest($3::text[], $4::text[]) AS k(rule, subject_id)),"
            " voided AS (UPDATE notification n SET void_at = $1, digest_pending = false,"
            " period = n.period || '|void:' || $5"
            " FROM keyed k WHERE n.rule = k.rule AND n.subject_id = k.subject_id AND n.void_at IS NULL"
            " RETURNING n.id, n.rule, n.subject_id),"
            f"{CANCEL_VOIDED}"
            " SELECT DISTINCT rule, subject_id FROM voided ORDER BY rule, subject_id",
            now,
            "withdrawn: a later fact shows its ground no longer holds",
            [rule for rule, _ in pairs],
            [subject_id for _, subject_id in pairs],
            now.isoformat(),
        )
        return [(row["rule"], row["subject_id"]) for row in rows]

    async def told_of(self, *, rule: str, subject_id: str) -> set[str]:
        """The recipients holding a notice of `rule` about the subject that still holds (not void), any period."""
        rows = await self._db.fetch(
            "SELECT DISTINCT recipient_id FROM notification WHERE rule = $1 AND subject_id = $2 AND void_at IS NULL",
            rule,
            subject_id,
        )
        return {row["recipient_id"] for row in rows}

    async def mailed_about(
        self, *, rule: str, subject_id: str, recipient_ids: Sequence[str], now: datetime
    ) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
        """Per recipient, the distinct (channel, addresses) of the e-mail and webhook deliveries of their notices of
        `rule` about the subject, any period and still holding, that went out (delivered, or leased by a sender now:
        as gone_out counts them); a recipient none of whose went out is left out."""
        return await self._went_out(
            "n.rule = $1 AND n.subject_id = $2 AND n.recipient_id = ANY($3::text[]) AND n.void_at IS NULL",
            [rule, subject_id, list(recipient_ids)],
            now=now,
        )

    async def digested_about(
        self, *, rule: str, subject_id: str, recipient_ids: Sequence[str], period: str | None = None
    ) -> set[str]:
        """The recipients whose notices of `rule` about the subject, of `period` (None: any) and still holding, a
        daily digest already carried (their mail listed it). The notices are locked first: a digest being made of them
        meanwhile (send_digests locks what it collects) is waited for, then seen; one made later finds them void."""
        rows = await self._db.fetch(
            "SELECT recipient_id, digest_id FROM notification WHERE rule = $1 AND subject_id = $2"
            " AND ($4::text IS NULL OR period = $4::text)"
            # in the order send_digests locks them (digest_pending), so the two wait for each other, never deadlock
            " AND recipient_id = ANY($3::text[]) AND void_at IS NULL ORDER BY recipient_id, created_at FOR UPDATE",
            rule,
            subject_id,
            list(recipient_ids),
            period,
        )
        return {row["recipient_id"] for row in rows if row["digest_id"] is not None}

    async def _went_out(
        self, match: str, args: Sequence[Any], *, now: datetime
    ) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
        """Per recipient, the distinct (channel, addresses) of the e-mail and webhook deliveries of the notices
        `match` selects (`notification n`, $1 on are `args`) that went out: delivered, or leased by a sender at `now`
        (going out as we speak); the deliveries locked first (a sender leasing one meanwhile is waited for, then seen
        leased). A recipient none of whose went out is left out."""
        rows = await self._db.fetch(
            "SELECT n.recipient_id, d.channel, d.addresses, d.status,"
            f" NOT {UNHELD.replace('$1', f'${len(args) + 1}')} AS leased"
            " FROM notification n JOIN delivery d ON d.notification_id = n.id"
            f" WHERE {match} AND d.channel <> 'inbox' ORDER BY d.id FOR UPDATE OF d",
            *args,
            now,
        )
        found: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        for row in rows:
            sent = (row["channel"], tuple(row["addresses"]))
            if row["status"] == "delivered" or (row["status"] == "pending" and row["leased"]):
                if sent not in found.setdefault(row["recipient_id"], []):
                    found[row["recipient_id"]].append(sent)
        return found

    async def withdraw_corrected(
        self, *, rule: str, subject_id: str, recipient_ids: Sequence[str], now: datetime, period: str | None = None
    ) -> int:
        """Withdraw these recipients' notices of `rule` about the subject (of `period`, None: any) that a later fact
        shows untrue (a corrected roster): kept in the inbox marked void with `void_reason` CORRECTED, out of the
        digests still to come, their deliveries not yet made cancelled (as _retract), and each one's period set aside
        (`<period>|void:<now>`) so that the rule may tell it again should it come to hold again. How many notices;
        a second call finds nothing left."""
        if not recipient_ids:
            return 0
        row = await self._db.fetchrow(
            "WITH voided AS (UPDATE notification n SET void_at = $1, void_reason = $6, digest_pending = false,"
            " period = n.period || '|void:' || $1::timestamptz::text"
            " WHERE n.rule = $3 AND n.subject_id = $4 AND n.recipient_id = ANY($5::text[]) AND n.void_at IS NULL"
            " AND ($7::text IS NULL OR n.period = $7::text) RETURNING n.id),"
            f"{CANCEL_VOIDED}"
            " SELECT count(*) AS voided FROM voided",
            now,
            "withdrawn: a corrected record shows it no longer holds",
            rule,
            subject_id,
            list(recipient_ids),
            CORRECTED,
            period,
        )
        assert row is not None
        return int(row["voided"])

    async def named_notices(
        self, *, rule: str, subject_id: str, recipient_ids: Sequence[str]
    ) -> list[tuple[str, str, tuple[str, ...] | None]]:
        """(recipient, period, the member ids it names, None when not kept: stored before they were) of these
        recipients' notices of `rule` about the subject still holding (not void), the first alert and its follow-ups
        alike, by recipient and period."""
        rows = await self._db.fetch(
            "SELECT recipient_id, period, member_ids FROM notification WHERE rule = $1 AND subject_id = $2"
            " AND recipient_id = ANY($3::text[]) AND void_at IS NULL ORDER BY recipient_id, period",
            rule,
            subject_id,
            list(recipient_ids),
        )
        return [
            (row["recipient_id"], row["period"], tuple(row["member_ids"]) if row["member_ids"] is not None else None)
            for row in rows
        ]

    async def _retract(self, match: str, args: Sequence[Any], *, now: datetime, why: str) -> tuple[int, int]:
        """Retract the alerts (`notification n`) that `match` selects ($3 on are `args`), in one statement: each
        marked void in the inbox and taken out of the digests still to come, and each of its deliveries not yet made
        cancelled (status `cancelled`, a `delivery_log` line saying `why`): a pending one no sender holds now. One a
        sender has leased is going out as we speak and is left to it (gone_out counts it gone); one delivered stays
        delivered, with no mail about the retraction (DOMAIN.md "Alerts": each alert once, committees want no stream
        of alerts). Idempotent: a second call finds nothing left. (alerts voided, deliveries cancelled)."""
        row = await self._db.fetchrow(
            "WITH voided AS (UPDATE notification n SET void_at = $1, digest_pending = false"
            f" WHERE {match} AND n.void_at IS NULL RETURNING n.id),"
            " held AS (SELECT d.id FROM delivery d JOIN notification n ON n.id = d.notification_id"
            f" WHERE {match} AND d.status = 'pending'"
            f" AND {UNHELD} FOR UPDATE OF d),"
            " cancelled AS (UPDATE delivery d SET status = 'cancelled', locked_until = NULL,"
            " last_error = $2 FROM held WHERE d.id = held.id RETURNING d.id, d.attempts),"
            " logged AS (INSERT INTO delivery_log (delivery_id, attempt, outcome, error)"
            " SELECT id, attempts, 'cancelled', $2 FROM cancelled)"
            " SELECT (SELECT count(*) FROM voided) AS voided, (SELECT count(*) FROM cancelled) AS cancelled",
            now,
            why,
            *args,
        )
        assert row is not None
        return int(row["voided"]), int(row["cancelled"])

    async def close_digest(self, notification_ids: Sequence[str], *, digest_id: str | None) -> None:
        """Mark notifications as carried by a digest."""
        await self._db.execute(
            "UPDATE notification SET digest_pending = false, digest_id = $2 WHERE id = ANY($1::uuid[])",
            [uuid.UUID(value) for value in notification_ids],
            uuid.UUID(digest_id) if digest_id else None,
        )
