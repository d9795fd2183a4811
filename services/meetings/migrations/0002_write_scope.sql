-- Issue 11, fault 5: an integration account writes only within its unit's subtree. The scope an event came
-- with stays with it while it is held (judged again on release) and with its rejection (a replay keeps it).
ALTER TABLE held_event ADD COLUMN IF NOT EXISTS scope text;
ALTER TABLE rejection ADD COLUMN IF NOT EXISTS scope text;
