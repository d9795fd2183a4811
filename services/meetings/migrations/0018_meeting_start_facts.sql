-- Every schedule and move of a meeting that set (or competed for) its start, kept beside the current start: minutes
-- arriving after an integration's move issued after the meeting ended by those minutes judge themselves against the
-- start before that move and undo it, rejecting it as it is rejected when it arrives after them
-- (domain.moves_undone_by_minutes): the same state whatever the arrival order (CONTRACT.md). Meetings scheduled
-- before this table have no rows: their minutes are judged against the current start, as before.
CREATE TABLE meeting_start_fact (
    meeting_id   text        NOT NULL,
    version_time timestamptz NOT NULL,
    version_ns   smallint    NOT NULL DEFAULT 0,
    version_id   text        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('schedule', 'move')),
    source       text        NOT NULL,
    starts_at    timestamptz NOT NULL,
    location     text,
    reason       text,
    raw          text        NOT NULL,
    PRIMARY KEY (meeting_id, version_time, version_ns, version_id)
);
