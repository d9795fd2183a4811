"""The shared tree walks against a real table: paths, cells, unknown parents and cycles."""

import asyncpg

from shared.tree import fetch_ancestors, fetch_subtree_cells
from tests.support.ids import random_id


async def test_walks_up_and_down_a_tree_of_any_depth(db: asyncpg.Connection) -> None:
    await db.execute("CREATE TEMP TABLE unit (id text PRIMARY KEY, parent_id text, kind text NOT NULL)")
    root, district, commune, grassroots = (random_id(p) for p in ("p", "d", "x", "g"))
    cells = sorted(random_id("c") for _ in range(3))
    await db.executemany(
        "INSERT INTO unit VALUES ($1, $2, $3)",
        [
            (root, None, "committee"),
            (district, root, "committee"),
            (commune, district, "committee"),
            (grassroots, commune, "committee"),
            (cells[0], grassroots, "cell"),
            (cells[1], grassroots, "cell"),
            (cells[2], commune, "cell"),
        ],
    )

    assert await fetch_ancestors(db, table="unit", unit_id=cells[0]) == [root, district, commune, grassroots, cells[0]]
    assert await fetch_ancestors(db, table="unit", unit_id=root) == [root]
    assert await fetch_ancestors(db, table="unit", unit_id="nobody") == []
    assert await fetch_subtree_cells(db, table="unit", unit_id=commune) == cells
    assert await fetch_subtree_cells(db, table="unit", unit_id=cells[1]) == [cells[1]]


async def test_an_unknown_parent_heads_the_path_and_a_cycle_ends_the_walk(db: asyncpg.Connection) -> None:
    await db.execute("CREATE TEMP TABLE unit (id text PRIMARY KEY, parent_id text, kind text NOT NULL)")
    await db.executemany(
        "INSERT INTO unit VALUES ($1, $2, $3)",
        [("a", "b", "committee"), ("b", "a", "committee"), ("cell", "a", "cell"), ("orphan", "later", "cell")],
    )

    assert await fetch_ancestors(db, table="unit", unit_id="orphan") == ["later", "orphan"]
    assert await fetch_ancestors(db, table="unit", unit_id="cell") == ["b", "a", "cell"]
    assert await fetch_subtree_cells(db, table="unit", unit_id="a") == ["cell"]
