-- Sign-in through the province's OpenID Connect provider: which chibo account a provider identity is
-- (set by an administrator, never created on first sign-in), and the flows started but not finished
-- (Authlib's state, nonce and PKCE verifier, bound to the browser that started them).
CREATE TABLE IF NOT EXISTS web_oidc_link (
    sub        text PRIMARY KEY REFERENCES account (sub) ON DELETE CASCADE,
    subject    text UNIQUE,
    email      text UNIQUE,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (subject IS NOT NULL OR email IS NOT NULL)
);

CREATE TABLE IF NOT EXISTS web_oidc_flow (
    state        text PRIMARY KEY,
    browser_hash text        NOT NULL,
    data         jsonb       NOT NULL,
    next_url     text        NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS web_oidc_flow_expires ON web_oidc_flow (expires_at);
