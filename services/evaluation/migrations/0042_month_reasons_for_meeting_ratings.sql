-- A month rated as its meeting, whose framework's gates lowered that meeting below its score's band, says so since
-- h358 (domain.periods.RatingReason `meeting_rating`), and so does a quarter or year with that one month counted (a
-- cell set up in the period's last months): a month rated before it has `rating_reason` NULL, so the report's "Lý do
-- xếp loại" and the pages said nothing for it until a fact, the month close or a re-score rated it again (a closed
-- month never is). The reason needs the framework's bands, so the scoring worker gives it, as 0023 and 0041 had it:
-- each cell with such a row (one month counted, its regular meeting held, rated below Good, no reason) is noted dirty
-- from the first month of its earliest one, and one scoring round rates its periods again (a row whose only change is
-- its reason is rewritten, not republished, so no alert or mail follows; `received_month` NULL, so no month is said
-- to have changed late). A Good row is never below its band and a row with a reason has its own: neither is noted; a
-- row at its band (a meeting Poor or Trung bình by its score) is rated again to the same row.
INSERT INTO dirty_cell (cell_id, since, received_month)
SELECT cell_id, (min(period_first_month(period)) || '-01 00:00:00+07')::timestamptz, NULL
FROM cell_period
WHERE months_counted = 1 AND months_with_regular = 1 AND rating <> 'good' AND rating_reason IS NULL
GROUP BY cell_id;
