-- A task is named within its meeting (minutes' `tasks[].task_id`, meetings' `task:<meeting>:<task>`): completions
-- were keyed by task_id alone, so two meetings' tasks named "k1" overwrote each other's completion and moved the next
-- meetings' scores by tens of points. Existing rows are unique per task_id, so per (meeting_id, task_id) too.
ALTER TABLE task_completion DROP CONSTRAINT IF EXISTS task_completion_pkey;
ALTER TABLE task_completion ADD PRIMARY KEY (meeting_id, task_id);
DROP INDEX IF EXISTS task_completion_meeting;
