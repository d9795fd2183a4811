-- Quarters and years rated below their score's band by the month-by-month rule before migration 0019 have no stored
-- `rating_reason` (0019 filled in only the missing thematic meeting, which SQL can tell from the flags): until a fact,
-- the month close or a rescoring job rated them again, officers read "Kém" at 85 with no word why. The reason needs
-- the framework's rules and bands and the months' ratings (domain.periods.months_reason), so the scoring worker
-- gives it, as 0009 had it re-rate: each cell with such a row is noted dirty from the first month of its earliest
-- one, and one scoring round rescores its meetings since then from the stored facts and rates their periods again
-- (a row whose only change is its reason is rewritten, not republished; no fact noted it, `received_month` NULL, so
-- no month is said to have changed late). A Good row is never below its band and a row with a reason has its own:
-- neither is noted. Rows rated since 0019 without a reason are at their band; noting them again changes nothing.
INSERT INTO dirty_cell (cell_id, since, received_month)
SELECT cell_id, (min(period_first_month(period)) || '-01 00:00:00+07')::timestamptz, NULL
FROM cell_period
WHERE (period LIKE '%-Q%' OR length(period) = 4) AND rating <> 'good' AND rating_reason IS NULL
GROUP BY cell_id;
