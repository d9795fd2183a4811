-- Issue: the same (source, id) with other content was answered `duplicate` and lost. The inbox keeps a digest of
-- what it recorded (type and data), so a later copy is a duplicate only when it says the same; a row without one
-- (recorded before this, or by the bulk load) stays a duplicate for any copy.
ALTER TABLE processed_message ADD COLUMN IF NOT EXISTS digest bytea;
