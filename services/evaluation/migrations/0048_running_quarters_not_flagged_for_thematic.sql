-- A running quarter is neither Poor nor flagged for a thematic meeting it may still hold (DOMAIN.md "Periods": a
-- quarter without a held thematic meeting is Poor once it has ended; domain.periods.evaluate_period): a trial read
-- 2026-Q4 in December flagged `no_thematic_meeting` by the ratings API while its reason was the month ratings and the
-- pages and PDF said a running quarter is not yet rated Kém for it. Stored running quarters drop the flag here; the
-- month close rates the quarter again once it has ended, flagging it then if it still has no thematic meeting.
UPDATE cell_period
SET flags = array_remove(flags, 'no_thematic_meeting')
WHERE period LIKE '%-Q%' AND flags @> ARRAY['in_progress', 'no_thematic_meeting']::text[];
