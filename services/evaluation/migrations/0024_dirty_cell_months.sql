-- The months whose periods a dirty cell's note asks to refresh besides those of the meetings its scoring changes
-- (issue 12). A scoring round commits its meetings' scores first, with their `score.meeting.*` events, and leaves
-- one note per cell naming the months those scores moved; the round's second transaction claims the notes and
-- refreshes the periods, so the meeting scores do not wait for the periods. A crash between the two leaves the
-- notes, which the next round claims like any other: nothing the first transaction changed is left unrated.
ALTER TABLE dirty_cell ADD COLUMN IF NOT EXISTS months text[] NOT NULL DEFAULT '{}';
