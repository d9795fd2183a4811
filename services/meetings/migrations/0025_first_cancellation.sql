-- A meeting is cancelled from its earliest cancellation on; a later one only restates it (its reason wins, as the
-- snapshot cancel_* columns keep). A move was judged against the latest cancellation, so one issued between two
-- cancellations was taken, or kept when the earlier cancellation arrived after it (domain.first_cancellation).
-- Kept: the version (time, ns, id) of the earliest cancellation known; those stored before know only their latest.
ALTER TABLE meeting
    ADD COLUMN first_cancel_time timestamptz,
    ADD COLUMN first_cancel_ns smallint NOT NULL DEFAULT 0,
    ADD COLUMN first_cancel_id text COLLATE "C";
UPDATE meeting SET first_cancel_time = cancel_time, first_cancel_ns = cancel_ns, first_cancel_id = cancel_id
    WHERE cancel_time IS NOT NULL;
