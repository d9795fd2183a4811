-- Thematic coverage of the month in progress is the share of the cells that have met (held its regular meeting) that
-- also held a thematic one, as its regularity and score are (services/gateway/rollups.py): a cell not met yet is no
-- verdict until the month closes, and a cell with only a thematic meeting so far has not met yet either. The roll-up
-- sums (migration 0005) gain `thematic_met`: the cells whose stored period held every counted month's regular meeting
-- and a thematic one. The functions that write the sums are those of migrations 0005 and 0007 with the new column.

ALTER TABLE committee_period_delta ADD COLUMN IF NOT EXISTS thematic_met bigint NOT NULL DEFAULT 0;

-- The sums of one cell_period row as a roll-up reads them (rows, ratings, regular, thematic, thematic among the cells
-- that met, pooled counts, score); its result type changes, so it is dropped first (the functions below call it by
-- name only when they run).
DROP FUNCTION IF EXISTS cell_period_sums(cell_period);
CREATE FUNCTION cell_period_sums(p cell_period) RETURNS TABLE (
    rating_good int, rating_fair int, rating_average int, rating_poor int, regular int, thematic int, thematic_met int,
    present bigint, counted bigint, speakers_present bigint, score numeric
) LANGUAGE sql IMMUTABLE AS $$
    SELECT (p.rating = 'good')::int, (p.rating = 'fair')::int, (p.rating = 'average')::int, (p.rating = 'poor')::int,
           (p.months_with_regular = p.months_counted)::int, (p.thematic_held > 0)::int,
           (p.months_with_regular = p.months_counted AND p.thematic_held > 0)::int, p.present, p.counted,
           p.speakers_present, p.score::numeric
$$;

CREATE OR REPLACE FUNCTION cell_period_rollup_deltas() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(subtree_lock_key());
    IF TG_OP = 'INSERT' THEN
        INSERT INTO committee_period_delta (committee_id, period, rows, good, fair, average, poor, regular, thematic,
                                            thematic_met,
                                            present, counted, speakers_present, score)
        SELECT s.ancestor_id, n.period, count(*), sum(v.rating_good), sum(v.rating_fair), sum(v.rating_average),
               sum(v.rating_poor), sum(v.regular), sum(v.thematic), sum(v.thematic_met), sum(v.present), sum(v.counted),
               sum(v.speakers_present), sum(v.score)
        FROM new_rows n CROSS JOIN LATERAL cell_period_sums(n) v
        JOIN subtree_cell s ON s.cell_id = n.cell_id AND s.ancestor_id <> s.cell_id
        GROUP BY s.ancestor_id, n.period;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO committee_period_delta (committee_id, period, rows, good, fair, average, poor, regular, thematic,
                                            thematic_met,
                                            present, counted, speakers_present, score)
        SELECT s.ancestor_id, o.period, -count(*), -sum(v.rating_good), -sum(v.rating_fair), -sum(v.rating_average),
               -sum(v.rating_poor), -sum(v.regular), -sum(v.thematic), -sum(v.thematic_met), -sum(v.present), -sum(v.counted),
               -sum(v.speakers_present), -sum(v.score)
        FROM old_rows o CROSS JOIN LATERAL cell_period_sums(o) v
        JOIN subtree_cell s ON s.cell_id = o.cell_id AND s.ancestor_id <> s.cell_id
        GROUP BY s.ancestor_id, o.period;
    ELSE
        -- the new sums minus the old ones, only for the rows whose sums changed (a rewrite of the same figures,
        -- or one that changes only flags, adds nothing)
        INSERT INTO committee_period_delta (committee_id, period, rows, good, fair, average, poor, regular, thematic,
                                            thematic_met,
                                            present, counted, speakers_present, score)
        SELECT s.ancestor_id, d.period, sum(d.rows), sum(d.good), sum(d.fair), sum(d.average), sum(d.poor),
               sum(d.regular), sum(d.thematic), sum(d.thematic_met), sum(d.present), sum(d.counted), sum(d.speakers_present), sum(d.score)
        FROM (
            SELECT x.cell_id, x.period, sum(x.sign) AS rows, sum(x.sign * x.rating_good) AS good,
                   sum(x.sign * x.rating_fair) AS fair, sum(x.sign * x.rating_average) AS average,
                   sum(x.sign * x.rating_poor) AS poor, sum(x.sign * x.regular) AS regular,
                   sum(x.sign * x.thematic) AS thematic,
                   sum(x.sign * x.thematic_met) AS thematic_met, sum(x.sign * x.present) AS present,
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
        WHERE (d.rows, d.good, d.fair, d.average, d.poor, d.regular, d.thematic, d.thematic_met, d.present, d.counted,
               d.speakers_present, d.score) <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        GROUP BY s.ancestor_id, d.period;
    END IF;
    RETURN NULL;
END $$;

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
        -- each such cell's units, up the parent chain while the unit below is active or is the cell itself (an
        -- inactive cell still counts above it in the months of its span); a cycle stops the walk
        SELECT u.id, u.id, u.parent_id, u.active, ARRAY[u.id] FROM unit u WHERE u.id = ANY(below) AND u.kind = 'cell'
        UNION ALL
        SELECT up.cell_id, p.id, p.parent_id, p.active, up.path || p.id
        FROM up JOIN unit p ON p.id = up.parent_id
        WHERE (up.active OR up.id = up.cell_id) AND NOT p.id = ANY(up.path)
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
                                            thematic_met,
                                            present, counted, speakers_present, score)
        SELECT m.ancestor_id, cp.period, sum(m.sign), sum(m.sign * v.rating_good), sum(m.sign * v.rating_fair),
               sum(m.sign * v.rating_average), sum(m.sign * v.rating_poor), sum(m.sign * v.regular),
               sum(m.sign * v.thematic), sum(m.sign * v.thematic_met), sum(m.sign * v.present), sum(m.sign * v.counted),
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
                                            thematic, thematic_met, present, counted, speakers_present, score, folded)
        SELECT committee_id, period, sum(cells), sum(rows), sum(good), sum(fair), sum(average), sum(poor),
               sum(regular), sum(thematic), sum(thematic_met), sum(present), sum(counted), sum(speakers_present), sum(score), true
        FROM gone GROUP BY committee_id, period
        RETURNING 1
    )
    SELECT count(*) INTO summed FROM added;
    RETURN summed;
END $$;

-- Existing sums: every unit's `thematic_met` from the stored cell periods of its subtree, under the tree lock (the
-- subtree_cell pairs the other sums were moved with).
SELECT pg_advisory_xact_lock(subtree_lock_key());
INSERT INTO committee_period_delta (committee_id, period, thematic_met)
SELECT s.ancestor_id, p.period, sum(v.thematic_met)
FROM subtree_cell s JOIN cell_period p ON p.cell_id = s.cell_id CROSS JOIN LATERAL cell_period_sums(p) v
WHERE s.ancestor_id <> s.cell_id
GROUP BY s.ancestor_id, p.period
HAVING sum(v.thematic_met) <> 0;
