-- A cancelled meeting that has minutes keeps its month in its cell's span (docs/architecture.md, "When a cell
-- exists"): its cancellation withdraws its score, not the month the cell met in. Before this release, cancelling the
-- only meeting of a closed month of a cell whose first unit snapshot came later moved the span past that month; its
-- month, quarter and year rows were deleted and nothing was published (a user trial: listeners kept "2026-11 average
-- 66.67").
--
-- The span is read for every cell a scoring round or a month close refreshes, so a cell's cancelled meetings must
-- be found without probing each of its meetings (a cell has 12 a year; 200 cells of 60 meetings took 80-150 ms that
-- way against 2-4 ms for the rest of the read): `meeting.cancelled` mirrors meeting_cancellation, kept by triggers
-- whichever of the schedule and the cancellation is stored first (both take the meeting's lock; a cancellation is
-- final), and a partial index finds a cell's cancelled meetings.
ALTER TABLE meeting ADD COLUMN IF NOT EXISTS cancelled boolean NOT NULL DEFAULT false;
UPDATE meeting m SET cancelled = true
WHERE NOT m.cancelled AND EXISTS (SELECT 1 FROM meeting_cancellation c WHERE c.meeting_id = m.meeting_id);
CREATE INDEX IF NOT EXISTS meeting_cancelled_by_cell ON meeting (cell_id) WHERE cancelled;

CREATE OR REPLACE FUNCTION meeting_scheduled_cancelled() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.cancelled := EXISTS (SELECT 1 FROM meeting_cancellation c WHERE c.meeting_id = NEW.meeting_id);
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS meeting_cancelled_on_insert ON meeting;
CREATE TRIGGER meeting_cancelled_on_insert BEFORE INSERT ON meeting
    FOR EACH ROW EXECUTE FUNCTION meeting_scheduled_cancelled();

CREATE OR REPLACE FUNCTION meeting_cancellation_marks_meeting() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE meeting SET cancelled = true WHERE meeting_id = NEW.meeting_id AND NOT cancelled;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS meeting_cancellation_marks ON meeting_cancellation;
CREATE TRIGGER meeting_cancellation_marks AFTER INSERT ON meeting_cancellation
    FOR EACH ROW EXECUTE FUNCTION meeting_cancellation_marks_meeting();

-- Periods are only recomputed when a fact touches their cell, so every cell with a cancelled meeting that has
-- minutes is noted dirty once: the scoring worker reads its span again from the stored facts, rates the months it
-- moves back and publishes them (score.cell.updated.v1), as after any late fact; a cell whose span did not move
-- changes nothing.
INSERT INTO dirty_cell (cell_id)
SELECT DISTINCT m.cell_id
FROM meeting m
WHERE m.cancelled AND EXISTS (SELECT 1 FROM minutes n WHERE n.meeting_id = m.meeting_id);
