-- The evaluation service's own projection of the facts meetings publishes.
-- Snapshots keep the (fact_time, fact_id) of the event that wrote them: the latest wins.
CREATE TABLE IF NOT EXISTS unit (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    kind       text NOT NULL,
    parent_id  text,
    active     boolean NOT NULL DEFAULT true,
    fact_time  timestamptz NOT NULL,
    fact_id    text NOT NULL
);
CREATE INDEX IF NOT EXISTS unit_parent ON unit (parent_id);

CREATE TABLE IF NOT EXISTS member (
    id         text PRIMARY KEY,
    cell_id    text NOT NULL,
    role       text NOT NULL,
    status     text NOT NULL,
    exempt     boolean NOT NULL DEFAULT false,
    fact_time  timestamptz NOT NULL,
    fact_id    text NOT NULL
);
CREATE INDEX IF NOT EXISTS member_cell ON member (cell_id);

CREATE TABLE IF NOT EXISTS member_removal (
    member_id    text PRIMARY KEY,
    effective_on date NOT NULL,
    fact_time    timestamptz NOT NULL,
    fact_id      text NOT NULL
);

CREATE TABLE IF NOT EXISTS meeting (
    meeting_id         text PRIMARY KEY,
    cell_id            text NOT NULL,
    kind               text NOT NULL,
    starts_at          timestamptz NOT NULL,
    notified_at        timestamptz,
    committee_prepared boolean,
    fact_time          timestamptz NOT NULL,
    fact_id            text NOT NULL
);
CREATE INDEX IF NOT EXISTS meeting_cell ON meeting (cell_id);

CREATE TABLE IF NOT EXISTS meeting_reschedule (
    meeting_id text PRIMARY KEY,
    starts_at  timestamptz NOT NULL,
    fact_time  timestamptz NOT NULL,
    fact_id    text NOT NULL
);

CREATE TABLE IF NOT EXISTS meeting_cancellation (
    meeting_id text PRIMARY KEY,
    fact_time  timestamptz NOT NULL,
    fact_id    text NOT NULL
);

CREATE TABLE IF NOT EXISTS document (
    meeting_id   text NOT NULL,
    fact_id      text NOT NULL,
    position     integer NOT NULL,
    kind         text NOT NULL,
    published_at timestamptz NOT NULL,
    PRIMARY KEY (meeting_id, fact_id, position)
);

CREATE TABLE IF NOT EXISTS attendance (
    meeting_id text PRIMARY KEY,
    records    jsonb NOT NULL,
    fact_time  timestamptz NOT NULL,
    fact_id    text NOT NULL
);

CREATE TABLE IF NOT EXISTS minutes (
    meeting_id text PRIMARY KEY,
    data       jsonb NOT NULL,
    fact_time  timestamptz NOT NULL,
    fact_id    text NOT NULL
);

CREATE TABLE IF NOT EXISTS approval (
    meeting_id  text PRIMARY KEY,
    approved_at timestamptz NOT NULL,
    fact_time   timestamptz NOT NULL,
    fact_id     text NOT NULL
);

CREATE TABLE IF NOT EXISTS assessment (
    meeting_id text NOT NULL,
    fact_id    text NOT NULL,
    role       text NOT NULL,
    points     jsonb NOT NULL,
    fact_time  timestamptz NOT NULL,
    PRIMARY KEY (meeting_id, fact_id)
);

CREATE TABLE IF NOT EXISTS task_completion (
    task_id      text PRIMARY KEY,
    meeting_id   text NOT NULL,
    completed_on date NOT NULL,
    fact_time    timestamptz NOT NULL,
    fact_id      text NOT NULL
);
CREATE INDEX IF NOT EXISTS task_completion_meeting ON task_completion (meeting_id);

-- Frameworks: immutable documents per (id, version), and which one is in force where from when.
CREATE TABLE IF NOT EXISTS framework (
    framework_id text NOT NULL,
    version      text NOT NULL,
    document     jsonb NOT NULL,
    stored_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (framework_id, version)
);

CREATE TABLE IF NOT EXISTS framework_adoption (
    sequence       bigserial PRIMARY KEY,
    committee_id   text,
    framework_id   text NOT NULL,
    version        text NOT NULL,
    effective_from date NOT NULL,
    adopted_at     timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (framework_id, version) REFERENCES framework (framework_id, version)
);
CREATE UNIQUE INDEX IF NOT EXISTS framework_adoption_once
    ON framework_adoption (coalesce(committee_id, ''), framework_id, version, effective_from);

-- Derived results.
CREATE TABLE IF NOT EXISTS meeting_score (
    meeting_id        text PRIMARY KEY,
    cell_id           text NOT NULL,
    kind              text NOT NULL,
    starts_at         timestamptz NOT NULL,
    held              boolean NOT NULL,
    framework_id      text NOT NULL,
    framework_version text NOT NULL,
    score             double precision NOT NULL,
    rating            text NOT NULL,
    provisional       boolean NOT NULL,
    criteria          jsonb NOT NULL,
    present           integer NOT NULL,
    counted           integer NOT NULL,
    speakers_present  integer NOT NULL,
    computed_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS meeting_score_cell ON meeting_score (cell_id, starts_at);

CREATE TABLE IF NOT EXISTS cell_period (
    cell_id             text NOT NULL,
    period              text NOT NULL,
    rating              text NOT NULL,
    score               double precision NOT NULL,
    regular_held        integer NOT NULL,
    thematic_held       integer NOT NULL,
    present             integer NOT NULL,
    counted             integer NOT NULL,
    speakers_present    integer NOT NULL,
    months_counted      integer NOT NULL,
    months_with_regular integer NOT NULL,
    flags               text[] NOT NULL DEFAULT '{}',
    computed_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cell_id, period)
);
CREATE INDEX IF NOT EXISTS cell_period_by_period ON cell_period (period, cell_id);
