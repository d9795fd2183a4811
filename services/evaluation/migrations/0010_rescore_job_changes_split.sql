-- A rescoring job's `changed` counted the meeting scores only, so a job that re-rated a quarter (its meetings'
-- scores unchanged) said 0 (a user trial). It now counts everything the job changed: the meeting scores
-- (`meetings_changed`) and the month, quarter and year rows (`periods_changed`), each also reported on its own.
-- A job written before counted meetings only: that is what its `changed` was.
ALTER TABLE rescore_job ADD COLUMN IF NOT EXISTS meetings_changed integer NOT NULL DEFAULT 0;
ALTER TABLE rescore_job ADD COLUMN IF NOT EXISTS periods_changed integer NOT NULL DEFAULT 0;
UPDATE rescore_job SET meetings_changed = changed WHERE meetings_changed = 0 AND periods_changed = 0 AND changed > 0;
