-- The outbox's documents and names are never filtered, joined or sorted on (the relay reads by id and the publish
-- and park times; event_id's uniqueness is known from its index), yet computing their statistics was most of an
-- ANALYZE of the outbox: 1.3 s of 100,000 CloudEvents, 0.37 s without (shared/statistics.py analyzes a grown outbox).
ALTER TABLE outbox
    ALTER COLUMN payload SET STATISTICS 0,
    ALTER COLUMN trace_context SET STATISTICS 0,
    ALTER COLUMN event_id SET STATISTICS 0,
    ALTER COLUMN correlation_id SET STATISTICS 0,
    ALTER COLUMN exchange SET STATISTICS 0,
    ALTER COLUMN routing_key SET STATISTICS 0,
    ALTER COLUMN last_error SET STATISTICS 0,
    ALTER COLUMN parked_reason SET STATISTICS 0;
