-- Issue: a group or batch transaction that failed partway (an earlier sub-transaction of the same call committed,
-- or its commit reached the server but the client lost the connection before hearing so) is judged again one event
-- per transaction, and an AMQP delivery is tried again while the database is away; the retry found the events that
-- very request had just stored in the inbox and answered them `duplicate`, telling the sender its event had come
-- before when it was taken in just now. The inbox row now keeps which request stored it (`stored_by`: the request's
-- token and the event's place in its body, handlers.ingest.Reading.request_mark), written by the inbox insert
-- itself, so a retry of the same request answers its own events as stored (accepted, or held while held) and a copy
-- from an earlier request stays `duplicate`. Rows recorded before this migration (and bulk loads, other consumers)
-- have none (NULL): never one request's own.
ALTER TABLE processed_message ADD COLUMN IF NOT EXISTS stored_by text;
