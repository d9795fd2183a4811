-- When a stored period first held a meeting (regular or any other: `regular_held` > 0 or `meetings_held` > 0), kept
-- while it still holds one, NULL while it holds none. A cell set up late into a closed month is noted among its
-- committees' late changes only when another cell's month was shown before the cell's first snapshot arrived
-- (migration 0030, ResultRepository.shown_months); that was judged on `computed_at`, which moves whenever the row is
-- recomputed, so a sibling month recomputed between the new cell's snapshot and its scoring (its own late minutes, a
-- framework change) no longer counted as shown and the new cell went unnoted. Rows stored before this release take
-- `computed_at`, the latest moment known to have held one.
ALTER TABLE cell_period ADD COLUMN IF NOT EXISTS held_since timestamptz;
UPDATE cell_period SET held_since = computed_at
WHERE held_since IS NULL AND (regular_held > 0 OR coalesce(meetings_held, 0) > 0);
