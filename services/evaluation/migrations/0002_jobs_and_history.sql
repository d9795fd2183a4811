-- Every member snapshot, so "has a committee" is judged as of a meeting's start (not from today's members).
CREATE TABLE IF NOT EXISTS member_snapshot (
    member_id  text NOT NULL,
    fact_time  timestamptz NOT NULL,
    fact_id    text NOT NULL,
    cell_id    text NOT NULL,
    role       text NOT NULL,
    PRIMARY KEY (member_id, fact_time, fact_id)
);
CREATE INDEX IF NOT EXISTS member_snapshot_cell ON member_snapshot (cell_id, role);
-- Snapshots stored before this table existed are the only history there is of them.
INSERT INTO member_snapshot (member_id, fact_time, fact_id, cell_id, role)
SELECT id, fact_time, fact_id, cell_id, role FROM member
ON CONFLICT DO NOTHING;

-- One row per month closed by the background job (Vietnam time). `first_month` is the earliest month the run
-- refreshes (earlier than `month` after downtime); `cursor` is the last cell done, committed with its batch.
CREATE TABLE IF NOT EXISTS period_close (
    month        text PRIMARY KEY,
    first_month  text NOT NULL,
    cursor       text,
    cells_done   integer NOT NULL DEFAULT 0,
    changed      integer NOT NULL DEFAULT 0,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);

-- Rescoring jobs started over RPC; a worker claims them, progress is committed with each cell.
CREATE TABLE IF NOT EXISTS rescore_job (
    job_id            text PRIMARY KEY,
    unit_id           text,
    period_from       text,
    period_to         text,
    status            text NOT NULL DEFAULT 'queued',
    cells_total       integer,
    cells_done        integer NOT NULL DEFAULT 0,
    meetings_rescored integer NOT NULL DEFAULT 0,
    changed           integer NOT NULL DEFAULT 0,
    cursor            text,
    error             text,
    attempts          integer NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    heartbeat_at      timestamptz,
    finished_at       timestamptz
);
CREATE INDEX IF NOT EXISTS rescore_job_pending ON rescore_job (created_at) WHERE status IN ('queued', 'running');
