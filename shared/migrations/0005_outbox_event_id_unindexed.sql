-- The outbox's UNIQUE (event_id) index is written by every outbox insert and read by nothing: the relay reads by id and
-- the publish and park times, operators by id, and no statement looks a row up by its event id or conflicts on it
-- (issue 12, province-year at scale 0.03: 0 scans in a run while 42,000 rows went into it; 5 MB of meetings' 7.9 MB of
-- outbox indexes). Every id it held is a fresh random or time-ordered UUID (shared.envelope.new_id, the bulk path's
-- own), so it guarded nothing, and its random insert positions dirtied a page of it per row: a full-page image each
-- after a checkpoint. Consumers deduplicate by (source, id) in their inbox whatever the outbox holds.
ALTER TABLE outbox DROP CONSTRAINT IF EXISTS outbox_event_id_key;
