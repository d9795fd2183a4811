-- The durable dirty set: what fact transactions touched, scored later by the scoring worker (coalesced).
-- A fact transaction appends one row per touched cell (never updates one, so it never waits on a scorer);
-- the worker claims rows FOR UPDATE SKIP LOCKED, merges them per cell (earliest `since`, union of `only`),
-- scores the cells set-based, deletes the claimed rows and commits. A row outlives any crash until scored.
CREATE TABLE IF NOT EXISTS dirty_cell (
    id              bigserial PRIMARY KEY,
    cell_id         text NOT NULL,
    since           timestamptz,
    only_meetings   text[] NOT NULL DEFAULT '{}',
    correlation_id  text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS dirty_cell_by_cell ON dirty_cell (cell_id);
