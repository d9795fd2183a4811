-- A change of the organisation tree whose effective time (the event's `time`) falls in a month already closed: a cell
-- set up on 5 December with `time` 1 November counts in November from then on (docs/architecture.md, "When a cell
-- exists"), and its committees' November figures change after the month closed. It is noted in the same table as a
-- late minute (migration 0018), so the committee page, its roll-up's `late_changes` and the summary PDF say it
-- (services/evaluation/domain/periods.py, unit_added_change, unit_closed_change). `kind`: 'result' (a late fact
-- changed the month's result, the figures before and after), 'unit_added' (the cell counts in the month from then on:
-- no figures before), 'unit_closed' (a cell made inactive with an earlier `time` no longer counts in it: no figures
-- after).
ALTER TABLE period_late_change ADD COLUMN IF NOT EXISTS kind text NOT NULL DEFAULT 'result';
ALTER TABLE period_late_change ALTER COLUMN old_rating DROP NOT NULL;
ALTER TABLE period_late_change ALTER COLUMN old_score DROP NOT NULL;
ALTER TABLE period_late_change ALTER COLUMN new_rating DROP NOT NULL;
ALTER TABLE period_late_change ALTER COLUMN new_score DROP NOT NULL;

-- When each unit snapshot was received (the service's clock; NULL for those stored before this release): a cell set up
-- late is noted only for a month its committee showed before the cell's first snapshot arrived (another cell's month
-- stored with a held meeting before then), so a tree and its history loaded together (the demo, a backfill), whose
-- months are scored in whatever order the scoring worker takes the cells, leave no note.
ALTER TABLE unit_snapshot ADD COLUMN IF NOT EXISTS received_at timestamptz;
ALTER TABLE unit_snapshot ALTER COLUMN received_at SET DEFAULT now();
