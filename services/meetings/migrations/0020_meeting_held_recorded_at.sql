-- When a secretary recorded the meeting as already held (the gateway's meeting.scheduled.v1 carrying the envelope
-- extension `alreadyheld: true`, shared.envelope.HELD_EXTENSION): the time of the earliest such schedule kept, written
-- when it is applied (handlers/apply.py apply_scheduled), NULL for a meeting scheduled beforehand or by an
-- integration. A secretary's documents of such a meeting are not dated before it (domain.check_documents_moment),
-- which was read by parsing the kept schedules' raw envelopes (meeting_start_fact.raw) at each publication.
ALTER TABLE meeting ADD COLUMN IF NOT EXISTS held_recorded_at timestamptz;

-- The meetings recorded before this column: the earliest kept gateway schedule whose envelope says `alreadyheld`
-- JSON true, as the parsing read it (a raw text that is no JSON, or any other value, records nothing).
DO $$
DECLARE
    fact record;
BEGIN
    FOR fact IN
        SELECT meeting_id, version_time, raw FROM meeting_start_fact
        WHERE kind = 'schedule' AND source = 'urn:chibo:gateway' AND position('alreadyheld' IN raw) > 0
    LOOP
        BEGIN
            IF fact.raw::jsonb -> 'alreadyheld' = 'true'::jsonb THEN
                UPDATE meeting SET held_recorded_at = LEAST(held_recorded_at, fact.version_time)
                WHERE meeting_id = fact.meeting_id;
            END IF;
        EXCEPTION WHEN data_exception THEN
            NULL;
        END;
    END LOOP;
END
$$;
