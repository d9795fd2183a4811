-- Scores that time alone changes (DOMAIN.md "How to read it"): closing.final_documents says "due by" while its 48 hours after the end run, "not published within 48 h" once they
-- are over. Scoring notes each such moment here; the scoring worker turns the due ones into dirty_cell notes.
CREATE TABLE IF NOT EXISTS score_recheck (
    meeting_id  text NOT NULL,
    cell_id     text NOT NULL,
    due_at      timestamptz NOT NULL,
    PRIMARY KEY (meeting_id, due_at)
);
CREATE INDEX IF NOT EXISTS score_recheck_due ON score_recheck (due_at);
-- Scores stored before this release: meetings ended in the last days say their final documents are due rather than
-- late. Rescored once by the scoring worker.
INSERT INTO dirty_cell (cell_id, only_meetings)
SELECT cell_id, array_agg(meeting_id ORDER BY meeting_id) FROM meeting_score
WHERE starts_at > now() - interval '3 days'
GROUP BY cell_id;
