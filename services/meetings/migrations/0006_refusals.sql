-- Why an event is held or was rejected, machine-readably (shared/refusals.py: {"code", "member_id"?}), beside the
-- English reason, so readers word it by code. Internal to meetings and its RPC: ingest.rejected.v1 is unchanged.
ALTER TABLE held_event ADD COLUMN IF NOT EXISTS refusal jsonb;
ALTER TABLE rejection ADD COLUMN IF NOT EXISTS refusal jsonb;
