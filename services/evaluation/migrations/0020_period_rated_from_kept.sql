-- The month a cell's period was first rated in (`cell_period.rated_from`, migration 0018), kept apart from the row:
-- a row is deleted when its period is no longer rated (a snapshot ends the cell before it, a running quarter's only
-- meeting is cancelled) and written again when it is rated again, and that row must say the month the period was
-- first rated in, not the month it came back in (a November officers saw close, deleted and rated again on 4
-- December, would otherwise read as first rated late, and a meeting recorded late for it would go unsaid:
-- domain.periods.late_change). Written with every new row (save_periods), never deleted with it. A NULL rated_from
-- (a row stored before 0018) is kept as NULL: seen.
CREATE TABLE IF NOT EXISTS period_rated_from (
    cell_id text NOT NULL,
    period text NOT NULL,
    rated_from text,
    PRIMARY KEY (cell_id, period)
);

INSERT INTO period_rated_from (cell_id, period, rated_from)
SELECT cell_id, period, rated_from FROM cell_period
ON CONFLICT DO NOTHING;
