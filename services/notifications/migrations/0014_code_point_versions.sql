-- Snapshots compete by (version_time, version_id) with ids in code point order, as Python compares them and as
-- member_figures already declares (0005). A text column compares by its collation, which is the database's default
-- unless it names one: on a server created with vi_VN.UTF-8 or an ICU locale, "Z" sorts after "a" and "a-b" near
-- "ab", so the NEWER guards and the batches' `ORDER BY … version_id DESC` chose another winner than the Python that
-- decides beside them and than meetings and evaluation. Every id that orders snapshots carries the "C" collation
-- itself, whatever the database's default (ALTER rebuilds the indexes that hold it; the stored values are unchanged).
ALTER TABLE unit ALTER COLUMN version_id TYPE text COLLATE "C";
ALTER TABLE member ALTER COLUMN version_id TYPE text COLLATE "C";
ALTER TABLE monitor ALTER COLUMN version_id TYPE text COLLATE "C";
ALTER TABLE cell_score ALTER COLUMN version_id TYPE text COLLATE "C";
ALTER TABLE meeting_score ALTER COLUMN version_id TYPE text COLLATE "C";
ALTER TABLE meeting
    ALTER COLUMN scheduled_id TYPE text COLLATE "C",
    ALTER COLUMN rescheduled_id TYPE text COLLATE "C",
    ALTER COLUMN cancel_id TYPE text COLLATE "C",
    ALTER COLUMN minutes_id TYPE text COLLATE "C",
    ALTER COLUMN roster_id TYPE text COLLATE "C";
