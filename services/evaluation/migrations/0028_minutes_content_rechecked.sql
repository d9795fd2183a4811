-- Minutes keys kept while evaluation read minutes in part (before it read them in full) were computed from part of
-- them, and differ from meetings' keys for the same text: an adoption meetings kept was voided here, or one it voided
-- kept. The start's backfill (services/evaluation/content_keys.py recheck) computes again, once, the key of every
-- stored version it holds in full and corrects those that differ. Kept: whether a key was checked so (every key
-- existing now is not; every key written from now on is computed from the minutes in full).
ALTER TABLE minutes_content ADD COLUMN IF NOT EXISTS rechecked boolean NOT NULL DEFAULT false;
ALTER TABLE minutes_content ALTER COLUMN rechecked SET DEFAULT true;
CREATE INDEX IF NOT EXISTS minutes_content_unchecked ON minutes_content (meeting_id) WHERE NOT rechecked;
