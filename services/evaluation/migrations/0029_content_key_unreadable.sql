-- The start's content-key backfill (services/evaluation/content_keys.py) read again, at every start, each stored
-- minutes version held in full its contract no longer accepts, one warning a row each time. Kept, as meetings keeps
-- them (its migration 0028; shared.minutes.UNREADABLE_TABLE): the versions found unreadable (per content table),
-- which later starts skip; each is warned about once, at the start that found it.
CREATE TABLE IF NOT EXISTS content_key_unreadable (
    content_table text        NOT NULL,
    meeting_id    text        NOT NULL,
    version_time  timestamptz NOT NULL,
    version_ns    smallint    NOT NULL DEFAULT 0,
    version_id    text        COLLATE "C" NOT NULL,
    PRIMARY KEY (content_table, meeting_id, version_time, version_ns, version_id)
);
