-- Issue: a scoped integration account sent events under another system's source and took its event ids. A scoped
-- account may use only the sources registered with it (none: it may send nothing until one is); no other sender may
-- use them (meetings judges that, services/meetings/handlers/ingest.py check_source).
ALTER TABLE account ADD COLUMN IF NOT EXISTS sources text[] NOT NULL DEFAULT '{}';
