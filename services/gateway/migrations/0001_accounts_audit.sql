-- Local accounts (tokens are issued for them), the signing secret, and the audit log.
CREATE TABLE IF NOT EXISTS account (
    sub         text PRIMARY KEY,
    role        text        NOT NULL CHECK (role IN ('member', 'secretary', 'committee_officer', 'integration', 'operator', 'admin')),
    unit_id     text,
    person_id   text,
    active      boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS signing_secret (
    id          smallint PRIMARY KEY CHECK (id = 1),
    secret      text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    sub         text,
    role        text,
    method      text        NOT NULL,
    path        text        NOT NULL,
    status      integer     NOT NULL,
    client_ip   text,
    detail      jsonb
);
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at DESC);
CREATE INDEX IF NOT EXISTS audit_log_sub ON audit_log (sub, at DESC);
