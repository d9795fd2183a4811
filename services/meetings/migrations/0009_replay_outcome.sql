-- How a replayed rejection's event was judged at its replay (accepted, held, duplicate), so a second replay is
-- refused saying what happened to it rather than "accepted" for an event that was held. NULL: replayed before this
-- column existed (the outcome was not kept).
ALTER TABLE rejection ADD COLUMN IF NOT EXISTS replay_outcome text;
