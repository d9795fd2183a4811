"""Migration 0044: applying the noted tree changes runs without PostgreSQL's JIT.

A bulk-loaded province's 35,000 span changes spent 3.6 s of the refresh compiling its one large statement (load 13,
tests/evaluation/test_bench_rollup_seed.py); the setting lives on the function, so every caller (a read, the
background loop, a seed) gets it."""

from tests.evaluation.private_db import private_pool


async def test_refresh_subtree_cells_runs_with_jit_off(database_url: str) -> None:
    """The function the reads and the background loop call (no arguments) carries `jit=off` in its configuration."""
    async with private_pool(database_url) as pool, pool.acquire() as conn:
        config = await conn.fetch(
            "SELECT p.proconfig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE p.proname = 'refresh_subtree_cells' AND n.nspname = 'evaluation'"
            " AND pg_get_function_identity_arguments(p.oid) = ''"
        )
        assert [row["proconfig"] for row in config] == [["jit=off"]]
