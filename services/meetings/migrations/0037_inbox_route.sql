-- Issue: a copy's `event_duplicate` line said when its event's inbox row was recorded (`received_at`) but not by
-- which route its first copy came, so after a kill -9 between commit and `event_accepted` an operator reading the
-- duplicate line alone could not tell whether the event had come over HTTP, as one AMQP message, in an AMQP batch or
-- in a bulk history load. The inbox row now keeps the route its first copy was judged on (`http`, `http-batch`,
-- `amqp`, `amqp-batch`, `bulk`, `replay`), written by the inbox insert itself; rows recorded before this migration
-- (and other consumers' rows) have none (NULL), and their duplicate lines say `first_route: null`.
ALTER TABLE processed_message ADD COLUMN IF NOT EXISTS route text;
