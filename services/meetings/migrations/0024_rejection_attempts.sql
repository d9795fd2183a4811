-- Issue: one rejection per (source, id) (0021) was refreshed by every later copy refused again, so the first
-- attempt's reason, route and moment were lost (a trial's HTTP `id_reused` read as a later AMQP copy's
-- `source_of_another_account`) and a replay judged only the latest copy. Each refused attempt of an event is now
-- kept as its own row here (repository/ingest.py reject): its route, reason, field, code, body, scope, message and
-- moment, numbered from 1 in the order received. The rejection row stays the event's one standing rejection (its
-- status, published once) and reads as its latest attempt received from a sender (a replay refused again is an
-- attempt too, but leaves the rejection's reason and body as they were); a replay judges a chosen attempt's copy,
-- by default the rejection's own (that latest one).
CREATE TABLE IF NOT EXISTS rejection_attempt (
    rejection_id text        NOT NULL REFERENCES rejection (rejection_id) ON DELETE CASCADE,
    attempt      integer     NOT NULL,
    route        text        NOT NULL,
    type         text        NOT NULL,
    reason       text        NOT NULL,
    field        text,
    refusal      jsonb,
    raw          text        NOT NULL,
    scope        text,
    message_id   text,
    received_at  timestamptz NOT NULL,
    PRIMARY KEY (rejection_id, attempt)
);
-- The rejections stored before: their one attempt as the row reads it, then a replay refused again after it.
INSERT INTO rejection_attempt
        (rejection_id, attempt, route, type, reason, field, refusal, raw, scope, message_id, received_at)
    SELECT rejection_id, 1, route, type, reason, field, refusal, raw, scope, message_id, received_at FROM rejection
    ON CONFLICT DO NOTHING;
INSERT INTO rejection_attempt
        (rejection_id, attempt, route, type, reason, field, refusal, raw, scope, message_id, received_at)
    SELECT rejection_id, 2, 'replay', type, last_replay_reason, last_replay_field, last_replay_refusal, raw, scope,
           NULL, last_replay_at
    FROM rejection WHERE last_replay_reason IS NOT NULL AND last_replay_at IS NOT NULL
    ON CONFLICT DO NOTHING;
