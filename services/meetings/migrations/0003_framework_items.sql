-- Issue 10, fault 8 for every framework: the item tables of the frameworks evaluation adopts (internal
-- framework.adopted.v1 on chibo.events), so an assessment is judged by the framework in force for its meeting
-- (by date, and for the cell's nearest committee that adopted one) even when it was adopted at run time.
CREATE TABLE IF NOT EXISTS framework_items (
    committee_key  text NOT NULL,          -- '' when in force by default
    framework_id   text NOT NULL,
    version        text NOT NULL,
    effective_from date NOT NULL,
    committee_id   text,
    sequence       bigint NOT NULL,        -- evaluation's adoption order (ties of one date: the later wins)
    manual_maxima  jsonb NOT NULL,         -- {item code: maximum points} of the items assessed by hand
    items          jsonb NOT NULL,         -- every item as published: [{code, max, manual}]
    received_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (committee_key, framework_id, version, effective_from)
);
