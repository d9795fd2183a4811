-- Snapshots compete by (time, id) with ids in code point order, as Python compares them (CONTRACT.md). A text
-- column compares by its collation, which is the database's default unless it names one: on a server created with
-- vi_VN.UTF-8 or an ICU locale, "Z" sorts after "a" and "a-b" near "ab", so the statements' guards
-- (`(version_time, version_id) < (EXCLUDED.version_time, EXCLUDED.version_id)`, `ORDER BY … version_id DESC`) chose
-- another winner than the Python that decides beside them and than the other services. Every id that orders
-- snapshots carries the "C" collation itself, whatever the database's default (ALTER rebuilds the indexes and
-- primary keys that hold it; the stored values are unchanged).
ALTER TABLE org_unit ALTER COLUMN version_id TYPE text COLLATE "C";
ALTER TABLE member_version ALTER COLUMN version_id TYPE text COLLATE "C";
ALTER TABLE member ALTER COLUMN version_id TYPE text COLLATE "C";
ALTER TABLE monitor_assignment ALTER COLUMN version_id TYPE text COLLATE "C";
ALTER TABLE meeting
    ALTER COLUMN schedule_id TYPE text COLLATE "C",
    ALTER COLUMN start_id TYPE text COLLATE "C",
    ALTER COLUMN location_id TYPE text COLLATE "C",
    ALTER COLUMN cancel_id TYPE text COLLATE "C",
    ALTER COLUMN approval_id TYPE text COLLATE "C";
ALTER TABLE roster ALTER COLUMN version_id TYPE text COLLATE "C";
ALTER TABLE minutes ALTER COLUMN version_id TYPE text COLLATE "C";
ALTER TABLE task_completion ALTER COLUMN version_id TYPE text COLLATE "C";
-- documents and assessments accumulate; their events' ids order them after their time, as evaluation orders its own
ALTER TABLE document ALTER COLUMN origin_id TYPE text COLLATE "C";
ALTER TABLE assessment ALTER COLUMN origin_id TYPE text COLLATE "C";
