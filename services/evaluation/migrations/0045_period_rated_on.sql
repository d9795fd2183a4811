-- The day (the service's, Vietnam's calendar) a period was first rated, beside the month (`rated_from`): a month first
-- rated after it ended (a history loaded later, the demo province of `make up`) was still shown from that day on, so a
-- fact received on a later day that changes it is a late change (domain.periods.late_change; a trial's meeting of 30
-- November recorded on 6 December after a history loaded on 1 December went unsaid). Rows rated before this have no
-- day: their changes are judged by the month as before.
ALTER TABLE period_rated_from ADD COLUMN IF NOT EXISTS rated_on date;
ALTER TABLE cell_period ADD COLUMN IF NOT EXISTS rated_on date;
