-- A meeting's minutes resubmitted keep the end (ended_at, which moves the late-records deadline) of the latest
-- minutes snapshot by (event time, id), as meetings orders them: the version of the end in force, so that a newer
-- snapshot replaces it and an older one arriving late does not (minutes_submitted_at stays the earliest submission).
-- Minutes stored before this knew only their earliest submission: that is their version's time, so that an older
-- snapshot arriving now does not replace them and any newer one does.
ALTER TABLE meeting ADD COLUMN minutes_time timestamptz;
ALTER TABLE meeting ADD COLUMN minutes_id text;
UPDATE meeting SET minutes_time = minutes_submitted_at WHERE minutes_submitted_at IS NOT NULL AND minutes_time IS NULL;
