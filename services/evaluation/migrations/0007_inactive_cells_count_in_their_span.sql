-- A cell made inactive keeps counting in its committees' roll-ups, rankings and weakest lists for the months it
-- existed (its span ends with the month it was made inactive: migration 0006). Before this, the walk up the tree
-- stopped at the inactive cell itself, so deactivating a cell in November took it out of every earlier period of
-- every committee above it, closed ones included. An inactive committee still stops the walk above it, as before.

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

-- The cells already inactive are walked again, so the committees above them count them in their span's months.
INSERT INTO subtree_change (unit_id) SELECT id FROM unit WHERE kind = 'cell' AND NOT active;
