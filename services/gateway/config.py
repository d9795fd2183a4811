"""Settings of the gateway; the only gateway module that reads the environment."""

from pydantic import Field

from shared.config import ServiceSettings


class GatewaySettings(ServiceSettings):
    """HTTP front door: authentication, limits and where the services' health pages are."""

    http_port: int = 8000
    jwt_secret: str | None = None
    """HS256 secret of local accounts; when unset a random one is kept in the gateway schema."""
    jwt_issuer: str = "urn:chibo:gateway"
    jwks_url: str | None = None
    """JWKS of an external identity provider whose RS256 tokens are accepted."""
    jwks_file: str | None = None
    jwks_cache_seconds: int = 300
    external_issuer: str | None = None
    external_audience: str | None = None
    ingest_timeout: float = 25.0
    """Bound on one ingest call (a batch of 1,000 takes longer than a query); below the RPC queue's TTL."""
    token_days: int = 30
    """Lifetime of a token issued without `--days`."""
    token_max_days: int = 30
    """No token is accepted whose `exp` lies more than this after its `iat` (or after now, without `iat`)."""
    anonymous_limit: str = "30/minute"
    """Requests without a valid token allowed per client address (`limits` notation), checked before the token."""
    anonymous_flush_seconds: float = 10.0
    """How often the counts of refused anonymous requests are written to `gateway.anonymous_refusal`."""
    source_sync_seconds: float = 30.0
    """How often meetings is sent every scoped integration account's sources (besides at once after an account
    changes through the API or `issue-token`): what a sync that failed, or a change made elsewhere, waits for."""
    max_json_depth: int = 64
    """Deepest nesting of arrays and objects accepted in a JSON body (400 naming `body` beyond it)."""
    unit_cache_seconds: float = 30.0
    unit_miss_cache_seconds: float = 0.0
    """How long the gateway keeps meetings' "no such unit" (UnitDirectory): not at all by default, so a unit created
    right after a look-up found it missing is found by the next one; a unit found is kept `unit_cache_seconds`."""
    unit_kept_seconds: float = Field(default=3600.0, gt=0)
    """How long the gateway's kept copy of a unit (the last answer meetings gave for it, UnitDirectory) may scope an
    officer's read while meetings does not answer: past it the read is refused as for a unit never seen (503 naming
    `meetings`; the web app's "try again" page), so a unit moved or a scope changed before it is never read through
    an older copy. An hour: most meetings outages, not a day's changes of the tree."""
    person_name_timeout: float = 1.0
    """Seconds the page header waits for the person's full name from meetings (PersonNames), well under
    rpc_timeout: while meetings does not answer, each page shows the sign-in name after this, not after 5 s."""
    person_name_retry_seconds: float = 10.0
    """A name lookup that failed is not tried again for this long: the pages loaded meanwhile show the sign-in name
    at once."""
    membership_cache_seconds: float = 30.0
    """How long a member's or secretary's account is taken to still stand (membership.MembershipCheck: its person
    still listed by the cell, a secretary still its secretary or deputy) before meetings is asked again: an account
    whose person left the cell or stepped down stops working within this. While meetings does not answer, reads wait
    `person_name_timeout` for it and go on with the last answer known (not asked again for
    `person_name_retry_seconds`); commands are refused (503)."""
    membership_kept_seconds: float = Field(default=3600.0, gt=0)
    """How long the last answer that a member's or secretary's account stands (membership.MembershipCheck) may let
    their reads through while meetings does not answer, after meetings gave it: past it a read is refused as for a
    person never checked (503 naming `meetings`; the web app's "try again" page), so a member moved or removed before
    it never reads their old cell on an older answer. An hour, as `unit_kept_seconds` (one cap: kept.KeptCopies)."""
    form_lock_wait_seconds: float = Field(default=60.0, gt=0)
    """How long a save of a form judged against what its page showed (the record page's forms, a rule of the alert
    settings) waits for another save of the same meeting or committee's settings to finish (web.form_locks), the wait
    for a connection to lock with included: past it the form is shown again as sent, saying someone else is saving it
    right now."""
    max_body_bytes: int = 8 * 1024 * 1024
    rate_limit_per_minute: int = 600
    rate_limit_burst: int = 120
    health_timeout: float = 2.0
    broker_api_url: str | None = None
    """RabbitMQ's management HTTP API (shared.broker_api), whose queue figures count the messages delivered and not yet
    acknowledged (a frozen consumer's backlog); default `http://<AMQP host>:15672`, "off" for none (the operations
    page then has passive declares: ready messages and consumers only)."""
    instance_window_seconds: float = 15.0
    """A service process whose last status heartbeat (shared.instances) is older than this is `missing`: the service
    is `degraded` while another one reports, `down` when none does (three heartbeats of 5 s by default)."""
    idempotency_key_hours: float = Field(default=24.0, gt=0)
    """How long, at least, the gateway keeps the request an account first sent with an Idempotency-Key: within it the
    same key with another request is a 422 naming the header (after it, still one when meetings holds the key's
    event with other content), and a resend stamps the first request's moment."""
    web_session_hours: float = 12.0
    """Lifetime of a web sign-in session."""
    web_sign_in_free_failures: int = 3
    """Failed web sign-ins of one username from one client address (an IPv6 client's /64) that cost no wait; past
    them the pair waits `web_sign_in_first_delay` seconds after its latest failure, twice as long after each further
    one, at most `web_sign_in_longest_delay`, until the right password (or a day without failures) clears them. The
    same username from another address is not slowed by it."""
    web_sign_in_first_delay: float = 2.0
    web_sign_in_longest_delay: float = 900.0
    web_sign_in_account_limit: str = "100/hour"
    """Failed web sign-ins allowed per username from all addresses together (`limits` notation, moving window),
    whether or not it exists: guesses spread over many addresses. Past it, 429 to any address the username has not
    signed in from within `web_sign_in_known_days`; its owner's own addresses still get in."""
    web_sign_in_known_days: float = 90.0
    web_sign_in_address_limit: str = "30/minute"
    """Failed web sign-ins allowed per client address, whatever the usernames tried."""
    oidc_issuer: str | None = None
    """The province's OpenID Connect provider (issuer URL, discovery at /.well-known/openid-configuration);
    unset: people sign in with their passwords only."""
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_provider_name: str | None = None
    """How the sign-in page names the provider ("Đăng nhập qua <name>"); default: the catalog's generic name."""
    oidc_scopes: str = "openid email profile"
    oidc_redirect_url: str | None = None
    """The callback URL registered with the provider, when the gateway sits behind a proxy; default: this request's
    own /app/sign-in/oidc/callback."""
    service_health_urls: dict[str, str] = Field(
        default_factory=lambda: {
            "meetings": "http://127.0.0.1:8101/health",
            "evaluation": "http://127.0.0.1:8102/health",
            "notifications": "http://127.0.0.1:8103/health",
        }
    )


def load_settings() -> GatewaySettings:
    """Read the gateway's settings from CHIBO_* variables."""
    return GatewaySettings()
