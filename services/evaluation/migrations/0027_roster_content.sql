-- A roster issued after the cell adopted the minutes, from an integration (a check-in device's attendance.recorded.v1),
-- was stored and left the adoption standing over a roster nobody adopted (a secretary's is refused). Kept: the content
-- key of every roster received (shared.minutes.roster_content_key), so a roster issued after the adoption voids it
-- unless it says what the adopted roster said, in either arrival order (shared.minutes.adoption_in_force_sql), as
-- minutes_content does for minutes. Rosters stored before have no key: one issued after its adoption voids it.
CREATE TABLE IF NOT EXISTS roster_content (
    meeting_id   text        NOT NULL,
    version_time timestamptz NOT NULL,
    version_ns   smallint    NOT NULL DEFAULT 0,
    version_id   text        COLLATE "C" NOT NULL,
    content_key  text        NOT NULL,
    PRIMARY KEY (meeting_id, version_time, version_ns, version_id)
);
