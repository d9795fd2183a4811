-- A meeting's schedule snapshots compete with its moves by (time, id), as meetings orders them: the snapshot's id,
-- so that a newer snapshot (a secretary re-sending the meeting with a new time or place) replaces an older move and
-- an older move arriving late does not undo it.
ALTER TABLE meeting ADD COLUMN scheduled_id text;
