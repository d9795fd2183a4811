-- A dead letter sent back (its copy's publication confirmed) whose removal from its `.dlq` then failed (the channel
-- or connection lost in between): the letter is still there, and a later replay removes it without sending it again
-- (shared/ops/dead_letters.py, replay_dead_letters). Keyed by the listing's row key of the letter (when it died, its
-- message id and body): a letter that died again since has another key and is sent back as any other.
CREATE TABLE IF NOT EXISTS dead_letter_sent (
    queue text NOT NULL,
    letter_key text NOT NULL,
    replay_id text,
    sent_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (queue, letter_key)
);
