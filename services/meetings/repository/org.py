"""Org units, members (every version kept) and monitors."""

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol

import asyncpg

from services.meetings.domain import UnitRef, Version, probation_ends_on
from services.meetings.repository.pending import PendingWrites, jsonb
from shared.membership import MemberVersion
from shared.tree import fetch_ancestors


class OrgRepository(Protocol):
    """Units, members and monitors."""

    async def get_unit(self, unit_id: str) -> UnitRef | None: ...
    async def ancestors(self, unit_id: str, *, fresh: bool = False) -> list[str]: ...
    async def unit_record(self, unit_id: str) -> dict[str, Any] | None: ...
    async def upsert_unit(self, data: dict[str, Any], *, version: Version) -> bool: ...
    async def histories(self, member_ids: Sequence[str]) -> dict[str, list[MemberVersion]]: ...
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
    ) -> Version | None: ...
    async def refresh_member(self, member_id: str) -> None: ...
    async def upsert_monitor(self, data: dict[str, Any], *, version: Version) -> bool: ...
    async def members_brief(self, member_ids: Sequence[str]) -> Mapping[str, Mapping[str, Any]]: ...
    async def ever_in_cell(self, cell_id: str) -> list[str]: ...
    async def prefetch_cells(self, cell_ids: Iterable[str]) -> None: ...
    async def monitor_assigned(self, person_id: str, cell_id: str) -> bool: ...
    async def prefetch(
        self, *, unit_ids: Iterable[str], member_ids: Iterable[str], monitors: Iterable[tuple[str, str]] = ()
    ) -> None: ...


class PgOrgRepository:
    """OrgRepository over the meetings schema, reading through a cache that lives as long as its transaction.

    What the transaction reads of a unit or a member's history it holds locked (handlers/locks.py), so a value
    once read stays true until this transaction writes it, and every write here keeps the cache up to date."""

    def __init__(self, connection: asyncpg.Connection, pending: PendingWrites | None = None) -> None:
        self._conn = connection
        self._pending = pending or PendingWrites(connection)
        self._pending.hooks(before=_nothing, after=self._refresh_stale)
        self._row_versions: dict[str, Version | None] = {}
        """The version of each member's current row (None: no row), for the members whose rows were read."""
        self._stale: set[str] = set()
        """Members whose current row is rebuilt from their history once the queued versions are sent."""
        self._units: dict[str, UnitRef | None] = {}
        """Units read so far (None: known not to exist)."""
        self._unit_versions: dict[str, Version | None] = {}
        """The stored version of each unit whose row was read (None: no row), kept current as snapshots are queued."""
        self._units_queued = False
        """Whether a unit snapshot is queued, not sent yet: a statement reading org_unit sends the queue first."""
        self._histories: dict[str, list[MemberVersion]] = {}
        """Members' histories read so far ([]: no version stored)."""
        self._monitor_versions: dict[tuple[str, str], Version | None] = {}
        """The stored version of each (person, cell) assignment read so far (None: none stored)."""
        self._in_cell: dict[str, set[str]] = {}
        """The members some version ever put in each cell read so far (ever_in_cell), kept current as versions are
        added."""

    async def prefetch(
        self, *, unit_ids: Iterable[str], member_ids: Iterable[str], monitors: Iterable[tuple[str, str]] = ()
    ) -> None:
        """Read the units with all their ancestors, the members' histories and the versions of the (person, cell)
        monitor assignments, a statement each."""
        units = sorted(set(unit_ids) - self._units.keys())
        if units:
            conn = await self._units_sent()
            rows = await conn.fetch(
                "WITH RECURSIVE up(id, kind, parent_id, version_time, version_ns, version_id) AS ("
                " SELECT u.* FROM unnest($1::text[]) AS k(key) CROSS JOIN LATERAL (SELECT id, kind, parent_id,"
                "  version_time, version_ns, version_id FROM org_unit WHERE id = k.key OFFSET 0) u"
                # each parent by the primary key whatever the statistics say (shared.tree._parent_of_each)
                " UNION SELECT u.* FROM up CROSS JOIN LATERAL (SELECT id, kind, parent_id,"
                "  version_time, version_ns, version_id FROM org_unit WHERE id = up.parent_id OFFSET 0) u)"
                " SELECT * FROM up",
                units,
            )
            for unit_id in units:
                self._units[unit_id] = None
                self._unit_versions[unit_id] = None
            for row in rows:  # the parents the walk looked up and did not find are known absent too
                if row["parent_id"] is not None and row["parent_id"] not in self._units:
                    self._units[row["parent_id"]] = None
                    self._unit_versions[row["parent_id"]] = None
            for row in rows:
                self._units[row["id"]] = UnitRef(id=row["id"], kind=row["kind"], parent_id=row["parent_id"])
                self._unit_versions[row["id"]] = _row_version(row)
        member_ids = set(member_ids)
        histories = sorted(member_ids - self._histories.keys())
        rows = sorted(member_ids - self._row_versions.keys())
        if histories and rows:
            await self._read_histories_and_row_versions(histories, rows)
        elif histories:
            await self._read_histories(histories)
        elif rows:
            await self._read_row_versions(rows)
        keys = sorted(set(monitors) - self._monitor_versions.keys())
        if keys:
            rows = await self._conn.fetch(
                "SELECT a.person_id, a.cell_id, a.version_time, a.version_ns, a.version_id"
                " FROM unnest($1::text[], $2::text[])"
                " AS k(person_id, cell_id) JOIN monitor_assignment a USING (person_id, cell_id)",
                [key[0] for key in keys],
                [key[1] for key in keys],
            )
            for key in keys:
                self._monitor_versions[key] = None
            for row in rows:
                self._monitor_versions[(row["person_id"], row["cell_id"])] = _row_version(row)

    async def _read_histories_and_row_versions(self, histories: list[str], rows: list[str]) -> None:
        """_read_histories of `histories` and _read_row_versions of `rows` in one round trip (issue 12)."""
        conn = await self._direct()
        found = await conn.fetch(_HISTORIES_AND_ROW_VERSIONS_SQL, histories, rows)
        for member_id in histories:
            self._histories[member_id] = []
        for member_id in rows:
            self._row_versions[member_id] = None
        for row in found:
            if row["current"]:
                self._row_versions[row["member_id"]] = (row["at"], row["ns"], row["version_id"])
            else:
                self._histories[row["member_id"]].append(
                    MemberVersion(
                        effective_at=row["at"],
                        version_id=row["version_id"],
                        removed=row["removed"],
                        cell_id=row["cell_id"],
                        effective_ns=row["ns"],
                    )
                )

    async def _read_row_versions(self, member_ids: list[str]) -> None:
        conn = await self._direct()
        rows = await conn.fetch(
            "SELECT id, version_time, version_ns, version_id FROM member WHERE id = ANY($1::text[])", member_ids
        )
        for member_id in member_ids:
            self._row_versions[member_id] = None
        for row in rows:
            self._row_versions[row["id"]] = _row_version(row)

    async def _direct(self) -> asyncpg.Connection:
        """The connection, once every queued write is sent (before a statement on members of its own)."""
        await self._pending.flush()
        return self._conn

    async def _units_sent(self) -> asyncpg.Connection:
        """The connection, once any queued unit snapshot is sent (before a statement reading org_unit)."""
        if self._units_queued:
            await self._pending.flush()
        return self._conn

    async def get_unit(self, unit_id: str) -> UnitRef | None:
        """The unit's kind and parent, or None when unknown."""
        if unit_id not in self._units:
            conn = await self._units_sent()
            row = await conn.fetchrow(
                "SELECT id, kind, parent_id, version_time, version_ns, version_id FROM org_unit WHERE id = $1", unit_id
            )
            self._units[unit_id] = UnitRef(id=row["id"], kind=row["kind"], parent_id=row["parent_id"]) if row else None
            self._unit_versions[unit_id] = _row_version(row) if row else None
        return self._units[unit_id]

    async def unit_record(self, unit_id: str) -> dict[str, Any] | None:
        """The unit's stored snapshot (the data fields of org.unit.upserted.v1), or None when unknown."""
        row = await (await self._units_sent()).fetchrow(
            "SELECT id, name, kind, parent_id, category, contact_emails, active FROM org_unit WHERE id = $1", unit_id
        )
        if row is None:
            return None
        return {**dict(row), "contact_emails": json.loads(row["contact_emails"] or "[]")}

    async def ancestors(self, unit_id: str, *, fresh: bool = False) -> list[str]:
        """The path from the root down to `unit_id` (inclusive), as far as it is known; `fresh`: read again from
        the table, not from what this transaction read before (to see a move made meanwhile)."""
        if not fresh:
            path = self._cached_path(unit_id)
            if path is not None:
                return path
        return await fetch_ancestors(await self._units_sent(), table="org_unit", unit_id=unit_id)

    def _cached_path(self, unit_id: str) -> list[str] | None:
        """fetch_ancestors's answer from the cache, or None when a unit on the way was never read."""
        if unit_id not in self._units:
            return None
        unit = self._units[unit_id]
        if unit is None:
            return []
        path = [unit_id]
        while unit.parent_id is not None and unit.parent_id not in path:
            if unit.parent_id not in self._units:
                return None
            parent = self._units[unit.parent_id]
            path.insert(0, unit.parent_id)
            if parent is None:  # an unknown parent still heads the path
                break
            unit = parent
        return path

    async def upsert_unit(self, data: dict[str, Any], *, version: Version) -> bool:
        """Store the snapshot unless a newer one is stored; True when it was written.

        Queued when the stored version is known (prefetch, get_unit): the statement's own guard decided in memory, and
        the transaction's snapshots sent as one statement, the latest per unit (issue 12: one upsert per unit)."""
        unit_id = data["id"]
        args = (
            unit_id,
            data["name"],
            data["kind"],
            data.get("parent_id"),
            data.get("category"),
            jsonb(data.get("contact_emails", [])),
            data.get("active", True),
            *version,
        )
        if unit_id in self._unit_versions:
            stored = self._unit_versions[unit_id]
            if stored is not None and not stored < version:
                return False
            self._unit_versions[unit_id] = version
            self._pending.add(_UNITS_SQL, args, columns=True, key=1)
            self._units_queued = True
            written = True
        else:
            written = await (await self._units_sent()).fetchval(_UNIT_SQL + " RETURNING 1", *args) is not None
            if written:
                self._unit_versions[unit_id] = version
        if written:
            self._units[unit_id] = UnitRef(id=unit_id, kind=data["kind"], parent_id=data.get("parent_id"))
        return written

    async def histories(self, member_ids: Sequence[str]) -> dict[str, list[MemberVersion]]:
        """Every version of the given members (those with none are left out)."""
        # not `set(member_ids) - self._histories.keys()`: a set minus a dict's keys walks every key of the
        # transaction's cache, once per event judged (issue 12: ~5 % of meetings' ingest CPU)
        missing = sorted({member_id for member_id in member_ids if member_id not in self._histories})
        if missing:
            await self._read_histories(missing)
        return {member_id: list(self._histories[member_id]) for member_id in member_ids if self._histories[member_id]}

    async def _read_histories(self, member_ids: list[str]) -> None:
        conn = await self._direct()
        rows = await conn.fetch(
            "SELECT member_id, effective_at, effective_ns, version_id, removed, cell_id FROM member_version"
            " WHERE member_id = ANY($1::text[])",
            member_ids,
        )
        for member_id in member_ids:
            self._histories[member_id] = []
        for row in rows:
            self._histories[row["member_id"]].append(
                MemberVersion(
                    effective_at=row["effective_at"],
                    version_id=row["version_id"],
                    removed=row["removed"],
                    cell_id=row["cell_id"],
                    effective_ns=row["effective_ns"],
                )
            )

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
        """Keep one snapshot or removal in the member's history; return the current member row's version before it.

        Queued: the history and the row's version are known (read if need be), and refresh_member follows."""
        if cell_id is not None and cell_id in self._in_cell:
            self._in_cell[cell_id].add(member_id)
        if member_id not in self._histories:
            await self._read_histories([member_id])
        if member_id not in self._row_versions:
            await self._read_row_versions([member_id])
        before = self._row_versions[member_id]
        history = self._histories[member_id]
        if any((v.effective_at, v.version_id) == (effective_at, version_id) for v in history):
            return before  # the primary key: a second copy is not inserted
        history.append(MemberVersion(effective_at, version_id, removed, cell_id, effective_ns))
        self._pending.add(
            "INSERT INTO member_version (member_id, effective_at, effective_ns, version_id, removed, cell_id, data)"
            " SELECT m, e, n, v, r, c, d::jsonb FROM unnest($1::text[], $2::timestamptz[], $3::smallint[],"
            " $4::text[], $5::bool[], $6::text[], $7::text[]) AS u(m, e, n, v, r, c, d) ON CONFLICT DO NOTHING",
            (member_id, effective_at, effective_ns, version_id, removed, cell_id, jsonb(data)),
            columns=True,
        )
        if not removed and (before is None or before < (effective_at, effective_ns, version_id)):
            # the current row follows the latest snapshot (refresh_member)
            self._row_versions[member_id] = (effective_at, effective_ns, version_id)
        return before

    async def refresh_member(self, member_id: str) -> None:
        """Rebuild the current member row from its history: latest snapshot's data, latest removal state (once the
        queued versions are sent, with every other member of the transaction)."""
        self._stale.add(member_id)
        self._pending.dirty = True

    async def forget_reads(self) -> None:
        """Send the queued writes, then forget what was read: the transaction wrote units, members or assignments
        another way (the bulk loader's set-based statements), which this cache did not see."""
        await self._pending.flush()
        self._row_versions.clear()
        self._units.clear()
        self._unit_versions.clear()
        self._histories.clear()
        self._monitor_versions.clear()

    async def _refresh_stale(self) -> None:
        self._units_queued = False  # every queued row was sent
        if not self._stale:
            return
        stale, self._stale = sorted(self._stale), set()
        rows = await self._conn.fetch(
            "SELECT member_id, effective_at, effective_ns, version_id, removed, data::text AS data FROM member_version"
            " WHERE member_id = ANY($1::text[])"
            " ORDER BY member_id, effective_at DESC, effective_ns DESC, version_id DESC",
            stale,
        )
        versions: dict[str, list[asyncpg.Record]] = {}
        for row in rows:
            versions.setdefault(row["member_id"], []).append(row)
        members = [member for member_id in stale if (member := _member_row(member_id, versions.get(member_id, [])))]
        if members:
            # one statement for all of them (each member once: `stale` is a set), not one execution per row
            await self._conn.execute(_MEMBER_SQL, *(list(column) for column in zip(*members, strict=True)))

    async def upsert_monitor(self, data: dict[str, Any], *, version: Version) -> bool:
        """Store the assignment unless a newer one for the same person and cell is stored.

        Queued when the stored version is known (prefetch): the decision is the statement's own guard, in memory."""
        key = (data["person_id"], data["cell_id"])
        args = (
            data["person_id"],
            data["cell_id"],
            data["committee_id"],
            data["full_name"],
            data.get("email"),
            data.get("yearly_quota"),
            *version,
        )
        if key in self._monitor_versions:
            stored = self._monitor_versions[key]
            if stored is not None and not stored < version:
                return False
            self._monitor_versions[key] = version
            self._pending.add(_MONITORS_SQL, args, columns=True, key=2)
            return True
        written = await self._conn.fetchval(_MONITOR_SQL + " RETURNING 1", *args)
        if written is not None:
            self._monitor_versions[key] = version
        return written is not None

    async def members_brief(self, member_ids: Sequence[str]) -> dict[str, asyncpg.Record]:
        """Name, cell and probation end of the given current members."""
        conn = await self._direct()
        rows = await conn.fetch(
            "SELECT id, full_name, cell_id, probation_ends_on FROM member WHERE id = ANY($1::text[])", list(member_ids)
        )
        return {row["id"]: row for row in rows}

    async def ever_in_cell(self, cell_id: str) -> list[str]:
        """The ids of the members some version ever put in `cell_id`, sorted (those who may be in it at any moment);
        read once per transaction (prefetch_cells)."""
        if cell_id not in self._in_cell:
            await self.prefetch_cells([cell_id])
        return sorted(self._in_cell[cell_id])

    async def prefetch_cells(self, cell_ids: Iterable[str]) -> None:
        """Read ever_in_cell of the cells not read yet, in one statement (an integration's roster reads its cell's
        members to say whom it leaves out: one statement per roster was issue 12's kind of cost)."""
        wanted = sorted(set(cell_ids) - self._in_cell.keys())
        if not wanted:
            return
        conn = await self._direct()
        rows = await conn.fetch(
            "SELECT DISTINCT cell_id, member_id FROM member_version WHERE cell_id = ANY($1::text[])", wanted
        )
        for cell_id in wanted:
            self._in_cell[cell_id] = set()
        for row in rows:
            self._in_cell[row["cell_id"]].add(row["member_id"])

    async def monitor_assigned(self, person_id: str, cell_id: str) -> bool:
        """Whether an assignment of `person_id` to follow `cell_id` is stored (read once per transaction)."""
        key = (person_id, cell_id)
        if key not in self._monitor_versions:
            await self.prefetch(unit_ids=(), member_ids=(), monitors=[key])
        return self._monitor_versions[key] is not None


_UNIT_UPSERT = (
    " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind, parent_id = EXCLUDED.parent_id,"
    " category = EXCLUDED.category, contact_emails = EXCLUDED.contact_emails, active = EXCLUDED.active,"
    " version_time = EXCLUDED.version_time, version_ns = EXCLUDED.version_ns, version_id = EXCLUDED.version_id"
    " WHERE (org_unit.version_time, org_unit.version_ns, org_unit.version_id)"
    " < (EXCLUDED.version_time, EXCLUDED.version_ns, EXCLUDED.version_id)"
)
_UNIT_SQL = (
    "INSERT INTO org_unit (id, name, kind, parent_id, category, contact_emails, active,"
    " version_time, version_ns, version_id) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10)" + _UNIT_UPSERT
)
"""Keep a unit snapshot unless a newer one of the unit is stored."""
_UNITS_SQL = (
    "INSERT INTO org_unit (id, name, kind, parent_id, category, contact_emails, active,"
    " version_time, version_ns, version_id) SELECT u, n, k, p, c, e::jsonb, a, t, ns, v FROM unnest($1::text[],"
    " $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bool[], $8::timestamptz[], $9::smallint[],"
    " $10::text[]) AS s(u, n, k, p, c, e, a, t, ns, v)" + _UNIT_UPSERT
)
"""_UNIT_SQL for every unit snapshot a transaction queued, the latest of each unit once, one statement (issue 12: one
execution per unit before)."""

_MONITOR_UPSERT = (
    " ON CONFLICT (person_id, cell_id) DO UPDATE SET committee_id = EXCLUDED.committee_id,"
    " full_name = EXCLUDED.full_name, email = EXCLUDED.email, yearly_quota = EXCLUDED.yearly_quota,"
    " version_time = EXCLUDED.version_time, version_ns = EXCLUDED.version_ns, version_id = EXCLUDED.version_id"
    " WHERE (monitor_assignment.version_time, monitor_assignment.version_ns, monitor_assignment.version_id)"
    " < (EXCLUDED.version_time, EXCLUDED.version_ns, EXCLUDED.version_id)"
)
_MONITOR_SQL = (
    "INSERT INTO monitor_assignment (person_id, cell_id, committee_id, full_name, email, yearly_quota,"
    " version_time, version_ns, version_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)" + _MONITOR_UPSERT
)
"""Keep a monitor assignment unless a newer one for the same person and cell is stored."""
_MONITORS_SQL = (
    "INSERT INTO monitor_assignment (person_id, cell_id, committee_id, full_name, email, yearly_quota,"
    " version_time, version_ns, version_id) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],"
    " $5::text[], $6::int[], $7::timestamptz[], $8::smallint[], $9::text[])" + _MONITOR_UPSERT
)
"""_MONITOR_SQL for every assignment a transaction queued, each (person, cell) once, one statement (issue 12: one
execution per assignment before)."""

_MEMBER_SQL = (
    "INSERT INTO member (id, cell_id, full_name, status, role, gender, birth_year, admitted_on,"
    " exempt, email, phone,"
    " probation_ends_on, removed_on, removal_reason, version_time, version_ns, version_id)"
    " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[],"
    " $8::date[], $9::bool[], $10::text[], $11::text[], $12::date[], $13::date[], $14::text[], $15::timestamptz[],"
    " $16::smallint[], $17::text[])"
    " ON CONFLICT (id) DO UPDATE SET cell_id = EXCLUDED.cell_id, full_name = EXCLUDED.full_name,"
    " status = EXCLUDED.status, role = EXCLUDED.role, gender = EXCLUDED.gender, birth_year ="
    " EXCLUDED.birth_year,"
    " admitted_on = EXCLUDED.admitted_on, exempt = EXCLUDED.exempt, email = EXCLUDED.email, phone ="
    " EXCLUDED.phone,"
    " probation_ends_on = EXCLUDED.probation_ends_on, removed_on = EXCLUDED.removed_on,"
    " removal_reason = EXCLUDED.removal_reason, version_time = EXCLUDED.version_time,"
    " version_ns = EXCLUDED.version_ns, version_id = EXCLUDED.version_id"
)


def _member_row(member_id: str, versions: Sequence[Mapping[str, Any]]) -> tuple[Any, ...] | None:
    """The current member row from its versions (newest first): the latest snapshot's data and the latest removal
    state; None when no snapshot is kept (a removal alone)."""
    snapshot = next((v for v in versions if not v["removed"]), None)
    if snapshot is None:
        return None
    latest = versions[0]
    data = json.loads(snapshot["data"])
    removal = json.loads(latest["data"]) if latest["removed"] else {}
    admitted_on = date.fromisoformat(data["admitted_on"]) if data.get("admitted_on") else None
    return (
        member_id,
        data["cell_id"],
        data["full_name"],
        data["status"],
        data.get("role", "member"),
        data.get("gender"),
        data.get("birth_year"),
        admitted_on,
        data.get("exempt", False),
        data.get("email"),
        data.get("phone"),
        probation_ends_on(status=data["status"], admitted_on=admitted_on),
        date.fromisoformat(removal["effective_on"]) if removal else None,
        removal.get("reason"),
        snapshot["effective_at"],
        snapshot["effective_ns"],
        snapshot["version_id"],
    )


_HISTORIES_AND_ROW_VERSIONS_SQL = (
    "SELECT false AS current, member_id, effective_at AS at, effective_ns AS ns, version_id, removed, cell_id"
    " FROM member_version WHERE member_id = ANY($1::text[])"
    " UNION ALL SELECT true, id, version_time, version_ns, version_id, NULL::boolean, NULL::text FROM member"
    " WHERE id = ANY($2::text[])"
)
"""The versions of the members of $1 (in no particular order, as _read_histories reads them) and the current row
versions of the members of $2, told apart by `current`."""


def _row_version(row: Mapping[str, Any]) -> Version:
    """The (version_time, version_ns, version_id) of a row."""
    return (row["version_time"], row["version_ns"], row["version_id"])


def _nothing() -> None:
    """Nothing coalesced to queue."""
