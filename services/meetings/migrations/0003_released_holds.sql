-- Issue 12: no global ingest lock. A held event whose referent arrives is settled in the referent's transaction
-- when its own keys are free; otherwise it is marked released there (under the referent's lock, so the mark
-- cannot be missed) and settled right after commit, or by the sweep if that process stopped first.
ALTER TABLE held_event ADD COLUMN IF NOT EXISTS released_at timestamptz;
CREATE INDEX IF NOT EXISTS held_event_released ON held_event (released_at) WHERE released_at IS NOT NULL;
