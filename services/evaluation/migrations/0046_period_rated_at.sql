-- The moment a period was first rated (`rated_at`, beside `rated_from` and `rated_on`) and, on each note of touched
-- cells, the moment its latest fact happened (`recorded_at`: the facts' own `time`). A month first rated after it
-- ended (a history loaded later) is shown from that moment: a fact that happened after it and changes the month is a
-- late change, on the load's own day too (a meeting of 30 November recorded hours after the load rated November went
-- unsaid), while the load's own facts, which all happened before it ran, leave none in whatever batch, order or hour
-- they arrive (domain.periods.late_change). Rows rated before this keep the day (0045) or the month rule.
ALTER TABLE period_rated_from ADD COLUMN IF NOT EXISTS rated_at timestamptz;
ALTER TABLE cell_period ADD COLUMN IF NOT EXISTS rated_at timestamptz;
ALTER TABLE dirty_cell ADD COLUMN IF NOT EXISTS recorded_at timestamptz;
