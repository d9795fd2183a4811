-- Committee roll-ups without walking the tree per request (issue 12: province root p95 1.8 s at 35,000 cells).
--
-- subtree_cell: for each cell, every unit whose roll-up counts it, itself included: the units up its parent chain
-- while the unit below is active (the same subtree as the recursive walk down that skips inactive units).
-- committee_period_delta: per unit and period, sums over the cell_period rows of its subtree cells (and, on the
-- period '', the number of its cells). Writers only append signed deltas (no row is ever updated, so scorers of
-- different cells never wait on a province's row); a roll-up reads the sum of its rows; compact_rollup_deltas
-- folds a unit's rows into one in one statement, which leaves every sum as it was.
--
-- Exactness under concurrency: a unit snapshot only notes the unit in subtree_change (no lock, nothing else);
-- refresh_subtree_cells applies the notes under the tree lock taken exclusively, while every statement writing
-- cell_period takes the same lock shared (in its trigger), so the cell periods a refresh moves between committees
-- are exactly those committed, and a cell period written after a refresh reads its ancestors from it.
CREATE TABLE IF NOT EXISTS subtree_cell (
    ancestor_id text NOT NULL,
    cell_id     text NOT NULL,
    PRIMARY KEY (ancestor_id, cell_id)
);
CREATE INDEX IF NOT EXISTS subtree_cell_by_cell ON subtree_cell (cell_id);

CREATE TABLE IF NOT EXISTS subtree_change (
    id      bigserial PRIMARY KEY,
    unit_id text NOT NULL
);

CREATE TABLE IF NOT EXISTS committee_period_delta (
    committee_id     text NOT NULL,
    period           text NOT NULL,
    cells            bigint NOT NULL DEFAULT 0,
    rows             bigint NOT NULL DEFAULT 0,
    good             bigint NOT NULL DEFAULT 0,
    fair             bigint NOT NULL DEFAULT 0,
    average          bigint NOT NULL DEFAULT 0,
    poor             bigint NOT NULL DEFAULT 0,
    regular          bigint NOT NULL DEFAULT 0,
    thematic         bigint NOT NULL DEFAULT 0,
    present          bigint NOT NULL DEFAULT 0,
    counted          bigint NOT NULL DEFAULT 0,
    speakers_present bigint NOT NULL DEFAULT 0,
    -- numeric: a sum of exact decimals does not drift however many +x/-x deltas it folds
    score            numeric NOT NULL DEFAULT 0,
    -- the sum of earlier rows folded into one (compact_rollup_deltas); appended rows are not
    folded           boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS committee_period_delta_key ON committee_period_delta (committee_id, period);
CREATE INDEX IF NOT EXISTS committee_period_delta_unfolded ON committee_period_delta (committee_id, period)
    WHERE NOT folded;

-- Ranking pages and the weakest cells of a large subtree read a period's rows in order and stop early.
CREATE INDEX IF NOT EXISTS cell_period_by_score ON cell_period (period, score, cell_id);
CREATE INDEX IF NOT EXISTS cell_period_weak ON cell_period (period, rating, score, cell_id)
    WHERE rating IN ('poor', 'average');

CREATE OR REPLACE FUNCTION subtree_lock_key() RETURNS bigint LANGUAGE sql STABLE
    AS $$ SELECT hashtextextended('evaluation.subtree:' || current_schema(), 0) $$;

-- The sums of one cell_period row as a roll-up reads them (rows, ratings, regular, thematic, pooled counts, score).
CREATE OR REPLACE FUNCTION cell_period_sums(p cell_period) RETURNS TABLE (
    rating_good int, rating_fair int, rating_average int, rating_poor int, regular int, thematic int,
    present bigint, counted bigint, speakers_present bigint, score numeric
) LANGUAGE sql IMMUTABLE AS $$
    SELECT (p.rating = 'good')::int, (p.rating = 'fair')::int, (p.rating = 'average')::int, (p.rating = 'poor')::int,
           (p.months_with_regular = p.months_counted)::int, (p.thematic_held > 0)::int, p.present, p.counted,
           p.speakers_present, p.score::numeric
$$;

-- Statement-level: the signed sums of the rows a statement inserted, deleted or changed, per unit above the cell.
CREATE OR REPLACE FUNCTION cell_period_rollup_deltas() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(subtree_lock_key());
    IF TG_OP = 'INSERT' THEN
        INSERT INTO committee_period_delta (committee_id, period, rows, good, fair, average, poor, regular, thematic,
                                            present, counted, speakers_present, score)
        SELECT s.ancestor_id, n.period, count(*), sum(v.rating_good), sum(v.rating_fair), sum(v.rating_average),
               sum(v.rating_poor), sum(v.regular), sum(v.thematic), sum(v.present), sum(v.counted),
               sum(v.speakers_present), sum(v.score)
        FROM new_rows n CROSS JOIN LATERAL cell_period_sums(n) v
        JOIN subtree_cell s ON s.cell_id = n.cell_id AND s.ancestor_id <> s.cell_id
        GROUP BY s.ancestor_id, n.period;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO committee_period_delta (committee_id, period, rows, good, fair, average, poor, regular, thematic,
                                            present, counted, speakers_present, score)
        SELECT s.ancestor_id, o.period, -count(*), -sum(v.rating_good), -sum(v.rating_fair), -sum(v.rating_average),
               -sum(v.rating_poor), -sum(v.regular), -sum(v.thematic), -sum(v.present), -sum(v.counted),
               -sum(v.speakers_present), -sum(v.score)
        FROM old_rows o CROSS JOIN LATERAL cell_period_sums(o) v
        JOIN subtree_cell s ON s.cell_id = o.cell_id AND s.ancestor_id <> s.cell_id
        GROUP BY s.ancestor_id, o.period;
    ELSE
        -- the new sums minus the old ones, only for the rows whose sums changed (a rewrite of the same figures,
        -- or one that changes only flags, adds nothing)
        INSERT INTO committee_period_delta (committee_id, period, rows, good, fair, average, poor, regular, thematic,
                                            present, counted, speakers_present, score)
        SELECT s.ancestor_id, d.period, sum(d.rows), sum(d.good), sum(d.fair), sum(d.average), sum(d.poor),
               sum(d.regular), sum(d.thematic), sum(d.present), sum(d.counted), sum(d.speakers_present), sum(d.score)
        FROM (
            SELECT x.cell_id, x.period, sum(x.sign) AS rows, sum(x.sign * x.rating_good) AS good,
                   sum(x.sign * x.rating_fair) AS fair, sum(x.sign * x.rating_average) AS average,
                   sum(x.sign * x.rating_poor) AS poor, sum(x.sign * x.regular) AS regular,
                   sum(x.sign * x.thematic) AS thematic, sum(x.sign * x.present) AS present,
                   sum(x.sign * x.counted) AS counted, sum(x.sign * x.speakers_present) AS speakers_present,
                   sum(x.sign * x.score) AS score
            FROM (
                SELECT n.cell_id, n.period, 1 AS sign, v.* FROM new_rows n CROSS JOIN LATERAL cell_period_sums(n) v
                UNION ALL
                SELECT o.cell_id, o.period, -1, v.* FROM old_rows o CROSS JOIN LATERAL cell_period_sums(o) v
            ) x
            GROUP BY x.cell_id, x.period
        ) d
        JOIN subtree_cell s ON s.cell_id = d.cell_id AND s.ancestor_id <> s.cell_id
        WHERE (d.rows, d.good, d.fair, d.average, d.poor, d.regular, d.thematic, d.present, d.counted,
               d.speakers_present, d.score) <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        GROUP BY s.ancestor_id, d.period;
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS cell_period_rollup_insert ON cell_period;
CREATE TRIGGER cell_period_rollup_insert AFTER INSERT ON cell_period REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cell_period_rollup_deltas();
DROP TRIGGER IF EXISTS cell_period_rollup_update ON cell_period;
CREATE TRIGGER cell_period_rollup_update AFTER UPDATE ON cell_period
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cell_period_rollup_deltas();
DROP TRIGGER IF EXISTS cell_period_rollup_delete ON cell_period;
CREATE TRIGGER cell_period_rollup_delete AFTER DELETE ON cell_period REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cell_period_rollup_deltas();

-- A unit snapshot that can move cells between subtrees (new, gone, another parent, kind or active) is noted.
CREATE OR REPLACE FUNCTION unit_subtree_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO subtree_change (unit_id) SELECT id FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO subtree_change (unit_id) SELECT id FROM old_rows;
    ELSE
        INSERT INTO subtree_change (unit_id)
        SELECT n.id FROM new_rows n LEFT JOIN old_rows o ON o.id = n.id
        WHERE (n.parent_id, n.kind, n.active) IS DISTINCT FROM (o.parent_id, o.kind, o.active)
        UNION SELECT o.id FROM old_rows o WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id);
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS unit_subtree_insert ON unit;
CREATE TRIGGER unit_subtree_insert AFTER INSERT ON unit REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION unit_subtree_change();
DROP TRIGGER IF EXISTS unit_subtree_update ON unit;
CREATE TRIGGER unit_subtree_update AFTER UPDATE ON unit REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION unit_subtree_change();
DROP TRIGGER IF EXISTS unit_subtree_delete ON unit;
CREATE TRIGGER unit_subtree_delete AFTER DELETE ON unit REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION unit_subtree_change();

-- Apply the noted changes: recompute the subtree_cell rows of every cell below a noted unit, and move those
-- cells' period sums (and their count) between the units they leave and join. Returns the cells whose rows moved.
CREATE OR REPLACE FUNCTION refresh_subtree_cells() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    noted text[];
    below text[];
    moved bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(subtree_lock_key());
    WITH taken AS (DELETE FROM subtree_change RETURNING unit_id)
    SELECT array_agg(DISTINCT unit_id) INTO noted FROM taken;
    IF noted IS NULL THEN
        RETURN 0;
    END IF;
    -- the units below a noted one now (a unit under a removed one still names it as parent)
    WITH RECURSIVE down(id) AS (
        SELECT unnest(noted)
        UNION
        SELECT u.id FROM unit u JOIN down d ON u.parent_id = d.id
    ) SELECT array_agg(id) INTO below FROM down;
    WITH RECURSIVE up(cell_id, id, parent_id, active, path) AS (
        -- each such cell's units, up the parent chain while the unit below is active (a cycle stops the walk)
        SELECT u.id, u.id, u.parent_id, u.active, ARRAY[u.id] FROM unit u WHERE u.id = ANY(below) AND u.kind = 'cell'
        UNION ALL
        SELECT up.cell_id, p.id, p.parent_id, p.active, up.path || p.id
        FROM up JOIN unit p ON p.id = up.parent_id
        WHERE up.active AND NOT p.id = ANY(up.path)
    ),
    fresh AS (SELECT DISTINCT id AS ancestor_id, cell_id FROM up),
    removed AS (
        DELETE FROM subtree_cell s WHERE s.cell_id = ANY(below)
        AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.ancestor_id = s.ancestor_id AND f.cell_id = s.cell_id)
        RETURNING s.ancestor_id, s.cell_id, -1 AS sign
    ),
    added AS (
        INSERT INTO subtree_cell (ancestor_id, cell_id) SELECT ancestor_id, cell_id FROM fresh
        ON CONFLICT DO NOTHING RETURNING ancestor_id, cell_id, 1 AS sign
    ),
    moves AS (SELECT * FROM removed UNION ALL SELECT * FROM added),
    -- a cell's own pair has no sums: a roll-up of a cell reads its periods directly
    moved_sums AS (SELECT * FROM moves WHERE ancestor_id <> cell_id),
    -- a pair moved carries its cell's count (period '') and period sums: subtracted where it left, added where it came
    counts AS (
        INSERT INTO committee_period_delta (committee_id, period, cells)
        SELECT ancestor_id, '', sum(sign) FROM moved_sums GROUP BY ancestor_id
        RETURNING 1
    ),
    sums AS (
        INSERT INTO committee_period_delta (committee_id, period, rows, good, fair, average, poor, regular, thematic,
                                            present, counted, speakers_present, score)
        SELECT m.ancestor_id, cp.period, sum(m.sign), sum(m.sign * v.rating_good), sum(m.sign * v.rating_fair),
               sum(m.sign * v.rating_average), sum(m.sign * v.rating_poor), sum(m.sign * v.regular),
               sum(m.sign * v.thematic), sum(m.sign * v.present), sum(m.sign * v.counted),
               sum(m.sign * v.speakers_present), sum(m.sign * v.score)
        FROM moved_sums m JOIN cell_period cp ON cp.cell_id = m.cell_id CROSS JOIN LATERAL cell_period_sums(cp) v
        GROUP BY m.ancestor_id, cp.period
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM moves) + 0 * (SELECT count(*) FROM counts) + 0 * (SELECT count(*) FROM sums)
    INTO moved;
    RETURN moved;
END $$;

-- Fold delta rows into one row per (unit, period): every row of the given unit, or (NULL) of every pair with rows
-- appended since the last fold, at most `pairs` of them. The sums stay as they were, whatever runs at the same time:
-- a fold deletes only rows its snapshot saw and adds back their sum; rows appended meanwhile wait for the next fold.
CREATE OR REPLACE FUNCTION compact_rollup_deltas(unit text, pairs integer DEFAULT 10000) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    chosen_committees text[];
    chosen_periods text[];
    summed bigint;
BEGIN
    IF unit IS NULL THEN
        SELECT array_agg(committee_id), array_agg(period) INTO chosen_committees, chosen_periods FROM (
            SELECT DISTINCT committee_id, period FROM committee_period_delta WHERE NOT folded LIMIT pairs
        ) unfolded;
    ELSE
        SELECT array_agg(committee_id), array_agg(period) INTO chosen_committees, chosen_periods FROM (
            SELECT DISTINCT committee_id, period FROM committee_period_delta WHERE committee_id = unit
        ) own;
    END IF;
    IF chosen_committees IS NULL THEN
        RETURN 0;
    END IF;
    WITH gone AS (
        DELETE FROM committee_period_delta d USING unnest(chosen_committees, chosen_periods) AS c(committee_id, period)
        WHERE d.committee_id = c.committee_id AND d.period = c.period
        RETURNING d.*
    ),
    added AS (
        INSERT INTO committee_period_delta (committee_id, period, cells, rows, good, fair, average, poor, regular,
                                            thematic, present, counted, speakers_present, score, folded)
        SELECT committee_id, period, sum(cells), sum(rows), sum(good), sum(fair), sum(average), sum(poor),
               sum(regular), sum(thematic), sum(present), sum(counted), sum(speakers_present), sum(score), true
        FROM gone GROUP BY committee_id, period
        RETURNING 1
    )
    SELECT count(*) INTO summed FROM added;
    RETURN summed;
END $$;

-- Existing data: note every unit, so the tree and its sums are built now, from the stored cell periods.
INSERT INTO subtree_change (unit_id) SELECT id FROM unit;
SELECT refresh_subtree_cells();
