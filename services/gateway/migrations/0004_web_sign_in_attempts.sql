-- The web sign-in throttle's attempts, shared by every gateway replica (a throttle in each process's memory let
-- N replicas take N times the guesses). An attempt is counted from the moment its password starts being checked;
-- a refused one stays `failed` for the limit's window, a right one or a broken check is deleted.
CREATE TABLE IF NOT EXISTS web_sign_in_attempt (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind          text        NOT NULL CHECK (kind IN ('account', 'address')),
    key           text        NOT NULL,
    attempted_at  timestamptz NOT NULL DEFAULT now(),
    failed        boolean     NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS web_sign_in_attempt_key ON web_sign_in_attempt (kind, key, attempted_at);
CREATE INDEX IF NOT EXISTS web_sign_in_attempt_at ON web_sign_in_attempt (attempted_at);
