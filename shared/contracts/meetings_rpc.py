"""The meetings.rpc catalog: one request model per method (service, method, reply) and the reply models.

Requests validate what the service needs (a failure answers `invalid` naming the field); replies
type the fields callers use and keep any further ones (tolerant readers).
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Final, Generic, Literal, Self, TypeVar

from pydantic import AwareDatetime, BaseModel, Field, ValidationInfo, field_validator, model_validator

from shared.contracts import ops_rpc as ops
from shared.contracts.ingest import IngestWarning
from shared.keyset import After
from shared.periods import ReportPeriod
from shared.refusals import Refusal, RefusalCode
from shared.rpc import FieldRefused, Page, Reply, Request

ReplyT = TypeVar("ReplyT", bound=Reply)

Limit = Annotated[int, Field(ge=1, le=1000)]
Offset = Annotated[int, Field(ge=0)]
Outcome = Literal["accepted", "duplicate", "held", "rejected", "not_judged"]
"""`not_judged` only between meetings and the gateway (IngestBody.answer_by): never an outcome of an API answer."""
NOT_JUDGED: Final = "not_judged"
"""The Outcome of an event meetings had no time to judge before an IngestBody's `answer_by`: nothing of it stored;
the gateway answers such a call 503 listing these apart (IngestUnfinishedRead), never as an outcome."""
MeetingStatus = Literal["scheduled", "cancelled", "minutes_submitted", "minutes_approved"]
"""A meeting is `scheduled` until it is held (minutes, not cancelled: DOMAIN.md), a roster recorded or not."""
HELD_STATUSES: frozenset[str] = frozenset({"minutes_submitted", "minutes_approved"})
"""The statuses of a held meeting (meetings' domain.is_held): it has minutes and is not cancelled."""


class MeetingsRequest(Request[ReplyT], Generic[ReplyT]):
    """A request answered by the meetings service."""

    service = "meetings"


# ---- replies -----------------------------------------------------------------------------------


class IngestResultReply(Reply):
    """How one raw event was judged (`index` in the batch sent)."""

    index: int
    id: str | None = None
    source: str | None = None
    type: str | None = None
    outcome: Outcome
    reason: str | None = None
    field: str | None = None
    problem: Literal["syntax", "shape", "too_large", "neither_mode", "header"] | None = None
    """For a body that is not an event or a batch at all, so HTTP can answer 400, 422, 413 or 415."""
    waiting_for: str | None = None
    """What a held event waits for: `unit:<id>`, `member:<id>`, `meeting:<id>`, `minutes:<m>` or `task:<m>:<t>`."""
    refusal: Refusal | None = None
    """Why it was rejected or held, machine-readably, when the rule gives a code (shared.refusals)."""
    ignored_fields: list[str] | None = None
    """Keys of its data no field of its type reads (`data.committe_prepared`): taken without them."""
    warnings: list[IngestWarning] | None = None
    """What it lacks though accepted (`roster_incomplete`: a roster leaving out members of the cell, named)."""


class ReplayReply(IngestResultReply):
    """How a replayed rejection's event was judged, and how many held events it released that are judged after the
    replay committed (each then logged `event_accepted` with route `release` when applied); 0 when none or all were
    judged in the replay's own transaction."""

    releasing: int = 0


class IngestReply(Reply):
    """Every event's outcome, in the order sent."""

    results: list[IngestResultReply]
    correlation_id: str | None = None
    """IngestBody: the one correlation id (CONTRACT.md `correlationid`) every event of the body names, by which
    meetings followed the request when it is not the one the call came with; None otherwise (the body names none or
    several, or could not be read). The gateway reads no body itself: it follows the request by this one after."""


class UnitReply(Reply):
    """A committee or a cell, with the path from the root (`ancestors`, root first, ending with itself)."""

    id: str
    name: str
    kind: Literal["committee", "cell"]
    parent_id: str | None = None
    category: str | None = None
    active: bool = True
    contact_emails: list[str] = Field(default_factory=list)
    ancestors: list[str] = Field(default_factory=list)


class MemberReply(Reply):
    """A member of a cell."""

    id: str
    full_name: str
    status: str
    role: str | None = None
    exempt: bool = False
    email: str | None = None
    admitted_on: date | None = None
    probation_ends_on: date | None = None
    left_on: date | None = None
    """The day their removal took effect (member.removed.v1 `effective_on`), None while they are a member: a past
    meeting or period names a member who left since, and says from when they are gone."""


class MeetingSummaryReply(Reply):
    """A meeting in a list."""

    meeting_id: str
    cell_id: str
    kind: str | None = None
    status: MeetingStatus | None = None
    starts_at: datetime | None = None
    topic: str | None = None
    location: str | None = None
    attendance_recorded: bool = False
    """Whether its roster is recorded: a `scheduled` meeting with one awaits its minutes."""
    held_recorded_at: datetime | None = None
    """When its secretary recorded it as already held (meetings' held_recorded_at), None for a meeting scheduled
    beforehand or by an integration: a `scheduled` one so recorded took place and awaits its minutes."""
    minutes_published: bool | None = None
    """Whether a minutes document of it is published (documents.published.v1, kind `minutes`); None from a meetings
    service that does not say (a reader then cannot tell, and says only that minutes are recorded)."""


class AttendanceReply(Reply):
    """A roster: its records and guests."""

    records: list[dict[str, Any]] = Field(default_factory=list)
    guests: list[dict[str, Any]] = Field(default_factory=list)


WaitingFor = Literal["attendance", "minutes", "task"]
"""What a held fact about a meeting waits for that its secretary records: its attendance (`roster:<m>`), its minutes
(`minutes:<m>`), or a task in its minutes (`task:<m>:<t>`)."""


class WaitingFactReply(Reply):
    """A fact another system sent about the meeting that meetings holds until what it waits for is recorded
    (CONTRACT.md: applied when it arrives, rejected with a reason once the hold time runs out)."""

    type: str
    """The held event's type: `minutes.approved.v1` (an adoption of the minutes), `task.completed.v1`."""
    source: str
    """The sending system (the event's `source`)."""
    event_id: str
    waiting_for: WaitingFor
    task_id: str | None = None
    """The task it waits for (`waiting_for` task), else None."""
    held_at: datetime
    """When it came (its first hold)."""
    expires_at: datetime
    """When its hold runs out (`held_at` plus meetings' CHIBO_HOLD_TIMEOUT_SECONDS): not applied by then, it is
    rejected (stored, published as ingest.rejected.v1, an operator may replay it)."""


class MeetingReply(MeetingSummaryReply):
    """A meeting with everything recorded about it."""

    agenda: list[str] = Field(default_factory=list)
    notified_at: datetime | None = None
    committee_prepared: bool | None = None
    cancel_reason: str | None = None
    attendance: AttendanceReply | None = None
    minutes: dict[str, Any] | None = None
    approved_at: datetime | None = None
    """When the cell adopted the minutes in force, None when they are not adopted."""
    adoption_votes_for: int | None = None
    """How many members voted to adopt the minutes in force (`minutes.approved.v1`'s `votes_for`); None when they
    are not adopted (`approved_at` None) or the adoption named no count."""
    adoption_votes_against: int | None = None
    """How many members voted against adopting the minutes in force (`votes_against`); None as `adoption_votes_for`."""
    adoption_voided_at: datetime | None = None
    """When the cell adopted minutes that a text issued after it replaced (meetings' domain.adoption_in_force): that
    text is not adopted (`approved_at` None) until a newer adoption; None otherwise."""
    adoption_voided_by: Literal["minutes", "roster"] | None = None
    """What replaced what the adoption at `adoption_voided_at` adopted: the minutes' text, or (the minutes standing)
    the roster, part of the adopted record (shared.minutes); None when not voided."""
    documents: list[dict[str, Any]] = Field(default_factory=list)
    assessments: list[dict[str, Any]] = Field(default_factory=list)
    tasks: list[dict[str, Any]] = Field(default_factory=list)
    waiting: Sequence[WaitingFactReply] = Field(default_factory=list)
    """Other systems' facts about it held until its secretary records what they wait for, oldest first."""


class TaskReply(Reply):
    """A task assigned at a meeting."""

    task_id: str
    meeting_id: str | None = None
    assignee_id: str | None = None
    description: str | None = None
    due_on: date | None = None
    completed_on: date | None = None


class MemberHistoryReply(Reply):
    """A member's attendance records with the derived runs and counts."""

    member_id: str
    cell_id: str | None = None
    consecutive_absences: int = 0
    unexcused_months_last_year: int = 0
    records: list[dict[str, Any]] = Field(default_factory=list)


class MonitorAssignmentReply(Reply):
    """A cell an upper-level committee member follows (monitor.assigned.v1), with the cell's name."""

    person_id: str
    cell_id: str
    committee_id: str
    full_name: str
    cell_name: str | None = None
    email: str | None = None
    yearly_quota: int | None = None


NotReplayableReason = Literal["body_not_kept", "body_reads_no_json", "refused_again_as_sent"]
"""Why a rejection (or one refused attempt) cannot be replayed as it was sent: the RefusalCode (shared.refusals) its
replay as it was is refused with (409), the first that applies: not kept as sent, reads as no JSON, certain to be
refused again for its first reason."""


class ReplayableAsSent(Reply):
    """Whether a stored rejection (or one refused attempt) can be replayed as it was sent, as meetings decides it
    (handlers.ingest.not_replayable_as_sent, the one rule its replay refuses by): the operations page offers "Xét lại"
    by it and never re-reads the reason's text."""

    not_replayable_reason: NotReplayableReason | None = None
    """The code a replay as it was is refused with (409); None when it may be replayed as it was (a corrected event
    may replay it either way). None from a meetings older than the field."""
    replayable_as_sent: bool = True
    """Whether a replay as it was is judged at all: exactly when `not_replayable_reason` is None (set from it)."""

    @model_validator(mode="after")
    def _one_answer(self) -> Self:
        """`replayable_as_sent` said by `not_replayable_reason`, so the two never disagree."""
        self.replayable_as_sent = self.not_replayable_reason is None
        return self


class RejectionAttemptReply(ReplayableAsSent):
    """One refused attempt of a rejected event (every copy refused under its (source, id), a replay's too),
    numbered from 1 in the order received; ReplayRejection's `attempt` judges its copy again (replayable as sent by
    its own copy and reason)."""

    attempt: int
    route: str
    """How it came: http, http-batch, amqp, amqp-batch (an item of a batch body, or the body), a secretary's command, a
    bulk load, replay (an operator's replay refused again)."""
    type: str | None = None
    reason: str
    field: str | None = None
    refusal: Refusal | None = None
    message_id: str | None = None
    received_at: datetime
    sender: str | None = None
    """The account that sent this copy (the API account over HTTP, the broker user its AMQP message's `user_id` named;
    a replay's, the account it was judged as), as rejection_attempt keeps it (meetings 0034); None when none was given
    or it was refused before senders were kept."""


class RejectionReply(ReplayableAsSent):
    """A stored rejection (replayable as sent by its latest attempt received from a sender, as a replay without
    `attempt` judges)."""

    rejection_id: str
    source: str | None = None
    event_id: str | None = None
    type: str | None = None
    reason: str
    field: str | None = None
    received_at: datetime | None = None
    status: Literal["open", "replayed", "dismissed"] | None = None
    refusal: Refusal | None = None
    """Why it was rejected, machine-readably, when its rule gave a code (shared.refusals); `reason` stays English."""
    last_replay_reason: str | None = None
    """Why its last replay was refused again (the first `reason` stays); None when no replay was refused."""
    last_replay_field: str | None = None
    last_replay_at: datetime | None = None
    last_replay_refusal: Refusal | None = None
    """The code of its last replay's refusal, when that rule gave one."""
    replay_outcome: str | None = None
    """How the replay that closed it judged its event (accepted, held, duplicate); None while not replayed."""
    dismissed_at: datetime | None = None
    """When an operator dismissed (closed) it unreplayed; with `dismissed_by` (who) and `dismissal_reason` (why)."""
    dismissed_by: str | None = None
    dismissal_reason: str | None = None
    sender: str | None = None
    """The account that sent the copy it is about (meetings 0034): the API account's `sub` over HTTP, the broker user
    whose RabbitMQ-checked `user_id` its AMQP message carried; or the one an operator named with a replay
    (`sender_named_by`, `sender_named_at`: who, when; meetings 0035). None when none is given (an AMQP message
    without `user_id`, a bulk load, refused before meetings kept senders)."""
    sender_named_by: str | None = None
    sender_named_at: datetime | None = None
    sender_nameable: bool = False
    """True when none is recorded and an operator may name the sender with a replay (a scoped integration account's
    event with its sources list, under a source not reserved); false for a feed's event over AMQP, a bulk load's or
    an unscoped account's, which no account's sources judge."""
    message_id: str | None = None
    """The AMQP `message_id` property of the message its event came in (for a batch or a copy, not the CloudEvents
    `event_id`): find that message in the broker's dead letters and logs by it. None when it came otherwise or its
    message had none."""
    body_not_kept: Literal["cut", "not_utf8"] | None = None
    """Why its body was not kept as it was sent, so it cannot be replayed as it was (only with a corrected event:
    409 body_not_kept): `cut`, only a prefix of a body over the size limit; `not_utf8`, the text of a body whose
    bytes are not UTF-8. None when it was kept whole."""
    attempts: list[RejectionAttemptReply] = []
    """Every refused attempt of its event, first first: a later copy refused again (another route, another reason)
    is one more, never in place of an earlier one. `reason`, `field`, `received_at` and the body a replay judges by
    default are those of the latest attempt received from a sender (not a replay's)."""


ANSWERED_ON_FORM = "answered to the person on the form"
"""The dismissal reason of a person's refused command (a secretary's form or API call, source GATEWAY_SOURCE): the
refusal was answered to that person when they sent it, so meetings stores it closed (`dismissed_by` the account that
sent it, as the gateway names it with Ingest; the gateway's source for one stored before, or sent without an account),
never among the operators' open rejections (a trial's routine form mistakes raised the open count to 5)."""


class HeldEventReply(Reply):
    """An event meetings holds until what it refers to arrives (`waiting_for`), with the reason and the field."""

    source: str
    event_id: str
    type: str
    waiting_for: str
    reason: str
    field: str | None = None
    route: str
    held_at: datetime
    data_preview: str | None = None
    """The event's `data` as JSON, cut at 500 characters."""
    refusal: Refusal | None = None
    """Why it is held, machine-readably (`member_unknown`, `member_not_placed`...; shared.refusals), when its rule
    gives a code."""
    answer: str | None = None
    """What the sender was told when `reason` says more (an id outside a scoped account's subtree, answered as an
    unknown one); None when it was told `reason`. Only this may be repeated to the sender."""


# ---- requests ----------------------------------------------------------------------------------


class SourcesSyncedReply(Reply):
    """The registry after a sync: sources registered, and those released (no active scoped account holds them)."""

    registered: int
    released: int


class SourceRegistration(BaseModel):
    """One scoped integration account's unit and the sources it registered; `account`: its subject, by which a
    replay of its rejection is judged (None: not named, the unit's)."""

    unit_id: str
    sources: list[str]
    account: str | None = None


class SyncSources(MeetingsRequest[SourcesSyncedReply]):
    """Make meetings' registry of scoped accounts' sources exactly the gateway's accounts (the authority): every
    active scoped integration account's unit and sources; a source none holds any more is released. Until a sync
    (or the account's first ingest) a new account's sources were open to other senders."""

    method = "sync_sources"
    accounts: list[SourceRegistration]


class Ingest(MeetingsRequest[IngestReply]):
    """Judge raw events exactly as if they had arrived on chibo.ingest."""

    method = "ingest"
    events: list[Any]
    route: str = "http"
    account: str = ""
    """The sending account's subject (the gateway's authenticated caller): a person's refused command is recorded as
    answered to it (ANSWERED_ON_FORM, `dismissed_by`), held events keep it; empty: none named."""
    dry_run: bool = False
    """Judge exactly as for real and keep nothing."""
    scope: str | None = None
    """The unit whose subtree the sender may write (issue 11); None: anywhere (a province-wide account)."""
    sources: list[str] | None = None
    """A scoped integration account's registered sources, the only ones its events may carry (registered with
    meetings for `scope`, so no other sender may use them); None: any source no scoped account registered."""


class IngestBody(MeetingsRequest[IngestReply]):
    """Read and judge a body's bytes (one CloudEvent or a batch) exactly as a chibo.ingest delivery."""

    method = "ingest_body"
    body_base64: str
    content_type: str | None = None
    route: str = "http"
    account: str = ""
    headers: list[tuple[str, str]] | None = None
    """`ce-` headers of a message in binary content mode, in order and every one (a header sent twice is refused
    by the reading, shared.bindings, not silently one of its values), and any under a prefix the HTTP binding does not
    use (`ce_id`: shared.envelope.ATTRIBUTE_HEADER_PREFIXES), which the reading refuses naming it."""
    dry_run: bool = False
    """Judge exactly as for real and keep nothing, not even the rejection of an unreadable body."""
    scope: str | None = None
    """The unit whose subtree the sender may write (issue 11); None: anywhere (a province-wide account)."""
    sources: list[str] | None = None
    """A scoped integration account's registered sources, the only ones its events may carry (registered with
    meetings for `scope`, so no other sender may use them); None: any source no scoped account registered."""
    over_limit: int | None = None
    """The gateway's body limit (bytes) this body went over: `body_base64` is then only its first bytes (at most
    CUT_BODY_KEPT), or nothing when its Content-Length alone showed it too large. Meetings judges no event of it and
    stores one rejection naming `body`, marked as cut so that it is never replayed as it was; in binary mode named by
    the identity its `headers` carry."""
    declared_size: int | None = None
    """With `over_limit`: the body's Content-Length, when it gave one."""
    answer_by: datetime | None = None
    """When the caller's answer is due (UTC; the gateway's CHIBO_INGEST_TIMEOUT less INGEST_ANSWER_MARGIN): the events
    meetings has not judged and committed by then are rolled back and answered `not_judged` (nothing of them stored),
    so that the gateway's 503 can list the stored ones' outcomes (IngestUnfinishedRead) rather than say nothing.
    None: no deadline (dry runs ignore it)."""


INGEST_ANSWER_MARGIN = 0.2
"""The share of the gateway's ingest timeout kept, after meetings' deadline (IngestBody.answer_by), for meetings to
roll back, answer and the reply to travel (at most INGEST_ANSWER_MARGIN_MOST seconds): under load a 400-event
batch's transactions waited past the whole timeout and the sender got a bare 503 for events that were stored."""
INGEST_ANSWER_MARGIN_MOST = 5.0


def ingest_answer_by(sent_at: datetime, timeout: float) -> datetime:
    """When meetings must answer an IngestBody sent at `sent_at` (UTC) by a caller waiting `timeout` seconds."""
    margin = min(timeout * INGEST_ANSWER_MARGIN, INGEST_ANSWER_MARGIN_MOST)
    return sent_at + timedelta(seconds=timeout - margin)


CUT_BODY_KEPT = 8192
"""Bytes of a body over the gateway's limit that the gateway reads and hands on (IngestBody.over_limit)."""


class ReplayRejection(MeetingsRequest[ReplayReply]):
    """Judge a stored rejection again, as it was or as the corrected `event`; ReplayReply with the outcome (a replay
    refused again answers `rejected`, its first reason kept). not_found for no such rejection (or `attempt`);
    conflict naming `rejection_id` when it is no longer open (ALREADY_REPLAYED, ALREADY_DISMISSED) or, replayed as it
    was, cannot pass: BODY_NOT_KEPT (cut, or not UTF-8), BODY_READS_NO_JSON, REFUSED_AGAIN_AS_SENT (its content type,
    an attribute header or its batch envelope certain to be refused again for the same reason); invalid for a
    correction that changes the event's identity or subject, or a `sender` that may not be named."""

    method = "replay_rejection"
    rejection_id: str
    event: Any | None = None
    attempt: Annotated[int, Field(ge=1)] | None = None
    """Which refused attempt's copy (RejectionReply.attempts) is judged, with its route and scope; None: the latest
    attempt received from a sender (the rejection's own `reason` and body). not_found when it has no such attempt;
    with a corrected `event`, that event is judged in place of the copy, under the attempt's scope."""
    sender: str | None = None
    """The account that sent the event, named by an operator for a rejection that records none (stored before
    meetings kept senders): the replay is judged by that account's sources now, and recorded as its when it is not
    refused; `invalid` naming `sender` for a rejection that records another, or one not a scoped account's."""
    replayed_by: str = ""
    """Who asks the replay (the operator's subject); required with `sender` (`invalid` naming `replayed_by`)."""


class DismissRejection(MeetingsRequest[RejectionReply]):
    """Close an open rejection without replaying it (garbage, an event dropped for good), saying why and who;
    not_found when there is none, conflict (ALREADY_REPLAYED or ALREADY_DISMISSED) when it is no longer open."""

    method = "dismiss_rejection"
    rejection_id: str
    reason: ops.Reason
    dismissed_by: ops.Actor


NO_CODE: Final = "none"
"""The filter `code` selecting the rejections stored without a refusal code (refusal NULL: an event invalid by its
schema or envelope, a whole body refused, a held event an operator dropped), which no RefusalCode value selects."""


class RejectionFilter(BaseModel):
    """Which stored rejections a filtered dismissal selects (every field given must match; none given selects all):
    its refusal's `code` (NO_CODE: those stored without one), its event's `source`, its `sender` (the account that
    sent it) and when it was received, `received_before` (exclusive) and `received_after` (inclusive), aware times."""

    code: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    source: Annotated[str, Field(min_length=1, max_length=1000)] | None = None
    sender: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    received_before: AwareDatetime | None = None
    received_after: AwareDatetime | None = None

    @field_validator("received_before", "received_after")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        """A time given with any offset, said in UTC (as every time the API and the command line print)."""
        return value.astimezone(UTC) if value is not None else None

    def given(self) -> dict[str, Any]:
        """The criteria given, by field name (empty: the filter selects every rejection)."""
        return {name: value for name, value in self.model_dump().items() if value is not None}


class RejectionsDismissedReply(Reply):
    """What a filtered dismissal did: `matched`, the open rejections its filter selected when it began; `dismissed`,
    those it closed (0 for a dry run, and for a filter run again: closed ones are no longer open)."""

    matched: int
    dismissed: int
    remaining: int
    """Open rejections the filter still selects after this call (its time ran out, or new ones arrived): ask again."""
    dry_run: bool
    counted_at: AwareDatetime | None = None
    """When `matched` was counted, by meetings' clock (the one rejections are received by): a confirmation sends it
    as `received_before` so that rejections arriving after the count are never closed (None from an older meetings)."""
    expected_differs: bool = False
    """`expected` was given and the filter selected another number of open rejections: nothing was closed."""


REFUSAL_CODES: Final = frozenset(str(code) for code in RefusalCode)
"""Every refusal code's value, read once: what a filter's `code` may name besides NO_CODE (checked_filter)."""
EMPTY_FILTER = (
    "a filtered dismissal names at least one of code, source, sender, received_before, received_after;"
    " to dismiss every open rejection say all"
)
"""Why an empty filter is refused (the API's 422 names `code`; the command line says it with its options)."""


class FilterRefused(FieldRefused):
    """A filtered dismissal's filter is refused, naming the criterion at fault (`field`, RejectionFilter's name; the
    API's 422 names it, the command line its option, the RPC `filter.<field>`)."""


class EmptyFilter(FilterRefused):
    """A filtered dismissal named no criterion and not `all` (EMPTY_FILTER)."""


def checked_filter(selected: RejectionFilter, *, every: bool) -> RejectionFilter:
    """`selected` when it names a criterion or `every` (all) was said; EmptyFilter otherwise (field `code`);
    FilterRefused for a `code` that is neither a RefusalCode nor NO_CODE (a typo would select nothing) or
    received_after not before received_before (field `received_after`): selecting nothing by mistake is refused, not
    a dismissal. The one check of a filtered dismissal: the command line, the API and DismissRejections itself."""
    if not selected.given() and not every:
        raise EmptyFilter(EMPTY_FILTER, field="code")
    if selected.code is not None and selected.code != NO_CODE and selected.code not in REFUSAL_CODES:
        raise FilterRefused(
            f"{selected.code!r} is no refusal code (shared.refusals.RefusalCode; {NO_CODE!r}: stored without one)",
            field="code",
        )
    before, after = selected.received_before, selected.received_after
    if before is not None and after is not None and after >= before:
        raise FilterRefused("received_after must be before received_before", field="received_after")
    return selected


class DismissRejections(MeetingsRequest[RejectionsDismissedReply]):
    """Close every open rejection `filter` selects, as DismissRejection closes one (same who, when and why on each
    row), in batches of `batch` rows, each its own transaction; `dry_run` counts them and closes none. `invalid`
    naming `filter.code` for an empty filter without `all` (it would select every open rejection) or a code neither
    a RefusalCode nor NO_CODE, `filter.received_after` for an empty window (checked_filter), whoever the caller."""

    method = "dismiss_rejections"
    all: Annotated[bool, Field(strict=True)] = False
    """JSON true only: said explicitly to dismiss with an empty filter, every open rejection (`--all`, the API's
    `all`); declared before `filter`, whose check reads it."""
    filter: RejectionFilter
    reason: ops.Reason
    dismissed_by: ops.Actor
    dry_run: bool = False
    batch: Annotated[int, Field(ge=1, le=10000)] = 1000
    expected: Annotated[int, Field(ge=0)] | None = None
    """The count the operator confirmed (a dry run's `matched`): when the filter now selects another number of open
    rejections (some closed meanwhile, one received late), nothing is closed and the reply says so
    (`expected_differs`), never a set other than the one shown."""

    @field_validator("filter")
    @classmethod
    def _checked(cls, selected: RejectionFilter, info: ValidationInfo) -> RejectionFilter:
        """checked_filter's refusal as this field's error, its criterion named under it (`filter.code`)."""
        return checked_filter(selected, every=bool(info.data.get("all", False)))


class GetUnit(MeetingsRequest[UnitReply]):
    """One unit with its ancestors."""

    method = "get_unit"
    unit_id: str


class KnownUnitsReply(Reply):
    """Which of the unit ids asked are units meetings knows (in the order asked, each once)."""

    unit_ids: list[str]


class KnownUnits(MeetingsRequest[KnownUnitsReply]):
    """Which of `unit_ids` (up to 1,000) are units, in one read: the gateway's check of a chosen meeting id asks for
    every start of the id at once (commands.chosen_by_the_cell), not one get_unit each."""

    method = "known_units"
    unit_ids: list[str] = Field(max_length=1000)


class ListUnits(MeetingsRequest[Page[UnitReply]]):
    """The children of a committee (the roots when `parent_id` is None)."""

    method = "list_units"
    parent_id: str | None = None
    limit: Limit = 50
    offset: Offset = 0
    after: After | None = None
    """Keyset paging: the rows after this key (the `next_after` of the page before; shared.keyset)."""


class ListMembers(MeetingsRequest[Page[MemberReply]]):
    """The members of a cell."""

    method = "list_members"
    cell_id: str
    limit: Limit = 50
    offset: Offset = 0
    at: datetime | None = None
    """The members the snapshots in force at this moment put in the cell (a meeting's start: those its roster lists,
    DOMAIN.md "How to read it"), instead of those of today."""


MEMBERS_PAGE_MAX = 5000
"""The most members one ListMembersAfter reply holds (~1.3 MB of JSON, as a report page of evaluation's)."""


class MemberCursorPage(Reply):
    """A page of a cell's members in id order; `next_after` reads the following page, None after the last."""

    items: list[MemberReply]
    next_after: str | None = None


class ListMembersAfter(MeetingsRequest[MemberCursorPage]):
    """A cell's whole member list read page by page in id order (keyset: those with an id above `after_id`, `""` for
    the first page), as list_members lists them today or at `at`: each page costs the same however far into the cell
    (ListMembers' offset pages each order the whole cell by name, so reading a cell of N that way cost N²). For a
    reader that orders the list itself (the web's data.members_by_id)."""

    method = "list_members_after"
    cell_id: str
    after_id: str = ""
    limit: Annotated[int, Field(ge=1, le=MEMBERS_PAGE_MAX)] = 1000
    at: datetime | None = None
    """As ListMembers' `at`: the members the snapshots in force at this moment put in the cell."""
    since: datetime | None = None
    """With `at`: every member the snapshots put in the cell at some moment from `since` to `at` (a period's members,
    those who left or came during it too: the yearly evidence per member, DOMAIN.md)."""


class GetMember(MeetingsRequest[MemberReply]):
    """One member of a cell, as list_members lists them today (a removal counts from its `effective_on`); not_found
    naming `member_id` for one the cell does not list: the page header's name of a signed-in member or secretary,
    one row read instead of their cell's list paged through."""

    method = "get_member"
    cell_id: str
    member_id: str


class ListMeetings(MeetingsRequest[Page[MeetingSummaryReply]]):
    """The meetings of a cell, optionally those starting in one period (+07:00): a month, quarter, half-year or year."""

    method = "list_meetings"
    cell_id: str
    period: ReportPeriod | None = None
    limit: Limit = 50
    offset: Offset = 0
    after: After | None = None
    """Keyset paging: the rows after this key (the `next_after` of the page before; shared.keyset)."""


class GetMeeting(MeetingsRequest[MeetingReply]):
    """One meeting with everything recorded about it."""

    method = "get_meeting"
    meeting_id: str


class ListTasks(MeetingsRequest[Page[TaskReply]]):
    """Tasks assigned at a cell's meetings."""

    method = "list_tasks"
    cell_id: str
    open_only: bool = False
    limit: Limit = 50
    offset: Offset = 0
    after: After | None = None
    """Keyset paging: the rows after this key (the `next_after` of the page before; shared.keyset)."""


class GetMemberHistory(MeetingsRequest[MemberHistoryReply]):
    """A member's attendance history."""

    method = "member_history"
    member_id: str


class ListMonitorAssignments(MeetingsRequest[Page[MonitorAssignmentReply]]):
    """The cells one person follows as upper-level monitor, by cell name."""

    method = "list_monitor_assignments"
    person_id: str
    limit: Limit = 50
    offset: Offset = 0


class RejectionCountsReply(Reply):
    """Stored rejections by status, whatever a list's `status` asks (of its `type`, when given): `total` = `open` +
    `replayed` + `dismissed`; `answered_on_form`, of the dismissed, a person's refused command answered on its form
    (ANSWERED_ON_FORM), stored closed and never open (shared.rejection_counts)."""

    total: int
    open: int
    replayed: int
    dismissed: int
    answered_on_form: int


class RejectionsPage(Page[RejectionReply]):
    """A page of rejections (`total`: those its `status` and `type` select) and `counts`, every status's."""

    counts: RejectionCountsReply | None = None


class ListRejections(MeetingsRequest[RejectionsPage]):
    """Stored rejections, newest first."""

    method = "list_rejections"
    limit: Limit = 50
    offset: Offset = 0
    after: After | None = None
    """Keyset paging: the rows after this key (the `next_after` of the page before; shared.keyset)."""
    type: str | None = None
    status: Literal["open", "replayed", "dismissed"] | None = None


SourceText = Annotated[str, Field(min_length=1, max_length=1000)]
EventIdText = Annotated[str, Field(min_length=1, max_length=255)]


class ListHeldEvents(MeetingsRequest[Page[HeldEventReply]]):
    """Held events, oldest first."""

    method = "list_held_events"
    limit: Limit = 50
    offset: Offset = 0
    after: After | None = None
    """Keyset paging: the rows after this key (the `next_after` of the page before; shared.keyset)."""


class GetHeldEvent(MeetingsRequest[HeldEventReply]):
    """One event still held (not yet released to be applied); not_found when none is held by that (source, id). The
    gateway asks it of a web form sent again that meetings answers as a duplicate: the form's first sending may be
    waiting, and its second must say so too."""

    method = "get_held_event"
    source: SourceText
    event_id: EventIdText


class GetRejection(MeetingsRequest[RejectionReply]):
    """One stored rejection by its id, whatever its status; not_found when there is none. The operator's page reads
    how a replay judged its event from it (never from its address, which anyone can write)."""

    method = "get_rejection"
    rejection_id: Annotated[str, Field(min_length=1, max_length=255)]


class GetOpenRejection(MeetingsRequest[RejectionReply]):
    """The open (not replayed) rejection of an event by its (source, id); not_found when there is none. The gateway
    asks it of a web form sent again: a first sending whose hold ran out (HOLD_EXPIRED) was not recorded, and the
    form must say so rather than send it again."""

    method = "get_open_rejection"
    source: SourceText
    event_id: EventIdText


class RetryHeldEvent(MeetingsRequest[IngestResultReply]):
    """Judge a held event again now: applied, held again (still waiting) or rejected; not_found if none."""

    method = "retry_held_event"
    source: SourceText
    event_id: EventIdText


class DropHeldEvent(MeetingsRequest[IngestResultReply]):
    """Stop holding an event: it becomes a stored (and published) rejection with the operator's reason."""

    method = "drop_held_event"
    source: SourceText
    event_id: EventIdText
    reason: ops.Reason


OPS = ops.ops_catalog("meetings")
"""The operator methods (dead letters, parked outbox rows) as this service's own requests (see ops_rpc.py)."""
