"""The operator methods every service answers on its RPC queue: its dead letters and its parked outbox rows.

Each service owns its dead-letter queues (`<service>.<consumer>.dlq`: only its broker user may read them, see
deploy/broker_users.sh) and its outbox table, so the gateway's operator endpoints ask the service. The request
models here name no service; each service's catalog (`<service>_rpc.py`) gets them as its own request types (one
subclass each, naming the service) from `ops_catalog(service)`, as its `OPS`, which is what the gateway picks from by
service name.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar, cast

from pydantic import AfterValidator, Field

from shared.keyset import After
from shared.rpc import Page, Reply, Request
from shared.text import require_text

DeadLetterLimit = Annotated[int, Field(ge=1, le=200)]
ParkedLimit = Annotated[int, Field(ge=1, le=500)]
Offset = Annotated[int, Field(ge=0)]
QueueName = Annotated[str, Field(min_length=1, max_length=255)]
Reason = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(require_text)]
"""Why an operator drops or closes something: 1-500 characters, some visible (shared.text.has_text: a reason of
spaces or zero-width characters alone is refused naming `reason`, as the gateway's own Reason is)."""
Actor = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(require_text)]
"""Who did it (an account's sub): 1-255 characters, some visible (shared.text.has_text)."""
RequestT = TypeVar("RequestT", bound=Request[Any])


# ---- replies -----------------------------------------------------------------------------------


class DeadLetterReply(Reply):
    """One dead letter: where and why it died, how often, its ids, its headers and a body preview (500 chars)."""

    position: int
    """Its place in the queue's listing, from 0: oldest death first."""
    message_id: str | None = None
    batch_message_id: str | None = None
    """The AMQP message id of the batch message its event came in (each event of a batch dies alone, with its own
    message id): how an operator links it back to what was sent; None when it was not in a batch or the batch had no
    id."""
    batch_correlation_id: str | None = None
    """The AMQP correlation id of that batch message, when it had one."""
    batch_position: int | None = None
    """Its event's place in that batch message, from 0; None when it was not in a batch."""
    event_id: str | None = None
    type: str | None = None
    routing_key: str | None = None
    queue: str
    """The queue it died in, where a replay sends it."""
    reason: str
    """RabbitMQ's reason: `rejected`, `delivery_limit`, `expired`, `maxlen`."""
    cause: str | None = None
    """Why its consumer gave up on it, as the consumer's log says (`data.cell_id: Field required`; the
    `x-chibo-reason` header it wrote); None for a letter the broker dead-lettered on its own (a crash loop)."""
    death_count: int
    """How often it died (RabbitMQ's x-death count; 1 for one a consumer dead-lettered itself). A replay starts the
    count again: the copy sent back carries none of the broker's `x-` headers."""
    delivery_count: int
    """How often the queue it died in had delivered it before (redeliveries), never how often it was listed."""
    died_at: datetime | None = None
    """When it died (RabbitMQ's `x-death` time, to the second)."""
    sent_back: bool = False
    """A replay sent it back (its copy confirmed by the broker) and could not remove it (dead_letter_sent): the next
    replay only removes it, without sending it again."""
    headers: dict[str, Any] = Field(default_factory=dict)
    untrusted_headers: dict[str, Any] = Field(default_factory=dict)
    """Headers its publisher set under the names the broker and chibo's consumers write (`x-chibo-…`,
    `x-first-death-…`) on a message the broker dead-lettered: never read as its cause, queue, counts, batch or
    replays, and never sent back by a replay (shared.ops.dead_letters.untrusted_names)."""
    body_bytes: int
    body_preview: str
    key: str | None = None
    """This row, among copies sharing an event or message id: a digest of when it died, its message id and its
    whole body (ReplayDeadLetters.key). Copies with the same key are the same message twice."""


class DeadLettersReply(Reply):
    """A page of a dead-letter queue's messages (left in place), from `offset`, and how many it holds."""

    queue: str
    total: int
    listed: int | None = None
    """How many letters the listing read and orders (at most shared.ops.dead_letters.PEEK_MOST; fewer than `total`
    when it was cut): the `count` a purge of what it shows names (PurgeDeadLetters.most)."""
    offset: int = 0
    items: list[DeadLetterReply]
    sent_back: int = 0
    """How many listed letters a replay sent back and could not remove (DeadLetterReply.sent_back)."""
    through: datetime | None = None
    """When the newest letter of the listing died (None: none read): the high-water mark a purge of what it shows
    names (PurgeDeadLetters.through)."""
    newest: str | None = None
    """The letters of the listing that died in `through`'s second, named exactly (shared.ops.dead_letters.
    newest_letters): a purge names them too (PurgeDeadLetters.newest), so it drops none that died later that second."""


class DeadLetterReplayReply(Reply):
    """How many dead letters went back to their queue, and how many were left (not chosen)."""

    queue: str
    replayed: int
    kept: int


class DeadLetterPurgeReply(Reply):
    """How many dead letters were dropped, and how many were kept (died after what the purge named)."""

    queue: str
    purged: int
    kept: int = 0


class UnroutedReturnReply(Reply):
    """What a return of the service's unrouted copies moved: the watch queue, how many went back, each routing key's
    count, how many are left, and whether it was a dry run (moving nothing)."""

    queue: str
    moved: int
    routing_keys: dict[str, int] = Field(default_factory=dict)
    left: int
    dry_run: bool


class ParkedRowReply(Reply):
    """An outbox row the relay set aside: the event it carries, where it goes, why it was parked."""

    id: int
    event_id: str
    type: str
    exchange: str
    routing_key: str
    attempts: int
    parked_reason: str | None = None
    created_at: datetime
    parked_at: datetime | None = None
    payload_preview: str | None = None


class OutboxStatusReply(Reply):
    """Rows waiting to be published, the oldest one's age (seconds), and parked rows."""

    pending: int
    oldest_pending_seconds: float
    parked: int


class ParkedReplayReply(Reply):
    """How many parked rows went back in line, which (`replayed_ids`, ascending), and the ids given that name no
    parked row (`missing`)."""

    replayed: int
    replayed_ids: list[int] = []
    missing: list[int] = []


# ---- requests (subclassed by each service's catalog with its name) ------------------------------


class ListDeadLetters(Request[DeadLettersReply]):
    """Up to `limit` messages of one of the service's dead-letter queues from position `offset`, oldest first, left
    in place."""

    method = "list_dead_letters"
    queue: QueueName
    limit: DeadLetterLimit = 50
    offset: Offset = 0


class ReplayDeadLetters(Request[DeadLetterReplayReply]):
    """Publish dead letters back to the queue they died in: all, the first `limit`, or one event's or message's."""

    method = "replay_dead_letters"
    queue: QueueName
    limit: Annotated[int, Field(ge=1, le=100_000)] | None = None
    event_id: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    message_id: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    key: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    """One row of the listing (DeadLetterReply.key): exactly one message is replayed, not every copy of its id."""
    replay_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")] | None = None
    """Names this replay: a letter it sent back before (died again since) is not sent back again by it, so the same
    replay sent twice (an unanswered form resent) sends each letter once (shared.ops.dead_letters)."""


REPLAY_SELECTORS = ("key", "event_id", "message_id")
"""What a dead-letter replay can choose its letters by besides `limit`: one listing row, one event id, one AMQP
message id."""


def replay_selector_conflict(choice: Mapping[str, Any]) -> str | None:
    """Why the selectors of a dead-letter replay given in `choice` (those not None of `key`, `event_id`, `message_id`,
    and `limit`) cannot be used together, naming them (`key and event_id each choose dead letters: give only one of
    them`): two would both choose and one used silently drops the other, and a `limit` beside a `key` (one row) means
    another choice. None when they can. The API refuses it as a 422, the command line as exit 4, both audited."""
    given = [name for name in REPLAY_SELECTORS if choice.get(name) is not None]
    if choice.get("key") is not None and choice.get("limit") is not None:
        given.append("limit")
    if len(given) > 1:
        return f"{' and '.join(given)} each choose dead letters: give only one of them"
    return None


class PurgeDeadLetters(Request[DeadLetterPurgeReply]):
    """Drop the messages of one of the service's dead-letter queues: all, or those a listing showed."""

    method = "purge_dead_letters"
    queue: QueueName
    through: datetime | None = None
    """Only letters that died at or before this (a listing's `through`: the newest death it showed); a purge resent
    then drops none that died since (shared.ops.dead_letters.purge_dead_letters)."""
    most: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    """The count a listing showed (its `listed`): with `through`, more letters than this died by then is a `conflict`
    naming `count` and none is dropped; alone, at most this many letters, oldest death first."""
    newest: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")] | None = None
    """The letters a listing saw die in `through`'s second (its `newest`): those of that second are dropped only while
    they are exactly these; without it none of that second is (a letter that died later in it was never shown)."""


class ReturnUnrouted(Request[UnroutedReturnReply]):
    """Send the copies in the service's `<service>.unrouted` watch back to its consumer queues, published by the
    service itself naming each copy's original publisher (shared.ops.unrouted); `dry_run` counts them only."""

    method = "return_unrouted"
    dry_run: bool = False


class GetOutboxStatus(Request[OutboxStatusReply]):
    """The service's outbox: pending rows, lag, parked rows."""

    method = "outbox_status"


class ListParkedRows(Request[Page[ParkedRowReply]]):
    """A page of the service's parked outbox rows, oldest first."""

    method = "list_parked_rows"
    limit: ParkedLimit = 50
    offset: Offset = 0
    after: After | None = None
    """Keyset paging: the rows after this key (the `next_after` of the page before; shared.keyset)."""


class ReplayParkedRows(Request[ParkedReplayReply]):
    """Put parked rows back in line with fresh attempts: the given ids, or every one when `ids` is None."""

    method = "replay_parked_rows"
    ids: Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=1, max_length=1000)] | None = None


class DropParkedRow(Request[ParkedRowReply]):
    """Delete one parked row for good (its event is never published); the reason is logged with the row."""

    method = "drop_parked_row"
    id: Annotated[int, Field(ge=1)]
    reason: Reason


@dataclass(frozen=True)
class OpsCatalog:
    """The operator methods of one service, as that service's own request types."""

    service: str
    list_dead_letters: type[ListDeadLetters]
    replay_dead_letters: type[ReplayDeadLetters]
    purge_dead_letters: type[PurgeDeadLetters]
    return_unrouted: type[ReturnUnrouted]
    outbox_status: type[GetOutboxStatus]
    list_parked_rows: type[ListParkedRows]
    replay_parked_rows: type[ReplayParkedRows]
    drop_parked_row: type[DropParkedRow]


def _owned_by(base: type[RequestT], service: str) -> type[RequestT]:
    """`base` as `service`'s own request type: a subclass naming the service, which is where a call is sent."""
    namespace = {"service": service, "__doc__": base.__doc__, "__module__": f"shared.contracts.{service}_rpc"}
    return cast(type[RequestT], type(base.__name__, (base,), namespace))


def ops_catalog(service: str) -> OpsCatalog:
    """The operator methods as `service`'s own request types (its `<service>_rpc.OPS`)."""
    return OpsCatalog(
        service=service,
        list_dead_letters=_owned_by(ListDeadLetters, service),
        replay_dead_letters=_owned_by(ReplayDeadLetters, service),
        purge_dead_letters=_owned_by(PurgeDeadLetters, service),
        return_unrouted=_owned_by(ReturnUnrouted, service),
        outbox_status=_owned_by(GetOutboxStatus, service),
        list_parked_rows=_owned_by(ListParkedRows, service),
        replay_parked_rows=_owned_by(ReplayParkedRows, service),
        drop_parked_row=_owned_by(DropParkedRow, service),
    )
