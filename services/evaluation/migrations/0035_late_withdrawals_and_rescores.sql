-- Every change of a closed month officers were shown is noted (migration 0018's period_late_change), not only a
-- fact recorded late: `kind` 'withdrawn' (a held meeting's score withdrawn after the month closed, cancelled or not
-- held; `meeting_id` the withdrawn meeting) and 'rescored' (an operator's re-score job rated the month again under
-- the framework in force, named here: no fact came late, so the pages say "chấm lại", not "ghi nhận muộn").
-- services/evaluation/domain/periods.py late_change, rescored_change.
ALTER TABLE period_late_change ADD COLUMN IF NOT EXISTS framework_id text;
ALTER TABLE period_late_change ADD COLUMN IF NOT EXISTS framework_version text;
