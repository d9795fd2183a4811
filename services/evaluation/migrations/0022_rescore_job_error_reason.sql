-- A failed rescoring job showed its exception's repr to people (a trial: "ValueError('year 10000 is out of range')"
-- in the API, a bare "Bị lỗi" on the progress page). A job now fails with an English reason, the field at fault
-- and a code the pages word in Vietnamese; the repr stays in the log. Jobs failed before say they met an internal
-- error, their repr dropped.
ALTER TABLE rescore_job ADD COLUMN IF NOT EXISTS error_field text;
ALTER TABLE rescore_job ADD COLUMN IF NOT EXISTS error_code text;
UPDATE rescore_job
   SET error = 'the job stopped on an internal error; operators find it in evaluation''s log (rescore_job_failed)',
       error_code = 'internal'
 WHERE status = 'failed' AND error_code IS NULL;
