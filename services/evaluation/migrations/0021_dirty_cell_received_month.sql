-- The month (the service's, YYYY-MM) a dirty cell's facts were received in, or NULL when no fact noted the row (a
-- recheck released at a window's end: services/evaluation/repository/jobs.py release_due_rechecks). A closed month
-- is noted as changed late (period_late_change, migration 0018) only by facts received after it ended: a fact
-- received on 30 November and scored after the month close is no late record, nor is a 48-hour window for final
-- documents running out on 2 December (a deadline passing, no fact: domain.periods.late_change). Rows waiting at
-- this migration count as received in the local month they were noted in.
ALTER TABLE dirty_cell ADD COLUMN IF NOT EXISTS received_month text;

UPDATE dirty_cell SET received_month = to_char(created_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM')
WHERE received_month IS NULL;
