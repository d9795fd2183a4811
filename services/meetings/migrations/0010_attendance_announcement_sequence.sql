-- How many member.attendance.updated.v1 meetings published of each member: the next announcement carries this
-- number plus one (its `sequence`), so notifications orders announcements of one event time as they were published
-- (a backfill sends every fact at one time, and the ids of their causes sort as text, not as published).
-- 0 for the members announced before the numbering: their next announcement is number 1, after every unnumbered one.
ALTER TABLE attendance_figures ADD COLUMN IF NOT EXISTS announced_sequence bigint NOT NULL DEFAULT 0;
