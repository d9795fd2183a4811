"""Org units, members (every version kept) and monitors."""

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol

import asyncpg

from services.meetings.domain import UnitRef, Version, probation_ends_on
from shared.membership import MemberVersion
from shared.tree import fetch_ancestors


class OrgRepository(Protocol):
    """Units, members and monitors."""

    async def get_unit(self, unit_id: str) -> UnitRef | None: ...
    async def ancestors(self, unit_id: str) -> list[str]: ...
    async def upsert_unit(self, data: dict[str, Any], *, version: Version) -> bool: ...
    async def histories(self, member_ids: Sequence[str]) -> dict[str, list[MemberVersion]]: ...
    async def add_member_version(
        self,
        *,
        member_id: str,
        effective_at: datetime,
        version_id: str,
        removed: bool,
        cell_id: str | None,
        data: dict[str, Any],
    ) -> Version | None: ...
    async def refresh_member(self, member_id: str) -> None: ...
    async def upsert_monitor(self, data: dict[str, Any], *, version: Version) -> bool: ...
    async def members_brief(self, member_ids: Sequence[str]) -> Mapping[str, Mapping[str, Any]]: ...


class PgOrgRepository:
    """OrgRepository over the meetings schema."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._conn = connection

    async def get_unit(self, unit_id: str) -> UnitRef | None:
        """The unit's kind and parent, or None when unknown."""
        row = await self._conn.fetchrow("SELECT id, kind, parent_id FROM org_unit WHERE id = $1", unit_id)
        return UnitRef(id=row["id"], kind=row["kind"], parent_id=row["parent_id"]) if row else None

    async def ancestors(self, unit_id: str) -> list[str]:
        """The path from the root down to `unit_id` (inclusive), as far as it is known."""
        return await fetch_ancestors(self._conn, table="org_unit", unit_id=unit_id)

    async def upsert_unit(self, data: dict[str, Any], *, version: Version) -> bool:
        """Store the snapshot unless a newer one is stored; True when it was written."""
        written = await self._conn.fetchval(
            "INSERT INTO org_unit (id, name, kind, parent_id, category, contact_emails, active,"
            " version_time, version_id)"
            " VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9)"
            " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind, parent_id ="
            " EXCLUDED.parent_id,"
            " category = EXCLUDED.category, contact_emails = EXCLUDED.contact_emails, active = EXCLUDED.active,"
            " version_time = EXCLUDED.version_time, version_id = EXCLUDED.version_id"
            " WHERE (org_unit.version_time, org_unit.version_id) < (EXCLUDED.version_time, EXCLUDED.version_id)"
            " RETURNING 1",
            data["id"],
            data["name"],
            data["kind"],
            data.get("parent_id"),
            data.get("category"),
            json.dumps(data.get("contact_emails", [])),
            data.get("active", True),
            version[0],
            version[1],
        )
        return written is not None

    async def histories(self, member_ids: Sequence[str]) -> dict[str, list[MemberVersion]]:
        """Every version of the given members."""
        rows = await self._conn.fetch(
            "SELECT member_id, effective_at, version_id, removed, cell_id FROM member_version"
            " WHERE member_id = ANY($1::text[])",
            list(member_ids),
        )
        found: dict[str, list[MemberVersion]] = {}
        for row in rows:
            found.setdefault(row["member_id"], []).append(
                MemberVersion(
                    effective_at=row["effective_at"],
                    version_id=row["version_id"],
                    removed=row["removed"],
                    cell_id=row["cell_id"],
                )
            )
        return found

    async def add_member_version(
        self,
        *,
        member_id: str,
        effective_at: datetime,
        version_id: str,
        removed: bool,
        cell_id: str | None,
        data: dict[str, Any],
    ) -> Version | None:
        """Keep one snapshot or removal in the member's history; return the current member row's version before it."""
        # one round trip: the SELECT sees the member row as it was when the statement started
        row = await self._conn.fetchrow(
            "WITH added AS (INSERT INTO member_version (member_id, effective_at, version_id, removed, cell_id, data)"
            " VALUES ($1, $2, $3, $4, $5, $6::jsonb) ON CONFLICT DO NOTHING)"
            " SELECT version_time, version_id FROM member WHERE id = $1",
            member_id,
            effective_at,
            version_id,
            removed,
            cell_id,
            json.dumps(data),
        )
        return (row["version_time"], row["version_id"]) if row else None

    async def refresh_member(self, member_id: str) -> None:
        """Rebuild the current member row from its history: latest snapshot's data, latest removal state."""
        versions = await self._conn.fetch(
            "SELECT effective_at, version_id, removed, data FROM member_version WHERE member_id = $1"
            " ORDER BY effective_at DESC, version_id DESC",
            member_id,
        )
        snapshot = next((v for v in versions if not v["removed"]), None)
        if snapshot is None:
            return
        latest = versions[0]
        data = json.loads(snapshot["data"])
        removal = json.loads(latest["data"]) if latest["removed"] else {}
        admitted_on = date.fromisoformat(data["admitted_on"]) if data.get("admitted_on") else None
        await self._conn.execute(
            "INSERT INTO member (id, cell_id, full_name, status, role, gender, birth_year, admitted_on,"
            " exempt, email, phone,"
            " probation_ends_on, removed_on, removal_reason, version_time, version_id)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
            " ON CONFLICT (id) DO UPDATE SET cell_id = EXCLUDED.cell_id, full_name = EXCLUDED.full_name,"
            " status = EXCLUDED.status, role = EXCLUDED.role, gender = EXCLUDED.gender, birth_year ="
            " EXCLUDED.birth_year,"
            " admitted_on = EXCLUDED.admitted_on, exempt = EXCLUDED.exempt, email = EXCLUDED.email, phone ="
            " EXCLUDED.phone,"
            " probation_ends_on = EXCLUDED.probation_ends_on, removed_on = EXCLUDED.removed_on,"
            " removal_reason = EXCLUDED.removal_reason, version_time = EXCLUDED.version_time, version_id ="
            " EXCLUDED.version_id",
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
            snapshot["version_id"],
        )

    async def upsert_monitor(self, data: dict[str, Any], *, version: Version) -> bool:
        """Store the assignment unless a newer one for the same person and cell is stored."""
        written = await self._conn.fetchval(
            "INSERT INTO monitor_assignment (person_id, cell_id, committee_id, full_name, email, yearly_quota,"
            " version_time, version_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            " ON CONFLICT (person_id, cell_id) DO UPDATE SET committee_id = EXCLUDED.committee_id,"
            " full_name = EXCLUDED.full_name, email = EXCLUDED.email, yearly_quota = EXCLUDED.yearly_quota,"
            " version_time = EXCLUDED.version_time, version_id = EXCLUDED.version_id"
            " WHERE (monitor_assignment.version_time, monitor_assignment.version_id)"
            " < (EXCLUDED.version_time, EXCLUDED.version_id) RETURNING 1",
            data["person_id"],
            data["cell_id"],
            data["committee_id"],
            data["full_name"],
            data.get("email"),
            data.get("yearly_quota"),
            version[0],
            version[1],
        )
        return written is not None

    async def members_brief(self, member_ids: Sequence[str]) -> dict[str, asyncpg.Record]:
        """Name, cell and probation end of the given current members."""
        rows = await self._conn.fetch(
            "SELECT id, full_name, cell_id, probation_ends_on FROM member WHERE id = ANY($1::text[])", list(member_ids)
        )
        return {row["id"]: row for row in rows}
