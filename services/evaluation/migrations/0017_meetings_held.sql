-- A cell's month that held some meeting but not its regular one (only a thematic or an extraordinary meeting so far)
-- reads "chưa sinh hoạt thường kỳ" on the pages, not "chưa sinh hoạt" (DOMAIN.md: what the cell lacks is the regular
-- monthly meeting). The stored period counted only its regular and thematic meetings, so a month whose only meeting
-- was extraordinary could not be told from one without any: `meetings_held` counts the meetings of every kind the
-- cell held in the period (services/evaluation/domain/periods.py). Rows rated before this release hold NULL until
-- they are rated again, except the months without a regular meeting that held another one, filled in here: the only
-- rows the pages read it from.
ALTER TABLE cell_period ADD COLUMN IF NOT EXISTS meetings_held integer;

UPDATE cell_period p
SET meetings_held = held.meetings
FROM (
    SELECT m.cell_id, to_char((m.starts_at AT TIME ZONE 'UTC') + interval '7 hours', 'YYYY-MM') AS period,
           count(*)::int AS meetings
    FROM meeting_score m
    WHERE m.held
    GROUP BY 1, 2
) held
WHERE p.cell_id = held.cell_id AND p.period = held.period AND p.regular_held = 0 AND p.meetings_held IS NULL;
