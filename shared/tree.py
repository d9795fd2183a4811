"""Walking the organization tree that each service keeps in a table of its own schema.

Every service that projects units (id, parent_id, kind) needs the same two walks: up to the
root, and down to the cells. They live here once, guarded against cycles in bad data.
"""

import re
from collections.abc import Sequence

import asyncpg

_TABLE = re.compile(r"^[a-z_][a-z0-9_]*$")


def _checked(table: str) -> str:
    if not _TABLE.match(table):
        raise ValueError(f"not a plain table name: {table!r}")
    return table


async def fetch_ancestors(conn: asyncpg.Connection, *, table: str, unit_id: str) -> list[str]:
    """The path from the root down to `unit_id` (inclusive); [] for an unknown unit.

    Where the walk stops at a parent not yet known (facts arrive in any order), that parent's id
    still heads the path, so settings made on it already apply.
    """
    rows = await conn.fetch(
        f"WITH RECURSIVE up(id, parent_id, path) AS ("
        f" SELECT id, parent_id, ARRAY[id] FROM {_checked(table)} WHERE id = $1"
        f" UNION ALL SELECT u.id, u.parent_id, up.path || u.id FROM up {_parent_of_each(table)}"
        f"  WHERE NOT u.id = ANY(up.path))"
        f" SELECT id, parent_id FROM up ORDER BY cardinality(path) DESC",
        unit_id,
    )
    path = [row["id"] for row in rows]
    if rows and rows[0]["parent_id"] is not None and rows[0]["parent_id"] not in path:
        path.insert(0, rows[0]["parent_id"])
    return path


def _parent_of_each(table: str, columns: str = "id, parent_id") -> str:
    """The recursive step up: each row's parent read by the primary key (a LATERAL subquery kept by OFFSET 0), whatever
    the table's statistics say; a plain join of the walk to the table is planned as a hash join over a sequential
    scan of it (tens of ms a walk over 35,000 units, even analyzed: the planner cannot size a recursive walk)."""
    return f"CROSS JOIN LATERAL (SELECT {columns} FROM {table} WHERE id = up.parent_id OFFSET 0) u"


async def fetch_ancestor_rows(conn: asyncpg.Connection, *, table: str, unit_ids: Sequence[str]) -> list[asyncpg.Record]:
    """The walks up from each of `unit_ids` in one statement: rows (start_id, id, parent_id), each walk from the root
    down to its start, as far as the tree is known (a cycle in bad data walked once; an unknown unit has none)."""
    return await conn.fetch(
        "WITH RECURSIVE up(start_id, id, parent_id, path) AS ("
        " SELECT u.id, u.id, u.parent_id, ARRAY[u.id] FROM (SELECT DISTINCT unnest($1::text[]) AS key) k"
        f" CROSS JOIN LATERAL (SELECT id, parent_id FROM {_checked(table)} WHERE id = k.key OFFSET 0) u"
        f" UNION ALL SELECT up.start_id, u.id, u.parent_id, up.path || u.id FROM up {_parent_of_each(table)}"
        "  WHERE NOT u.id = ANY(up.path))"
        " SELECT start_id, id, parent_id FROM up ORDER BY start_id, cardinality(path) DESC",
        list(unit_ids),
    )


async def fetch_subtree_cells(conn: asyncpg.Connection, *, table: str, unit_id: str) -> list[str]:
    """Every cell at any depth under `unit_id` (the unit itself if it is a cell), by id."""
    rows = await conn.fetch(
        f"WITH RECURSIVE down(id, kind) AS (SELECT id, kind FROM {_checked(table)} WHERE id = $1"
        f" UNION SELECT u.id, u.kind FROM {table} u JOIN down d ON u.parent_id = d.id)"
        f" SELECT id FROM down WHERE kind = 'cell' ORDER BY id",
        unit_id,
    )
    return [row["id"] for row in rows]
