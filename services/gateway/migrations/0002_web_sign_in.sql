-- The web app's sign-in: a password per local account (argon2id hash) and server-side sessions,
-- so signing out or disabling the account ends a session at once.
CREATE TABLE IF NOT EXISTS web_password (
    sub         text PRIMARY KEY REFERENCES account (sub) ON DELETE CASCADE,
    hash        text        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS web_session (
    id_hash     text PRIMARY KEY,
    sub         text        NOT NULL REFERENCES account (sub) ON DELETE CASCADE,
    csrf        text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS web_session_sub ON web_session (sub);
CREATE INDEX IF NOT EXISTS web_session_expires ON web_session (expires_at);
