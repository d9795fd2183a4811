-- A meeting is scored only once it has begun (shared.plausible.meeting_begun; trial 34: a meeting ahead read a
-- provisional 21.67 Kém). Scores stored before this release of meetings still ahead (not held, their start later)
-- are rescored once by the scoring worker, which withdraws them (score.meeting.withdrawn.v1, reason not_held) and
-- notes a recheck at their start.
INSERT INTO dirty_cell (cell_id, only_meetings)
SELECT cell_id, array_agg(meeting_id ORDER BY meeting_id) FROM meeting_score
WHERE NOT held AND starts_at > now()
GROUP BY cell_id;
