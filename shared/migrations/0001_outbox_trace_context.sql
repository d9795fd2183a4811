-- The W3C trace context (traceparent, tracestate) of the transaction that wrote an outbox row, so the
-- relay publishes the event inside the same trace as the request or event that caused it.
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS trace_context jsonb;
