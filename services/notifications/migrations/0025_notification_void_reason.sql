-- Why a void notice no longer holds: NULL for one whose meeting was cancelled or whose deadline a later fact moved
-- ahead (the inbox says so by its rule), 'corrected' for one a corrected record shows untrue (an unexcused absence
-- a corrected roster excuses): the inbox keeps what was sent, labelled corrected.
ALTER TABLE notification ADD COLUMN IF NOT EXISTS void_reason text;
