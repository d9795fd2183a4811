-- What the meeting notices tell members besides time and place (DOMAIN.md: "time, place and content"): the agenda
-- the schedule carries, and for a move the start it replaces and why it moved.
ALTER TABLE meeting
    ADD COLUMN agenda jsonb NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN previous_starts_at timestamptz,
    ADD COLUMN reschedule_reason text;
