-- Each meeting's latest score (newest by the event's time, then id, as cell_score keeps a period's) and when this
-- service stored it: meeting_rated_low judges the settled rating, a check planned `settle_minutes` after a low score
-- (re-armed by later ones), so an interim low score that a later one replaces (facts released out of order: the
-- minutes before the roster) raises no alarm.
CREATE TABLE IF NOT EXISTS meeting_score (
    meeting_id    text PRIMARY KEY,
    cell_id       text NOT NULL,
    rating        text NOT NULL,
    score         double precision NOT NULL,
    provisional   boolean NOT NULL,
    version_time  timestamptz NOT NULL,
    version_id    text NOT NULL,
    received_at   timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS meeting_score_cell ON meeting_score (cell_id);
