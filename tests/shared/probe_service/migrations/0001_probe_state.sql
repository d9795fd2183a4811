CREATE TABLE IF NOT EXISTS probe_state (id text PRIMARY KEY, value integer NOT NULL);
