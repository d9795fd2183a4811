-- A cell moved to another committee (an `org.unit.upserted.v1` snapshot with another `parent_id` that wins by `time`)
-- takes its whole history with it: the tree keeps one parent, every roll-up reads it (docs/architecture.md "A cell
-- moved to another committee"). The committees that lost the cell and those that gained it see their finished
-- months change; each such month that was shown (rated while it ran, or with a held meeting) is noted here, one row
-- a (cell, month) and move, with the committees whose figures changed: `left_ids` the old parent and its ancestors
-- that are not above the new parent, `joined_ids` the reverse (a committee above both saw no change). The roll-up's
-- `late_changes` of each of them lists it, kind 'unit_moved' (services/evaluation/queries.py, move_changes).
CREATE TABLE IF NOT EXISTS unit_move_change (
    id bigserial PRIMARY KEY,
    cell_id text NOT NULL,
    period text NOT NULL,
    from_parent_id text NOT NULL,
    to_parent_id text,
    left_ids text[] NOT NULL,
    joined_ids text[] NOT NULL,
    rating text NOT NULL,
    score double precision NOT NULL,
    changed_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS unit_move_change_period ON unit_move_change (period, cell_id);
