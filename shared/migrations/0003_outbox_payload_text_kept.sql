-- The outbox keeps each CloudEvent as the exact compact text its service wrote (json, not jsonb). jsonb gave it back
-- re-spaced (`{"id": "…", "type": …}`), so every consumer read every relayed batch the slow way: the compact form
-- reads at native speed (shared/reading.py read_compact), the spaced one through json.loads with hooks and a walk.
-- json still refuses invalid JSON on insert, and `->`/`->>` read it as before.
ALTER TABLE outbox
    ALTER COLUMN payload TYPE json USING payload::json,
    ALTER COLUMN trace_context TYPE json USING trace_context::json;
