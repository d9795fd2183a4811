-- Issue: a held event's release (and a replay of a rejection) was judged by its account's registered sources now
-- whenever it recorded a scope and an account, though its arrival had been judged by the registry when its call
-- carried no sources list (a scoped call naming its account without one): an integration's adoption held for its
-- roster was refused source_not_registered when the roster arrived. Each held event, rejection and refused attempt
-- now records which rule judged its source: true, its sender's sources list (judged again by that account's sources
-- now); false, the registry (check_source without a list). Existing rows get true: judged again as they were before
-- this migration (the account's sources now when scoped and named, else the registry), which is how every scoped
-- integration account's event through the gateway came (it always sends the account's list).
ALTER TABLE held_event ADD COLUMN IF NOT EXISTS sources_listed boolean NOT NULL DEFAULT true;
ALTER TABLE rejection ADD COLUMN IF NOT EXISTS sources_listed boolean NOT NULL DEFAULT true;
ALTER TABLE rejection_attempt ADD COLUMN IF NOT EXISTS sources_listed boolean NOT NULL DEFAULT true;
