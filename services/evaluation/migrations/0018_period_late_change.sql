-- A closed month's result that a late fact changed (a meeting of 30 November recorded on 4 December is November's
-- result now, DOMAIN.md "Periods"): the rule keeps the new result, and this note lets the cell page, the committee
-- page and the report say the month changed after it closed, when, and from what to what, instead of the score and
-- rating moving silently (services/evaluation/domain/periods.py, late_change). One row per change; the pages show a
-- month's first figure before and its figure now. A fact delivered again changes nothing and adds no row.
--
-- `cell_period.rated_from`: the month (the service's, YYYY-MM) a period row was first stored in. Only a month whose
-- row was stored while it ran (or earlier) was seen by officers before it closed: a history loaded afterwards (the
-- demo province, a province's backfill) rates its months for the first time, which is no late change. Rows stored
-- before this release hold NULL and count as seen.
CREATE TABLE IF NOT EXISTS period_late_change (
    id bigserial PRIMARY KEY,
    cell_id text NOT NULL,
    period text NOT NULL,
    meeting_id text,
    old_rating text NOT NULL,
    old_score double precision NOT NULL,
    new_rating text NOT NULL,
    new_score double precision NOT NULL,
    changed_at timestamptz NOT NULL
);

CREATE INDEX IF NOT EXISTS period_late_change_cell_period ON period_late_change (period, cell_id, changed_at);

ALTER TABLE cell_period ADD COLUMN IF NOT EXISTS rated_from text;
