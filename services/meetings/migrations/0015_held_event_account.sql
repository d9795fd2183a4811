-- Issue: a person's refused command is stored closed as answered on its form (0014), but it was recorded as closed
-- by the gateway's source (urn:chibo:gateway), not by the account that sent it. The gateway names the authenticated
-- account with each ingest call; a held event keeps it too, so the rejection made when its hold runs out or is dropped
-- or is judged again names that account. NULL: held before, or sent by no named account (AMQP).
ALTER TABLE held_event ADD COLUMN IF NOT EXISTS account text;
