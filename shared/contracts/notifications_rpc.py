"""The notifications.rpc catalog: one request model per method (service, method, reply) and the reply models."""

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, Field

from shared.contracts import ops_rpc as ops
from shared.contracts.notifications import Channel
from shared.keyset import After
from shared.periods import Period, ReportPeriod
from shared.rpc import Page, Reply, Request
from shared.text import require_text
from shared.web_address import web_address

ReplyT = TypeVar("ReplyT", bound=Reply)

Limit = Annotated[int, Field(ge=1, le=500)]
Offset = Annotated[int, Field(ge=0)]


class NotificationsRequest(Request[ReplyT], Generic[ReplyT]):
    """A request answered by the notifications service."""

    service = "notifications"


# ---- replies -----------------------------------------------------------------------------------


class NotificationReply(Reply):
    """One inbox item (title, body, rule, subject, created_at, read_at, ...)."""

    notification_id: str


class DeliveryReply(Reply):
    """One delivery of a notification on one channel, with its status (and attempt log when asked alone)."""

    delivery_id: int


class PreferencesReply(Reply):
    """A recipient's channels and digest choice (`stored` false when these are the defaults)."""

    recipient_id: str
    channels: list[str]
    digest: bool = False
    webhook_url: str | None = None
    webhook_secret_set: bool = False
    stored: bool = False
    available_channels: list[str] = Field(default_factory=lambda: ["email", "inbox"])
    """The channels a choice may name here (the webhook only where an SMS gateway is configured)."""
    email_on_file: bool | None = None
    """Whether an e-mail address is on file to send to (the member snapshot's or the person's monitor assignments',
    a committee's contact addresses); None when the recipient is no member, monitor or unit known to notifications.
    E-mail stays a choice without one: nothing is e-mailed until an address comes from the member database."""


class RulesReply(Reply):
    """The effective rule settings for a unit: rule → {enabled, params, set_by, limits}, `set_by` naming the unit whose
    setting gives each value ({"enabled": unit id, "params": {name: unit id}}, None where the default holds), `limits`
    what each parameter may be ({"min", "max"} or {"choices"})."""

    unit_id: str
    rules: dict[str, dict[str, Any]]
    history_cutoff_days: int | None = None
    """Notifications' CHIBO_HISTORY_CUTOFF_DAYS as it runs: a fact about a meeting that started more days ago than this
    raises no alert (bulk-loaded history stays silent: docs/architecture.md), so a page can say how old; None from a
    notifications that does not tell it."""


class LateMinutesReply(Reply):
    """A meeting in a committee's subtree whose minutes or final documents are late (DOMAIN.md: not in the set days
    after the meeting), or came late, not cancelled, with what its records still lack or when they arrived."""

    meeting_id: str
    cell_id: str
    cell_name: str | None = None
    kind: str | None = None
    starts_at: datetime
    due_at: datetime
    """When its records were due: the days set for its cell after the meeting's end as its minutes give it, after its
    start while it has no minutes (notifications' rules.records_due_at)."""
    missing: list[str]
    """What is still lacking, in order: `minutes_submitted`, then each final document kind (`minutes`,
    `resolution`) not published."""
    arrived_at: datetime | None = None
    """When its records were all in (the minutes and the last final document), after `due_at`: submitted late, listed
    after the meetings still overdue; None while something is lacking."""


class PeriodChecksReply(Reply):
    """When the period_rated_low checks of a committee's cells for a period that have not run yet are due."""

    committee_id: str
    period: str
    due_at: datetime | None = None
    """The latest due time of those checks (the grace's end, or later while a rating that came after it is still
    settling: notifications' rules.period_check_due); None when none is pending."""
    pending: int = 0
    """How many of the subtree's cells have that check still to run."""


# ---- requests ----------------------------------------------------------------------------------


class GetInbox(NotificationsRequest[Page[NotificationReply]]):
    """A page of a person's or committee's in-app notifications."""

    method = "inbox"
    recipient_id: str
    unread_only: bool = False
    limit: Limit = 50
    offset: Offset = 0
    after: After | None = None
    """Keyset paging: the rows after this key (the `next_after` of the page before; shared.keyset)."""


class MarkRead(NotificationsRequest[NotificationReply]):
    """Mark one inbox item read; the item."""

    method = "mark_read"
    recipient_id: str
    notification_id: str


class ListFailedDeliveries(NotificationsRequest[Page[DeliveryReply]]):
    """A page of deliveries that gave up."""

    method = "list_failed"
    limit: Limit = 50
    offset: Offset = 0
    after: After | None = None
    """Keyset paging: the rows after this key (the `next_after` of the page before; shared.keyset)."""


class GetDelivery(NotificationsRequest[DeliveryReply]):
    """One delivery with its attempt log."""

    method = "get_delivery"
    delivery_id: int


class RetryDelivery(NotificationsRequest[DeliveryReply]):
    """Put a failed delivery back in line with a fresh set of attempts."""

    method = "retry_delivery"
    delivery_id: int


class GetPreferences(NotificationsRequest[PreferencesReply]):
    """A recipient's channels and digest choice."""

    method = "get_preferences"
    recipient_id: str


class SetPreferences(NotificationsRequest[PreferencesReply]):
    """Change which channels reach a recipient, whether they want a daily digest and their own webhook: a field left
    None keeps what the recipient has (stored, else the defaults), as the officers' page carries channels and digest
    only and an operator may set the webhook alone; `clear_webhook` drops the stored webhook address and secret (a
    `webhook_url` or `webhook_secret` sent with it is then the new one)."""

    method = "set_preferences"
    recipient_id: str
    channels: list[Channel] | None = None
    digest: bool | None = None
    webhook_url: Annotated[str, AfterValidator(web_address)] | None = None
    webhook_secret: Annotated[str, AfterValidator(require_text)] | None = None
    clear_webhook: bool = False


class GetRules(NotificationsRequest[RulesReply]):
    """The effective rule settings for a unit (defaults, then its ancestors' overrides)."""

    method = "get_rules"
    unit_id: str


class SetRule(NotificationsRequest[RulesReply]):
    """Set a rule's thresholds or lead times (or switch it off) for a subtree, over the unit's earlier setting of it
    (`enabled` None keeps it, `reset_enabled` gives on or off back to the units above, a parameter set to None goes
    back to the units above); invalid naming the field (`rule`, `params.NAME`) for an unknown name or a value out of
    its range."""

    method = "set_rule"
    unit_id: str
    rule: str
    params: dict[str, Any] | None = None
    enabled: bool | None = None
    reset_enabled: bool = False


OPS = ops.ops_catalog("notifications")
"""The operator methods (dead letters, parked outbox rows) as this service's own requests (see ops_rpc.py)."""


class ListLateMinutes(NotificationsRequest[Page[LateMinutesReply]]):
    """The meetings of a committee's subtree starting in a report period (a half-year is its six months as one list,
    as a year's) whose minutes are late now, not cancelled and still lacking minutes or a final document, the longest
    overdue first; `total` counts them all. The gateway checks the caller's scope first."""

    method = "list_late_minutes"
    committee_id: Annotated[str, Field(min_length=1, max_length=200)]
    period: ReportPeriod
    limit: Limit = 50
    offset: Offset = 0


class GetPeriodChecks(NotificationsRequest[PeriodChecksReply]):
    """When the pending period_rated_low checks of a committee's cells for a period are due (the latest of them),
    so a page can say the period's alerts are not decided yet. The gateway checks the caller's scope first."""

    method = "period_checks_due"
    committee_id: Annotated[str, Field(min_length=1, max_length=200)]
    period: Period
