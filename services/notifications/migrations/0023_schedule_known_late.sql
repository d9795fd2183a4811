-- When a fact (a move of a known meeting, a corrected start, minutes giving its end, a settings change) set a job's
-- due time to a moment already past while it had been ahead: the late-records grace of a meeting first known late
-- (schedule.created_at) counts from here for a meeting already known whose deadline a change put in the past, so its
-- secretary is not mailed the second the move is known. NULL while the deadline is ahead, or was never moved past.
ALTER TABLE schedule ADD COLUMN IF NOT EXISTS known_late_at timestamptz;
