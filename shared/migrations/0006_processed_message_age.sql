-- The inbox is pruned by age (shared/retention.py: processed_message rows older than CHIBO_PROCESSED_RETENTION_DAYS,
-- a batch a statement, hourly). Rows are appended in processed_at order, so a BRIN index finds the old ones without
-- reading the whole table, and costs an insert next to nothing (a B-tree would add a write to every event handled).
CREATE INDEX IF NOT EXISTS processed_message_age ON processed_message USING brin (processed_at);
