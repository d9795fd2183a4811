-- A running quarter or year leaves out its running month until the cell holds that month's regular meeting
-- (docs/architecture.md, in-progress periods). Before this release it kept the running month when that was the only
-- month of the period so far (the first month of a quarter or year, or of a cell set up this month), so such a
-- period was Poor at 0 from its first day and every roll-up above it counted it so (a user trial: a cell created on
-- 1 December read 2026-Q4 and 2026 "0;Kém" among the province's weakest cells). Such a period is not rated yet now:
-- no row. The rows stored under the old rule: a quarter or year in progress with one month counted and no regular
-- meeting held, whose first month the cell existed in is the current month (Vietnam time). Dropping them takes their
-- roll-up sums with them (the cell_period triggers); the month close rates those periods once the month ends.
DELETE FROM cell_period p
USING cell_period q
LEFT JOIN cell_span s ON s.cell_id = q.cell_id
WHERE p.cell_id = q.cell_id AND p.period = q.period
  AND (q.period LIKE '%-Q_' OR length(q.period) = 4)
  AND 'in_progress' = ANY (q.flags)
  AND q.months_counted = 1
  AND q.months_with_regular = 0
  AND greatest(
        CASE WHEN q.period LIKE '%-Q_'
             THEN left(q.period, 4) || '-' || lpad(((right(q.period, 1)::int - 1) * 3 + 1)::text, 2, '0')
             ELSE q.period || '-01' END,
        coalesce(s.first_month, '')
      ) = to_char((now() AT TIME ZONE 'UTC') + interval '7 hours', 'YYYY-MM');
