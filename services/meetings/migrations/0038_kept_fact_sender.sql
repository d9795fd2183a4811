-- Issue: a roster rejected (or held) by a later backdated member move (route undone-by-member), and a schedule or move
-- rejected when later minutes or a cancellation undo it, were stored with no sender (NULL), though every other
-- rejection keeps the account that sent its event (0034) and a replay is judged as that account: the roster's
-- history and the start facts kept nothing of who sent them. Each now keeps its sender (the API account, or the
-- broker user of its AMQP message) for the rejection a later fact makes of it. NULL: kept before this migration, or
-- sent with no sender known (a rejection made of it has none, as before).
ALTER TABLE roster_history ADD COLUMN IF NOT EXISTS sender text;
ALTER TABLE meeting_start_fact ADD COLUMN IF NOT EXISTS sender text;
