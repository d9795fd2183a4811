-- A dirty-cell note whose scoring fails is retried later (doubling up to 5 minutes), not at the head of every
-- round: one cell that cannot be scored (bad stored data, a bug) must not hold up the others.
ALTER TABLE dirty_cell ADD COLUMN IF NOT EXISTS attempts integer NOT NULL DEFAULT 0;
ALTER TABLE dirty_cell ADD COLUMN IF NOT EXISTS last_error text;
ALTER TABLE dirty_cell ADD COLUMN IF NOT EXISTS not_before timestamptz;
