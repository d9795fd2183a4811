-- When each period rating arrived here: period_rated_low judges a period past its grace only once its latest rating
-- has gone `settle_minutes` without a newer one (a backfill's or late minutes' ratings pass through interim levels as
-- the facts arrive), and re-planning after a committee changes the rule's settings needs that arrival. NULL for rows
-- stored before this column: their checks keep the grace alone.
ALTER TABLE cell_score ADD COLUMN IF NOT EXISTS received_at timestamptz;
