"""API models of the operators' recovery endpoints: dead letters, parked outbox rows, held events, the overview.

What a service answers is its RPC reply model subclassed under the API's name, so each field is declared once.
"""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from services.gateway.schemas.common import CreateModel, Reason
from services.gateway.schemas.operations import InstanceRead, RejectionCountsRead
from shared.contracts import meetings_rpc as meetings
from shared.contracts import ops_rpc as ops
from shared.contracts.base import Flag

ServiceName = Literal["meetings", "evaluation", "notifications"]


class DeadLetterRead(ops.DeadLetterReply):
    """One dead letter: where and why it died, how often, its ids, headers and the first 500 characters of its body."""


class DeadLetterListRead(BaseModel):
    """A page of a dead-letter queue's messages (left in place), from `offset`, and how many it holds."""

    queue: str
    service: ServiceName
    total: int
    listed: int | None = None
    """How many letters the listing holds, oldest death first: at most 5,000 of a queue (fewer than `total` when it
    was cut); a purge of what it shows names it as its `count`."""
    offset: int
    items: list[DeadLetterRead]
    sent_back: int = 0
    """Listed letters a replay sent back (copy confirmed) and could not remove: the next replay only removes them."""
    through: datetime | None = None
    """When the newest letter of the queue's listing died: a purge naming it (`through`, with `newest` and `count`
    its `listed`) deletes only the letters listed then, not any that died since."""
    newest: str | None = None
    """The listed letters that died in `through`'s second, named exactly: a purge names them (`newest`) so a letter
    that died later in that same second (a death's time is in whole seconds) is not deleted unseen."""


class DeadLetterReplayCreate(CreateModel):
    """Which dead letters to send back to their queue: one row of the listing (`key`: exactly that message, not
    the other copies of its id), one event's or one message's (every copy), the first `limit`, or (empty body) all of
    them."""

    event_id: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    message_id: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    key: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    limit: Annotated[int, Field(ge=1, le=100_000)] | None = None

    @model_validator(mode="after")
    def _one_selector(self) -> "DeadLetterReplayCreate":
        """Refuse two selectors that would both choose (`key` and `event_id`): one used silently drops the other."""
        conflict = ops.replay_selector_conflict(self.model_dump())
        if conflict is not None:
            raise ValueError(conflict)
        return self


class DeadLetterReplayRead(BaseModel):
    """How many dead letters went back to their queue, and how many stayed (not chosen)."""

    queue: str
    service: ServiceName
    replayed: int
    kept: int


class DeadLetterPurgeRead(BaseModel):
    """How many dead letters were dropped, and how many kept (died after the `through` the purge named)."""

    queue: str
    service: ServiceName
    purged: int
    kept: int = 0


class OutboxStatusRead(ops.OutboxStatusReply):
    """A service's outbox: rows waiting, the oldest one's age in seconds, parked rows."""


class ParkedRowRead(ops.ParkedRowReply):
    """An outbox row the relay set aside, with why."""


class ParkedReplayCreate(CreateModel):
    """Which parked rows to put back in line: `ids`, or `all: true`."""

    ids: Annotated[list[Annotated[int, Field(ge=1, le=2**63 - 1)]], Field(min_length=1, max_length=1000)] | None = None
    all: Flag = False

    @model_validator(mode="after")
    def _one_choice(self) -> "ParkedReplayCreate":
        if (self.ids is None) == (not self.all):
            raise ValueError("give either ids or all: true")
        return self


class ParkedRowUnknownRead(BaseModel):
    """An id a replay named that names no parked row, in the error shape: `not_found` and a message saying so."""

    id: int
    code: Literal["not_found"]
    message: str


class ParkedReplayRead(BaseModel):
    """How many parked rows went back in line and which; each id given that names no parked row (`unknown`: the
    replay is still a success when some other went back; when none did it is a 404 naming them)."""

    service: ServiceName
    replayed: int
    replayed_ids: list[int]
    unknown: list[ParkedRowUnknownRead] = []


class ParkedDropCreate(CreateModel):
    """Why the row's event must never be published (kept in the log and the audit trail)."""

    reason: Reason


class HeldEventRead(meetings.HeldEventReply):
    """An event meetings holds until what it refers to arrives."""


class HeldEventCreate(CreateModel):
    """A held event, by its source and id."""

    source: Annotated[str, Field(min_length=1, max_length=1000)]
    event_id: Annotated[str, Field(min_length=1, max_length=255)]


class HeldEventDropCreate(HeldEventCreate):
    """A held event to stop holding, and why (it becomes a rejection with this reason)."""

    reason: Reason


class QueueRead(BaseModel):
    """A queue as the broker reports it: ready messages and consumers (None when not declared); with the management
    API (`source` "management") also the messages delivered and not yet acknowledged, `backlog` (ready plus
    unacknowledged: a batch message of 1,000 events counts once) and the acknowledgements per second."""

    name: str
    messages: int | None
    consumers: int | None
    unacknowledged: int | None = None
    backlog: int | None = None
    acks_per_second: float | None = None
    source: Literal["management", "declare"] | None = None


class ServiceOverviewRead(BaseModel):
    """One service as the operator page shows it."""

    status: Literal["ok", "degraded", "down"]
    queues: list[QueueRead]
    dead_letters: dict[str, int | None]
    outbox: OutboxStatusRead | None
    attention: list[str] = Field(default_factory=list)
    instances: list[InstanceRead] = Field(default_factory=list)
    """Each running process of the service by its heartbeats (shared.instances); empty when none reported."""


class QueueSummaryRead(BaseModel):
    """A served queue's figures at the overview's top level, the same numbers its service's `queues` and
    `dead_letters` carry (None where the broker did not tell)."""

    service: str = Field(description="The service whose consumers read the queue")
    ready: int | None = Field(description="Messages waiting to be delivered (the service's queue `messages`)")
    unacknowledged: int | None = Field(
        description="Messages delivered and not yet acknowledged (only with the management API, else null)"
    )
    dead_lettered: int | None = Field(
        description="Messages in the queue's dead-letter queue (`<queue>.dlq`); 0 for a queue without one (RPC)"
    )
    consumers: int | None = Field(description="Consumers reading the queue")


class OperationsOverviewRead(BaseModel):
    """Everything the operator page shows at once: each service, its queues, outbox and dead letters; held events,
    open rejections and failed deliveries (None when the service owning them did not answer)."""

    status: Literal["ok", "degraded"]
    broker: str
    services: dict[str, ServiceOverviewRead]
    queues: dict[str, QueueSummaryRead] = Field(
        default_factory=dict,
        description="Every served queue by name, with its ready, unacknowledged and dead-lettered messages: the "
        "figures under `services.*.queues` and `services.*.dead_letters`, gathered at the top level for a monitor",
    )
    dead_letters_total: int
    unrouted: int | None = None
    """Messages in chibo.unrouted (SystemHealthRead.unrouted)."""
    unrouted_types: list[str] = Field(default_factory=list)
    """The types no chibo service binds (SystemHealthRead.unrouted_types)."""
    measured_at: datetime | None = None
    """When the gateway measured the broker and the dead letters (SystemHealthRead.measured_at, UTC)."""
    parked_rows_total: int
    held_events: int | None
    open_rejections: int | None
    """Rejections waiting for an operator (status open): the page's "Từ chối chưa xử lý"; rejections.open."""
    rejections: RejectionCountsRead | None = None
    """Every stored rejection by status, as GET /v1/rejections' `counts`: its `total` is that list's unfiltered
    `total`, `open` this page's figure; None when meetings did not answer."""
    failed_deliveries: int | None
