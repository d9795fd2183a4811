-- Issue: a scoped integration account sent events under another system's source and took its event ids. The
-- gateway registers each scoped account's sources (its unit's); every route other than that account's may not use
-- them (services/meetings/handlers/ingest.py check_source). Kept here because meetings judges every route.
CREATE TABLE IF NOT EXISTS registered_source (
    source        text PRIMARY KEY,
    unit_id       text        NOT NULL,
    registered_at timestamptz NOT NULL DEFAULT now()
);
