-- member_figures in the order meetings published the announcements of one event time: (event time, the member's
-- announcement number, cause id, event id). A backfill sends every fact at one time, and the cause ids (minutes
-- X-mt10-n before X-mt2-n as text) said nothing of the order, so one run of absences seemed to fall and alert again.
-- 0 for the figures announced before meetings numbered them (member.attendance.updated.v1 without `sequence`): they
-- were published before every numbered one, and among themselves keep the order they had (cause, id).
-- Not in the primary key: a re-delivered announcement is the same row whatever it carries.
ALTER TABLE member_figures ADD COLUMN IF NOT EXISTS sequence bigint NOT NULL DEFAULT 0;
