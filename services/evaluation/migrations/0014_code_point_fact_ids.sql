-- Snapshots compete by (fact_time, fact_id) with ids in code point order, as Python compares them (CONTRACT.md). A
-- text column compares by its collation, which is the database's default unless it names one: on a server created
-- with vi_VN.UTF-8 or an ICU locale, "Z" sorts after "a" and "a-b" near "ab", so the NEWER guards and the
-- `ORDER BY … fact_id DESC` of a batch chose another winner than the Python that decides beside them (held facts,
-- removals against snapshots) and than the other services. Every fact id carries the "C" collation itself, whatever
-- the database's default (ALTER rebuilds the indexes and primary keys that hold it; the stored values are unchanged).
ALTER TABLE unit ALTER COLUMN fact_id TYPE text COLLATE "C";
ALTER TABLE unit_snapshot ALTER COLUMN fact_id TYPE text COLLATE "C";
ALTER TABLE member ALTER COLUMN fact_id TYPE text COLLATE "C";
ALTER TABLE member_snapshot ALTER COLUMN fact_id TYPE text COLLATE "C";
ALTER TABLE member_removal ALTER COLUMN fact_id TYPE text COLLATE "C";
ALTER TABLE meeting ALTER COLUMN fact_id TYPE text COLLATE "C";
ALTER TABLE meeting_reschedule ALTER COLUMN fact_id TYPE text COLLATE "C";
ALTER TABLE meeting_cancellation ALTER COLUMN fact_id TYPE text COLLATE "C";
ALTER TABLE document ALTER COLUMN fact_id TYPE text COLLATE "C";
ALTER TABLE attendance ALTER COLUMN fact_id TYPE text COLLATE "C";
ALTER TABLE minutes ALTER COLUMN fact_id TYPE text COLLATE "C";
ALTER TABLE approval ALTER COLUMN fact_id TYPE text COLLATE "C";
ALTER TABLE assessment ALTER COLUMN fact_id TYPE text COLLATE "C";
ALTER TABLE task_completion ALTER COLUMN fact_id TYPE text COLLATE "C";
