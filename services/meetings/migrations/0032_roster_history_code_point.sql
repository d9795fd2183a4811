-- roster_history.version_id (0031) compares by code point, as every other version column (CONTRACT.md: ties of
-- `time` broken by `id` compared by code point; tests/shared/test_code_point_ties.py): the database's default
-- collation would order two rosters of one instant by a locale's rules, so the roster restored after a withdrawal
-- could differ between databases.
ALTER TABLE roster_history ALTER COLUMN version_id TYPE text COLLATE "C";
