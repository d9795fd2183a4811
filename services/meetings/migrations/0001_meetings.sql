-- The meetings service's state: org tree, members (with history), monitors, meetings and their records,
-- held events waiting for a referent, and rejections.
CREATE TABLE org_unit (
    id             text PRIMARY KEY,
    name           text        NOT NULL,
    kind           text        NOT NULL,
    parent_id      text,
    category       text,
    contact_emails jsonb       NOT NULL DEFAULT '[]',
    active         boolean     NOT NULL DEFAULT true,
    version_time   timestamptz NOT NULL,
    version_id     text        NOT NULL
);
CREATE INDEX org_unit_parent ON org_unit (parent_id, id);

-- Every snapshot and removal of a member: the cell a member belonged to on any date comes from here.
CREATE TABLE member_version (
    member_id    text        NOT NULL,
    effective_at timestamptz NOT NULL,
    version_id   text        NOT NULL,
    removed      boolean     NOT NULL,
    cell_id      text,
    data         jsonb       NOT NULL,
    PRIMARY KEY (member_id, effective_at, version_id)
);

-- The current member: data of the latest snapshot, removed when the latest version is a removal.
CREATE TABLE member (
    id                text PRIMARY KEY,
    cell_id           text        NOT NULL,
    full_name         text        NOT NULL,
    status            text        NOT NULL,
    role              text        NOT NULL,
    gender            text,
    birth_year        integer,
    admitted_on       date,
    exempt            boolean     NOT NULL DEFAULT false,
    email             text,
    phone             text,
    probation_ends_on date,
    removed_on        date,
    removal_reason    text,
    version_time      timestamptz NOT NULL,
    version_id        text        NOT NULL
);
CREATE INDEX member_cell ON member (cell_id, id);

CREATE TABLE monitor_assignment (
    person_id    text        NOT NULL,
    cell_id      text        NOT NULL,
    committee_id text        NOT NULL,
    full_name    text        NOT NULL,
    email        text,
    yearly_quota integer,
    version_time timestamptz NOT NULL,
    version_id   text        NOT NULL,
    PRIMARY KEY (person_id, cell_id)
);
CREATE INDEX monitor_cell ON monitor_assignment (cell_id);

-- Each attribute group carries the version (event time, event id) that set it, so events merge in any order.
CREATE TABLE meeting (
    meeting_id         text PRIMARY KEY,
    cell_id            text        NOT NULL,
    kind               text        NOT NULL,
    topic              text,
    agenda             jsonb       NOT NULL,
    notified_at        timestamptz NOT NULL,
    committee_prepared boolean,
    schedule_time      timestamptz NOT NULL,
    schedule_id        text        NOT NULL,
    starts_at          timestamptz NOT NULL,
    start_time         timestamptz NOT NULL,
    start_id           text        NOT NULL,
    location           text        NOT NULL,
    location_time      timestamptz NOT NULL,
    location_id        text        NOT NULL,
    reschedule_reason  text,
    cancel_reason      text,
    cancel_time        timestamptz,
    cancel_id          text,
    approved_at        timestamptz,
    approval_votes_for integer,
    approval_votes_against integer,
    approval_time      timestamptz,
    approval_id        text
);
CREATE INDEX meeting_cell ON meeting (cell_id, starts_at);

CREATE TABLE roster (
    meeting_id   text PRIMARY KEY,
    guests       jsonb       NOT NULL,
    version_time timestamptz NOT NULL,
    version_id   text        NOT NULL
);

CREATE TABLE attendance (
    meeting_id text NOT NULL,
    member_id  text NOT NULL,
    status     text NOT NULL,
    reason     text,
    PRIMARY KEY (meeting_id, member_id)
);
CREATE INDEX attendance_member ON attendance (member_id);

CREATE TABLE minutes (
    meeting_id             text PRIMARY KEY,
    started_at             timestamptz NOT NULL,
    ended_at               timestamptz NOT NULL,
    chair_id               text        NOT NULL,
    recorder_id            text        NOT NULL,
    speakers               jsonb       NOT NULL,
    self_criticism_minutes integer,
    content                text,
    conclusions            text,
    resolutions            jsonb       NOT NULL,
    version_time           timestamptz NOT NULL,
    version_id             text        NOT NULL
);

CREATE TABLE task (
    meeting_id  text NOT NULL,
    task_id     text NOT NULL,
    assignee_id text NOT NULL,
    description text NOT NULL,
    due_on      date NOT NULL,
    PRIMARY KEY (meeting_id, task_id)
);

CREATE TABLE task_completion (
    meeting_id   text        NOT NULL,
    task_id      text        NOT NULL,
    completed_on date        NOT NULL,
    version_time timestamptz NOT NULL,
    version_id   text        NOT NULL,
    PRIMARY KEY (meeting_id, task_id)
);

CREATE TABLE document (
    meeting_id    text        NOT NULL,
    origin_source text        NOT NULL,
    origin_id     text        NOT NULL,
    position      integer     NOT NULL,
    published_at  timestamptz NOT NULL,
    title         text        NOT NULL,
    kind          text        NOT NULL,
    url           text,
    PRIMARY KEY (meeting_id, origin_source, origin_id, position)
);

CREATE TABLE assessment (
    meeting_id    text        NOT NULL,
    origin_source text        NOT NULL,
    origin_id     text        NOT NULL,
    assessed_time timestamptz NOT NULL,
    role          text        NOT NULL,
    person_id     text,
    points        jsonb       NOT NULL,
    comment       text,
    PRIMARY KEY (meeting_id, origin_source, origin_id)
);

-- Events waiting for something they refer to (a unit, member, meeting, minutes or task).
CREATE TABLE held_event (
    source      text        NOT NULL,
    event_id    text        NOT NULL,
    type        text        NOT NULL,
    raw         jsonb       NOT NULL,
    waiting_for text        NOT NULL,
    reason      text        NOT NULL,
    field       text,
    route       text        NOT NULL,
    held_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, event_id)
);
CREATE INDEX held_event_waiting ON held_event (waiting_for);
CREATE INDEX held_event_age ON held_event (held_at);

CREATE TABLE rejection (
    rejection_id text PRIMARY KEY,
    source       text        NOT NULL,
    event_id     text        NOT NULL,
    type         text        NOT NULL,
    reason       text        NOT NULL,
    field        text,
    raw          text        NOT NULL,
    route        text        NOT NULL,
    received_at  timestamptz NOT NULL,
    status       text        NOT NULL DEFAULT 'open',
    replayed_at  timestamptz
);
CREATE INDEX rejection_listing ON rejection (received_at DESC);
CREATE INDEX rejection_identity ON rejection (source, event_id);
