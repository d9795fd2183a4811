"""Set-based SQL of the bulk load: COPY into staging tables, then insert/update the real ones in a few statements.

The facts to re-publish are built here too, from the staged rows (jsonb_build_object), in the statement that
writes the state they announce: one INSERT … SELECT per type and chunk instead of a payload made in Python."""

import secrets
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from services.meetings.repository.ingest import INBOX, REJECTED_BEFORE_SQL
from shared.outbox import notify_channel
from shared.topology import EVENTS_EXCHANGE

SOURCE = "urn:chibo:meetings"
"""The source of the facts meetings re-publishes (handlers.ingest.SOURCE)."""

ENVELOPE_COLUMNS = [
    "seq",
    "source",
    "version_id",
    "version_time",
    "version_ns",
    "time_text",
    "correlation_id",
    "data",
]
"""Every staged event: its place in the chunk, identity, version (time, its nanoseconds below the microsecond, id),
its time as the envelope writes it (every digit it came with), its correlation id and its validated data as
published."""
UNIT_COLUMNS = [*ENVELOPE_COLUMNS, "id", "name", "kind", "parent_id", "category", "contact_emails", "active"]
MEMBER_COLUMNS = [*ENVELOPE_COLUMNS, "id", "cell_id", "probation_ends_on"]
"""A member's other columns are read from its staged data in SQL: fewer values for Python to make and COPY."""
MONITOR_COLUMNS = [*ENVELOPE_COLUMNS, "person_id", "cell_id", "committee_id", "full_name", "email", "yearly_quota"]

LOADED_TABLES = ["org_unit", "member", "member_version", "monitor_assignment"]
"""The tables a bulk load grows: analyzed when it ends (shared/statistics.py), as autovacuum would only later."""

_ENVELOPE = (
    'seq int, source text, version_id text COLLATE "C", version_time timestamptz, version_ns smallint,'
    " time_text text,"
    " correlation_id text, data jsonb"
)
"""The envelope columns of every staging table: `version_id` in code point order, as the tables it is applied to
(migration 0013), so the latest snapshot per subject of a chunk is the one Python and the guards would choose."""


_TIME_ORDERED_UUID = "$1 || lpad(to_hex(r.seq), 6, '0')"
"""A new event id in the UUIDv7 layout: $1 (`_id_prefix`: the statement's milliseconds, then random bits drawn once
per statement), then the event's place in the chunk. The ids of a statement increase, so the outbox's unique index
on event_id takes them at its right edge instead of at random pages across an index of hundreds of thousands
(which made the outbox the costliest write of a full-size load), and no random draw is made per row."""


def _id_prefix() -> str:
    """The first 30 characters of a statement's time-ordered ids: milliseconds since the epoch (48 bits), version 7,
    the RFC 4122 variant and 48 random bits; `_TIME_ORDERED_UUID` adds 24 bits of place in the chunk (< 2**24)."""
    millis = f"{time.time_ns() // 1_000_000:012x}"
    bits = secrets.token_hex(6)
    variant = "89ab"[secrets.randbelow(4)]
    return f"{millis[:8]}-{millis[8:]}-7{bits[:3]}-{variant}{bits[3:6]}-{bits[6:]}"


def _republish(event_type: str, rows: str, subject: str) -> str:
    """INSERT … SELECT of the outbox rows re-publishing `rows` (a query of staged rows with their envelope
    columns), in their order: the same envelope as handlers.ingest.publish_applied writes, with a new id."""
    return (
        "INSERT INTO outbox (event_id, type, exchange, routing_key, payload, correlation_id)"
        f" SELECT new_id, '{event_type}', '{EVENTS_EXCHANGE}', '{event_type}', jsonb_build_object("
        f"'specversion', '1.0', 'id', new_id, 'source', '{SOURCE}', 'type', '{event_type}', 'time', time_text,"
        f" 'datacontenttype', 'application/json', 'subject', {subject}, 'data', data,"
        " 'correlationid', correlation_id, 'causationid', version_id, 'originsource', source,"
        " 'originid', version_id), correlation_id"
        f" FROM (SELECT {_TIME_ORDERED_UUID} AS new_id, r.* FROM ({rows}) r ORDER BY r.seq) o"
    )


class PgBulkRepository:
    """The staging tables of one bulk chunk (dropped at commit) and the statements that apply them."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._conn = connection

    async def create_staging(self) -> None:
        """Temporary tables for this transaction's chunk."""
        await self._conn.execute(
            "SET LOCAL work_mem = '64MB';"  # the chunk's sorts (latest snapshot per id) stay in memory
            f"CREATE TEMP TABLE stage_unit ({_ENVELOPE}, id text, name text, kind text, parent_id text,"
            " category text, contact_emails jsonb, active boolean,"
            " state text NOT NULL DEFAULT 'pending') ON COMMIT DROP;"
            f"CREATE TEMP TABLE stage_member ({_ENVELOPE}, id text, cell_id text, probation_ends_on date)"
            " ON COMMIT DROP;"
            f"CREATE TEMP TABLE stage_monitor ({_ENVELOPE}, person_id text, cell_id text, committee_id text,"
            " full_name text, email text, yearly_quota int) ON COMMIT DROP;"
        )

    async def first_deliveries(self, identities: Sequence[tuple[int, str, str, bytes]]) -> tuple[set[int], set[int]]:
        """Record (seq, source, id, content digest) in the inbox in one statement, its route `bulk` (a duplicate's
        `first_route`, handlers.ingest.inbox_route), with the digest the ingest path
        records (handlers.ingest.content_digest: a copy loaded later, or sent to the ingest path, under the same id
        with other content is another event); return the seqs seen for the first time (the first of copies within
        the chunk) and, of those, the ones whose (source, id) has an open or dismissed rejection (a fix resent under
        the rejected event's id: accepted, that rejection is closed, as PgIngestRepository.record_inbox notes)."""
        rows = await self._conn.fetch(
            "INSERT INTO processed_message (consumer, source, event_id, digest, route)"
            " SELECT $1, source, event_id, digest, 'bulk'"
            " FROM unnest($2::text[], $3::text[], $4::bytea[]) AS i (source, event_id, digest)"
            " ON CONFLICT DO NOTHING RETURNING source, event_id, " + REJECTED_BEFORE_SQL,
            INBOX,
            [source for _, source, _, _ in identities],
            [event_id for _, _, event_id, _ in identities],
            [digest for _, _, _, digest in identities],
        )
        first: dict[tuple[str, str], int] = {}
        for seq, source, event_id, _ in identities:
            first.setdefault((source, event_id), seq)
        firsts = {first[(row["source"], row["event_id"])] for row in rows}
        return firsts, {first[(row["source"], row["event_id"])] for row in rows if row["rejected"]}

    async def clear_staging(self) -> None:
        """Empty the staging tables for the chunk's next run of staged events (load.load_chunk)."""
        await self._conn.execute("TRUNCATE stage_unit, stage_member, stage_monitor")

    async def inbox_rows(
        self, identities: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[bytes | None, bool, datetime, str | None]]:
        """The inbox row of each (source, id) copy: the digest it was recorded with (None: recorded without one, by a
        bulk load before digests were kept), whether its event was held before this chunk (a copy of a held event
        is answered `held` again, as the ingest route answers it: CONTRACT.md), when the row was recorded and by which
        route its first copy came (None: before meetings migration 0037; a duplicate's line names both); one
        statement, none when there are no copies."""
        if not identities:
            return {}
        wanted = set(identities)
        rows = await self._conn.fetch(
            "SELECT p.source, p.event_id, p.digest, h.event_id IS NOT NULL AS held, p.processed_at, p.route"
            " FROM unnest($2::text[], $3::text[]) AS c (source, event_id)"
            " JOIN processed_message p ON p.consumer = $1 AND p.source = c.source AND p.event_id = c.event_id"
            " LEFT JOIN held_event h ON h.source = c.source AND h.event_id = c.event_id",
            INBOX,
            [source for source, _ in wanted],
            [event_id for _, event_id in wanted],
        )
        return {
            (row["source"], row["event_id"]): (row["digest"], row["held"], row["processed_at"], row["route"])
            for row in rows
        }

    async def stage(self, table: str, columns: list[str], records: Sequence[tuple[Any, ...]]) -> None:
        """COPY a chunk's rows of one type into its staging table."""
        if records:
            await self._conn.copy_records_to_table(table, records=records, columns=columns)

    async def apply_units(
        self, ask: Sequence[str] = ()
    ) -> tuple[list[tuple[int, str | None]], list[tuple[int, str]], set[str]]:
        """Apply staged units level by level, re-publishing those written; return ((rejected seq, the kind it already
        has when it changes kind, else None: under a cell), (held seq, parent), the units among `ask` stored before
        this call): a unit is rejected when it changes the kind stored, or the kind its first snapshot in the chunk
        gives, or hangs under a cell; one whose parent never comes is held (domain.check_unit_kind,
        check_unit_placement). `ask` is answered by the first statement, no statement of its own."""
        rows = await self._conn.fetch(
            "WITH known AS (SELECT s.seq, coalesce(u.kind, f.kind) AS kind FROM stage_unit s"
            " LEFT JOIN org_unit u ON u.id = s.id"
            " LEFT JOIN LATERAL (SELECT f.kind FROM stage_unit f WHERE f.id = s.id ORDER BY f.seq LIMIT 1) f ON true),"
            " marked AS (UPDATE stage_unit s SET state = 'kind:' || known.kind FROM known"
            " WHERE known.seq = s.seq AND known.kind <> s.kind)"
            " SELECT id FROM org_unit WHERE id = ANY($1::text[])",
            list(ask),
        )
        while True:
            await self._conn.execute(
                "UPDATE stage_unit s SET state = 'rejected' WHERE state = 'pending'"
                " AND EXISTS (SELECT 1 FROM org_unit p WHERE p.id = s.parent_id AND p.kind <> 'committee')"
            )
            ready = await self._conn.fetchval(
                "WITH r AS (UPDATE stage_unit s SET state = 'ready' WHERE state = 'pending' AND (s.parent_id IS NULL"
                " OR EXISTS (SELECT 1 FROM org_unit p WHERE p.id = s.parent_id AND p.kind = 'committee'))"
                " RETURNING 1) SELECT count(*) FROM r"
            )
            if not ready:
                break
            await self._conn.execute(
                "WITH latest AS (SELECT DISTINCT ON (id) * FROM stage_unit WHERE state = 'ready'"
                " ORDER BY id, version_time DESC, version_ns DESC, version_id DESC),"
                " written AS (INSERT INTO org_unit AS u (id, name, kind, parent_id, category, contact_emails, active,"
                " version_time, version_ns, version_id)"
                " SELECT id, name, kind, parent_id, category, contact_emails, active, version_time, version_ns,"
                " version_id FROM latest"
                " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,"
                " parent_id = EXCLUDED.parent_id, category = EXCLUDED.category,"
                " contact_emails = EXCLUDED.contact_emails, active = EXCLUDED.active,"
                " version_time = EXCLUDED.version_time, version_ns = EXCLUDED.version_ns,"
                " version_id = EXCLUDED.version_id"
                " WHERE (u.version_time, u.version_ns, u.version_id)"
                " < (EXCLUDED.version_time, EXCLUDED.version_ns, EXCLUDED.version_id)"
                " RETURNING u.id)"
                + _republish("org.unit.upserted.v1", "SELECT latest.* FROM latest JOIN written USING (id)", "id"),
                _id_prefix(),
            )
            await self._conn.execute("UPDATE stage_unit SET state = 'done' WHERE state = 'ready'")
        rejected = await self._conn.fetch(
            "SELECT seq, CASE WHEN state LIKE 'kind:%' THEN substr(state, 6) END AS kind FROM stage_unit"
            " WHERE state = 'rejected' OR state LIKE 'kind:%'"
        )
        held = await self._conn.fetch("SELECT seq, parent_id FROM stage_unit WHERE state = 'pending'")
        stored = {row["id"] for row in rows}
        return [(r["seq"], r["kind"]) for r in rejected], [(r["seq"], r["parent_id"]) for r in held], stored

    async def unplaced_members(self) -> list[tuple[int, str | None]]:
        """Staged members whose cell is unknown (kind None: held) or no cell (its kind: rejected), taken out of
        the stage so that the rest applies without looking again."""
        rows = await self._conn.fetch(
            "WITH out AS (SELECT s.seq, u.kind FROM stage_member s LEFT JOIN org_unit u ON u.id = s.cell_id"
            " WHERE u.kind IS DISTINCT FROM 'cell'),"
            " gone AS (DELETE FROM stage_member s USING out WHERE s.seq = out.seq)"
            " SELECT seq, kind FROM out"
        )
        return [(row["seq"], row["kind"]) for row in rows]

    async def apply_members(self) -> None:
        """Apply the staged members (all in known cells): every snapshot into the history, the latest of each
        member into its row unless a newer one is stored, those written re-published."""
        await self._conn.execute(
            "INSERT INTO member_version (member_id, effective_at, effective_ns, version_id, removed, cell_id, data)"
            " SELECT id, version_time, version_ns, version_id, false, cell_id, data FROM stage_member"
            " ON CONFLICT DO NOTHING"
        )
        await self._conn.execute(
            "WITH latest AS (SELECT DISTINCT ON (id) * FROM stage_member"
            " ORDER BY id, version_time DESC, version_ns DESC, version_id DESC),"
            " written AS (INSERT INTO member AS m (id, cell_id, full_name, status, role, gender, birth_year,"
            " admitted_on, exempt, email, phone, probation_ends_on, version_time, version_ns, version_id)"
            " SELECT id, cell_id, data->>'full_name', data->>'status', data->>'role', data->>'gender',"
            " (data->>'birth_year')::int, (data->>'admitted_on')::date, (data->>'exempt')::boolean, data->>'email',"
            " data->>'phone', probation_ends_on, version_time, version_ns, version_id FROM latest"
            " ON CONFLICT (id) DO UPDATE SET cell_id = EXCLUDED.cell_id, full_name = EXCLUDED.full_name,"
            " status = EXCLUDED.status, role = EXCLUDED.role, gender = EXCLUDED.gender,"
            " birth_year = EXCLUDED.birth_year, admitted_on = EXCLUDED.admitted_on, exempt = EXCLUDED.exempt,"
            " email = EXCLUDED.email, phone = EXCLUDED.phone, probation_ends_on = EXCLUDED.probation_ends_on,"
            " version_time = EXCLUDED.version_time, version_ns = EXCLUDED.version_ns, version_id = EXCLUDED.version_id,"
            # a removal effective after this snapshot still stands; an earlier one is superseded by it
            " removed_on = CASE WHEN EXISTS (SELECT 1 FROM member_version r WHERE r.member_id = m.id AND r.removed"
            "   AND (r.effective_at, r.effective_ns) > (EXCLUDED.version_time, EXCLUDED.version_ns))"
            " THEN m.removed_on END,"
            " removal_reason = CASE WHEN EXISTS (SELECT 1 FROM member_version r WHERE r.member_id = m.id AND r.removed"
            "   AND (r.effective_at, r.effective_ns) > (EXCLUDED.version_time, EXCLUDED.version_ns))"
            " THEN m.removal_reason END"
            " WHERE (m.version_time, m.version_ns, m.version_id)"
            " < (EXCLUDED.version_time, EXCLUDED.version_ns, EXCLUDED.version_id)"
            " RETURNING m.id)"
            + _republish("member.upserted.v1", "SELECT latest.* FROM latest JOIN written USING (id)", "id"),
            _id_prefix(),
        )

    async def unplaced_monitors(self) -> list[tuple[int, str | None, str | None]]:
        """Staged assignments whose cell is not a known cell, whose committee is not a known committee, or whose
        committee is not above the cell (domain.check_monitor_committee: both kinds right), with the kinds found
        (None: unknown), taken out of the stage."""
        rows = await self._conn.fetch(
            "WITH RECURSIVE up AS (SELECT s.seq, c.parent_id AS unit_id, 1 AS depth FROM stage_monitor s"
            " JOIN org_unit c ON c.id = s.cell_id"
            " UNION ALL SELECT up.seq, u.parent_id, up.depth + 1 FROM up JOIN org_unit u ON u.id = up.unit_id"
            " WHERE up.depth < 64),"
            " placed AS (SELECT s.seq, c.kind AS cell_kind, k.kind AS committee_kind,"
            " EXISTS (SELECT 1 FROM up WHERE up.seq = s.seq AND up.unit_id = s.committee_id) AS above"
            " FROM stage_monitor s LEFT JOIN org_unit c ON c.id = s.cell_id"
            " LEFT JOIN org_unit k ON k.id = s.committee_id),"
            " out AS (SELECT * FROM placed WHERE cell_kind IS DISTINCT FROM 'cell'"
            " OR committee_kind IS DISTINCT FROM 'committee' OR NOT above),"
            " gone AS (DELETE FROM stage_monitor s USING out WHERE s.seq = out.seq)"
            " SELECT seq, cell_kind, committee_kind FROM out"
        )
        return [(row["seq"], row["cell_kind"], row["committee_kind"]) for row in rows]

    async def apply_monitors(self) -> None:
        """Apply the staged assignments (all placed): the latest of each (person, cell) unless a newer one is
        stored, those written re-published."""
        await self._conn.execute(
            "WITH latest AS (SELECT DISTINCT ON (person_id, cell_id) * FROM stage_monitor"
            " ORDER BY person_id, cell_id, version_time DESC, version_ns DESC, version_id DESC),"
            " written AS (INSERT INTO monitor_assignment AS a (person_id, cell_id, committee_id, full_name, email,"
            " yearly_quota, version_time, version_ns, version_id)"
            " SELECT person_id, cell_id, committee_id, full_name, email, yearly_quota, version_time, version_ns,"
            " version_id FROM latest ON CONFLICT (person_id, cell_id) DO UPDATE SET"
            " committee_id = EXCLUDED.committee_id,"
            " full_name = EXCLUDED.full_name, email = EXCLUDED.email, yearly_quota = EXCLUDED.yearly_quota,"
            " version_time = EXCLUDED.version_time, version_ns = EXCLUDED.version_ns, version_id = EXCLUDED.version_id"
            " WHERE (a.version_time, a.version_ns, a.version_id)"
            " < (EXCLUDED.version_time, EXCLUDED.version_ns, EXCLUDED.version_id)"
            " RETURNING a.person_id, a.cell_id)"
            + _republish(
                "monitor.assigned.v1", "SELECT latest.* FROM latest JOIN written USING (person_id, cell_id)", "cell_id"
            ),
            _id_prefix(),
        )

    async def start_run(self) -> None:
        """A savepoint before a run of staged events is applied, for `undo_run` (load._load_staged)."""
        await self._conn.execute("SAVEPOINT bulk_run")

    async def keep_run(self) -> None:
        """Keep what the run did (the savepoint released: none stays open to nest the next run's under it)."""
        await self._conn.execute("RELEASE SAVEPOINT bulk_run")

    async def undo_run(self) -> None:
        """Undo everything since `start_run` (inbox rows, state, facts) and release the savepoint."""
        await self._conn.execute("ROLLBACK TO SAVEPOINT bulk_run; RELEASE SAVEPOINT bulk_run")

    async def waited_for(self, keys: Sequence[str]) -> list[str]:
        """The keys among `keys` that held events wait for."""
        rows = await self._conn.fetch(
            "SELECT DISTINCT waiting_for FROM held_event WHERE waiting_for = ANY($1::text[])", list(keys)
        )
        return [row["waiting_for"] for row in rows]

    async def wake_relay(self, *, schema: str) -> None:
        """Wake the relay at commit for the facts written."""
        await self._conn.execute("SELECT pg_notify($1, '')", notify_channel(schema))
