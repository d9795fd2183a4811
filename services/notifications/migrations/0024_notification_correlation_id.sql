-- The correlation id of the event whose handling decided the notification (CONTRACT.md `correlationid`; the run's
-- for a run of events decided at once), so its deliveries, their notification.delivered.v1 / notification.failed.v1
-- and the sender's log lines name it: operators follow one event through every service by it
-- (docs/operations.md). NULL for notices no event decided (a timed rule's sweep, a digest).
ALTER TABLE notification ADD COLUMN IF NOT EXISTS correlation_id text;
