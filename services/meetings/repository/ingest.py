"""Held events waiting for a referent, and stored rejections."""

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import asyncpg

from services.meetings.domain import LockSet
from services.meetings.repository.pending import PendingWrites
from shared.contracts.meetings_rpc import ANSWERED_ON_FORM, NO_CODE, RejectionFilter
from shared.envelope import GATEWAY_SOURCE
from shared.refusals import Refusal, RefusalCode
from shared.topology import MEETINGS_INGEST

GATE_KEY = "meetings.ingest"
"""Taken shared by every ingest transaction (shared locks never wait on each other) and exclusively by the bulk
load, whose 20,000-event chunks are too large to lock entity by entity."""
_WANTED = (
    f"(SELECT hashtextextended(k, 0) AS h, bool_or(x) AS x, bool_or(k = '{GATE_KEY}') AS gate"
    " FROM unnest($1::text[], $2::bool[]) AS t(k, x) GROUP BY 1 ORDER BY 3 DESC, 1) AS wanted"
)
_LOCK_SQL = (
    f"SELECT count(CASE WHEN x THEN pg_advisory_xact_lock(h) ELSE pg_advisory_xact_lock_shared(h) END) FROM {_WANTED}"
)
"""Every key in one round trip, the gate first, then in the order of their 64-bit hashes: two transactions
taking overlapping sets never wait for each other crosswise."""
_TRY_LOCK_SQL = (
    "SELECT coalesce(bool_and(CASE WHEN x THEN pg_try_advisory_xact_lock(h)"
    " ELSE pg_try_advisory_xact_lock_shared(h) END), true)"
    f" FROM {_WANTED}"
)
INBOX = MEETINGS_INGEST.name
"""The inbox consumer name shared by every route, so a duplicate is one whichever way it came."""


DISMISSAL = "UPDATE rejection SET status = 'dismissed', dismissed_at = $1, dismissed_by = $2, dismissal_reason = $3"
"""How an operator closes a rejection unreplayed, when ($1), who ($2) and why ($3): the one statement a single
dismissal and a filtered one both end with (IngestRepository.dismiss, dismiss_matching)."""

REJECTION_FILTER_COLUMNS = {
    "code": "refusal ->> 'code' = ${}",
    "source": "source = ${}",
    "sender": "sender = ${}",
    "received_before": "received_at < ${}",
    "received_after": "received_at >= ${}",
}
"""How each RejectionFilter criterion reads as SQL on the rejection table (its parameter's number left open)."""
WITHOUT_CODE = "refusal ->> 'code' IS NULL"
"""The `code` criterion NO_CODE as SQL (no parameter): a rejection stored without a refusal, or one without a code."""


def rejection_filter_sql(selected: RejectionFilter, *, first: int) -> tuple[str, list[Any]]:
    """The `AND ...` conditions (empty for an empty filter) and their arguments, numbered from `$first`, that select
    the rejections `selected` chooses (REJECTION_FILTER_COLUMNS; WITHOUT_CODE for the code NO_CODE)."""
    conditions: list[str] = []
    args: list[Any] = []
    for name, value in selected.given().items():
        if name == "code" and value == NO_CODE:
            conditions.append(" AND " + WITHOUT_CODE)
            continue
        conditions.append(" AND " + REJECTION_FILTER_COLUMNS[name].format(first + len(args)))
        args.append(value)
    return "".join(conditions), args


class IngestRepository(Protocol):
    """Holds and rejections."""

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
        sources_listed: bool,
    ) -> None: ...
    async def waiting_for(self, keys: Sequence[str]) -> Sequence[Mapping[str, Any]]: ...
    async def release(self, *, source: str, event_id: str) -> None: ...
    async def expired(self, *, older_than: datetime, limit: int) -> Sequence[Mapping[str, Any]]: ...
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
        sources_listed: bool,
    ) -> "StoredRejection": ...
    async def get_rejection(self, rejection_id: str, *, lock_row: bool) -> Mapping[str, Any] | None: ...
    async def get_attempt(self, rejection_id: str, attempt: int) -> Mapping[str, Any] | None: ...
    async def mark_replayed(self, rejection_id: str, *, at: datetime, outcome: str) -> None: ...
    async def name_sender(self, rejection_id: str, *, sender: str, by: str, at: datetime) -> None: ...
    async def release_applied(self, *, source: str, event_id: str, at: datetime) -> None: ...
    async def close_superseded(self, *, source: str, event_id: str, at: datetime) -> None: ...
    async def rosters_refused_for(self, member_id: str) -> Sequence[Mapping[str, Any]]: ...
    async def prefetch_refused(self, member_ids: Iterable[str]) -> None: ...
    async def note_replay_refused(
        self, rejection_id: str, *, reason: str, field: str | None, refusal: Refusal | None
    ) -> None: ...
    async def dismiss(self, rejection_id: str, *, at: datetime, by: str, reason: str) -> None: ...
    async def dismiss_matching(
        self, selected: RejectionFilter, *, limit: int, at: datetime, by: str, reason: str
    ) -> list[str]: ...
    async def forget_processed(self, *, consumer: str, source: str, event_id: str) -> None: ...
    async def record_inbox(
        self, *, consumer: str, entries: Sequence[tuple[str, str, bytes, str, str | None]]
    ) -> dict[tuple[str, str], bytes | None]: ...
    async def source_owner(self, source: str) -> str | None: ...
    async def sources_of_unit(self, unit_id: str) -> frozenset[str]: ...
    async def sources_of_account(self, account: str, unit_id: str) -> frozenset[str]: ...
    async def lock(self, locks: LockSet) -> None: ...
    async def try_lock(self, locks: LockSet) -> bool: ...
    async def wait_at_most(self, seconds: float) -> None: ...
    async def defer_release(self, *, source: str, event_id: str) -> None: ...
    async def defer_releases(self, held: Sequence[tuple[str, str]]) -> None: ...
    @property
    def deferred(self) -> list[tuple[str, str]]: ...
    async def get_held(self, *, source: str, event_id: str, lock_row: bool) -> Mapping[str, Any] | None: ...
    def held_copy(self, *, source: str, event_id: str) -> Mapping[str, Any] | None: ...
    def first_received(self, *, source: str, event_id: str) -> datetime | None: ...
    def first_route(self, *, source: str, event_id: str) -> str | None: ...
    def stored_by(self, *, source: str, event_id: str) -> str | None: ...
    def processed_before(self, *, consumer: str, source: str, event_id: str) -> "ProcessedBefore | None": ...
    async def released(self, *, older_than: datetime, limit: int) -> Sequence[tuple[str, str]]: ...
    async def prefetch_waiting(self, keys: Iterable[str]) -> None: ...


@dataclass(frozen=True)
class StoredRejection:
    """The rejection an event's refusal is kept as: its id, and whether it was stored just now (`first`), so that it
    is published, or is the one rejection of that event (source, id) stored before, published then."""

    rejection_id: str
    first: bool


@dataclass(frozen=True)
class ProcessedBefore:
    """An inbox row record_inbox found recorded before, as it read it: the digest its event was recorded with (None:
    recorded without one), the answer record_inbox would give that (source, id) again (processed_before)."""

    digest: bytes | None


REPLAY_ROUTE = "replay"
"""The route an operator's replay of a stored rejection is judged on (handlers.replay_rejection)."""


class PgIngestRepository:
    """IngestRepository over the meetings schema."""

    def __init__(self, connection: asyncpg.Connection, pending: PendingWrites | None = None) -> None:
        self._conn = connection
        self._pending = pending
        self._held_locks: dict[str, bool] = {}
        """Keys this transaction holds, True when exclusively: asked again, they cost no round trip."""
        self._any_held: bool | None = None
        """Whether any event is held; learnt after the last lock was taken. A hold waiting for a key this
        transaction holds was committed before the key was granted, so it is seen; a lock taken later may
        cover holds made since, hence the reset in lock()."""
        self._deferred: list[tuple[str, str]] = []
        self._closing: set[tuple[str, str]] = set()
        """Events whose open rejection close_superseded queued to close (sent with the pending writes)."""
        self._checked: set[str] = set()
        """Keys (held exclusively) whose waiters were read in one statement for the whole transaction."""
        self._waited: set[str] = set()
        self._owners: dict[str, str | None] = {}
        self._account_sources: dict[tuple[str, str], frozenset[str]] = {}
        self._refused: dict[str, list[asyncpg.Record]] = {}
        """rosters_refused_for of the members read (prefetch_refused), kept current as rejections are written."""
        self._held_copies: dict[tuple[str, str], asyncpg.Record] = {}
        """The holds of events record_inbox found processed before (read with their digests): a copy resent is
        still held (held_copy)."""
        self._first_received: dict[tuple[str, str], datetime] = {}
        """When the inbox rows record_inbox found processed before were recorded (read with their digests): a
        duplicate's line says when its event was first taken in (first_received)."""
        self._first_routes: dict[tuple[str, str], str | None] = {}
        """The route the first copy of those events came by, as their inbox rows keep it (None: recorded before
        meetings migration 0037): a duplicate's line names it (first_route)."""
        self._stored_by: dict[tuple[str, str], str | None] = {}
        """The mark of the request that stored those events' inbox rows (None: none kept, before meetings migration
        0039 or by a bulk load): a retry of that same request answers its own events as stored (stored_by)."""
        self._read_before: dict[tuple[str, str], tuple[str, ProcessedBefore]] = {}
        """The inbox rows record_inbox found recorded before, by (source, id), with their consumer, while this
        transaction has written neither the row nor the event's hold since (processed_before)."""
        self._rejected_before: set[tuple[str, str]] = set()
        """Events record_inbox recorded as new that have an open or dismissed rejection (a partner's fix resent under
        the same id, as docs/integrations.md asks): accepted, that rejection is closed (accepted)."""
        """Registered sources' units read in this transaction (source_owner)."""
        """Of those, and of the keys holds were made for since, the ones some held event may wait for."""

    async def prefetch_waiting(self, keys: Iterable[str]) -> None:
        """Learn in one statement which of these keys held events wait for (call it holding every key's entity
        exclusively, so no hold on them can be made meanwhile but by this transaction, which notes its own)."""
        wanted = sorted(set(keys) - self._checked)
        if not wanted:
            return
        rows = await self._conn.fetch(
            "SELECT DISTINCT waiting_for FROM held_event WHERE waiting_for = ANY($1::text[]) AND released_at IS NULL",
            wanted,
        )
        self._checked.update(wanted)
        self._waited.update(row["waiting_for"] for row in rows)

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
        sources_listed: bool,
    ) -> None:
        """Park the event until `waiting_for` arrives (keeping its first hold time and the scope, account, AMQP
        `message_id` and sources rule it came with), with the hold's machine-readable reason when its rule gives one;
        `answer`: what the sender was told when `reason` says more (an id outside its scope), the only reason a public
        event or the sender may read; `sources_listed`: its source was judged by its sender's sources list (False: by
        the registry), so its release is judged by the same rule (handlers.settle_held)."""
        self._any_held = True
        self._waited.add(waiting_for)
        self._written(source, event_id)
        await self._conn.execute(
            "INSERT INTO held_event"
            " (source, event_id, type, raw, waiting_for, reason, field, route, scope, refusal, answer, account,"
            " message_id, sources_listed)"
            " VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, $13, $14)"
            " ON CONFLICT (source, event_id) DO UPDATE"
            " SET waiting_for = EXCLUDED.waiting_for, reason = EXCLUDED.reason, field = EXCLUDED.field,"
            " refusal = EXCLUDED.refusal, answer = EXCLUDED.answer, released_at = NULL",
            source,
            event_id,
            event_type,
            json.dumps(raw, ensure_ascii=False),
            waiting_for,
            reason,
            field,
            route,
            scope,
            None if refusal is None else refusal.model_dump_json(exclude_none=True),
            answer if answer != reason else None,
            account,
            message_id,
            sources_listed,
        )

    async def waiting_for(self, keys: Sequence[str]) -> list[asyncpg.Record]:
        """Held events waiting for any of the keys, oldest first (call it holding the keys' entities exclusively)."""
        if all(key in self._checked and key not in self._waited for key in keys):
            return []  # known from prefetch_waiting: no round trip
        if self._any_held is None:
            self._any_held = bool(await self._conn.fetchval("SELECT EXISTS (SELECT 1 FROM held_event)"))
        if not self._any_held:  # the usual case in a bulk feed: no round trip per applied event
            return []
        return await self._conn.fetch(
            "SELECT source, event_id, type, raw::text AS raw, waiting_for, route, scope, account, message_id, held_at,"
            " sources_listed FROM held_event"
            " WHERE waiting_for = ANY($1::text[]) AND released_at IS NULL ORDER BY held_at, source, event_id",
            list(keys),
        )

    async def release(self, *, source: str, event_id: str) -> None:
        """Forget a held event (applied or rejected)."""
        self._written(source, event_id)
        await self._conn.execute("DELETE FROM held_event WHERE source = $1 AND event_id = $2", source, event_id)

    async def expired(self, *, older_than: datetime, limit: int) -> list[asyncpg.Record]:
        """Held events that waited since before `older_than`, locked for this transaction."""
        return await self._conn.fetch(
            "SELECT source, event_id, type, raw::text AS raw, waiting_for, reason, field, route, scope, held_at,"
            " answer, account, message_id, sources_listed,"
            " refusal::text AS refusal FROM held_event"
            " WHERE held_at < $1 AND released_at IS NULL ORDER BY held_at LIMIT $2 FOR UPDATE SKIP LOCKED",
            older_than,
            limit,
        )

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
        sources_listed: bool,
    ) -> StoredRejection:
        """Store the rejection of an event once: (source, id) identifies it (CONTRACT.md), so an event refused again
        keeps its one rejection (`first` False: it was published when it was stored). That rejection is refreshed
        with the latest copy (a replay's refusal only beside its first reason, field, code and event, as its last
        replay's), and, when it was closed (replayed, or dismissed by an operator), opened again as a new one was
        before; a copy of a message it was refused in already (same message id and content: delivered again, sent
        back twice) is that attempt again, which neither refreshes it nor counts one more (_refused_before). A
        person's command (answered on its form) is stored closed: ANSWERED_ON_FORM, by `account`, the person's
        account that sent it, or by its source when none was given. A body that names no event (no id) is stored
        anew each time. `message_id`: the AMQP message the event came in (None over HTTP), the latest copy's;
        `sources_listed`: the latest copy's source was judged by its sender's sources list (False: by the registry),
        the rule its replay is judged by (handlers.replay_sources).
        Call it holding the event's identity exclusively (handlers.reject), so two copies refused at once find one
        rejection; rejection_identity (unique) guards it."""
        code = None if refusal is None else refusal.model_dump_json(exclude_none=True)
        copy = (route, event_type, reason, field, code, raw, scope, message_id, account, sources_listed)
        self._forget_refused(event=(source, event_id))
        if refusal is not None and refusal.member_id is not None:
            self._refused.pop(refusal.member_id, None)  # it may now be refused naming them: read again when asked
        # a person's command (not a feed's forgery of the gateway's source): answered on its form, kept closed
        answered = source == GATEWAY_SOURCE and (refusal is None or refusal.code != RefusalCode.SOURCE_RESERVED)
        if (source, event_id) in self._closing and self._pending is not None:
            # its rejection closed by an accepted fix earlier in this transaction (queued): this refusal under the
            # same id came after it, and opens that rejection again as one at a time, not closed with it at commit
            await self._pending.flush()
            self._closing.clear()
        if event_id:
            existing = await self._conn.fetchrow(
                "SELECT rejection_id, status, dismissal_reason FROM rejection WHERE source = $1 AND event_id = $2"
                " FOR UPDATE",
                source,
                event_id,
            )
            if existing is not None:
                rejection_id = str(existing["rejection_id"])
                # the same message again (delivered again, a dead letter sent back twice) is that attempt again
                again = route != REPLAY_ROUTE and await self._refused_before(rejection_id, route, raw, message_id)
                if route == REPLAY_ROUTE:
                    # a replay rejected again keeps the first reason, field and code (the real cause) and its event
                    # as it came; its own reason is kept beside them (a trial's replay overwrote "meeting not
                    # started")
                    await self._conn.execute(
                        "UPDATE rejection SET last_replay_reason = $2, last_replay_field = $3,"
                        " last_replay_refusal = $4::jsonb, last_replay_at = now() WHERE rejection_id = $1",
                        rejection_id,
                        reason,
                        field,
                        code,
                    )
                elif not again:
                    await self._conn.execute(
                        "UPDATE rejection SET reason = $2, field = $3, raw = $4, received_at = $5, type = $6,"
                        " scope = $7, refusal = $8::jsonb, message_id = $9, sender = $10, sources_listed = $11"
                        " WHERE rejection_id = $1",
                        rejection_id,
                        reason,
                        field,
                        raw,
                        received_at,
                        event_type,
                        scope,
                        code,
                        message_id,
                        account or None,
                        sources_listed,
                    )
                if not again:
                    await self._attempt(rejection_id, *copy)
                standing = existing["status"] == "open" or (
                    existing["status"] == "dismissed" and existing["dismissal_reason"] == ANSWERED_ON_FORM
                )
                if not standing:
                    await self._reopen(rejection_id, answered=answered, by=account or source)
                return StoredRejection(rejection_id, first=False)
        rejection_id = str(uuid.uuid4())
        await self._conn.execute(
            "INSERT INTO rejection"
            " (rejection_id, source, event_id, type, reason, field, raw, route, received_at, scope, refusal,"
            " status, dismissed_at, dismissed_by, dismissal_reason, message_id, sender, sources_listed)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb,"
            " CASE WHEN $12 THEN 'dismissed' ELSE 'open' END, CASE WHEN $12 THEN now() END,"
            " CASE WHEN $12 THEN coalesce($14, $2) END, CASE WHEN $12 THEN $13 END, $15, $14, $16)",
            rejection_id,
            source,
            event_id,
            event_type,
            reason,
            field,
            raw,
            route,
            received_at,
            scope,
            code,
            answered,
            ANSWERED_ON_FORM,
            account or None,
            message_id,
            sources_listed,
        )
        await self._attempt(rejection_id, *copy, at=received_at)
        return StoredRejection(rejection_id, first=True)

    async def _attempt(
        self,
        rejection_id: str,
        route: str,
        event_type: str,
        reason: str,
        field: str | None,
        code: str | None,
        raw: str,
        scope: str | None,
        message_id: str | None,
        account: str | None,
        sources_listed: bool,
        *,
        at: datetime | None = None,
    ) -> None:
        """Keep one refused attempt of a rejection's event as its own numbered row (rejection_attempt, 1 first), so
        a later copy refused again never hides an earlier one's route and reason. `at`: when it was received (a
        replay's: now, the statement's clock); never before the attempt numbered before it. `account`: who sent the
        copy (a replay's: the rejection's sender, the account it is judged as); `sources_listed`: the rule its source
        was judged by (see reject)."""
        await self._conn.execute(
            "INSERT INTO rejection_attempt"
            " (rejection_id, attempt, route, type, reason, field, refusal, raw, scope, message_id, received_at,"
            " sender, sources_listed)"
            " SELECT $1, coalesce(max(attempt), 0) + 1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9,"
            " greatest(coalesce($10, clock_timestamp()), max(received_at)),"  # numbered in the order received
            " CASE WHEN $2 = $12 THEN (SELECT sender FROM rejection WHERE rejection_id = $1) ELSE $11 END, $13"
            " FROM rejection_attempt WHERE rejection_id = $1",
            rejection_id,
            route,
            event_type,
            reason,
            field,
            code,
            raw,
            scope,
            message_id,
            None if route == REPLAY_ROUTE else at,
            account or None,
            REPLAY_ROUTE,
            sources_listed,
        )

    async def _refused_before(self, rejection_id: str, route: str, raw: str, message_id: str | None) -> bool:
        """Whether a copy is a refused attempt of the rejection received again: the same message (its AMQP message id,
        over the same route) with the same content, as the broker delivers a message again when its consumer died
        before the ack, or a dead letter's replay sends it twice (killed between the confirm and the removal). A
        copy without a message id (over HTTP) or in another message is a new send: an attempt of its own."""
        if message_id is None:
            return False
        found = await self._conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM rejection_attempt"
            " WHERE rejection_id = $1 AND route = $2 AND message_id = $3 AND raw = $4)",
            rejection_id,
            route,
            message_id,
            raw,
        )
        return bool(found)

    async def get_attempt(self, rejection_id: str, attempt: int) -> asyncpg.Record | None:
        """One refused attempt of a rejection (rejection_attempt), None when it has no such attempt."""
        return await self._conn.fetchrow(
            "SELECT * FROM rejection_attempt WHERE rejection_id = $1 AND attempt = $2", rejection_id, attempt
        )

    async def _reopen(self, rejection_id: str, *, answered: bool, by: str) -> None:
        """Open again a closed rejection whose event was refused again (its replay held it and the hold ran out, or
        it came again after an operator dismissed it), as a new rejection of it was stored open before: open for the
        operators, or a person's command closed again as answered on its form (`by`: the account that sent it); its
        replay's outcome no longer stands."""
        await self._conn.execute(
            "UPDATE rejection SET status = CASE WHEN $2 THEN 'dismissed' ELSE 'open' END,"
            " dismissed_at = CASE WHEN $2 THEN now() END, dismissed_by = CASE WHEN $2 THEN $3 END,"
            " dismissal_reason = CASE WHEN $2 THEN $4 END, replayed_at = NULL, replay_outcome = NULL"
            " WHERE rejection_id = $1",
            rejection_id,
            answered,
            by,
            ANSWERED_ON_FORM,
        )

    async def get_rejection(self, rejection_id: str, *, lock_row: bool) -> asyncpg.Record | None:
        """One stored rejection, its row locked for this transaction when asked."""
        return await self._conn.fetchrow(
            "SELECT * FROM rejection WHERE rejection_id = $1" + (" FOR UPDATE" if lock_row else ""), rejection_id
        )

    async def name_sender(self, rejection_id: str, *, sender: str, by: str, at: datetime) -> None:
        """Record `sender` as the account that sent a rejection's event which recorded none, named by the operator
        `by` at `at` (a rejection that records its sender keeps it)."""
        await self._conn.execute(
            "UPDATE rejection SET sender = $2, sender_named_by = $3, sender_named_at = $4"
            " WHERE rejection_id = $1 AND sender IS NULL",
            rejection_id,
            sender,
            by,
            at,
        )

    async def mark_replayed(self, rejection_id: str, *, at: datetime, outcome: str) -> None:
        """Close a rejection whose event a replay judged (`outcome`: accepted, held or duplicate)."""
        self._forget_refused(rejection_id=rejection_id)
        await self._conn.execute(
            "UPDATE rejection SET status = 'replayed', replayed_at = $2, replay_outcome = $3 WHERE rejection_id = $1",
            rejection_id,
            at,
            outcome,
        )

    async def release_applied(self, *, source: str, event_id: str, at: datetime) -> None:
        """Forget a held event applied at `at` and, in the same statement, say `accepted` on its rejection a replay
        closed as `held`, or close its rejection still open or dismissed (a fix resent under its id, held, then
        applied: SUPERSEDED_STATUSES) as accepted (one statement per released event, as `release`)."""
        self._forget_refused(event=(source, event_id))
        self._written(source, event_id)
        await self._conn.execute(
            "WITH gone AS (DELETE FROM held_event WHERE source = $1 AND event_id = $2)"
            " UPDATE rejection SET status = 'replayed', replay_outcome = 'accepted', replayed_at = $3"
            " WHERE source = $1 AND event_id = $2 AND event_id <> ''"
            " AND (status IN " + SUPERSEDED_STATUSES + " OR (status = 'replayed' AND replay_outcome = 'held'))",
            source,
            event_id,
            at,
        )

    def note_rejected_before(self, identities: Iterable[tuple[str, str]]) -> None:
        """Note (source, id) pairs another inbox insert of this transaction (the bulk loader's) found with an open or
        dismissed rejection, as record_inbox notes its own: close_superseded closes them once accepted."""
        self._rejected_before.update(identities)

    async def close_superseded(self, *, source: str, event_id: str, at: datetime) -> None:
        """An event just accepted: close its open or dismissed rejection (replayed, outcome `accepted` at `at`: a
        replay of it answers that it was applied; a dismissal keeps who, when and why; SUPERSEDED_STATUSES) when
        record_inbox saw one, in this transaction; queued, so a batch's closings are one statement at commit, and no
        statement at all for an event never rejected."""
        identity = (source, event_id)
        if identity not in self._rejected_before:
            return
        self._rejected_before.discard(identity)
        self._forget_refused(event=identity)
        if self._pending is None:
            await self._conn.execute(_CLOSE_SUPERSEDED_SQL, [source], [event_id], [at])
            return
        self._pending.add(_CLOSE_SUPERSEDED_SQL, (source, event_id, at), columns=True, key=2)
        self._closing.add(identity)

    async def rosters_refused_for(self, member_id: str) -> Sequence[Mapping[str, Any]]:
        """The open rejections of integrations' rosters refused `member_not_in_cell` naming the member (rejection_id,
        source, event_id, raw, route, scope, message_id, reason, field, refusal, sender, sources_listed), by rejection
        id."""
        if member_id not in self._refused:
            await self.prefetch_refused([member_id])
        return list(self._refused[member_id])

    async def prefetch_refused(self, member_ids: Iterable[str]) -> None:
        """Read rosters_refused_for of all the members in one statement (issue 12: a batch of member moves read it a
        member at a time); a rejection written since drops what it may change (_forget_refused)."""
        wanted = sorted(set(member_ids) - self._refused.keys())
        if not wanted:
            return
        rows = await self._conn.fetch(
            "SELECT refusal->>'member_id' AS member_id, rejection_id, source, event_id, raw, route, scope, message_id,"
            " reason, field, refusal, sender, sources_listed FROM rejection"
            " WHERE status = 'open' AND type = 'attendance.recorded.v1'"
            " AND refusal->>'code' = 'member_not_in_cell' AND refusal->>'member_id' = ANY($1::text[])"
            " ORDER BY rejection_id",
            wanted,
        )
        for member_id in wanted:
            self._refused[member_id] = []
        for row in rows:
            self._refused[row["member_id"]].append(row)

    def _forget_refused(self, *, rejection_id: str | None = None, event: tuple[str, str] | None = None) -> None:
        """Drop from the rosters_refused_for read the rows a rejection write may have changed: the rejection's own
        (`rejection_id`, or its event's (source, id)), and the whole read when neither is known."""
        if rejection_id is None and event is None:
            self._refused.clear()
            return
        for member_id, rows in list(self._refused.items()):
            ids = {str(row["rejection_id"]) for row in rows}
            if rejection_id in ids or any((row["source"], row["event_id"]) == event for row in rows):
                del self._refused[member_id]

    async def note_replay_refused(
        self, rejection_id: str, *, reason: str, field: str | None, refusal: Refusal | None
    ) -> None:
        """Keep a replay's refusal of a body that names no event as the rejection's last replay's (it stays open,
        its first reason kept), as reject keeps a named event's replayed again."""
        await self._conn.execute(
            "UPDATE rejection SET last_replay_reason = $2, last_replay_field = $3, last_replay_refusal = $4::jsonb,"
            " last_replay_at = now() WHERE rejection_id = $1",
            rejection_id,
            reason,
            field,
            None if refusal is None else refusal.model_dump_json(exclude_none=True),
        )
        await self._conn.execute(
            "INSERT INTO rejection_attempt"
            " (rejection_id, attempt, route, type, reason, field, refusal, raw, scope, message_id, received_at,"
            " sender, sources_listed)"
            " SELECT $1, (SELECT coalesce(max(attempt), 0) + 1 FROM rejection_attempt WHERE rejection_id = $1),"
            " $2, type, last_replay_reason, last_replay_field, last_replay_refusal, raw, scope, NULL,"
            " greatest(clock_timestamp(), (SELECT max(received_at) FROM rejection_attempt WHERE rejection_id = $1)),"
            " sender, sources_listed"
            " FROM rejection WHERE rejection_id = $1",
            rejection_id,
            REPLAY_ROUTE,
        )

    async def dismiss(self, rejection_id: str, *, at: datetime, by: str, reason: str) -> None:
        """Close an open rejection unreplayed: status 'dismissed', with when, who and why (DISMISSAL)."""
        self._forget_refused(rejection_id=rejection_id)
        await self._conn.execute(DISMISSAL + " WHERE rejection_id = $4", at, by, reason, rejection_id)

    async def dismiss_matching(
        self, selected: RejectionFilter, *, limit: int, at: datetime, by: str, reason: str
    ) -> list[str]:
        """Close up to `limit` open rejections `selected` chooses as `dismiss` closes one (DISMISSAL; each row locked
        as its single dismissal locks it, so a replay at the same moment wins or loses whole); the ids closed."""
        where, args = rejection_filter_sql(selected, first=5)
        rows = await self._conn.fetch(
            DISMISSAL + " WHERE rejection_id IN (SELECT rejection_id FROM rejection WHERE status = 'open'"
            f"{where} LIMIT $4 FOR UPDATE) AND status = 'open' RETURNING rejection_id",
            at,
            by,
            reason,
            limit,
            *args,
        )
        closed = [str(row["rejection_id"]) for row in rows]
        for rejection_id in closed:
            self._forget_refused(rejection_id=rejection_id)
        return closed

    async def source_owner(self, source: str) -> str | None:
        """The unit whose scoped integration account registered `source`, None when none did (read once per
        transaction: a batch of one source asks once)."""
        if source not in self._owners:
            self._owners[source] = await self._conn.fetchval(
                "SELECT unit_id FROM registered_source WHERE source = $1", source
            )
        return self._owners[source]

    async def sources_of_unit(self, unit_id: str) -> frozenset[str]:
        """The sources the scoped integration accounts of `unit_id` registered (none: an empty set)."""
        rows = await self._conn.fetch("SELECT source FROM registered_source WHERE unit_id = $1", unit_id)
        return frozenset(row["source"] for row in rows)

    async def sources_of_account(self, account: str, unit_id: str) -> frozenset[str]:
        """The sources the scoped integration account `account` of `unit_id` holds now (none, or disabled since:
        an empty set); read once per transaction (a unit releasing a hundred held members of one account asks once)."""
        key = (account, unit_id)
        if key not in self._account_sources:
            rows = await self._conn.fetch(
                "SELECT source FROM registered_source WHERE account = $1 AND unit_id = $2", account, unit_id
            )
            self._account_sources[key] = frozenset(row["source"] for row in rows)
        return self._account_sources[key]

    async def record_inbox(
        self, *, consumer: str, entries: Sequence[tuple[str, str, bytes, str, str | None]]
    ) -> dict[tuple[str, str], bytes | None]:
        """Record (source, id, content digest, route, request mark) in the inbox in one statement, the route the
        event came by (handlers.ingest.inbox_route: `http`, `amqp-batch`, ...) and the mark of the request that
        stores it (handlers.ingest.Reading.request_mark; None: none) kept with its row; return those processed before
        with the digest they were recorded with (None for a row recorded without one). A second statement runs only
        when some were there before, reading when, by which route and by which request their first copy came too
        (first_received, first_route, stored_by)."""
        if not entries:
            return {}
        rows = await self._conn.fetch(
            "INSERT INTO processed_message (consumer, source, event_id, digest, route, stored_by)"
            " SELECT $1, s, i, d, r, b"
            " FROM unnest($2::text[], $3::text[], $4::bytea[], $5::text[], $6::text[]) AS t(s, i, d, r, b)"
            " ON CONFLICT DO NOTHING RETURNING source, event_id, " + REJECTED_BEFORE_SQL,
            consumer,
            [entry[0] for entry in entries],
            [entry[1] for entry in entries],
            [entry[2] for entry in entries],
            [entry[3] for entry in entries],
            [entry[4] for entry in entries],
        )
        inserted = {(row["source"], row["event_id"]) for row in rows}
        self._rejected_before |= {(row["source"], row["event_id"]) for row in rows if row["rejected"]}
        before = [(entry[0], entry[1]) for entry in entries if (entry[0], entry[1]) not in inserted]
        if not before:
            return {}
        stored = await self._conn.fetch(
            "SELECT p.source, p.event_id, p.digest, p.processed_at, p.route, p.stored_by, h.waiting_for, h.reason,"
            " h.answer,"
            " h.field, h.refusal::text AS refusal FROM processed_message p LEFT JOIN held_event h"
            " ON h.source = p.source AND h.event_id = p.event_id"
            " WHERE p.consumer = $1 AND (p.source, p.event_id) IN (SELECT * FROM unnest($2::text[], $3::text[]))",
            consumer,
            [source for source, _ in before],
            [event_id for _, event_id in before],
        )
        digests = {(row["source"], row["event_id"]): row["digest"] for row in stored}
        for row in stored:
            identity = (row["source"], row["event_id"])
            self._read_before[identity] = (consumer, ProcessedBefore(row["digest"]))
            self._first_received[identity] = row["processed_at"]
            self._first_routes[identity] = row["route"]
            self._stored_by[identity] = row["stored_by"]
            if row["waiting_for"] is not None:
                self._held_copies[identity] = row
            else:
                self._held_copies.pop(identity, None)
        return {identity: digests.get(identity) for identity in before}

    def held_copy(self, *, source: str, event_id: str) -> asyncpg.Record | None:
        """The hold (waiting_for, reason, answer, field, refusal) of an event the last record_inbox naming it found
        processed before and still held; None when it is not held. No round trip: read with the inbox digests."""
        return self._held_copies.get((source, event_id))

    def first_received(self, *, source: str, event_id: str) -> datetime | None:
        """When the inbox row of an event the last record_inbox naming it found processed before was recorded (its
        first copy taken in); None when none was found. No round trip: read with the inbox digests."""
        return self._first_received.get((source, event_id))

    def first_route(self, *, source: str, event_id: str) -> str | None:
        """The route the first copy of an event the last record_inbox naming it found processed before came by, as
        its inbox row keeps it (`http`, `http-batch`, `amqp`, `amqp-batch`, `bulk`, `replay`); None when none was
        found or the row was recorded before meetings migration 0037. No round trip: read with the inbox digests."""
        return self._first_routes.get((source, event_id))

    def stored_by(self, *, source: str, event_id: str) -> str | None:
        """The mark of the request whose transaction stored the inbox row of an event the last record_inbox naming
        it found processed before (handlers.ingest.Reading.request_mark); None when none was found or kept (a row
        from before meetings migration 0039, a bulk load's). No round trip: read with the inbox digests."""
        return self._stored_by.get((source, event_id))

    def processed_before(self, *, consumer: str, source: str, event_id: str) -> ProcessedBefore | None:
        """The inbox row of (source, id) as a record_inbox of this transaction found it recorded before, while this
        transaction has written neither that row nor the event's hold since (held_copy, first_received and first_route
        answer from that same read): what record_inbox would answer for it again, no round trip. None when not read
        so, or written since (a rejection forgets the row; a hold, release or deferral changes its hold): ask
        record_inbox. A copy is judged as of that read, as it was as of its own statement: a batch's read serves each
        of its events so (one statement, not one per event), under the same locks."""
        read = self._read_before.get((source, event_id))
        return read[1] if read is not None and read[0] == consumer else None

    def _written(self, source: str, event_id: str) -> None:
        """Note that this transaction wrote the inbox row or the hold of (source, id): processed_before asks again."""
        self._read_before.pop((source, event_id), None)

    async def forget_processed(self, *, consumer: str, source: str, event_id: str) -> None:
        """Drop the inbox record of a rejected event, so a corrected copy with the same id can be sent."""
        self._written(source, event_id)
        await self._conn.execute(
            "DELETE FROM processed_message WHERE consumer = $1 AND source = $2 AND event_id = $3",
            consumer,
            source,
            event_id,
        )

    async def lock(self, locks: LockSet) -> None:
        """Hold the keys until the transaction ends, waiting for them (with the gate, shared)."""
        wanted = self._missing(locks)
        if not wanted:
            return
        await self._conn.fetchval(_LOCK_SQL, [key for key, _ in wanted], [exclusive for _, exclusive in wanted])
        self._granted(wanted)

    async def wait_at_most(self, seconds: float) -> None:
        """End any lock wait or statement of this transaction that lasts more than `seconds` (lock_timeout and
        statement_timeout, for the transaction only): PostgreSQL raises LockNotAvailableError or QueryCanceledError."""
        bound = f"{max(1, int(seconds * 1000))}ms"
        await self._conn.execute(
            "SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $1, true)", bound
        )

    async def try_lock(self, locks: LockSet) -> bool:
        """Hold the keys if none is taken elsewhere, without waiting; False otherwise (the ones granted stay held)."""
        wanted = self._missing(locks)
        if not wanted:
            return True
        granted = await self._conn.fetchval(
            _TRY_LOCK_SQL, [key for key, _ in wanted], [exclusive for _, exclusive in wanted]
        )
        if granted:
            self._granted(wanted)
        return bool(granted)

    def _missing(self, locks: LockSet) -> list[tuple[str, bool]]:
        wanted = [(key, True) for key in sorted(locks.exclusive) if not self._held_locks.get(key, False)]
        wanted += [(key, False) for key in sorted(locks.shared - locks.exclusive) if key not in self._held_locks]
        if wanted and GATE_KEY not in self._held_locks:
            wanted.append((GATE_KEY, False))
        return wanted

    def _granted(self, wanted: list[tuple[str, bool]]) -> None:
        for key, exclusive in wanted:
            self._held_locks[key] = exclusive or self._held_locks.get(key, False)
        self._any_held = None

    async def lock_gate(self) -> None:
        """Hold the gate exclusively: no other ingest transaction runs until this one ends (the bulk load)."""
        await self._conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", GATE_KEY)
        self._held_locks[GATE_KEY] = True
        self._any_held = None

    async def defer_release(self, *, source: str, event_id: str) -> None:
        """Mark a held event whose referent arrived but whose own keys are busy: settled after commit (or by the
        sweep, should this process stop first)."""
        self._written(source, event_id)
        await self._conn.execute(
            "UPDATE held_event SET released_at = now() WHERE source = $1 AND event_id = $2", source, event_id
        )
        self._deferred.append((source, event_id))

    async def defer_releases(self, held: Sequence[tuple[str, str]]) -> None:
        """defer_release of many held events, `held` their (source, id), in one statement."""
        if not held:
            return
        for source, event_id in held:
            self._written(source, event_id)
        await self._conn.execute(
            "UPDATE held_event SET released_at = now() FROM unnest($1::text[], $2::text[]) AS h(source, event_id)"
            " WHERE held_event.source = h.source AND held_event.event_id = h.event_id",
            [source for source, _ in held],
            [event_id for _, event_id in held],
        )
        self._deferred += held

    @property
    def deferred(self) -> list[tuple[str, str]]:
        """The (source, id) of the held events this transaction released for later."""
        return list(self._deferred)

    async def get_held(self, *, source: str, event_id: str, lock_row: bool) -> asyncpg.Record | None:
        """One held event, its row locked for this transaction when asked."""
        return await self._conn.fetchrow(
            "SELECT source, event_id, type, raw::text AS raw, waiting_for, reason, field, route, scope, held_at,"
            " answer, account, message_id, sources_listed,"
            " released_at FROM held_event WHERE source = $1 AND event_id = $2" + (" FOR UPDATE" if lock_row else ""),
            source,
            event_id,
        )

    async def released(self, *, older_than: datetime, limit: int) -> list[tuple[str, str]]:
        """Held events released before `older_than` and still not settled (their process stopped), oldest first."""
        rows = await self._conn.fetch(
            "SELECT source, event_id FROM held_event WHERE released_at < $1 ORDER BY released_at LIMIT $2",
            older_than,
            limit,
        )
        return [(row["source"], row["event_id"]) for row in rows]


SUPERSEDED_STATUSES = "('open', 'dismissed')"
"""The statuses of a rejection that its event accepted since closes as replayed, outcome `accepted`: open, and
dismissed (an operator's dismissal, or a person's command answered on its form, keeps its who, when and why), so no
rejection of an event that is in reads `dismissed`, as if the event were dropped (an operator trial: a fix resent
after its rejection was dismissed was accepted and its rejection still read dismissed). A rejection a replay closed
(`replayed`) already says how its event was taken in."""

REJECTED_BEFORE_SQL = (
    "EXISTS (SELECT 1 FROM rejection r WHERE r.source = processed_message.source"
    " AND r.event_id = processed_message.event_id AND r.event_id <> ''"
    f" AND r.status IN {SUPERSEDED_STATUSES}) AS rejected"
)
"""A `processed_message` row's `rejected` column in an inbox insert's RETURNING: whether its event has an open or
dismissed rejection (a fix resent under the rejected event's id), which close_superseded closes once the event is
accepted."""

_CLOSE_SUPERSEDED_SQL = (
    "UPDATE rejection r SET status = 'replayed', replay_outcome = 'accepted', replayed_at = t.at"
    " FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS t (source, event_id, at)"
    " WHERE r.source = t.source AND r.event_id = t.event_id AND r.event_id <> ''"
    f" AND r.status IN {SUPERSEDED_STATUSES}"
)
"""Close the open or dismissed rejections of events accepted since (PgIngestRepository.close_superseded), all in one
statement."""


async def register_sources(
    conn: asyncpg.Connection | asyncpg.Pool, *, unit_id: str, sources: Sequence[str], account: str | None = None
) -> None:
    """Record that `sources` belong to the scoped integration account `account` of `unit_id` (the gateway, which
    registers them with the account, is the authority: a source moved to another unit or account follows)."""
    await conn.execute(
        "INSERT INTO registered_source (source, unit_id, account) SELECT s, $1, $3 FROM unnest($2::text[]) AS t(s)"
        " ON CONFLICT (source) DO UPDATE SET unit_id = EXCLUDED.unit_id, account = EXCLUDED.account,"
        " registered_at = now()"
        " WHERE (registered_source.unit_id, registered_source.account)"
        " IS DISTINCT FROM (EXCLUDED.unit_id, EXCLUDED.account)",
        unit_id,
        list(sources),
        account,
    )


async def sync_sources(
    conn: asyncpg.Connection, *, owners: Mapping[str, tuple[str, str | None]]
) -> tuple[int, int, int]:
    """Make the registry exactly `owners` ({source: (unit, account)}) in the caller's transaction: each source
    registered to its unit and account (moved when either changed), every other released; (registered, released,
    newly registered or moved)."""
    released = await conn.fetchval(
        "WITH gone AS (DELETE FROM registered_source WHERE NOT (source = ANY($1::text[])) RETURNING 1)"
        " SELECT count(*) FROM gone",
        list(owners),
    )
    written = await conn.fetch(
        "INSERT INTO registered_source (source, unit_id, account)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::text[])"
        " ON CONFLICT (source) DO UPDATE SET unit_id = EXCLUDED.unit_id, account = EXCLUDED.account,"
        " registered_at = now()"
        " WHERE (registered_source.unit_id, registered_source.account)"
        " IS DISTINCT FROM (EXCLUDED.unit_id, EXCLUDED.account) RETURNING source",
        list(owners),
        [unit for unit, _ in owners.values()],
        [account for _, account in owners.values()],
    )
    return len(owners), int(released), len(written)
