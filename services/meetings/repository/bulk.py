"""Set-based SQL of the bulk load: COPY into staging tables, then insert/update the real ones in a few statements."""

from collections.abc import Sequence
from typing import Any

import asyncpg

from services.meetings.repository.ingest import INBOX
from shared.outbox import notify_channel

UNIT_COLUMNS = [
    "seq",
    "id",
    "name",
    "kind",
    "parent_id",
    "category",
    "contact_emails",
    "active",
    "version_time",
    "version_id",
]
MEMBER_COLUMNS = [
    "seq",
    "id",
    "cell_id",
    "full_name",
    "status",
    "role",
    "gender",
    "birth_year",
    "admitted_on",
    "exempt",
    "email",
    "phone",
    "probation_ends_on",
    "data",
    "version_time",
    "version_id",
]
MONITOR_COLUMNS = [
    "seq",
    "person_id",
    "cell_id",
    "committee_id",
    "full_name",
    "email",
    "yearly_quota",
    "version_time",
    "version_id",
]


class PgBulkRepository:
    """The staging tables of one bulk chunk (dropped at commit) and the statements that apply them."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._conn = connection

    async def create_staging(self) -> None:
        """Temporary tables for this transaction's chunk."""
        await self._conn.execute(
            "CREATE TEMP TABLE stage_inbox (seq int, source text, event_id text) ON COMMIT DROP;"
            "CREATE TEMP TABLE stage_unit (seq int, id text, name text, kind text, parent_id text, category text,"
            " contact_emails jsonb, active boolean, version_time timestamptz, version_id text,"
            " state text NOT NULL DEFAULT 'pending') ON COMMIT DROP;"
            "CREATE TEMP TABLE stage_member (seq int, id text, cell_id text, full_name text, status text, role text,"
            " gender text, birth_year int, admitted_on date, exempt boolean, email text, phone text,"
            " probation_ends_on date, data jsonb, version_time timestamptz, version_id text,"
            " state text NOT NULL DEFAULT 'pending') ON COMMIT DROP;"
            "CREATE TEMP TABLE stage_monitor (seq int, person_id text, cell_id text, committee_id text, full_name text,"
            " email text, yearly_quota int, version_time timestamptz, version_id text,"
            " state text NOT NULL DEFAULT 'pending') ON COMMIT DROP;"
        )

    async def first_deliveries(self, identities: Sequence[tuple[int, str, str]]) -> set[int]:
        """Record (seq, source, id) in the inbox; return the seqs seen for the first time."""
        await self._conn.copy_records_to_table("stage_inbox", records=identities, columns=["seq", "source", "event_id"])
        rows = await self._conn.fetch(
            "WITH firsts AS (SELECT DISTINCT ON (source, event_id) seq, source, event_id FROM stage_inbox"
            " ORDER BY source, event_id, seq),"
            " inserted AS (INSERT INTO processed_message (consumer, source, event_id)"
            " SELECT $1, source, event_id FROM firsts ON CONFLICT DO NOTHING RETURNING source, event_id)"
            " SELECT f.seq FROM firsts f JOIN inserted i USING (source, event_id)",
            INBOX,
        )
        return {row["seq"] for row in rows}

    async def stage(self, table: str, columns: list[str], records: Sequence[tuple[Any, ...]]) -> None:
        """COPY a chunk's rows of one type into its staging table."""
        if records:
            await self._conn.copy_records_to_table(table, records=records, columns=columns)

    async def apply_units(self) -> tuple[list[int], list[int], list[tuple[int, str]]]:
        """Apply staged units level by level; return (changed seqs, rejected seqs, (held seq, parent))."""
        changed: list[int] = []
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
            rows = await self._conn.fetch(
                "WITH latest AS (SELECT DISTINCT ON (id) * FROM stage_unit WHERE state = 'ready'"
                " ORDER BY id, version_time DESC, version_id DESC)"
                " INSERT INTO org_unit AS u (id, name, kind, parent_id, category, contact_emails, active,"
                " version_time, version_id)"
                " SELECT id, name, kind, parent_id, category, contact_emails, active, version_time, version_id"
                " FROM latest"
                " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,"
                " parent_id = EXCLUDED.parent_id, category = EXCLUDED.category,"
                " contact_emails = EXCLUDED.contact_emails, active = EXCLUDED.active,"
                " version_time = EXCLUDED.version_time, version_id = EXCLUDED.version_id"
                " WHERE (u.version_time, u.version_id) < (EXCLUDED.version_time, EXCLUDED.version_id)"
                " RETURNING u.version_id"
            )
            written = [row["version_id"] for row in rows]
            changed += [
                row["seq"]
                for row in await self._conn.fetch(
                    "SELECT seq FROM stage_unit WHERE state = 'ready' AND version_id = ANY($1::text[])", written
                )
            ]
            await self._conn.execute("UPDATE stage_unit SET state = 'done' WHERE state = 'ready'")
        rejected = await self._conn.fetch("SELECT seq FROM stage_unit WHERE state = 'rejected'")
        held = await self._conn.fetch("SELECT seq, parent_id FROM stage_unit WHERE state = 'pending'")
        return changed, [r["seq"] for r in rejected], [(r["seq"], r["parent_id"]) for r in held]

    async def apply_members(self) -> tuple[list[int], list[int], list[int]]:
        """Apply staged members of known cells; return (changed seqs, rejected seqs, held seqs)."""
        await self._conn.execute(
            "UPDATE stage_member s SET state = COALESCE((SELECT CASE WHEN u.kind = 'cell' THEN 'ready'"
            " ELSE 'rejected' END FROM org_unit u WHERE u.id = s.cell_id), 'held')"
        )
        await self._conn.execute(
            "INSERT INTO member_version (member_id, effective_at, version_id, removed, cell_id, data)"
            " SELECT id, version_time, version_id, false, cell_id, data FROM stage_member WHERE state = 'ready'"
            " ON CONFLICT DO NOTHING"
        )
        rows = await self._conn.fetch(
            "WITH latest AS (SELECT DISTINCT ON (id) * FROM stage_member WHERE state = 'ready'"
            " ORDER BY id, version_time DESC, version_id DESC)"
            " INSERT INTO member AS m (id, cell_id, full_name, status, role, gender, birth_year, admitted_on, exempt,"
            " email, phone, probation_ends_on, version_time, version_id)"
            " SELECT id, cell_id, full_name, status, role, gender, birth_year, admitted_on, exempt, email, phone,"
            " probation_ends_on, version_time, version_id FROM latest"
            " ON CONFLICT (id) DO UPDATE SET cell_id = EXCLUDED.cell_id, full_name = EXCLUDED.full_name,"
            " status = EXCLUDED.status, role = EXCLUDED.role, gender = EXCLUDED.gender,"
            " birth_year = EXCLUDED.birth_year, admitted_on = EXCLUDED.admitted_on, exempt = EXCLUDED.exempt,"
            " email = EXCLUDED.email, phone = EXCLUDED.phone, probation_ends_on = EXCLUDED.probation_ends_on,"
            " version_time = EXCLUDED.version_time, version_id = EXCLUDED.version_id,"
            # a removal effective after this snapshot still stands; an earlier one is superseded by it
            " removed_on = CASE WHEN EXISTS (SELECT 1 FROM member_version r WHERE r.member_id = m.id AND r.removed"
            "   AND r.effective_at > EXCLUDED.version_time) THEN m.removed_on END,"
            " removal_reason = CASE WHEN EXISTS (SELECT 1 FROM member_version r WHERE r.member_id = m.id AND r.removed"
            "   AND r.effective_at > EXCLUDED.version_time) THEN m.removal_reason END"
            " WHERE (m.version_time, m.version_id) < (EXCLUDED.version_time, EXCLUDED.version_id)"
            " RETURNING m.version_id"
        )
        return await self._outcomes("stage_member", [row["version_id"] for row in rows])

    async def apply_monitors(self) -> tuple[list[int], list[int], list[tuple[int, str]]]:
        """Apply staged monitor assignments; return (changed seqs, rejected seqs, (held seq, missing unit))."""
        await self._conn.execute(
            "UPDATE stage_monitor s SET state = CASE WHEN c.kind IS NULL OR k.kind IS NULL THEN 'held'"
            " WHEN c.kind = 'cell' AND k.kind = 'committee' THEN 'ready' ELSE 'rejected' END"
            " FROM (SELECT s2.seq, (SELECT kind FROM org_unit WHERE id = s2.cell_id) AS kind FROM stage_monitor s2) c,"
            " (SELECT s3.seq, (SELECT kind FROM org_unit WHERE id = s3.committee_id) AS kind FROM stage_monitor s3) k"
            " WHERE c.seq = s.seq AND k.seq = s.seq"
        )
        rows = await self._conn.fetch(
            "WITH latest AS (SELECT DISTINCT ON (person_id, cell_id) * FROM stage_monitor WHERE state = 'ready'"
            " ORDER BY person_id, cell_id, version_time DESC, version_id DESC)"
            " INSERT INTO monitor_assignment AS a (person_id, cell_id, committee_id, full_name, email, yearly_quota,"
            " version_time, version_id)"
            " SELECT person_id, cell_id, committee_id, full_name, email, yearly_quota, version_time, version_id"
            " FROM latest ON CONFLICT (person_id, cell_id) DO UPDATE SET committee_id = EXCLUDED.committee_id,"
            " full_name = EXCLUDED.full_name, email = EXCLUDED.email, yearly_quota = EXCLUDED.yearly_quota,"
            " version_time = EXCLUDED.version_time, version_id = EXCLUDED.version_id"
            " WHERE (a.version_time, a.version_id) < (EXCLUDED.version_time, EXCLUDED.version_id)"
            " RETURNING a.version_id"
        )
        changed, rejected, held = await self._outcomes("stage_monitor", [row["version_id"] for row in rows])
        missing = await self._conn.fetch(
            "SELECT s.seq, CASE WHEN NOT EXISTS (SELECT 1 FROM org_unit WHERE id = s.cell_id) THEN s.cell_id"
            " ELSE s.committee_id END AS missing FROM stage_monitor s WHERE s.state = 'held'"
        )
        return changed, rejected, [(row["seq"], row["missing"]) for row in missing]

    async def _outcomes(self, table: str, written: list[str]) -> tuple[list[int], list[int], list[int]]:
        rows = await self._conn.fetch(
            f"SELECT seq, state, version_id = ANY($1::text[]) AS written FROM {table} WHERE state <> 'ready' OR"
            " version_id = ANY($1::text[])",
            written,
        )
        changed = [r["seq"] for r in rows if r["state"] == "ready" and r["written"]]
        return (
            changed,
            [r["seq"] for r in rows if r["state"] == "rejected"],
            [r["seq"] for r in rows if r["state"] == "held"],
        )

    async def waited_for(self, keys: Sequence[str]) -> list[str]:
        """The keys among `keys` that held events wait for."""
        rows = await self._conn.fetch(
            "SELECT DISTINCT waiting_for FROM held_event WHERE waiting_for = ANY($1::text[])", list(keys)
        )
        return [row["waiting_for"] for row in rows]

    async def write_outbox(self, rows: Sequence[tuple[str, str, str, str, str, str]], *, schema: str) -> None:
        """COPY validated events into the outbox (event_id, type, exchange, routing_key, payload, correlation_id)."""
        if not rows:
            return
        await self._conn.copy_records_to_table(
            "outbox", records=rows, columns=["event_id", "type", "exchange", "routing_key", "payload", "correlation_id"]
        )
        await self._conn.execute("SELECT pg_notify($1, '')", notify_channel(schema))
