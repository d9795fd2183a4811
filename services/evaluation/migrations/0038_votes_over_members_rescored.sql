-- With no roster, a resolution's votes (for, against, abstaining) are judged against the cell's members at the
-- meeting's start (shared.plausible.votes_over; DOMAIN.md "How to read it": members judged by the snapshots in force
-- at the meeting's start): an integration's minutes of 99999 votes for in a cell of 12, with no roster at all, were
-- scored full on `closing.resolution_adopted`. Scores stored before this release of held meetings with minutes whose
-- resolutions carry votes and no roster are rescored once by the scoring worker (those within the cell's members
-- keep their points).
INSERT INTO dirty_cell (cell_id, only_meetings)
SELECT s.cell_id, array_agg(s.meeting_id ORDER BY s.meeting_id)
FROM meeting_score s JOIN minutes m ON m.meeting_id = s.meeting_id
WHERE s.held
  AND NOT EXISTS (SELECT FROM attendance a WHERE a.meeting_id = s.meeting_id)
  AND EXISTS (
      SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(m.data->'resolutions') = 'array'
                                              THEN m.data->'resolutions' ELSE '[]'::jsonb END) r
      WHERE coalesce((r->>'votes_for')::bigint, 0) + coalesce((r->>'votes_against')::bigint, 0)
            + coalesce((r->>'abstentions')::bigint, 0) > 0
  )
GROUP BY s.cell_id;
