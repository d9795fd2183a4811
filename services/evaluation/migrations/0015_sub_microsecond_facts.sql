-- Snapshots compete by `time`, then by id (CONTRACT.md), and RFC 3339 gives a time up to nine fraction digits; a
-- timestamptz keeps six, so two facts 100 ns apart tied and the higher id won instead of the later time. Each stored
-- fact time gets the nanoseconds below its microsecond (0-999, shared.envelope.sub_microsecond) beside it, and the
-- guards and orders compare (fact_time, fact_ns, fact_id). The facts stored before keep 0: their digits below the
-- microsecond were never kept. (A cancellation is final, its first stays: no order; documents order by their own
-- published_at.)
ALTER TABLE unit ADD COLUMN IF NOT EXISTS fact_ns smallint NOT NULL DEFAULT 0;
ALTER TABLE unit_snapshot ADD COLUMN IF NOT EXISTS fact_ns smallint NOT NULL DEFAULT 0;
ALTER TABLE member ADD COLUMN IF NOT EXISTS fact_ns smallint NOT NULL DEFAULT 0;
ALTER TABLE member_snapshot ADD COLUMN IF NOT EXISTS fact_ns smallint NOT NULL DEFAULT 0;
ALTER TABLE member_removal ADD COLUMN IF NOT EXISTS fact_ns smallint NOT NULL DEFAULT 0;
ALTER TABLE meeting ADD COLUMN IF NOT EXISTS fact_ns smallint NOT NULL DEFAULT 0;
ALTER TABLE meeting_reschedule ADD COLUMN IF NOT EXISTS fact_ns smallint NOT NULL DEFAULT 0;
ALTER TABLE attendance ADD COLUMN IF NOT EXISTS fact_ns smallint NOT NULL DEFAULT 0;
ALTER TABLE minutes ADD COLUMN IF NOT EXISTS fact_ns smallint NOT NULL DEFAULT 0;
ALTER TABLE approval ADD COLUMN IF NOT EXISTS fact_ns smallint NOT NULL DEFAULT 0;
ALTER TABLE assessment ADD COLUMN IF NOT EXISTS fact_ns smallint NOT NULL DEFAULT 0;
ALTER TABLE task_completion ADD COLUMN IF NOT EXISTS fact_ns smallint NOT NULL DEFAULT 0;
