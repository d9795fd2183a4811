-- Issue: an operator's replay of a scoped account's source_not_registered rejection was judged by every source
-- registered to the account's unit, so A's event under B's source (B in the same unit) was accepted and took B's event
-- id; an event B sent under a source registered later to A was accepted alike. The registry now names the account
-- each source is registered to, and a rejection (and each refused attempt) the account that sent its copy, so a
-- replay is judged by that account's sources as they are now. NULL: registered or refused before (a replay of such a
-- source_not_registered rejection is refused again: its sender is unknown).
ALTER TABLE registered_source ADD COLUMN IF NOT EXISTS account text;
ALTER TABLE rejection ADD COLUMN IF NOT EXISTS sender text;
ALTER TABLE rejection_attempt ADD COLUMN IF NOT EXISTS sender text;
