-- An alert about a meeting that was cancelled after it was raised (an unexcused absence on its roster, its low
-- rating) stays in the inbox, marked void from the cancellation on: the mail already sent cannot be recalled, but
-- the inbox says it no longer holds. The absences are found by their meeting (their period).
ALTER TABLE notification ADD COLUMN void_at timestamptz;
CREATE INDEX IF NOT EXISTS notification_absence_meeting ON notification (period) WHERE rule = 'unexcused_absence';
