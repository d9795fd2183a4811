-- A cancelled meeting that has minutes keeps its month in its cell's span (docs/architecture.md, "When a cell
-- exists"): its cancellation withdraws its score, not the month the cell met in. Before this release, cancelling the
-- only meeting of a closed month of a cell whose first unit snapshot came later moved the span past that month; its
-- month, quarter and year rows were deleted and nothing was published (a user trial: listeners kept "2026-11 average
-- 66.67"). Periods are only recomputed when a fact touches their cell, so every cell with such a meeting is noted
-- dirty once: the scoring worker reads its span again from the stored facts, rates the months it moves back and
-- publishes them (score.cell.updated.v1), as after any late fact; a cell whose span did not move changes nothing.
INSERT INTO dirty_cell (cell_id)
SELECT DISTINCT m.cell_id
FROM meeting m
WHERE EXISTS (SELECT 1 FROM meeting_cancellation c WHERE c.meeting_id = m.meeting_id)
  AND EXISTS (SELECT 1 FROM minutes n WHERE n.meeting_id = m.meeting_id);
