-- A long job (the daily sweep of every cell) runs in batches: the cursor is where the next batch starts,
-- committed with each batch's notifications, so a restart or another instance resumes there.
ALTER TABLE schedule ADD COLUMN cursor text;
