-- A year rated above Poor whose ended quarters are Poor for their missing thematic meeting now says so
-- (domain.periods.RatingReason `quarters_without_thematic`: DOMAIN.md "Periods" rates a year from its months only, so
-- the quarters' Kém does not lower it): a trial read Quý IV/2025 Kém and Năm 2025 Tốt over the same one month, the
-- year's `rating_reason` NULL. The reason needs the framework's bands, so the scoring worker gives it, as 0023 had it:
-- each cell with such a year is noted dirty from the first month of its earliest one, and one scoring round rates its
-- periods again (a row whose only change is its reason is rewritten, not republished; `received_month` NULL, so no
-- month is said to have changed late). A year with a reason keeps its own and a Poor year needs none: neither is noted.
INSERT INTO dirty_cell (cell_id, since, received_month)
SELECT year.cell_id, (min(period_first_month(year.period)) || '-01 00:00:00+07')::timestamptz, NULL
FROM cell_period AS year
WHERE length(year.period) = 4 AND year.rating <> 'poor' AND year.rating_reason IS NULL
  AND EXISTS (
    SELECT 1 FROM cell_period AS quarter
    WHERE quarter.cell_id = year.cell_id AND quarter.period LIKE year.period || '-Q%' AND quarter.rating = 'poor'
      AND quarter.flags @> ARRAY['no_thematic_meeting']::text[] AND NOT quarter.flags @> ARRAY['in_progress']::text[]
  )
GROUP BY year.cell_id;
