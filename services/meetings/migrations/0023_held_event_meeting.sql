-- Issue: a secretary was not told that another system's adoption of the minutes, sent before the attendance, was
-- waiting for it (held on roster:<meeting>): only the operator's page listed it. A meeting's read now lists the facts
-- held on what its secretary records (queries.waiting_facts); they are found by the meeting their data names.
CREATE INDEX IF NOT EXISTS held_event_meeting ON held_event ((raw -> 'data' ->> 'meeting_id')) WHERE released_at IS NULL;
