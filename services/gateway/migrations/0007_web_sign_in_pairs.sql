-- The sign-in throttle keyed by (account name, client address) with growing delays: a failure of one name spent
-- that name's attempts everywhere, so anyone could lock a known person out by failing their password on purpose.
-- `pair` attempts are keyed '<address> <name>' (an address holds no space). A name's addresses that have signed it
-- in are remembered, so the account-wide limit against guesses spread over many addresses never stops its owner.
ALTER TABLE web_sign_in_attempt DROP CONSTRAINT IF EXISTS web_sign_in_attempt_kind_check;
ALTER TABLE web_sign_in_attempt ADD CONSTRAINT web_sign_in_attempt_kind_check
    CHECK (kind IN ('account', 'address', 'pair'));
CREATE TABLE IF NOT EXISTS web_sign_in_known_address (
    name          text        NOT NULL,
    address       text        NOT NULL,
    signed_in_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, address)
);
CREATE INDEX IF NOT EXISTS web_sign_in_known_address_at ON web_sign_in_known_address (signed_in_at);
