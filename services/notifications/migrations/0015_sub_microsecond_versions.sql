-- Snapshots compete by `time`, then by id (CONTRACT.md), and RFC 3339 gives a time up to nine fraction digits; a
-- timestamptz keeps six, so two snapshots 100 ns apart tied and the higher id won instead of the later time. Each
-- stored version time gets the nanoseconds below its microsecond (0-999, shared.envelope.sub_microsecond) beside it,
-- and the guards and orders compare (time, ns, id). The versions stored before keep 0: their digits below the
-- microsecond were never kept. The scores are evaluation's own events, timed by its clock to the microsecond: their
-- ns stays 0, and the guards they share compare it all the same.
ALTER TABLE unit ADD COLUMN IF NOT EXISTS version_ns smallint NOT NULL DEFAULT 0;
ALTER TABLE member ADD COLUMN IF NOT EXISTS version_ns smallint NOT NULL DEFAULT 0;
ALTER TABLE monitor ADD COLUMN IF NOT EXISTS version_ns smallint NOT NULL DEFAULT 0;
ALTER TABLE cell_score ADD COLUMN IF NOT EXISTS version_ns smallint NOT NULL DEFAULT 0;
ALTER TABLE meeting_score ADD COLUMN IF NOT EXISTS version_ns smallint NOT NULL DEFAULT 0;
ALTER TABLE meeting
    ADD COLUMN IF NOT EXISTS scheduled_ns smallint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS rescheduled_ns smallint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS cancelled_ns smallint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS minutes_ns smallint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS roster_ns smallint NOT NULL DEFAULT 0;
-- a member's attendance announcements carry the time of the fact that caused them (meetings re-publishes it whole)
ALTER TABLE member_figures ADD COLUMN IF NOT EXISTS version_ns smallint NOT NULL DEFAULT 0;
