"""API models of the operators' and administrators' endpoints (a read forwarded from a service subclasses its reply)."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from services.gateway.auth import Role
from services.gateway.schemas.common import CreateModel, CursorPage, Id, Page, Reason, typed_text
from services.gateway.schemas.ingest import CloudEventCreate
from shared.contracts import evaluation_rpc as evaluation
from shared.contracts import meetings_rpc as meetings
from shared.contracts import notifications_rpc as notifications
from shared.contracts.base import Flag
from shared.periods import ReportPeriod
from shared.refusals import Refusal
from shared.rejection_fields import public_codes


class RejectionAttemptRead(meetings.RejectionAttemptReply):
    """One refused attempt of a rejected event (its route, reason and moment); its code as `reason_code`."""

    @model_validator(mode="before")
    @classmethod
    def _code_as_reason_code(cls, value: Any) -> Any:
        """meetings' `refusal` ({"code", ...}) answered as `reason_code`, as RejectionRead answers its own
        (shared.rejection_fields.public_codes, the command line's too)."""
        return public_codes(value, attempt=True) if isinstance(value, dict) else value

    refusal: SkipJsonSchema[Refusal | None] = Field(default=None, exclude=True)
    reason_code: str | None = None


class RejectionRead(meetings.RejectionReply):
    """An event meetings refused, with the reason and the field at fault; its code as `reason_code`, the name the
    ingest answer and error answers give it (docs/integrations.md), never as meetings' `refusal` object."""

    @model_validator(mode="before")
    @classmethod
    def _codes_as_reason_codes(cls, value: Any) -> Any:
        """meetings' `refusal` and `last_replay_refusal` ({"code", ...}) answered as `reason_code` and
        `last_replay_reason_code`, as POST /v1/events answers each event's (shared.rejection_fields.public_codes, the
        command line's too)."""
        return public_codes(value) if isinstance(value, dict) else value

    refusal: SkipJsonSchema[Refusal | None] = Field(default=None, exclude=True)
    last_replay_refusal: SkipJsonSchema[Refusal | None] = Field(default=None, exclude=True)
    reason_code: str | None = None
    """Why it was rejected, machine-readably, when its rule gives a code (`id_reused`, `unit_without_parent`, ...:
    shared/refusals.py), as the ingest answer's `reason_code`: match on it, not on `reason`, whose English may
    change."""
    last_replay_reason_code: str | None = None
    """The code of its last replay's refusal, when that rule gave one."""
    attempts: list[RejectionAttemptRead] = []  # type: ignore[assignment]
    """Every refused attempt of its event, first first (route, reason, reason_code, received_at): a later copy
    refused again is one more, never in place of an earlier one; replay one by its `attempt` number."""


class RejectionCountsRead(meetings.RejectionCountsReply):
    """Every status's count of the rejections of the list's `type` (all types when none), whatever its `status`:
    `total` = `open` + `replayed` + `dismissed`; `open` is the operator page's "Từ chối chưa xử lý" figure;
    `answered_on_form` counts, of the dismissed, people's commands refused on their form (closed when stored)."""


class RejectionsPageRead(Page[RejectionRead]):
    """A page of rejections: `total` counts those its `status` (and `type`) select, all statuses when none is given;
    `counts` breaks every status down, so `total` of an unfiltered list and the page's open figure reconcile."""

    counts: RejectionCountsRead | None = None
    """None only from a meetings that does not count them yet (one older than the gateway, while both are updated)."""


class RejectionsCursorPageRead(CursorPage[RejectionRead]):
    """A cursor page of rejections, with the same `counts` as an offset page (read with its rows, one snapshot)."""

    counts: RejectionCountsRead | None = None
    """None only from a meetings that does not count them yet (one older than the gateway, while both are updated)."""


def rejection_page(page: Any) -> dict[str, Any]:
    """A page of meetings' rejections as GET /v1/rejections answers it (each a RejectionRead, plain JSON values)."""
    plain = page.model_dump() if isinstance(page, BaseModel) else dict(page)
    return {**plain, "items": [RejectionRead.model_validate(item).model_dump() for item in plain["items"]]}


class ReplayCreate(CreateModel):
    """Replay a rejection as it was, or with a corrected event."""

    event: CloudEventCreate | None = None
    attempt: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    """Which refused attempt's copy to judge (a number in the rejection's `attempts`), with that attempt's route and
    scope; none: the latest attempt received from a sender, the copy the rejection's `reason` is about."""
    sender: Id | None = None
    """The integration account (its `sub`) that sent the event, for a rejection stored before meetings kept senders
    (its replay refused `source`, saying so): judged by that account's sources now, recorded with who named it when
    not refused, and audited; 422 naming `sender` for a rejection that records its sender (it is replayed as that
    one) or that no scoped account sent."""


class RejectionDismissCreate(CreateModel):
    """Close a rejection without replaying it (garbage, an event dropped for good), and why."""

    reason: Reason


class RejectionsDismissCreate(CreateModel):
    """Close every open rejection a filter selects (its criteria all match; RFC 3339 times with their offset), and
    why; `all` is required to name no criterion; `dry_run` counts them and closes none; `expected`, the count
    confirmed, closes nothing unless the filter selects exactly that many."""

    code: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    source: Annotated[str, Field(min_length=1, max_length=1000)] | None = None
    sender: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    received_before: AwareDatetime | None = None
    received_after: AwareDatetime | None = None
    all: Flag = False
    dry_run: Flag = False
    reason: Reason
    expected: Annotated[int, Field(strict=True, ge=0, le=1_000_000_000)] | None = None
    """The count confirmed (a dry run's `matched`, sent with its `counted_at` as `received_before`): when the filter
    now selects another number of open rejections, nothing is closed and the answer says `expected_differs`."""


class RejectionsDismissedRead(BaseModel):
    """What a filtered dismissal did: `matched` (open ones selected when it began), `dismissed` (closed now; 0 for a
    dry run or a filter sent again), `remaining` (still open and selected), and the `filter` read."""

    matched: int
    dismissed: int
    remaining: int
    dry_run: bool
    filter: dict[str, Any]
    counted_at: datetime | None = None
    """When `matched` was counted: send it as `received_before` to confirm, so that later arrivals stay open."""
    expected_differs: bool = False
    """`expected` was sent and the filter selected another number of open rejections: nothing was closed."""


class DeadLetterQueueRead(BaseModel):
    """One consumer queue's dead letters."""

    queue: str
    dead_letter_queue: str
    messages: int | None
    consumers: int | None
    error: str | None = None


class DeadLettersRead(BaseModel):
    """Depth of every consumer queue's dead letters."""

    queues: list[DeadLetterQueueRead]
    total: int


class InstanceRead(BaseModel):
    """One running process of a service, by its last status heartbeat (shared.instances): `reporting` within the
    gateway's window, `missing` (silent longer), `frozen` (a process of the gateway's host stopped by a signal),
    `unanswered` (reporting, but its service did not answer the overview: recovery.one_state), or `stopped` (it
    said so)."""

    instance: str
    state: Literal["reporting", "missing", "frozen", "unanswered", "stopped"]
    pid: int
    host: str
    http_port: int | None = None
    started_at: str
    seconds_since_report: float
    status: Literal["ok", "degraded", "stopping"]
    attention: list[str] = Field(default_factory=list)
    """Its own attention lines, in words, for showing only."""
    dead_letters: dict[str, int | None] | None = None
    """The depth of each dead-letter queue it reads, as its heartbeat's figures say (corrected by the gateway's own
    measurement: shared.instances.InstanceBoard.measured_dead_letters); None: it sent none (no queue measured)."""
    database: str | None = None
    """Its database as its heartbeat says it: `ok`, or `down: <why>`; None: it said none."""


class ServiceHealthRead(BaseModel):
    """One service's health: from every process's heartbeat when any reported (`instances`; `down` when none reports
    within the window, `degraded` when one is missing or not ok), else as its one configured /health page says."""

    status: Literal["ok", "degraded", "down"]
    detail: dict[str, Any] | str | None = None
    instances: list[InstanceRead] = Field(default_factory=list)


class SystemHealthRead(BaseModel):
    """Each service's own health page, and the broker as the gateway sees it."""

    status: Literal["ok", "degraded"]
    broker: str
    services: dict[str, ServiceHealthRead]
    dead_letters: dict[str, int | None] = Field(default_factory=dict)
    """Messages in each dead-letter queue (None: not declared yet); any makes the system `degraded`."""
    dead_letters_total: int = 0
    unrouted: int | None = None
    """Messages in chibo.unrouted, the exchanges' alternate exchange (None: broker down or queue not declared),
    published with a routing key nobody was bound for. No alarm by itself: `unrouted_types` land there by design; an
    event a service should have received is counted by that service's own /health (`unrouted`, ChiboEventsUnrouted)."""
    unrouted_types: list[str] = Field(default_factory=list)
    """The types published on chibo.events that no chibo service binds (for listeners outside chibo), which is what
    chibo.unrouted holds while no such listener is bound."""
    attention: list[str] = Field(default_factory=list)
    """What needs an operator, in words (`3 dead letters in meetings.ingest.dlq`)."""
    measured_at: datetime | None = None
    """When the gateway measured these figures (UTC): the broker and the dead-letter depths then, the processes'
    heartbeats as received by then, each corrected by those depths."""


class HealthRead(BaseModel):
    """The gateway's liveness, and which services have a consumer on their RPC queue."""

    service: Literal["gateway"]
    status: Literal["ok", "degraded"]
    database: str
    broker: str
    services: dict[str, str]


class FailedDeliveryRead(notifications.DeliveryReply):
    """A notification that could not be delivered."""


class FrameworkRead(evaluation.FrameworkReply):
    """A scoring framework (criteria, bands, gates, period rules) as evaluation stores it."""


class FrameworkListRead(BaseModel):
    """Every framework evaluation knows."""

    items: list[FrameworkRead]


FRAMEWORK_TEXT_KEYS = frozenset({"name", "issuer", "document_number"})
"""The keys of a framework document, at any depth, whose values people read (the framework's name, issuer and
document number, each criterion's and item's label: evaluation's Framework, Group and Item); its other strings are
codes, ids, kinds and dates, which evaluation's schema judges exactly as sent."""


def framework_as_typed(value: Any) -> Any:
    """A framework document (dicts and lists walked) with the texts under FRAMEWORK_TEXT_KEYS cleaned as typed
    (typed_text: no bidirectional or zero-width character); anything else left as it is."""
    if isinstance(value, dict):
        return {
            key: typed_text(item) if key in FRAMEWORK_TEXT_KEYS else framework_as_typed(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [framework_as_typed(item) for item in value]
    return value


class FrameworkCreate(CreateModel):
    """Adopt a framework document, for the whole province or one committee's subtree; its labels are read as typed
    (framework_as_typed)."""

    document: Annotated[dict[str, Any], AfterValidator(framework_as_typed)]
    committee_id: Id | None = None


class RescoreCreate(CreateModel):
    """Re-score history under the frameworks now in force: an administrator anywhere (no `unit_id`: every cell), a
    committee officer their own subtree (`unit_id` required, a committee inside it)."""

    unit_id: Id | None = None
    period_from: ReportPeriod | None = None
    """The first period re-scored, from its first month: a month, a quarter, a half-year or a year."""
    period_to: ReportPeriod | None = None
    """The last period re-scored, to its last month (same forms); none: up to now."""


class RescoreRead(evaluation.RescoreJobReply):
    """A rescoring job: queued at once, its progress readable until it is done. `meetings_rescored`: meetings scored
    again; `meetings_changed`: meetings whose score, rating or a criterion's points changed (not those only moved to
    a new framework version that rates them the same); `periods_changed`: cells' month, quarter and year results
    whose rating, score or figures changed; `changed`: everything that changed, their sum."""


class AccountCreate(CreateModel):
    """A local account; its token is returned once."""

    sub: Id | None = None
    role: Role
    unit_id: Id | None = None
    person_id: Id | None = None
    days: Annotated[int, Field(ge=1, le=3650)] | None = None
    """At most the gateway's CHIBO_TOKEN_MAX_DAYS (30 by default): more is refused naming `days`."""
    province_wide: Flag = False
    """Integration accounts only: write anywhere in the tree instead of within `unit_id`'s subtree."""
    sources: Annotated[list[Annotated[str, Field(min_length=1, max_length=256)]], Field(max_length=20)] = []
    """Integration accounts scoped to a unit only: the CloudEvents `source`s its events may carry (none: it may send
    nothing); no other sender may use them."""


class AccountRead(BaseModel):
    """A local account."""

    sub: str
    role: Role
    unit_id: str | None
    person_id: str | None
    active: bool
    province_wide: bool = False
    sources: list[str] = []
    """The sources registered to the account (a scoped integration account's: the only ones it may use)."""
    created_at: datetime
    updated_at: datetime
    changed_at: datetime | None = None
    """The last change of role, unit, person, scope or active: tokens issued before it no longer work."""


class AccountTokenRead(BaseModel):
    """A local account and its token (shown once)."""

    account: AccountRead
    token: str


class AuditEntryRead(BaseModel):
    """One state-changing call: who, what, when, from where, and its status."""

    id: int
    at: datetime
    sub: str | None
    role: str | None
    method: str
    path: str
    status: int
    client_ip: str | None
    detail: dict[str, Any] | None
