-- A backdated member snapshot arriving after a roster could not re-judge it: the stored roster kept neither its sender
-- nor its text, so it could not be rejected as it is when it arrives after the snapshot (CONTRACT.md: any arrival
-- order ends alike). Kept: the sender and the raw event of each meeting's stored roster (handlers/apply.py
-- _rejudge_rosters). Rosters stored before have none and are left standing.
CREATE TABLE IF NOT EXISTS roster_received (
    meeting_id text PRIMARY KEY,
    source     text NOT NULL,
    raw        text NOT NULL
);
