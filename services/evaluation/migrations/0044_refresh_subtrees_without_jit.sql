-- refresh_subtree_cells (migration 0013's definition, no arguments) plans one large statement per call: applying a
-- bulk-loaded province's 35,000 span changes spent 3.6 s of its 13-17 s compiling that statement with PostgreSQL's
-- JIT (load 13, tests/evaluation/test_bench_rollup_seed.py), and a small refresh gains nothing from it. Off inside
-- the function only: 16.1 s down to 13.2 s for the province.
ALTER FUNCTION refresh_subtree_cells() SET jit = off;
