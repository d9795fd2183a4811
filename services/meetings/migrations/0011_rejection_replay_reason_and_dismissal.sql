-- Issue: a replay rejected again overwrote the rejection's reason and code, so the real cause was lost (a trial's
-- "meeting not started" read "source not registered" after one replay). The original reason, field and code stay;
-- the last failed replay's own reason, field, code and moment are kept beside them.
ALTER TABLE rejection ADD COLUMN IF NOT EXISTS last_replay_reason text;
ALTER TABLE rejection ADD COLUMN IF NOT EXISTS last_replay_field text;
ALTER TABLE rejection ADD COLUMN IF NOT EXISTS last_replay_refusal jsonb;
ALTER TABLE rejection ADD COLUMN IF NOT EXISTS last_replay_at timestamptz;
-- Issue: a rejection could only be replayed, so garbage and dropped held events stayed open for ever. An operator
-- dismisses one (status 'dismissed') saying why; who, when and why are kept.
ALTER TABLE rejection ADD COLUMN IF NOT EXISTS dismissed_at timestamptz;
ALTER TABLE rejection ADD COLUMN IF NOT EXISTS dismissed_by text;
ALTER TABLE rejection ADD COLUMN IF NOT EXISTS dismissal_reason text;
