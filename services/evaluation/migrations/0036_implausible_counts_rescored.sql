-- Counts beyond the meeting's members are scored for what they are (DOMAIN.md "How to read it, exactly"): with nobody
-- present on the roster `conduct.speakers` earns 0 (no share of nobody: "no evidence, no points"; a user's roster of
-- five absent earned 2 for "0 of 0 present spoke"), and a resolution with more votes (for, against, abstaining) than
-- members present is no vote, so `closing.resolution_adopted` earns 0 (shared.plausible.votes_over; a user's minutes
-- with 99999 votes in a cell of 5 were scored adopted). Scores stored before this release of held meetings with
-- nobody present or such a resolution are rescored once by the scoring worker.
INSERT INTO dirty_cell (cell_id, only_meetings)
SELECT s.cell_id, array_agg(s.meeting_id ORDER BY s.meeting_id)
FROM meeting_score s LEFT JOIN minutes m ON m.meeting_id = s.meeting_id
WHERE s.held AND (
    s.present = 0
    OR EXISTS (
        SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(m.data->'resolutions') = 'array'
                                                THEN m.data->'resolutions' ELSE '[]'::jsonb END) r
        WHERE coalesce((r->>'votes_for')::bigint, 0) + coalesce((r->>'votes_against')::bigint, 0)
              + coalesce((r->>'abstentions')::bigint, 0) > s.present
    )
)
GROUP BY s.cell_id;
