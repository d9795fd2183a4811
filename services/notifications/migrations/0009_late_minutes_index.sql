-- The committee page's meetings with late minutes (list_late_minutes): each cell of the subtree reads its meetings
-- not cancelled that start in the period through this index, never all its meetings.
CREATE INDEX IF NOT EXISTS meeting_cell_start ON meeting (cell_id, (COALESCE(rescheduled_starts_at, scheduled_starts_at)))
    WHERE cancelled_time IS NULL;
