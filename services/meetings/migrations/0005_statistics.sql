-- A member version's document is read whole by its key, never filtered, joined or sorted on: no planner statistics
-- for it. The maintenance (shared/statistics.py) and bulk-load analyze member_version as it grows; its documents
-- were most of that cost (0.5-0.64 s per analyze during month-start at scale 0.1).
ALTER TABLE member_version ALTER COLUMN data SET STATISTICS 0;
