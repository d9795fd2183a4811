-- Snapshots compete by time, then by id in code points (CONTRACT.md; migration 0013): the kept starts' version ids
-- compare as every other version column does, not by the database's locale.
ALTER TABLE meeting_start_fact ALTER COLUMN version_id TYPE text COLLATE "C";
