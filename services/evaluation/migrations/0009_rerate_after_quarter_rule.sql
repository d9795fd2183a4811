-- A quarter a cell existed in for one month is rated by the quarter's rule too (it needs its thematic meeting,
-- DOMAIN.md "Periods"); before this release such a quarter took its one month's rating, so a closed 2025-Q4 could
-- read Good with thematic_held 0. Periods are only recomputed when a fact touches their cell, so an existing
-- database kept the old ratings (a user trial saw them after upgrading). Every cell that has rated periods is noted
-- dirty from the earliest time once: the scoring worker rescores its meetings from the stored facts and refreshes
-- its periods, publishing only what changed (score.cell.updated.v1), as after any late fact.
INSERT INTO dirty_cell (cell_id, since)
SELECT DISTINCT cell_id, timestamptz '1900-01-01 00:00:00+00' FROM cell_period;
