-- score.meeting.withdrawn.v1 (CONTRACT.md: a meeting no longer scored, it was cancelled) keeps the meeting's row as a
-- withdrawal of the same (time, ns, id) version as a score: a score published before the withdrawal that arrives
-- after it is older and changes nothing (order is not guaranteed), and a withdrawn score counts in no later alert
-- decision (the settled-rating check, its re-planning). A withdrawal of a meeting never scored here stores no rating.
ALTER TABLE meeting_score ADD COLUMN IF NOT EXISTS withdrawn boolean NOT NULL DEFAULT false;
