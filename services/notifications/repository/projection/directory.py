"""The directory part of the projection: units, members, monitors, cell contexts and rule settings."""

import json
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from services.notifications.domain.model import CellContext, Member, Monitor, Unit
from services.notifications.domain.settings import RuleOverride
from services.notifications.repository.projection.rows import NEWER, VERSION_SET, to_member, to_monitor, to_unit
from shared.tree import fetch_ancestor_rows, fetch_ancestors, fetch_subtree_cells


class PgDirectory:
    """Units, members, monitors and rule settings on the unit of work's connection."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._db = connection
        self._locked: set[str] = set()
        self._rules_held: set[str] = set()

    async def lock_cell(self, cell_id: str) -> None:
        """Serialize this transaction with others about the same cell until it ends.

        Facts about one cell are handled concurrently (prefetch); without this, a member and a
        meeting committed side by side would each miss the other and the member its notice. The
        repository lives one transaction, so a cell it locked once stays locked: no second round trip.
        """
        if cell_id in self._locked:
            return
        await self._db.execute("SELECT pg_advisory_xact_lock(hashtextextended('cell:' || $1, 0))", cell_id)
        self._locked.add(cell_id)

    async def lock_cells(self, cell_ids: Sequence[str]) -> None:
        """lock_cell of each id in turn (those not locked yet in this transaction), in one statement."""
        wanted = [cell_id for cell_id in dict.fromkeys(cell_ids) if cell_id not in self._locked]
        if not wanted:
            return
        await self._db.execute(
            "SELECT count(pg_advisory_xact_lock(hashtextextended('cell:' || k, 0)))"
            " FROM (SELECT k FROM unnest($1::text[]) WITH ORDINALITY AS t(k, n) ORDER BY n) AS ordered",
            wanted,
        )
        self._locked.update(wanted)

    async def lock_rule_settings(self, unit_id: str, chain: Sequence[str]) -> None:
        """Serialize this transaction, until it ends, with every other change of rule settings whose re-plan reads
        the same settings: the `rules:` advisory lock of `unit_id` exclusive, those of the units above it (`chain`,
        root first, as ancestors_of gives it) shared. A change on the unit itself, on one above it, or on one under
        it (which holds this unit's lock shared) waits; one on a unit beside it does not (no cell in common). Taken
        root first in one statement, so two changes on one branch never wait for each other the other way round;
        READ COMMITTED, the statements after it see the settings the change it waited for committed."""
        above = [key for key in dict.fromkeys(chain) if key != unit_id]
        await self._db.execute(
            "SELECT count(CASE WHEN n > $2 THEN pg_advisory_xact_lock(hashtextextended('rules:' || k, 0))"
            " ELSE pg_advisory_xact_lock_shared(hashtextextended('rules:' || k, 0)) END)"
            " FROM (SELECT k, n FROM unnest($1::text[]) WITH ORDINALITY AS t(k, n) ORDER BY n) AS ordered",
            [*above, unit_id],
            len(above),
        )
        self._rules_held.update([*above, unit_id])

    async def lock_rule_reads(self, chains: Sequence[Sequence[str]]) -> None:
        """Hold, until this transaction ends, the `rules:` advisory lock SHARED of every unit of the chains (each
        root first, as ancestors_of gives it) not held yet in it, before the settings are read to plan jobs: a
        change of rule settings in progress on any of them (lock_rule_settings, exclusive) is waited for, and one
        begun later waits for this transaction, whose jobs its re-plan then sees. One statement for all the chains,
        top-down (a unit's depth in its chain, then its id), the order lock_rule_settings takes them in, so a plan
        and a save never wait for each other the other way round."""
        depth: dict[str, int] = {}
        for chain in chains:
            for n, unit_id in enumerate(chain):
                if unit_id not in self._rules_held and depth.get(unit_id, n) >= n:
                    depth[unit_id] = n
        if not depth:
            return
        wanted = sorted(depth, key=lambda unit_id: (depth[unit_id], unit_id))
        await self._db.execute(
            "SELECT count(pg_advisory_xact_lock_shared(hashtextextended('rules:' || k, 0)))"
            " FROM (SELECT k FROM unnest($1::text[]) WITH ORDINALITY AS t(k, n) ORDER BY n) AS ordered",
            wanted,
        )
        self._rules_held.update(wanted)

    def holds_lock(self, cell_id: str) -> bool:
        """Whether this transaction locked the cell already (lock_cell), so what it reads about it is stable."""
        return cell_id in self._locked

    async def upsert_unit(self, unit: Unit, *, time: datetime, event_id: str, ns: int = 0) -> bool:
        """Store a unit snapshot if newer (`ns`: the nanoseconds of `time` below its microsecond); True when it was
        applied."""
        applied = await self._db.fetchval(
            "INSERT INTO unit AS u (id, name, kind, parent_id, contact_emails, active, known_since,"
            " version_time, version_id, version_ns) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9)"
            " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,"
            " parent_id = EXCLUDED.parent_id, contact_emails = EXCLUDED.contact_emails, active = EXCLUDED.active,"
            " known_since = LEAST(u.known_since, EXCLUDED.known_since),"
            f" {VERSION_SET} WHERE {NEWER.format(t='u')} RETURNING 1",
            unit.id,
            unit.name,
            unit.kind,
            unit.parent_id,
            list(unit.contact_emails),
            unit.active,
            time,
            event_id,
            ns,
        )
        if applied is None:
            await self._db.execute("UPDATE unit SET known_since = LEAST(known_since, $2) WHERE id = $1", unit.id, time)
        return applied is not None

    async def get_unit(self, unit_id: str) -> Unit | None:
        """One unit, or None while unknown."""
        row = await self._db.fetchrow("SELECT * FROM unit WHERE id = $1", unit_id)
        return to_unit(row) if row else None

    async def ancestors(self, unit_id: str) -> list[str]:
        """Unit ids from the root down to `unit_id` (as far as the tree is known)."""
        return await fetch_ancestors(self._db, table="unit", unit_id=unit_id) or [unit_id]

    async def upsert_member(self, member: Member, *, time: datetime, event_id: str, ns: int = 0) -> bool:
        """Store a member snapshot if newer (`ns`: the nanoseconds of `time` below its microsecond); True when
        applied."""
        applied = await self._db.fetchval(
            "INSERT INTO member AS m (id, full_name, cell_id, status, role, email, phone, exempt, admitted_on,"
            " removed, version_time, version_id, version_ns)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, false, $10, $11, $12)"
            " ON CONFLICT (id) DO UPDATE SET full_name = EXCLUDED.full_name, cell_id = EXCLUDED.cell_id,"
            " status = EXCLUDED.status, role = EXCLUDED.role, email = EXCLUDED.email, phone = EXCLUDED.phone,"
            " exempt = EXCLUDED.exempt, admitted_on = EXCLUDED.admitted_on, removed = false,"
            f" {VERSION_SET} WHERE {NEWER.format(t='m')} RETURNING 1",
            member.id,
            member.full_name,
            member.cell_id,
            member.status,
            member.role,
            member.email,
            member.phone,
            member.exempt,
            member.admitted_on,
            time,
            event_id,
            ns,
        )
        return applied is not None

    async def upsert_members(self, members: Sequence[tuple[Member, datetime, str, int]]) -> set[str]:
        """upsert_member of many (member, time, event id, ns) about distinct members, in one statement; those
        applied."""
        if not members:
            return set()
        rows = await self._db.fetch(
            "INSERT INTO member AS m (id, full_name, cell_id, status, role, email, phone, exempt, admitted_on,"
            " removed, version_time, version_id, version_ns) SELECT id, full_name, cell_id, status, role, email,"
            " phone, exempt, admitted_on, false, version_time, version_id, version_ns FROM unnest($1::text[],"
            " $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bool[], $9::date[],"
            " $10::timestamptz[], $11::text[], $12::smallint[]) AS t(id, full_name, cell_id, status, role, email,"
            " phone, exempt, admitted_on, version_time, version_id, version_ns)"
            " ON CONFLICT (id) DO UPDATE SET full_name = EXCLUDED.full_name, cell_id = EXCLUDED.cell_id,"
            " status = EXCLUDED.status, role = EXCLUDED.role, email = EXCLUDED.email, phone = EXCLUDED.phone,"
            " exempt = EXCLUDED.exempt, admitted_on = EXCLUDED.admitted_on, removed = false,"
            f" {VERSION_SET} WHERE {NEWER.format(t='m')} RETURNING m.id",
            [member.id for member, _, _, _ in members],
            [member.full_name for member, _, _, _ in members],
            [member.cell_id for member, _, _, _ in members],
            [member.status for member, _, _, _ in members],
            [member.role for member, _, _, _ in members],
            [member.email for member, _, _, _ in members],
            [member.phone for member, _, _, _ in members],
            [member.exempt for member, _, _, _ in members],
            [member.admitted_on for member, _, _, _ in members],
            [time for _, time, _, _ in members],
            [event_id for _, _, event_id, _ in members],
            [ns for _, _, _, ns in members],
        )
        return {row["id"] for row in rows}

    async def remove_member(self, member_id: str, *, time: datetime, event_id: str, ns: int = 0) -> bool:
        """Mark a member removed if the removal is newer than the stored snapshot (by time, `ns`, id)."""
        applied = await self._db.fetchval(
            "UPDATE member SET removed = true, version_time = $2, version_id = $3, version_ns = $4"
            " WHERE id = $1 AND ($2::timestamptz, $4::smallint, $3::text) > (version_time, version_ns, version_id)"
            " RETURNING 1",
            member_id,
            time,
            event_id,
            ns,
        )
        return applied is not None

    async def get_member(self, member_id: str) -> Member | None:
        """One member, or None while unknown."""
        row = await self._db.fetchrow("SELECT * FROM member WHERE id = $1", member_id)
        return to_member(row) if row else None

    async def members_by_id(self, member_ids: Sequence[str]) -> dict[str, Member]:
        """Known members among the given ids."""
        rows = await self._db.fetch("SELECT * FROM member WHERE id = ANY($1::text[])", list(member_ids))
        return {row["id"]: to_member(row) for row in rows}

    async def upsert_monitor(self, monitor: Monitor, *, time: datetime, event_id: str, ns: int = 0) -> bool:
        """Store a monitor assignment if newer (`ns`: the nanoseconds of `time` below its microsecond); True when
        applied."""
        applied = await self._db.fetchval(
            "INSERT INTO monitor AS m (person_id, cell_id, committee_id, full_name, email, yearly_quota,"
            " version_time, version_id, version_ns) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            " ON CONFLICT (person_id, cell_id) DO UPDATE SET committee_id = EXCLUDED.committee_id,"
            " full_name = EXCLUDED.full_name, email = EXCLUDED.email, yearly_quota = EXCLUDED.yearly_quota,"
            f" {VERSION_SET} WHERE {NEWER.format(t='m')} RETURNING 1",
            monitor.person_id,
            monitor.cell_id,
            monitor.committee_id,
            monitor.full_name,
            monitor.email,
            monitor.yearly_quota,
            time,
            event_id,
            ns,
        )
        return applied is not None

    async def monitors_of(self, person_id: str) -> list[Monitor]:
        """The person's monitor assignments, one per cell followed, in cell id order (none: not a monitor)."""
        rows = await self._db.fetch("SELECT * FROM monitor WHERE person_id = $1 ORDER BY cell_id", person_id)
        return [to_monitor(row) for row in rows]

    async def cell_context(self, cell_id: str | None) -> CellContext:
        """The cell, its superior, its members and monitors."""
        if cell_id is None:
            return CellContext(cell=None, superior=None)
        cell = await self.get_unit(cell_id)
        superior = await self.get_unit(cell.parent_id) if cell and cell.parent_id else None
        members = await self._db.fetch("SELECT * FROM member WHERE cell_id = $1 ORDER BY id", cell_id)
        monitors = await self._db.fetch("SELECT * FROM monitor WHERE cell_id = $1 ORDER BY person_id", cell_id)
        return CellContext(
            cell=cell,
            superior=superior,
            members=tuple(to_member(row) for row in members),
            monitors=tuple(to_monitor(row) for row in monitors),
        )

    async def active_cells(self, *, after_id: str, limit: int) -> list[str]:
        """Ids of active cells in id order, for sweeps in batches."""
        rows = await self._db.fetch(
            "SELECT id FROM unit WHERE kind = 'cell' AND active AND id > $1 ORDER BY id LIMIT $2", after_id, limit
        )
        return [row["id"] for row in rows]

    async def rule_overrides(self, unit_ids: Sequence[str]) -> list[RuleOverride]:
        """Rule settings stored for any of the units."""
        rows = await self._db.fetch(
            "SELECT unit_id, rule, enabled, params::text AS params FROM rule_setting WHERE unit_id = ANY($1::text[])",
            list(unit_ids),
        )
        return [
            RuleOverride(
                unit_id=row["unit_id"], rule=row["rule"], enabled=row["enabled"], params=json.loads(row["params"])
            )
            for row in rows
        ]

    async def set_rule_override(self, override: RuleOverride) -> None:
        """Store one unit's setting of one rule (replacing its previous one)."""
        await self._db.execute(
            "INSERT INTO rule_setting (unit_id, rule, enabled, params) VALUES ($1, $2, $3, $4::jsonb)"
            " ON CONFLICT (unit_id, rule) DO UPDATE SET enabled = EXCLUDED.enabled, params = EXCLUDED.params,"
            " updated_at = now()",
            override.unit_id,
            override.rule,
            override.enabled,
            json.dumps(dict(override.params)),
        )

    async def units_by_id(self, unit_ids: Sequence[str]) -> dict[str, Unit]:
        """Known units among the given ids."""
        rows = await self._db.fetch("SELECT * FROM unit WHERE id = ANY($1::text[])", list(unit_ids))
        return {row["id"]: to_unit(row) for row in rows}

    async def cell_contexts(
        self, cell_ids: Sequence[str], *, member_ids: Sequence[str] | None = None
    ) -> dict[str, CellContext]:
        """The context of many cells in four queries (the sweep's batches); with `member_ids`, each cell's members
        are only those of them on its roll (a notice to the members a snapshot stored reads those, not the cell)."""
        ids = list(cell_ids)
        cells = await self.units_by_id(ids)
        superiors = await self.units_by_id(sorted({c.parent_id for c in cells.values() if c.parent_id}))
        members: dict[str, list[Member]] = {}
        if member_ids is not None:
            rows = await self._db.fetch(
                "SELECT * FROM member WHERE id = ANY($1::text[]) AND cell_id = ANY($2::text[]) ORDER BY id",
                list(member_ids),
                ids,
            )
        else:
            # each cell's rows through the cell_id index (a LATERAL subquery kept by OFFSET 0) whatever the
            # statistics say: on a member table grown by a province's load and not analyzed yet, `cell_id = ANY` of
            # 100 cells was planned as a sequential scan of all 595,000 members (87 ms)
            rows = await self._db.fetch(
                "SELECT m.* FROM (SELECT DISTINCT unnest($1::text[]) AS key) k"
                " CROSS JOIN LATERAL (SELECT * FROM member WHERE cell_id = k.key OFFSET 0) m ORDER BY m.id",
                ids,
            )
        for row in rows:
            members.setdefault(row["cell_id"], []).append(to_member(row))
        monitors: dict[str, list[Monitor]] = {}
        for row in await self._db.fetch(
            "SELECT o.* FROM (SELECT DISTINCT unnest($1::text[]) AS key) k"
            " CROSS JOIN LATERAL (SELECT * FROM monitor WHERE cell_id = k.key OFFSET 0) o ORDER BY o.person_id",
            ids,
        ):
            monitors.setdefault(row["cell_id"], []).append(to_monitor(row))
        contexts = {}
        for cell_id in ids:
            cell = cells.get(cell_id)
            contexts[cell_id] = CellContext(
                cell=cell,
                superior=superiors.get(cell.parent_id) if cell and cell.parent_id else None,
                members=tuple(members.get(cell_id, ())),
                monitors=tuple(monitors.get(cell_id, ())),
            )
        return contexts

    async def members_not_told(
        self, cell_id: str, *, rule: str, subject_ids: Sequence[str], period: str
    ) -> dict[str, list[str]]:
        """For each of `subject_ids` (meeting ids), the ids of the cell's stored members with no notification of
        `rule` about it for `period` (the notification's key, as raise_alerts skips them), in id order; a subject
        all were told of is absent. One statement, each side through its index (member cell_id, the notification
        key; a NOT EXISTS anti-join was planned as a hash join over every notification, 37 ms a small cell): a
        cell's unit snapshot asks who is left to tell instead of rendering its notice to every member again."""
        rows = await self._db.fetch(
            "SELECT * FROM (SELECT s.subject_id, m.id FROM unnest($2::text[]) AS s(subject_id)"
            " CROSS JOIN (SELECT id FROM member WHERE cell_id = $1) m"
            " EXCEPT SELECT subject_id, recipient_id FROM notification"
            " WHERE rule = $3 AND subject_id = ANY($2::text[]) AND period = $4) x ORDER BY 1, 2",
            cell_id,
            list(subject_ids),
            rule,
            period,
        )
        found: dict[str, list[str]] = {}
        for row in rows:
            found.setdefault(row["subject_id"], []).append(row["id"])
        return found

    async def ancestors_of(self, unit_ids: Sequence[str]) -> dict[str, list[str]]:
        """For each unit, the unit ids from the root down to it, in one query, as `ancestors` gives them: as far
        as the tree is known, headed by a parent not known yet (settings made on it already apply), a cycle in
        bad data walked once; an unknown unit is its own chain."""
        rows = await fetch_ancestor_rows(self._db, table="unit", unit_ids=unit_ids)
        found: dict[str, list[str]] = {}
        heads: dict[str, str | None] = {}
        for row in rows:
            chain = found.setdefault(row["start_id"], [])
            if not chain:
                heads[row["start_id"]] = row["parent_id"]
            chain.append(row["id"])
        for start_id, chain in found.items():
            head = heads[start_id]
            if head is not None and head not in chain:
                chain.insert(0, head)
        return {unit_id: found.get(unit_id, [unit_id]) for unit_id in unit_ids}

    async def subtree_cells(self, unit_id: str) -> list[str]:
        """Ids of the cells at or under a unit (the reach of a rule set on it)."""
        return await fetch_subtree_cells(self._db, table="unit", unit_id=unit_id)

    async def pending_probations(self, cell_ids: Sequence[str]) -> list[Member]:
        """Members of the cells whose probation-ending check has not fired yet."""
        rows = await self._db.fetch(
            "SELECT m.* FROM member m JOIN schedule s ON s.kind = 'member.probation' AND s.subject_id = m.id"
            " WHERE s.done_at IS NULL AND m.cell_id = ANY($1::text[]) ORDER BY m.id",
            list(cell_ids),
        )
        return [to_member(row) for row in rows]
