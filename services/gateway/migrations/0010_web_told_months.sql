-- Each unit's span of months as evaluation last told this gateway, so its pages offer the same periods while
-- evaluation does not answer, after a restart too (it was kept in the process and lost with it): a cell's
-- (first_month, last_month) from GetCellPeriods, both null while evaluation knows none; a committee's first month of
-- data from its roll-up (last_month null). One row per unit the pages were shown for (35,000 cells at most and their
-- committees); each answer replaces the row.
CREATE TABLE IF NOT EXISTS web_told_months (
    unit_id     text        PRIMARY KEY,
    first_month text        CHECK (first_month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    last_month  text        CHECK (last_month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    told_at     timestamptz NOT NULL DEFAULT now()
);
