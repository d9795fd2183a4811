"""Settings of the notifications service; the only module that reads the environment."""

import ssl
from email import policy
from email.headerregistry import Address
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from services.notifications.domain.settings import PARAM_BOUNDS
from services.notifications.webhook_guard import Allowlist, allowlist_entry_problem, literal_refusal, parse_allowlist
from shared.config import ServiceSettings, retention_refusal
from shared.web_address import address_problem, domain_problem, web_address

SWEPT_PERIOD_DAYS = 62
"""The longest the daily sweep raises one alert of a month or a quarter again: the sweeps of that month and of the
next (month_without_meeting), two months of at most 31 days."""


def parse_mailbox(value: str) -> Address:
    """The one mailbox of a setting, RFC 5322 3.4 ("Tên <local@domain>" or a bare address; a name with a comma
    quoted); ValueError saying what is wrong (several addresses, no domain, a non-ASCII address SMTP cannot carry)."""
    header = policy.default.header_factory("From", value)
    addresses = header.addresses
    if len(addresses) != 1:
        raise ValueError(
            f"one mailbox expected, found {len(addresses)}: {value!r} (quote a display name holding a comma)"
        )
    mailbox = addresses[0]
    if header.defects or not mailbox.username or not mailbox.domain:
        problems = "; ".join(str(defect) for defect in header.defects) or "no local part or domain"
        raise ValueError(f"not a mailbox 'Tên <local@domain>': {value!r} ({problems})")
    if not mailbox.addr_spec.isascii():
        raise ValueError(f"the address must be ASCII (SMTP without SMTPUTF8): {mailbox.addr_spec!r}")
    if domain_problem(mailbox.domain) is not None:  # judged as every e-mail domain is (an `xn--` label of nothing)
        raise ValueError(f"the domain {mailbox.domain!r} is not a host name (IDNA 2008, UTS #46): {value!r}")
    return mailbox


class Settings(ServiceSettings):
    """Notifications: SMTP, webhook, schedule and delivery settings (CHIBO_* variables)."""

    http_port: int = 8103

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_timeout: float = 10.0
    smtp_connections: int = 16
    """SMTP sessions kept open and sending at once (each carries mail after mail). Every RCPT TO of a mail to many
    waits for its answer and then for a turn of the sessions' loop (channels.SendingLoop, their own since h240: on the
    loop the consumer shares, 4 sessions held the sender to ~150 deliveries/s on the latency preset's loaded machine);
    16 sessions advance 16 mails a turn."""
    smtp_max_recipients: int = 100
    """Recipients of one identical mail carried in one SMTP transaction at most (RFC 5321's minimum servers take)."""
    smtp_idle_seconds: float = 60.0
    """A session idle longer than this is closed instead of reused (servers drop idle sessions)."""
    mail_from: str = "Chibo <thongbao@chibo.local>"
    """CHIBO_MAIL_FROM: the sender mailbox of every mail (From: and the envelope), checked when the service starts."""

    public_base_url: str | None = None
    """CHIBO_PUBLIC_BASE_URL: the address people open the web app at (the gateway's, e.g. https://chibo.tinh.vn),
    checked when the service starts; mails then name the page to open (the meeting's, the inbox). Unset or empty,
    mails say where to look without an address."""
    webhook_url: str | None = None
    """CHIBO_WEBHOOK_URL: the province's SMS or messaging gateway, judged when the service starts as a recipient's
    own webhook_url is (shared.web_address); unset or empty, there is none and the webhook is not offered."""
    webhook_secret: str = ""
    webhook_timeout: float = 10.0
    webhook_concurrency: int = 20
    """Webhook POSTs under way at once (a round leases up to `delivery_batch_size` deliveries)."""
    webhook_signature_header: str = "X-Chibo-Signature"
    webhook_allowed_hosts: list[str] = []
    """CHIBO_WEBHOOK_ALLOWED_HOSTS (JSON list): the hosts and networks a webhook may reach although they are not
    global (webhook_guard: loopback, private, link-local, unique-local...), each an IP address (`10.20.0.5`), a
    network (`10.20.0.0/16`, `fd00:20::/64`) or a host name (`sms.tinh.local`, allowed whatever it resolves to);
    empty, webhooks reach global addresses only. Judged at registration and before each send."""
    webhook_ca_file: str | None = None
    """CHIBO_WEBHOOK_CA_FILE: a PEM file of CA certificates trusted for HTTPS webhooks besides the default ones (the
    gateway's own CA on the province's network); checked when the service starts. A webhook's certificate must come
    from a trusted CA and name the host as written in its address, else the send fails (retried, then failed)."""
    secret_key: str = ""
    """CHIBO_SECRET_KEY: seals per-recipient webhook secrets at rest; without it they cannot be stored."""

    default_person_channels: list[str] = ["email", "webhook", "inbox"]
    default_committee_channels: list[str] = ["email", "webhook", "inbox"]
    default_committee_digest: bool = True
    """CHIBO_DEFAULT_COMMITTEE_DIGEST: committees without a preference of their own get their alerts as one daily digest
    (at `digest_hour`) rather than one mail each (DOMAIN.md: committees prefer a daily digest); a committee's stored
    preference (set_preferences with its unit id) wins. The inbox has every alert at once either way."""

    delivery_max_attempts: int = 5
    delivery_backoff_seconds: float = 30.0
    delivery_backoff_max_seconds: float = 3600.0
    delivery_poll_seconds: float = 1.0
    delivery_batch_size: int = 1000
    """Deliveries leased per round. A round is about 55 cell notices (18 recipients each), enough mails for every
    SMTP session; each mail's outcome is committed before its session sends the next (handlers.deliveries
    .DeliveryRounds), so a crash sends again only the mails in flight (the same Message-IDs); the round's untried
    deliveries are taken over as soon as the crashed sender is known dead (holders.DeliveryHolder)."""
    delivery_lease_seconds: float = 120.0
    """How long a delivery stays leased to a sender that has no holder row (an older version); a sender known dead
    loses its leases at once."""
    delivery_holder_beat_seconds: float = Field(default=5.0, gt=0)
    """How often each delivery sender stamps its `delivery_holder` row alive (holders.DeliveryHolder)."""
    delivery_holder_stale_seconds: float = Field(default=30.0, gt=0)
    """A sender whose stamp is older than this is dead to the others, which take its leases over (a kill -9's mails
    go out this long after, not after the 120 s lease; the restarted service, finding its pid gone, takes them at
    once). Over twice the beat: a live sender stops beginning sends once half of it has passed without a beat
    confirmed, so it never loses a lease it is using."""
    delivery_failing_seconds: float = Field(default=60.0, ge=0)
    """CHIBO_DELIVERY_FAILING_SECONDS: a channel (the mail server, the webhook receiver) is named as failing on /health,
    `chibo_delivery_channel_failing` and the operations page only once its failed attempts, with no success between
    them, span this many seconds; its next success clears it (monitoring.ChannelWatch). 0 names it at the first
    failure. One transient SMTP hiccup retried successfully alarms nobody; each failed attempt is logged and counted."""

    absence_group_seconds: float = Field(default=0.4, ge=0, le=1.0)
    """CHIBO_ABSENCE_GROUP_SECONDS: the e-mails and webhooks of an absence-run alert (consecutive_absences,
    unexcused_months: one per recipient per meeting naming every member crossing at it) wait this long before they
    may be sent, so that the same meeting's crossings arriving in other messages a moment later (one announcement a
    message, a batch cut in two) join the notice still waiting instead of a follow-up each. The inbox has the notice
    at once. At most 1 s: event -> notice stays within its 2 s p99."""
    schedule_poll_seconds: float = 1.0
    schedule_batch_size: int = 50
    daily_sweep_hour: int = 8
    sweep_batch_size: int = 500
    """Cells judged per transaction by the daily sweep (its cursor commits with each batch)."""
    digest_hour: int = 17
    history_cutoff_days: int = 14
    """Facts about meetings older than this trigger no alert (bulk imports of history stay silent); a meeting's timed
    check counts the days from its own deadline (handlers.jobs.check_lag)."""
    late_records_grace_minutes: float = Field(default=30.0, ge=0)
    """CHIBO_LATE_RECORDS_GRACE_MINUTES: a meeting that first becomes known here with its records already late (a
    secretary recording a past meeting, an integration's late schedule) has its late-records alerts (minutes_late,
    minutes_late_superior) deferred this long from then, so the secretary can enter its minutes and final documents
    first; records complete by then cancel them. A meeting already known that a change (a move, a corrected start) puts
    past such a deadline gets the same grace from when the change is known. The same 30 minutes the rated-low alerts
    settle by (settle_minutes). The deadline itself does not move (DOMAIN.md "Alerts": "not in 2 days after the
    meeting")."""
    figures_retention_days: int = 400
    """Announced attendance figures older than this are pruned daily where a later one of the member stands at zeros
    (nothing before it can change an alert), and such old figures never alert, whatever their meeting."""
    prune_hour: int = 3
    """Local hour of the daily prune of old attendance figures."""
    prune_batch_size: int = 5000
    """Members whose old figures the daily prune deletes per transaction (its cursor commits with each batch), and
    meetings whose old scores it looks at per transaction."""
    meeting_score_retention_days: int = 90
    """A meeting's latest score (kept to judge its settled rating) stored more than this many days ago is purged by
    the daily prune (at `prune_hour`, `prune_batch_size` meetings a transaction) once its settled-rating check is not
    pending; a score event published before it is never stored again (an old copy redelivered would otherwise count as
    newer than nothing). More than `history_cutoff_days`: a meeting that old raises no alert anyway."""
    mail_address_retention_days: int = 400
    """How long the daily prune (at `prune_hour`, `prune_batch_size` addresses a transaction) keeps an alert's hold on
    an e-mail address (table mail_address: one mail per address per alert), counted from the notification that took
    it, and longer while the alert's meeting starts after that (handlers.jobs.prune_mail_addresses_batch says why).
    More than any other alert can be raised again for one more recipient (`_mail_addresses_outlive_their_alerts`):
    the probation lead time (180 days at most), a period's grace (30 at most) plus the history cutoff, two months of
    sweeps."""

    notification_retention_days: int = 800
    """How long the daily prune (at `prune_hour`, `prune_batch_size` a transaction) keeps a notification and its
    deliveries, counted from its creation: only once read (or void, or a digest: none the inbox lists unread), with no
    delivery pending, no mail_address row holding it and no meeting it names starting after the cutoff; an unread
    notice stays in its recipient's inbox. At least `mail_address_retention_days`
    (_notifications_outlive_their_addresses)."""

    def offered_channels(self) -> list[str]:
        """The channels this deployment can deliver on: e-mail and the inbox always, the webhook (the province's SMS
        or messaging gateway) only when CHIBO_WEBHOOK_URL names one."""
        return ["email", "webhook", "inbox"] if self.webhook_url else ["email", "inbox"]

    def webhook_allowlist(self) -> Allowlist:
        """CHIBO_WEBHOOK_ALLOWED_HOSTS as the guard reads it (webhook_guard.Allowlist)."""
        return parse_allowlist(self.webhook_allowed_hosts)

    @model_validator(mode="after")
    def _scores_outlive_the_cutoff(self) -> "Settings":
        if self.meeting_score_retention_days <= self.history_cutoff_days:
            raise ValueError(
                "CHIBO_MEETING_SCORE_RETENTION_DAYS must exceed CHIBO_HISTORY_CUTOFF_DAYS: a purged score of a meeting "
                "still recent would let an older copy of it alert"
            )
        return self

    def reraise_days(self) -> int:
        """The longest an alert may be raised again for one more recipient after its first notification: the
        probation lead time (180 days at most), a period's grace (30 at most) plus the history cutoff, two months of
        sweeps (a meeting's notices, until it starts, are kept by the prunes whatever their age)."""
        return max(
            SWEPT_PERIOD_DAYS,
            PARAM_BOUNDS["days_before"][1] + 1,
            PARAM_BOUNDS["grace_days"][1] + self.history_cutoff_days + 1,
        )

    def processed_retention_floor_days(self) -> tuple[int, str]:
        """An event handled again raises again what its alerts' windows still allow: its id is kept past them, so a
        redelivered fact is answered by the inbox, not only by the notification's key."""
        base, why = super().processed_retention_floor_days()
        if self.reraise_days() + 1 <= base:
            return base, why
        return self.reraise_days() + 1, "as an event handled again could raise its alerts again within their windows"

    @model_validator(mode="after")
    def _notifications_outlive_their_addresses(self) -> "Settings":
        refusal = retention_refusal(
            "CHIBO_NOTIFICATION_RETENTION_DAYS",
            self.notification_retention_days,
            self.mail_address_retention_days,
            "as long as CHIBO_MAIL_ADDRESS_RETENTION_DAYS: a notification's key is what stops an alert raised again"
            " notifying its recipient twice, and its mail_address rows need it",
        )
        if refusal:
            raise ValueError(refusal)
        return self

    @model_validator(mode="after")
    def _mail_addresses_outlive_their_alerts(self) -> "Settings":
        longest = self.reraise_days()
        if self.mail_address_retention_days <= longest:
            raise ValueError(
                f"CHIBO_MAIL_ADDRESS_RETENTION_DAYS must exceed {longest} days: an alert raised again within them for "
                "one more member sharing a mailbox would mail it a second time"
            )
        return self

    @model_validator(mode="after")
    def _holders_outlast_a_late_beat(self) -> "Settings":
        if self.delivery_holder_stale_seconds <= 2 * self.delivery_holder_beat_seconds:
            raise ValueError(
                "CHIBO_DELIVERY_HOLDER_STALE_SECONDS must exceed twice CHIBO_DELIVERY_HOLDER_BEAT_SECONDS: a sender"
                " whose beat is late once would be taken for dead while it sends"
            )
        return self

    @field_validator("mail_from")
    @classmethod
    def _one_mailbox(cls, value: str) -> str:
        try:
            parse_mailbox(value)
        except ValueError as exc:
            raise ValueError(f"CHIBO_MAIL_FROM: {exc}") from None
        return value

    @field_validator("public_base_url")
    @classmethod
    def _public_address(cls, value: str | None) -> str | None:
        # a mistyped address would otherwise reach every reader as a link that leads nowhere
        problem = address_problem(value) if value else None
        if problem is not None:
            raise ValueError(f"CHIBO_PUBLIC_BASE_URL: {problem.reason}")
        return web_address(value).rstrip("/") if value else None

    @field_validator("webhook_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        # a malformed gateway address (or one with a user name, a numeric host written otherwise than a.b.c.d, an
        # IPv4-mapped IPv6 host) once showed only when the first SMS failed to send
        problem = address_problem(value) if value else None
        if problem is not None:
            raise ValueError(f"CHIBO_WEBHOOK_URL: {problem.reason}")
        return web_address(value) if value else value  # its host's IDNA dot equivalents as `.`

    @field_validator("webhook_allowed_hosts")
    @classmethod
    def _allowlist_entries(cls, value: list[str]) -> list[str]:
        for entry in value:
            problem = allowlist_entry_problem(entry.strip())
            if problem is not None:
                raise ValueError(f"CHIBO_WEBHOOK_ALLOWED_HOSTS: {problem}")
        return value

    @field_validator("webhook_ca_file")
    @classmethod
    def _ca_certificates(cls, value: str | None) -> str | None:
        # a wrong path or file once showed only as every HTTPS webhook failing its certificate check
        if not value:
            return None
        if not Path(value).is_file():
            raise ValueError(f"CHIBO_WEBHOOK_CA_FILE: no such file: {value}")
        try:
            ssl.create_default_context(cafile=value)
        except (ssl.SSLError, UnicodeDecodeError) as exc:
            raise ValueError(f"CHIBO_WEBHOOK_CA_FILE: no PEM certificate in {value} ({exc})") from None
        return value

    @model_validator(mode="after")
    def _gateway_reachable(self) -> "Settings":
        # a gateway written as an IP address the guard refuses would fail every send; a host name is judged at each
        # send (its DNS answer may change), as no resolver is asked while the settings are read
        if self.webhook_url:
            refusal = literal_refusal(self.webhook_url, self.webhook_allowlist())
            if refusal is not None:
                raise ValueError(f"CHIBO_WEBHOOK_URL: {refusal}")
        return self
