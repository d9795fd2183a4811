-- Minutes re-sent unchanged after the cell adopted them (a feed's periodic resend with a later `time`) voided the
-- adoption, as a correction does. Kept: the content key of every minutes snapshot received (shared.minutes
-- minutes_content_key), so the adoption stands while the minutes in force say what the ones it adopted said, in
-- either arrival order (shared.minutes.adoption_in_force_sql). Minutes stored before have no key: a snapshot issued
-- after its adoption still voids it, as before, until a newer adoption.
CREATE TABLE IF NOT EXISTS minutes_content (
    meeting_id   text        NOT NULL,
    version_time timestamptz NOT NULL,
    version_ns   smallint    NOT NULL DEFAULT 0,
    version_id   text        COLLATE "C" NOT NULL,
    content_key  text        NOT NULL,
    PRIMARY KEY (meeting_id, version_time, version_ns, version_id)
);
