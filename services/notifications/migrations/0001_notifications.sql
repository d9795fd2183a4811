-- The notifications service's own projection of who is who, its schedule, notifications and deliveries.

CREATE TABLE unit (
    id              text PRIMARY KEY,
    name            text NOT NULL,
    kind            text NOT NULL,
    parent_id       text,
    contact_emails  text[] NOT NULL DEFAULT '{}',
    active          boolean NOT NULL DEFAULT true,
    known_since     timestamptz NOT NULL,
    version_time    timestamptz NOT NULL,
    version_id      text NOT NULL
);
CREATE INDEX unit_parent ON unit (parent_id);

CREATE TABLE member (
    id              text PRIMARY KEY,
    full_name       text NOT NULL,
    cell_id         text NOT NULL,
    status          text NOT NULL,
    role            text NOT NULL,
    email           text,
    phone           text,
    exempt          boolean NOT NULL DEFAULT false,
    admitted_on     date,
    removed         boolean NOT NULL DEFAULT false,
    version_time    timestamptz NOT NULL,
    version_id      text NOT NULL
);
CREATE INDEX member_cell ON member (cell_id);

CREATE TABLE monitor (
    person_id       text NOT NULL,
    cell_id         text NOT NULL,
    committee_id    text NOT NULL,
    full_name       text NOT NULL,
    email           text,
    yearly_quota    integer,
    version_time    timestamptz NOT NULL,
    version_id      text NOT NULL,
    PRIMARY KEY (person_id, cell_id)
);
CREATE INDEX monitor_cell ON monitor (cell_id);

CREATE TABLE meeting (
    meeting_id        text PRIMARY KEY,
    cell_id           text,
    kind              text,
    topic             text,
    scheduled_starts_at timestamptz,
    location          text,
    scheduled_time    timestamptz,
    rescheduled_starts_at timestamptz,
    rescheduled_location text,
    rescheduled_time  timestamptz,
    rescheduled_id    text,
    cancelled_time    timestamptz,
    cancel_reason     text,
    minutes_submitted_at timestamptz,
    ended_at          timestamptz,
    roster_time       timestamptz,
    roster_id         text
);
CREATE INDEX meeting_cell ON meeting (cell_id);

CREATE TABLE meeting_document (
    meeting_id    text NOT NULL,
    kind          text NOT NULL,
    published_at  timestamptz NOT NULL,
    PRIMARY KEY (meeting_id, kind)
);

CREATE TABLE meeting_attendance (
    meeting_id    text NOT NULL,
    member_id     text NOT NULL,
    status        text NOT NULL,
    PRIMARY KEY (meeting_id, member_id)
);

CREATE TABLE meeting_guest (
    meeting_id    text NOT NULL,
    person_id     text NOT NULL,
    PRIMARY KEY (meeting_id, person_id)
);

CREATE TABLE cell_score (
    cell_id       text NOT NULL,
    period        text NOT NULL,
    rating        text NOT NULL,
    score         double precision NOT NULL,
    version_time  timestamptz NOT NULL,
    version_id    text NOT NULL,
    PRIMARY KEY (cell_id, period)
);

-- Rule thresholds and lead times set for a committee's subtree (nearest ancestor wins).
CREATE TABLE rule_setting (
    unit_id     text NOT NULL,
    rule        text NOT NULL,
    enabled     boolean,
    params      jsonb NOT NULL DEFAULT '{}',
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (unit_id, rule)
);

-- The durable schedule of time-based rules: one row per (kind, subject), fired once when due.
CREATE TABLE schedule (
    id            bigserial PRIMARY KEY,
    kind          text NOT NULL,
    subject_id    text NOT NULL,
    due_at        timestamptz NOT NULL,
    done_at       timestamptz,
    attempts      integer NOT NULL DEFAULT 0,
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, subject_id)
);
CREATE INDEX schedule_due ON schedule (due_at) WHERE done_at IS NULL;

CREATE TABLE preference (
    recipient_id    text PRIMARY KEY,
    channels        text[] NOT NULL,
    digest          boolean NOT NULL DEFAULT false,
    webhook_url     text,
    webhook_secret  text,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE notification (
    id              uuid PRIMARY KEY,
    rule            text NOT NULL,
    subject_id      text NOT NULL,
    recipient_id    text NOT NULL,
    recipient_kind  text NOT NULL,
    recipient_name  text NOT NULL,
    recipient_emails text[] NOT NULL DEFAULT '{}',
    recipient_phone text,
    period          text NOT NULL,
    cell_id         text,
    title           text NOT NULL,
    body            text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    read_at         timestamptz,
    digest_pending  boolean NOT NULL DEFAULT false,
    digest_id       uuid,
    UNIQUE (rule, subject_id, recipient_id, period)
);
CREATE INDEX notification_inbox ON notification (recipient_id, created_at DESC);
CREATE INDEX notification_digest ON notification (recipient_id) WHERE digest_pending;

CREATE TABLE delivery (
    id               bigserial PRIMARY KEY,
    notification_id  uuid NOT NULL REFERENCES notification (id),
    channel          text NOT NULL,
    addresses        text[] NOT NULL DEFAULT '{}',
    status           text NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    locked_until     timestamptz,
    last_error       text,
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (notification_id, channel)
);
CREATE INDEX delivery_due ON delivery (next_attempt_at) WHERE status = 'pending';
CREATE INDEX delivery_failed ON delivery (id) WHERE status = 'failed';

CREATE TABLE delivery_log (
    id            bigserial PRIMARY KEY,
    delivery_id   bigint NOT NULL REFERENCES delivery (id),
    attempt       integer NOT NULL,
    outcome       text NOT NULL,
    error         text,
    at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX delivery_log_delivery ON delivery_log (delivery_id);
