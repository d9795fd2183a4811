-- A meeting cancelled twice keeps the latest cancellation's reason, by (event time, id) as meetings orders them
-- (its cancel_time, cancel_id): the id of the cancellation in force, so that a later one replaces it and an older one
-- arriving late does not.
ALTER TABLE meeting ADD COLUMN cancel_id text;
