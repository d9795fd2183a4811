-- Why a cell's quarter or year is rated below its score's band (DOMAIN.md "Periods": an ended quarter without a
-- thematic meeting is Poor whatever its score; the month-by-month rule rates a period from its months, its score is
-- only their mean): officers read "Kém" at 100 or "Trung bình" at 85 with no word why in the committee's pages,
-- rankings and CSV. evaluation keeps the reason it rated the period with (domain.periods.RatingReason, NULL when the
-- score's band is the reason). The quarters already Poor for their missing thematic meeting are filled in here; a
-- period lowered by its months gets its reason when it is rated again (a late fact, the month close, a rescoring job).
ALTER TABLE cell_period ADD COLUMN IF NOT EXISTS rating_reason jsonb;

UPDATE cell_period
SET rating_reason = '{"code": "no_thematic_meeting", "band": "poor"}'::jsonb
WHERE rating_reason IS NULL AND period LIKE '%-Q%' AND rating = 'poor'
  AND flags @> ARRAY['no_thematic_meeting']::text[] AND NOT flags @> ARRAY['in_progress']::text[];
