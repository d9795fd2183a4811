-- The API's Idempotency-Key header (IETF draft "The Idempotency-Key HTTP Header Field") on the secretary's commands:
-- a command sent with a key is the event whose id is derived from the caller's account and the key, so meetings'
-- (source, id) inbox answers it sent again as a duplicate. The key's first request is kept here by (account, key):
-- a digest of what it asked (`fingerprint`: the command's type, subject, data and envelope extensions, not the
-- moments the command stamps itself), its event id, and the moment it was first sent (what a resend stamps, so it is
-- the same event in content too). The same key with another request is refused naming the header. A key refused by
-- meetings is released (nothing was recorded under it). Rows older than CHIBO_IDEMPOTENCY_KEY_HOURS are purged.
CREATE TABLE IF NOT EXISTS idempotency_key (
    sub          text        NOT NULL,
    key          text        NOT NULL,
    fingerprint  text        NOT NULL,
    event_id     text        NOT NULL,
    sent_at      timestamptz NOT NULL,
    PRIMARY KEY (sub, key)
);
CREATE INDEX IF NOT EXISTS idempotency_key_sent_at ON idempotency_key (sent_at);
