-- When a cell exists (docs/architecture.md, "When a cell exists"): a cell counts, for itself and in every roll-up
-- above it, only in the months from its first unit snapshot (or first held meeting, if earlier) through the month
-- it was made inactive. Before this, a cell created in December counted as Poor in every earlier period.
--
-- unit_snapshot: the time and `active` of every unit snapshot (the unit row keeps only the latest), so the first
-- snapshot and the end are the same whatever order the snapshots arrive in.
CREATE TABLE IF NOT EXISTS unit_snapshot (
    unit_id   text NOT NULL,
    fact_time timestamptz NOT NULL,
    fact_id   text NOT NULL,
    active    boolean NOT NULL,
    PRIMARY KEY (unit_id, fact_time, fact_id)
);
-- Snapshots stored before this table existed are the only history there is of them.
INSERT INTO unit_snapshot (unit_id, fact_time, fact_id, active)
SELECT id, fact_time, fact_id, active FROM unit
ON CONFLICT DO NOTHING;

-- cell_span: the months a cell's stored periods were computed over (written with them by the scorer); its periods
-- outside it are not stored. A cell without a row (not refreshed since this migration) counts in every period.
CREATE TABLE IF NOT EXISTS cell_span (
    cell_id     text PRIMARY KEY,
    first_month text NOT NULL,
    last_month  text
);

-- The same span on each (unit, cell) pair of the materialized subtree, for the roll-up's per-period cell counts
-- and its lists of cells (ranking, weakest), which must leave out a cell in the periods it did not exist in.
ALTER TABLE subtree_cell ADD COLUMN IF NOT EXISTS first_month text;
ALTER TABLE subtree_cell ADD COLUMN IF NOT EXISTS last_month text;

CREATE OR REPLACE FUNCTION period_first_month(period text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN length(period) = 4 THEN period || '-01'
                WHEN period LIKE '%-Q%' THEN left(period, 4) || '-' || lpad((right(period, 1)::int * 3 - 2)::text, 2, '0')
                ELSE period END
$$;

CREATE OR REPLACE FUNCTION period_last_month(period text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN length(period) = 4 THEN period || '-12'
                WHEN period LIKE '%-Q%' THEN left(period, 4) || '-' || lpad((right(period, 1)::int * 3)::text, 2, '0')
                ELSE period END
$$;

-- Whether a cell existing from `first_month` through `last_month` (NULL: unbounded) existed in some month of `period`.
CREATE OR REPLACE FUNCTION cell_in_period(first_month text, last_month text, period text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT (first_month IS NULL OR first_month <= period_last_month(period))
       AND (last_month IS NULL OR last_month >= period_first_month(period))
$$;

-- A changed span is noted like a tree change: the next refresh moves the cell's count between the roll-up's
-- per-month keys of the units above it.
CREATE OR REPLACE FUNCTION cell_span_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO subtree_change (unit_id) SELECT cell_id FROM new_rows;
    ELSE
        INSERT INTO subtree_change (unit_id)
        SELECT n.cell_id FROM new_rows n JOIN old_rows o ON o.cell_id = n.cell_id
        WHERE (n.first_month, n.last_month) IS DISTINCT FROM (o.first_month, o.last_month);
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS cell_span_insert ON cell_span;
CREATE TRIGGER cell_span_insert AFTER INSERT ON cell_span REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cell_span_change();
DROP TRIGGER IF EXISTS cell_span_update ON cell_span;
CREATE TRIGGER cell_span_update AFTER UPDATE ON cell_span REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cell_span_change();

-- The roll-up's cell count is now kept per month of existence: on the period '' the cells without a span (they
-- count in every period, as every cell did before), on '+YYYY-MM' the cells whose span begins that month, on
-- '-YYYY-MM' those whose span ends that month. The cells of a period are '' plus every '+' up to its last month,
-- minus every '-' before its first month (queries.SubtreeSums.cells_in). Existing '' counts stay right: no pair has
-- a span yet, and each cell's first refresh moves it.
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
    fresh AS (
        SELECT DISTINCT up.id AS ancestor_id, up.cell_id, c.first_month, c.last_month
        FROM up LEFT JOIN cell_span c ON c.cell_id = up.cell_id
    ),
    before AS (SELECT ancestor_id, cell_id, first_month, last_month FROM subtree_cell WHERE cell_id = ANY(below)),
    removed AS (
        DELETE FROM subtree_cell s WHERE s.cell_id = ANY(below)
        AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.ancestor_id = s.ancestor_id AND f.cell_id = s.cell_id)
        RETURNING s.ancestor_id, s.cell_id, s.first_month, s.last_month, -1 AS sign
    ),
    added AS (
        INSERT INTO subtree_cell (ancestor_id, cell_id, first_month, last_month)
        SELECT f.ancestor_id, f.cell_id, f.first_month, f.last_month FROM fresh f
        WHERE NOT EXISTS (SELECT 1 FROM before b WHERE b.ancestor_id = f.ancestor_id AND b.cell_id = f.cell_id)
        ON CONFLICT DO NOTHING RETURNING ancestor_id, cell_id, first_month, last_month, 1 AS sign
    ),
    respanned AS (
        UPDATE subtree_cell s SET first_month = f.first_month, last_month = f.last_month
        FROM fresh f
        WHERE s.ancestor_id = f.ancestor_id AND s.cell_id = f.cell_id
          AND (s.first_month, s.last_month) IS DISTINCT FROM (f.first_month, f.last_month)
        RETURNING s.ancestor_id, s.cell_id
    ),
    moves AS (SELECT * FROM removed UNION ALL SELECT * FROM added),
    -- a cell's own pair has no sums: a roll-up of a cell reads its periods directly
    moved_sums AS (SELECT * FROM moves WHERE ancestor_id <> cell_id),
    -- a pair moved or respanned carries its cell's count under its span's keys: subtracted under the old ones and
    -- added under the new
    spans AS (
        SELECT ancestor_id, first_month, last_month, sign FROM moved_sums
        UNION ALL
        SELECT b.ancestor_id, b.first_month, b.last_month, -1 FROM respanned r
        JOIN before b ON b.ancestor_id = r.ancestor_id AND b.cell_id = r.cell_id WHERE r.ancestor_id <> r.cell_id
        UNION ALL
        SELECT f.ancestor_id, f.first_month, f.last_month, 1 FROM respanned r
        JOIN fresh f ON f.ancestor_id = r.ancestor_id AND f.cell_id = r.cell_id WHERE r.ancestor_id <> r.cell_id
    ),
    counts AS (
        INSERT INTO committee_period_delta (committee_id, period, cells)
        SELECT ancestor_id, key, sum(sign) FROM (
            SELECT ancestor_id, coalesce('+' || first_month, '') AS key, sign FROM spans
            UNION ALL
            SELECT ancestor_id, '-' || last_month, sign FROM spans WHERE last_month IS NOT NULL
        ) k
        GROUP BY ancestor_id, key HAVING sum(sign) <> 0
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
    SELECT (SELECT count(*) FROM moves) + (SELECT count(*) FROM respanned) + 0 * (SELECT count(*) FROM counts)
           + 0 * (SELECT count(*) FROM sums)
    INTO moved;
    RETURN moved;
END $$;

-- Every cell is scored once more, so its span is written and its periods outside it are dropped (a dirty-cell
-- note with nothing to rescore refreshes only what its span changes).
INSERT INTO dirty_cell (cell_id) SELECT id FROM unit WHERE kind = 'cell';
