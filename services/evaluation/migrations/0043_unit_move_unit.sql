-- Each noted move names the unit that moved (the cell itself, or a committee above it that took it along): a cell
-- moved from commune A to commune B and then B moved to another district left two rows of the cell, and the note read
-- them as one move of the cell "to the district, formerly under A" (the first row's old parent and the last one's new
-- parent, of two units). With the unit named, the note gives each move (queries.MOVES_NET `moves`) and the pages say
-- each in its own sentence. Rows noted before this have no unit: read as the cell's own move, as they were.
ALTER TABLE unit_move_change ADD COLUMN IF NOT EXISTS unit_id text;
