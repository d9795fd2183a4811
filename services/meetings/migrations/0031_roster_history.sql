-- A roster withdrawn by a backdated member move left the meeting with no roster, though the roster it had replaced
-- stands in the other arrival order (the move first: the earlier roster applied, the later refused; CONTRACT.md: any
-- arrival order ends alike). Kept: every integration's roster accepted for a meeting (stored, or older than the
-- stored one), with its version, sender and raw event (handlers/apply.py _rejudge_rosters falls back on the latest
-- still valid). Rosters kept in roster_received (0030) are carried over with the stored roster's version.
CREATE TABLE IF NOT EXISTS roster_history (
    meeting_id   text NOT NULL,
    version_time timestamptz NOT NULL,
    version_ns   smallint NOT NULL,
    version_id   text NOT NULL,
    source       text NOT NULL,
    raw          text NOT NULL,
    members      text[] NOT NULL,
    PRIMARY KEY (meeting_id, version_time, version_ns, version_id)
);
CREATE INDEX IF NOT EXISTS roster_history_members ON roster_history USING gin (members);
INSERT INTO roster_history (meeting_id, version_time, version_ns, version_id, source, raw, members)
SELECT k.meeting_id, r.version_time, r.version_ns, r.version_id, k.source, k.raw,
       ARRAY(SELECT a.member_id FROM attendance a WHERE a.meeting_id = k.meeting_id AND a.status <> 'transferred')
FROM roster_received k JOIN roster r ON r.meeting_id = k.meeting_id
ON CONFLICT DO NOTHING;
