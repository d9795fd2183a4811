-- The name a web account's page header shows when meetings names no person of it (an officer's account without a
-- person): set with `web-account --name`; without one the header shows the sign-in name.
CREATE TABLE IF NOT EXISTS web_display_name (
    sub        text PRIMARY KEY REFERENCES account (sub) ON DELETE CASCADE,
    name       text NOT NULL CHECK (btrim(name) <> ''),
    updated_at timestamptz NOT NULL DEFAULT now()
);
