-- Issue 11: tokens are authorized from the stored account, so the account records when it last changed
-- (role, unit, person, scope or active): tokens issued before that instant are refused. Integration
-- accounts write only within their unit's subtree unless they are explicitly province-wide.
ALTER TABLE account ADD COLUMN IF NOT EXISTS changed_at timestamptz;
-- tokens issued so far carry whole-second `iat`s: keep those issued in the second of the last update valid
UPDATE account SET changed_at = date_trunc('second', updated_at) WHERE changed_at IS NULL;
ALTER TABLE account ALTER COLUMN changed_at SET NOT NULL;
ALTER TABLE account ALTER COLUMN changed_at SET DEFAULT now();

ALTER TABLE account ADD COLUMN IF NOT EXISTS province_wide boolean NOT NULL DEFAULT false;
-- an integration account without a unit wrote everywhere until now: say so explicitly, so nothing changes silently
UPDATE account SET province_wide = true WHERE role = 'integration' AND unit_id IS NULL;

-- anonymous refusals (no valid token) are counted per client address and window, not one audit row each
CREATE TABLE IF NOT EXISTS anonymous_refusal (
    client_ip     text        NOT NULL,
    window_start  timestamptz NOT NULL,
    refused       integer     NOT NULL,
    throttled     integer     NOT NULL,
    last_path     text,
    PRIMARY KEY (client_ip, window_start)
);
