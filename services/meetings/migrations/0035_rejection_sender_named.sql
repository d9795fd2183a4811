-- Issue: a source_not_registered rejection stored before 0034 has no sender, so its replay was refused forever, even
-- once the account that sent it held the source. An operator may name that account with the replay (only for a
-- rejection that records none); the replay is judged by that account's sources now and, when it is not refused, the
-- rejection records the account named, who named it and when (the gateway's audit log keeps every naming too).
-- NULL: a sender recorded as it came (or none named).
ALTER TABLE rejection ADD COLUMN IF NOT EXISTS sender_named_by text;
ALTER TABLE rejection ADD COLUMN IF NOT EXISTS sender_named_at timestamptz;
