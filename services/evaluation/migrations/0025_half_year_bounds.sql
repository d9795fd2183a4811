-- A committee's report may be asked for a half-year, `2026-H1` (January–June) or `2026-H2` (July–December): DOMAIN.md
-- has committees report every quarter, half-year and year. No half-year row is stored (the contract's periods are
-- months, quarters and years); its figures are read off the two quarters' rows, so the span checks that take a
-- period (cell_in_period) must know a half-year's first and last month. Months, quarters and years read as before.
CREATE OR REPLACE FUNCTION period_first_month(period text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN length(period) = 4 THEN period || '-01'
                WHEN period LIKE '%-Q%' THEN left(period, 4) || '-' || lpad((right(period, 1)::int * 3 - 2)::text, 2, '0')
                WHEN period LIKE '%-H%' THEN left(period, 4) || '-' || lpad((right(period, 1)::int * 6 - 5)::text, 2, '0')
                ELSE period END
$$;

CREATE OR REPLACE FUNCTION period_last_month(period text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN length(period) = 4 THEN period || '-12'
                WHEN period LIKE '%-Q%' THEN left(period, 4) || '-' || lpad((right(period, 1)::int * 3)::text, 2, '0')
                WHEN period LIKE '%-H%' THEN left(period, 4) || '-' || lpad((right(period, 1)::int * 6)::text, 2, '0')
                ELSE period END
$$;
