"""Dead-letter queues an operator can work with, over plain AMQP (no management plugin needed).

List: every message (up to PEEK_MOST) is delivered to a consumer of the listing's own and never
acknowledged; the consumer is cancelled and every message given back (`basic.nack`, requeue), so each returns to the
queue untouched. A quorum queue counts each return against its delivery limit (RabbitMQ 4 sets 20 by default, after
which the message is dropped): every `.dlq` is declared with a limit as good as none (shared.topology.
DEAD_LETTER_DELIVERY_LIMIT), and one that is not (declared by an older deployment, still holding dead letters) is not
read on RabbitMQ 4 (peek_is_safe). A quorum queue does not keep its order when messages return, so a listing orders
them itself, by when they died (then message id, then body): the same messages make the same pages, however often
they are read. Each message has a key in the listing (row_key: when it died, its message id, its body), so one row
is replayed alone even when the same event was dead-lettered twice. Replay: each message chosen is published
again (same body, properties and headers, plus `x-chibo-replayed`) to the queue it died in, through the default
exchange with publisher confirms, and only then acknowledged: a crash in between (the process killed after the
confirm, before the acknowledgement or the mark) leaves the letter, and the next replay sends it again: a duplicate,
never a loss. That is the guarantee, at least once: the copy is the same event (same CloudEvents source and id), which
its consumer takes once (its inbox, by (source, id): shared.consuming). No mark written before the publish could do
better: a kill before the publish and one after the confirm leave the same mark, and skipping the letter then loses
it. An acknowledgement that fails is marked (SentLetters), and the next replay removes that letter without sending
it again (a listing with the marks shows it `sent_back`); those not chosen are given back at the end, as a listing
gives them back.
Purge: the queue's `queue.purge`; or, naming what a listing showed (its newest death `through`, the letters that
died in that second, `newest`, and its count `listed`), only those letters (purge_dead_letters), so a purge sent
again deletes none that died since, even in the same second (a death's time is in whole seconds); when more letters
died by then than it showed (a listing cut at PEEK_MOST), none is deleted (LargerThanShown).
"""

import asyncio
import hashlib
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

import aio_pika
import asyncpg
from aio_pika.abc import AbstractConnection, AbstractIncomingMessage, AbstractQueue

from shared.bindings import identity_attributes
from shared.consuming import (
    BATCH_CORRELATION_ID_HEADER,
    BATCH_HEADERS,
    BATCH_MESSAGE_ID_HEADER,
    BATCH_POSITION_HEADER,
    ORIGIN_HEADERS,
    REPLAY_IDS_HEADER,
    REPLAYED_HEADER,
    Origin,
    origin_headers,
)
from shared.contracts.registry import OWNERS
from shared.logs import get_logger
from shared.ops import rfc3339
from shared.probes import declared_queue, side_channel
from shared.reading import MAX_EVENT_BYTES
from shared.text import is_ascii_number
from shared.topology import CONSUMER_QUEUES, has_dead_letter_arguments, message_copy

log = get_logger(__name__)

PREVIEW_CHARS = 500
PEEK_MOST = 5_000
"""The most messages a listing reads from a dead-letter queue (it reads them all to order them; more are counted in
its `total`, not listed)."""
PEEK_IDLE = 1.0
"""Seconds a listing waits for the next message before it takes the queue as read (others were taken meanwhile)."""
IDENTITY_BODY_LIMIT = 8 * MAX_EVENT_BYTES
"""The largest dead-letter body whose envelope a listing reads for its event's id and type: a dead letter over the
per-event limit (an oversized event, alone or out of a batch) still names its event; the largest message a route
carries (8 MiB) is read for a page of 50 at most."""
DELIVERY_LIMITS = {queue.name: queue.delivery_limit for queue in CONSUMER_QUEUES}
"""Each consumer queue's delivery limit: how often the broker had delivered a message it dead-lettered there."""
DEAD_LETTER_QUEUES = tuple(queue.dead_letter_queue for queue in CONSUMER_QUEUES)
"""Every dead-letter queue of the system (`<service>.<consumer>.dlq`)."""


def home_queue(dead_letter_queue: str) -> str:
    """The consumer queue whose dead letters `dead_letter_queue` holds (`<queue>.dlq`, shared.topology.ConsumerQueue):
    the only queue its letters died in (the dead-letter exchange routes a queue's letters by its name to its own
    `.dlq`), and the only one a replay sends them to."""
    return dead_letter_queue.removesuffix(".dlq")


PUBLISHER_SETTABLE = ("x-chibo-", "x-first-death-", "x-last-death-")
"""The names of the headers the broker and chibo's consumers write on a dead letter (why, where and how often it died,
its batch, its replays), which a publisher can set on what it publishes as well."""


def untrusted_names(headers: Mapping[str, Any]) -> set[str]:
    """The headers of a dead letter that its publisher set, not the broker nor chibo (PUBLISHER_SETTABLE names): those
    of a letter the broker dead-lettered (it keeps every header of the message) whose last death (`x-death`'s first
    entry, the broker's own) was of a message published through an exchange (chibo.events, chibo.ingest: publishers
    outside chibo among them). A letter a consumer wrote itself (no `x-death`: only chibo's services may publish to
    chibo.dead-letter) or one that died as a copy a service published straight to its queue (the default exchange,
    which only chibo's broker users may write: a replay, a hand-back; deploy/broker_users.sh) has none."""
    deaths = headers.get("x-death")
    last = deaths[0] if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict) else None
    if last is None:
        return set()
    if died_unseen(headers):  # its whole history may be its publisher's, the first death's headers too
        return {name for name in headers if name.startswith(PUBLISHER_SETTABLE)}
    if _header_text(last.get("exchange")) == "":
        return set()
    return {name for name in headers if name.startswith(PUBLISHER_SETTABLE) and not _first_death_said(headers, name)}


UNSEEN_DEATHS = ("expired", "maxlen")
"""Why the broker dead-letters a message no consumer took: chibo's consumer queues set neither a TTL nor a length
limit, so such a death is one its publisher asked for (a per-message `expiration`)."""


def died_unseen(headers: Mapping[str, Any]) -> bool:
    """Whether the broker dead-lettered this letter before any consumer saw it (its newest `x-death` reason is one of
    UNSEEN_DEATHS): then its `x-death` may be its publisher's. RabbitMQ 3.x adds its death to a publisher's entry of
    the same queue and reason (keeping that entry's exchange, routing keys and time, and its count plus one) and
    writes no `x-first-death-…`; only that entry's queue and reason are the broker's. A message a consumer saw
    carries no publisher's history into a death: the consumer takes a clean copy of one that came with such headers
    (shared.consuming.carries_death_history) and writes its own letters without them."""
    deaths = headers.get("x-death")
    last = deaths[0] if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict) else None
    return last is not None and _header_text(last.get("reason")) in UNSEEN_DEATHS


def _first_death_said(headers: Mapping[str, Any], name: str) -> bool:
    """Whether `name` is an `x-first-death-…` header that says what the broker's only x-death entry says (the broker
    writes them at a message's first death; on RabbitMQ 3.x a publisher's, beside an `x-death` it forged, stay)."""
    deaths = headers.get("x-death")
    field = name.removeprefix("x-first-death-")
    if field == name or not isinstance(deaths, list) or len(deaths) != 1 or not isinstance(deaths[0], dict):
        return False
    return field in ("queue", "reason", "exchange") and _header_text(headers[name]) == _header_text(
        deaths[0].get(field)
    )


def trusted_headers(message: AbstractIncomingMessage) -> dict[str, Any]:
    """A dead letter's headers without those its publisher set under chibo's or the broker's names (untrusted_names):
    what the listing reads its death, batch and replays from, and what a replay sends back."""
    headers: dict[str, Any] = dict(message.headers or {})
    for name in untrusted_names(headers):
        del headers[name]
    return headers


class SentLetters(Protocol):
    """Where a replay marks a letter it sent back and could not remove (dead_letter_sent): none sends it twice."""

    async def marked(self, queue: str) -> set[str]:
        """The row keys of `queue`'s letters sent back and not removed."""
        ...

    async def mark(self, queue: str, key: str, replay_id: str | None) -> None:
        """Mark a letter sent back (its copy confirmed) whose removal failed."""
        ...

    async def clear(self, queue: str, key: str) -> None:
        """Forget a marked letter, once removed."""
        ...


class PgSentLetters:
    """SentLetters in the service's `dead_letter_sent` table (shared/migrations), on an asyncpg pool or connection
    whose search path is the service's schema; a schema without it (its service not started since) marks nothing."""

    def __init__(self, db: asyncpg.Pool | asyncpg.Connection) -> None:
        self._db = db

    async def marked(self, queue: str) -> set[str]:
        """The row keys of `queue`'s letters sent back and not removed."""
        try:
            rows = await self._db.fetch("SELECT letter_key FROM dead_letter_sent WHERE queue = $1", queue)
        except asyncpg.UndefinedTableError:  # a schema its service has not migrated yet: nothing marked there
            return set()
        return {row["letter_key"] for row in rows}

    async def mark(self, queue: str, key: str, replay_id: str | None) -> None:
        """Mark a letter sent back (its copy confirmed) whose removal failed."""
        try:
            await self._db.execute(
                "INSERT INTO dead_letter_sent (queue, letter_key, replay_id) VALUES ($1, $2, $3)"
                " ON CONFLICT DO NOTHING",
                queue,
                key,
                replay_id,
            )
        except asyncpg.UndefinedTableError:
            log.warning("dead_letter_not_marked", queue=queue, key=key, reason="dead_letter_sent not migrated")

    async def clear(self, queue: str, key: str) -> None:
        """Forget a marked letter, once removed."""
        await self._db.execute("DELETE FROM dead_letter_sent WHERE queue = $1 AND letter_key = $2", queue, key)


class UnknownDeadLetterQueue(LookupError):
    """Not one of the system's dead-letter queues."""


class LargerThanShown(RuntimeError):
    """A purge naming what a listing showed (`through`, `newest`, its `count`) found more letters that died by then
    than that count (the listing was cut at PEEK_MOST, or letters came back since): none is dropped, since which of
    them the operator saw cannot be told. `field` is the argument it names (`count`)."""

    field = "count"

    def __init__(self, queue: str, *, selected: int, shown: int | None, through: datetime | None) -> None:
        self.queue, self.selected, self.shown = queue, selected, shown
        when = rfc3339(through) if through is not None else "the listing's newest death"
        if shown is None:  # no count named: more died by then than any listing shows
            said = (
                f"count: {selected} dead letters in {queue} died by {when}, more than a listing shows ({PEEK_MOST} at"
                " most), and no count names how many the listing showed: name its `listed` as count"
            )
        elif shown > PEEK_MOST:
            said = (
                f"count: {shown} is more than a listing shows ({PEEK_MOST} letters at most): name the listing's"
                " `listed`, not its `total`"
            )
        else:
            said = (
                f"count: {selected} dead letters in {queue} died by {when}, more than the {shown} the listing showed"
                f" (a listing shows at most {PEEK_MOST} of a queue)"
            )
        super().__init__(
            f"{said}; none was deleted. List the queue again and purge what it shows, or purge the whole queue naming"
            " no through, newest or count."
        )


class UnsafeToRead(RuntimeError):
    """A dead-letter queue a listing (or a replay that keeps some messages) must not read: on RabbitMQ 4 it still has
    the default delivery limit, so the returns would drop its dead letters (see peek_is_safe)."""


def broker_version(connection: AbstractConnection) -> tuple[int, ...]:
    """The broker's version from the connection's handshake (`3.10.8` as (3, 10, 8)); () when it does not say."""
    transport = getattr(connection, "transport", None)
    properties = getattr(getattr(transport, "connection", None), "server_properties", None) or {}
    version = properties.get("version")
    text = version.decode() if isinstance(version, bytes) else str(version or "")
    parts = [part for part in text.split(".")[:3] if is_ascii_number(part)]
    return tuple(int(part) for part in parts) if len(parts) == len(text.split(".")[:3]) and parts else ()


async def peek_is_safe(connection: AbstractConnection, queue: str) -> bool:
    """Whether the messages of an existing dead-letter queue can be taken and given back without one being dropped:
    on RabbitMQ 3.x quorum queues have no delivery limit unless one is set (and chibo sets none lower than
    DEAD_LETTER_DELIVERY_LIMIT); otherwise the queue must have DEAD_LETTER_ARGUMENTS, which a declaration with them
    tells (RabbitMQ refuses one with other arguments). A broker that does not say its version is taken as 4."""
    version = broker_version(connection)
    if version and version[0] < 4:
        return True
    return await has_dead_letter_arguments(connection, queue)


def unsafe(queue: str) -> UnsafeToRead:
    """The refusal to read a queue peek_is_safe found unsafe, saying what to do."""
    return UnsafeToRead(
        f"{queue} was declared without chibo's delivery limit and this broker (RabbitMQ 4) drops a message after 20"
        " returns: it is not read message by message. Replay all of it (or purge it); the service declares it again"
        " with the limit at its next start."
    )


def check_queue(name: str) -> str:
    """The name, when it is one of the system's dead-letter queues; UnknownDeadLetterQueue otherwise."""
    if name not in DEAD_LETTER_QUEUES:
        raise UnknownDeadLetterQueue(f"{name!r} is not a dead-letter queue (known: {', '.join(DEAD_LETTER_QUEUES)})")
    return name


async def dead_letter_counts(connection: AbstractConnection, names: Sequence[str]) -> dict[str, int | None]:
    """Messages waiting in each named queue; None for a queue not declared yet. The queues are asked at once, each on
    a channel of its own (a passive declare of a missing queue closes its channel): one round trip, not one a queue."""

    async def count(name: str) -> int | None:
        declared = await declared_queue(connection, name)  # on a probe channel: never closes `connection`
        return None if declared is None else declared.message_count or 0

    return dict(zip(names, await asyncio.gather(*(count(name) for name in names)), strict=True))


def dead_letter_attention(counts: Mapping[str, int | None]) -> list[str]:
    """The attention lines of dead-letter queues holding messages (`2 dead letters in notifications.x.dlq`), in one
    wording for every service's /health, the operations overview and the system health; an empty or undeclared
    (None) queue says nothing."""
    return [f"{count} dead letters in {queue}" for queue, count in counts.items() if count]


def death_of(message: AbstractIncomingMessage, *, carried_count: bool = True) -> dict[str, Any]:
    """Where, why (RabbitMQ's reason and the consumer's `cause`), how often and when (RFC 3339, or None) a dead letter
    died: the broker's x-death, else the headers and AMQP timestamp a consumer writes when it dead-letters a message
    itself (shared.consuming.death_headers). `delivery_count` is how often the queue it died in had delivered it
    before, never how often it was listed: the consumer's `x-chibo-delivery-count` when it wrote one; else the
    `x-delivery-count` RabbitMQ 4 carries into the dead-letter queue (`carried_count`; a listing's own returns,
    `basic.nack` with requeue, do not add to it there); else, for a message the broker dead-lettered at its origin's
    delivery limit, that limit; else 0. On RabbitMQ 3.x the `.dlq`'s own `x-delivery-count` counts the listings'
    returns, so it is never read there (`carried_count=False`) nor shown among the headers (describe). A letter the
    broker dead-lettered unseen (died_unseen: its x-death may be its publisher's) died once in x-death's queue for
    x-death's reason, at a time not known (None), after no delivery."""
    headers = trusted_headers(message)  # none its publisher set: the broker's x-death says where and why
    deaths = headers.get("x-death")
    first: dict[str, Any] = deaths[0] if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict) else {}
    unseen = died_unseen(headers)
    if unseen:  # only its queue and reason are surely the broker's: it died once, at a time nobody vouches for
        first = {"queue": first.get("queue"), "reason": first.get("reason"), "count": 1}
    # a message a consumer dead-lettered itself has no x-death: its AMQP timestamp is when it died, and it died once
    died_at = None if unseen else first.get("time") or message.timestamp
    queue = str(headers.get("x-first-death-queue") or first.get("queue") or "")
    reason = str(headers.get("x-first-death-reason") or first.get("reason") or "")
    written = headers.get("x-chibo-delivery-count")
    if isinstance(written, int | str) and is_ascii_number(str(written)):
        deliveries = int(written)
    elif unseen:  # no consumer had it: an `x-delivery-count` there is its publisher's
        deliveries = 0
    elif carried_count and headers.get("x-delivery-count") is not None:
        deliveries = int(str(headers.get("x-delivery-count") or 0))
    elif reason == "delivery_limit":
        deliveries = DELIVERY_LIMITS.get(queue, 0)
    else:
        deliveries = 0
    cause = headers.get("x-chibo-reason")
    # the deaths its headers tell (x-death's count, else the one a consumer wrote), plus one for each time an operator
    # replayed it (replay_dead_letters drops x-death and counts in x-chibo-replayed): each replay died once before it
    died = int(str(first.get("count") or 0)) or (1 if headers.get("x-first-death-queue") else 0)
    replayed = headers.get(REPLAYED_HEADER)
    if died and isinstance(replayed, int | str) and is_ascii_number(str(replayed)):
        died += int(replayed)
    return {
        "queue": queue,
        "reason": reason,
        "cause": str(cause) if cause else None,
        "death_count": died,
        "delivery_count": deliveries,
        "died_at": rfc3339(died_at) if isinstance(died_at, datetime) else None,
    }


def event_identity(headers: Mapping[str, Any], body: bytes) -> tuple[Any, Any]:
    """A dead letter's CloudEvents (`id`, `type`), each None when not read (the caller keeps only text), read as a
    consumer's failure log reads them (shared.bindings.identity_attributes): binary-mode headers when they give an
    `id`, else an envelope body's, never the `id` of a body that is only `data` (a member's id is no event's)."""
    attributes = identity_attributes(headers, body, body_limit=IDENTITY_BODY_LIMIT)
    return attributes.get("id"), attributes.get("type")


def batch_of(headers: Mapping[str, Any]) -> dict[str, Any]:
    """What a dead letter says of the batch message its event came in (shared.consuming.BATCH_HEADERS):
    `batch_message_id` and `batch_correlation_id` (that message's AMQP ids, at most 255 characters, None when not
    said) and `batch_position` (the event's place in it, from 0; None for a letter that was not in a batch)."""
    position = headers.get(BATCH_POSITION_HEADER)
    return {
        "batch_message_id": _id_text(headers.get(BATCH_MESSAGE_ID_HEADER)),
        "batch_correlation_id": _id_text(headers.get(BATCH_CORRELATION_ID_HEADER)),
        "batch_position": position if isinstance(position, int) and not isinstance(position, bool) else None,
    }


def _id_text(value: object) -> str | None:
    """An id a header holds, as text of at most 255 characters (an AMQP id's most); None for none or a non-text."""
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return text[:255] if isinstance(text, str) and text else None


def describe(message: AbstractIncomingMessage, position: int, *, carried_count: bool = True) -> dict[str, Any]:
    """One dead letter for an operator: where and why it died, how often (death_of), its ids and a body preview."""
    body = bytes(message.body)
    # characters, not bytes: a cut at PREVIEW_CHARS bytes split a Vietnamese letter into U+FFFD. 4 bytes a character
    # at most hold PREVIEW_CHARS whole ones; a letter split at the end of those bytes falls past the cut
    text = body[: PREVIEW_CHARS * 4].decode("utf-8", errors="replace")[:PREVIEW_CHARS]
    event_id, type_ = event_identity(message.headers or {}, body)
    hidden = {"x-death"} if carried_count else {"x-death", "x-delivery-count"}  # 3.x: it counts the listings
    trusted = trusted_headers(message)
    headers = {key: _shown(value) for key, value in trusted.items() if key not in hidden}
    untrusted = {key: _shown(value) for key, value in (message.headers or {}).items() if key not in trusted}
    return {
        "position": position,
        "message_id": message.message_id,
        **batch_of(trusted),
        "event_id": event_id if isinstance(event_id, str) else None,
        "type": type_ if isinstance(type_, str) else message.type,
        "routing_key": message.routing_key,
        **death_of(message, carried_count=carried_count),
        "headers": headers,
        "untrusted_headers": untrusted,
        "body_bytes": len(body),
        "body_preview": text,
        "key": row_key(message),
    }


def _shown(value: object) -> Any:
    """A header's value as a listing shows it: a string, number or boolean as it is, anything else as text (200
    characters at most)."""
    return value if isinstance(value, str | int | float | bool) else str(value)[:200]


async def _peek(queue: AbstractQueue, count: int) -> list[AbstractIncomingMessage]:
    """Up to `count` messages of the queue, delivered (at most `count`, by the prefetch) and given back: the consumer
    is cancelled (nothing more arrives), then every message is returned with `basic.nack` and requeue, which RabbitMQ
    4 does not count as a failed delivery (a channel closed on them is: `x-delivery-count` would grow by a listing)."""
    arrived: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
    await queue.channel.set_qos(prefetch_count=count)
    tag = await queue.consume(arrived.put, no_ack=False)
    messages: list[AbstractIncomingMessage] = []
    while len(messages) < count:
        try:
            messages.append(await asyncio.wait_for(arrived.get(), PEEK_IDLE))
        except TimeoutError:
            break
    await queue.cancel(tag)
    while not arrived.empty():  # delivered between the last wait and the cancel
        messages.append(arrived.get_nowait())
    if messages:
        await max(messages, key=lambda message: message.delivery_tag or 0).nack(multiple=True, requeue=True)
        await _returned(queue, len(messages))
    return messages


async def _returned(queue: AbstractQueue, count: int) -> None:
    """Wait (at most PEEK_IDLE) until the queue counts the `count` messages given back as waiting again: a quorum
    queue takes them back a moment after the `basic.nack`, and a listing read meanwhile (the next page, a second
    operator) would count them as gone."""
    deadline = asyncio.get_running_loop().time() + PEEK_IDLE
    while asyncio.get_running_loop().time() < deadline:
        found = await queue.channel.declare_queue(queue.name, passive=True)
        if (found.declaration_result.message_count or 0) >= count:
            return
        await asyncio.sleep(0.01)


def _order(message: AbstractIncomingMessage) -> tuple[str, str, str]:
    """Where a message comes in a listing: by when it died, then its message id, then its body."""
    return (
        death_of(message)["died_at"] or "",
        message.message_id or "",
        hashlib.sha256(bytes(message.body)).hexdigest(),
    )


def row_key(message: AbstractIncomingMessage) -> str:
    """The listing's key of one message (when it died, its message id, its whole body: _order), 32 hex digits: two
    copies of an event dead-lettered twice differ by it, two with the same key are the same message twice."""
    return hashlib.sha256("\x00".join(_order(message)).encode()).hexdigest()[:32]


async def list_dead_letters(
    connection: AbstractConnection,
    queue: str,
    *,
    limit: int = 50,
    offset: int = 0,
    sent: SentLetters | None = None,
) -> dict[str, Any]:
    """Up to `limit` messages of a dead-letter queue from position `offset` of its listing (oldest death first), left
    in place. Past the end (or past PEEK_MOST) nothing is read. `listed` is how many letters the listing holds (at
    most PEEK_MOST: fewer than `total` when it was cut), the count a purge of what it shows names; with `sent`, each
    letter a replay sent back and could not remove is `sent_back` (the next replay only removes it), and
    `sent_back` counts them in the whole listing."""
    check_queue(queue)
    channel = await side_channel(connection)  # a missing queue closes it: not on `connection` (shared.probes)
    items: list[dict[str, Any]] = []
    through: str | None = None
    newest: str | None = None
    marked = await _marks_read(sent, queue)
    sent_back = 0
    try:
        declared = await channel.declare_queue(queue, passive=True)
        total = declared.declaration_result.message_count or 0
        readable = listed = min(total, PEEK_MOST)
        if offset < readable:
            if not await peek_is_safe(connection, queue):
                raise unsafe(queue)
            listing = sorted(await _peek(declared, readable), key=_order)
            listed = len(listing)
            page = listing[offset : offset + limit]
            through = newest_death(listing)
            newest = newest_letters(listing, datetime.fromisoformat(through) if through else None) if listing else None
            carried = (broker_version(connection) or (4,))[0] >= 4
            items = [describe(message, offset + index, carried_count=carried) for index, message in enumerate(page)]
            sent_back = sum(row_key(message) in marked for message in listing)
            for item in items:
                item["sent_back"] = item["key"] in marked
    finally:
        await channel.close()  # every message taken goes back, unacknowledged
    return {
        "queue": queue,
        "total": total,
        "listed": listed,
        "offset": offset,
        "items": items,
        "through": through,
        "newest": newest,
        "sent_back": sent_back,
    }


async def _marks_read(sent: SentLetters | None, queue: str) -> set[str]:
    """The letters of `queue` marked sent back, for a listing: none when its database does not answer (the letters are
    listed still, unmarked; a replay reads the marks itself and fails without them)."""
    if sent is None:
        return set()
    try:
        return await sent.marked(queue)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
        log.warning("dead_letter_marks_unread", queue=queue, error=repr(exc))
        return set()


def newest_death(messages: Sequence[AbstractIncomingMessage]) -> str | None:
    """When the last of `messages` died (RFC 3339), the high-water mark a purge of what a listing showed names
    (purge_dead_letters `through`); None when none says when it died."""
    deaths = [died for died in (_died_at(message) for message in messages) if died is not None]
    return rfc3339(max(deaths)) if deaths else None


def newest_letters(messages: Sequence[AbstractIncomingMessage], through: datetime | None) -> str:
    """Which of `messages` died at `through` (their newest death, in whole seconds as the broker writes it) or say not
    when they died, named exactly: 32 hex digits of the digest of their row keys (row_key), sorted, each copy
    counted. A purge naming it (purge_dead_letters `newest`) deletes those letters only while they are exactly these:
    one that died later in the same second (or, saying not when, at any time) was never shown."""
    keys = sorted(row_key(message) for message in messages if _last_second(message, through))
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:32]


def _died_at(message: AbstractIncomingMessage) -> datetime | None:
    died = death_of(message)["died_at"]
    return datetime.fromisoformat(died) if died else None


async def replay_dead_letters(
    connection: AbstractConnection,
    queue: str,
    *,
    limit: int | None = None,
    event_id: str | None = None,
    message_id: str | None = None,
    key: str | None = None,
    replay_id: str | None = None,
    replayers: Collection[str] = (),
    owners: Mapping[str, frozenset[str]] | None = None,
    own_letters_only: bool = False,
    sent: SentLetters | None = None,
) -> dict[str, Any]:
    """Publish dead letters back to the queue they died in (all, the first `limit`, those of one event id or AMQP
    message id, or the one row of the listing `key` names: that message once, not the other copies of its id);
    messages not chosen stay. `replay_id` names the replay (a web form's, the same when that form is sent again): each
    copy carries it (REPLAY_IDS_HEADER), and a dead letter already sent back by it (died again since) is kept, so the
    same replay sent twice sends no letter back twice. `replayers` and `owners` (service -> its broker users): the
    operators' logins whose earlier replays a replay by the service vouches for (first_publisher).
    `own_letters_only` (a login that is not the queue's service's: the command line as the broker admin): a letter
    first published by another user is kept, not sent back as this login (its consumer would take this login for its
    publisher and refuse it), and counted by that user in `unvouched`. Returns how many were replayed and kept (and
    `unvouched` when some were). Each copy is confirmed before its letter is removed; when the removal then fails
    (the channel or connection lost), the letter is marked in `sent` and the replay stops: a later one removes it
    without sending it again (`removed`; `unremoved` counts those marked)."""
    if key is not None:
        limit = 1  # copies with the same key are the same message twice: one is the row chosen
    check_queue(queue)
    login = connection_login(connection)
    channel = await side_channel(connection, publisher_confirms=True)  # off `connection` (shared.probes)
    replayed = kept = removed = unremoved = 0
    unvouched: dict[str, int] = {}
    marked = await sent.marked(queue) if sent is not None else set()
    last_kept: AbstractIncomingMessage | None = None
    try:
        declared = await channel.declare_queue(queue, passive=True)
        waiting = declared.declaration_result.message_count or 0
        choosing = limit is not None or event_id is not None or message_id is not None or key is not None
        safe = not waiting or await peek_is_safe(connection, queue)
        if choosing and not safe:
            raise unsafe(queue)  # those not chosen are given back: each return counts
        kept_by = replay_id if safe else None  # all of a queue unsafe to read: every letter sent back, none kept
        for _ in range(waiting):  # bounded by what was there: replayed messages that die again are not seen twice
            if limit is not None and replayed >= limit:
                break
            message = await declared.get(no_ack=False, fail=False)
            if message is None:
                break
            said = death_of(message)["queue"]
            # only the queue this is the `.dlq` of: a letter naming another (put straight into the `.dlq`, its
            # history forged) is kept, never sent into that queue as the replaying login
            origin = said if said == home_queue(queue) else ""
            chosen = (
                not replayed_by(message, kept_by)
                and (event_id is None or describe(message, 0)["event_id"] == event_id)
                and (message_id is None or message.message_id == message_id)
                and (key is None or row_key(message) == key)
            )
            publisher = (
                first_publisher(message, login, replayers=replayers, owners=owners) if login else message.user_id
            )
            foreign = own_letters_only and origin and chosen and publisher and publisher != login
            if foreign:
                unvouched[str(publisher)] = unvouched.get(str(publisher), 0) + 1
            if not origin or not chosen or foreign:
                kept += 1
                last_kept = message
                continue  # left unacknowledged until the end: given back now, `get` would hand it out again
            letter = row_key(message)
            if sent is not None and letter in marked:  # sent back before, its removal failed: removed, not sent again
                await message.ack()
                await sent.clear(queue, letter)
                removed += 1
                continue
            trusted = trusted_headers(message)  # none its publisher forged under chibo's names goes back as chibo's
            headers = {
                name: value
                for name, value in trusted.items()
                if not name.startswith("x-") or name in BATCH_HEADERS  # which batch it came in, if it dies again
            }
            headers[REPLAYED_HEADER] = int(str(trusted.get(REPLAYED_HEADER) or 0)) + 1
            if replay_id is not None:
                headers[REPLAY_IDS_HEADER] = " ".join([*replay_ids(message)[-(REPLAY_IDS_KEPT - 1) :], replay_id])
            if login:  # as its login, naming who first published it: the service replaying vouches for it
                found = first_origin(message, login, queue=origin, replayers=replayers, owners=owners)
                headers.update(origin_headers(found))
            await channel.default_exchange.publish(
                message_copy(message, headers=headers, user_id=login),
                routing_key=origin,
                timeout=30,
            )
            replayed += 1
            try:
                await message.ack()
            except (aio_pika.exceptions.AMQPError, ConnectionError, RuntimeError) as exc:
                # the copy is out: marked, a later replay removes the letter and does not send it again
                log.warning("dead_letter_not_removed", queue=queue, key=letter, replay_id=replay_id, error=repr(exc))
                if sent is not None:
                    await sent.mark(queue, letter, replay_id)
                unremoved += 1
                break  # the channel is gone: the letters taken go back as it closes
        if (
            last_kept is not None and not unremoved
        ):  # every one kept given back at once, as a listing gives them back (_peek)
            await last_kept.nack(multiple=True, requeue=True)
            await _returned(declared, kept)
    finally:
        if not channel.is_closed:
            await channel.close()
    result: dict[str, Any] = {"queue": queue, "replayed": replayed, "kept": kept}
    result |= {"removed": removed} if removed else {}
    result |= {"unremoved": unremoved} if unremoved else {}
    return result | ({"unvouched": unvouched} if unvouched else {})


REPLAY_IDS_KEPT = 16
"""The latest replays a dead letter names (REPLAY_IDS_HEADER): a letter sent back more often forgets the oldest."""


def replay_ids(message: AbstractIncomingMessage) -> list[str]:
    """The replays that sent this dead letter back (REPLAY_IDS_HEADER), oldest first; [] when none named itself."""
    said = trusted_headers(message).get(REPLAY_IDS_HEADER)
    if isinstance(said, bytes):
        said = said.decode("utf-8", "replace")
    return str(said).split() if said else []


def replayed_by(message: AbstractIncomingMessage, replay_id: str | None) -> bool:
    """Whether the replay `replay_id` sent this dead letter back before (it died again since); False for None."""
    return replay_id is not None and replay_id in replay_ids(message)


def first_publisher(
    message: AbstractIncomingMessage,
    login: str,
    *,
    replayers: Collection[str] = (),
    owners: Mapping[str, frozenset[str]] | None = None,
) -> str | None:
    """Who first published the message a dead letter keeps: the user its consumer named (ORIGIN_HEADERS) when the
    consumer wrote the letter as `login` (the same service replaying it: RabbitMQ vouches for that `user_id`), else
    the letter's own `user_id` (the broker dead-letters a message with its properties).

    An operator's replay as one of `replayers` (CHIBO_SYSTEM_PUBLISHERS, the broker admin: the command line replayed
    as the admin, straight to the queue, before it asked the service; its consumer then refused the copy naming the
    admin) is vouched for as the event type's owner (`owners`, service -> its broker users): the admin, who may create
    any broker user, is trusted with a replay as the system's seed is trusted with urn:chibo: sources. Only a copy
    marked replayed (REPLAYED_HEADER) and published straight to a queue (no exchange) by them is: one the admin
    published to chibo.events, or without the mark, stays the admin's."""
    headers = message.headers or {}
    vouched = message.user_id == login or (message.user_id in replayers and REPLAYED_HEADER in headers)
    if not vouched or ORIGIN_HEADERS[1] not in headers:
        named, exchange = message.user_id, None
    else:
        named, exchange = (_header_text(headers.get(name)) for name in (ORIGIN_HEADERS[2], ORIGIN_HEADERS[0]))
    if named in replayers and exchange == "" and REPLAYED_HEADER in headers and owners:
        owner = OWNERS.get(str(describe(message, 0)["type"]))
        users = sorted(owners.get(owner, ())) if owner else []
        return users[0] if users else named
    return named


def _header_text(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else None


def first_origin(
    message: AbstractIncomingMessage,
    login: str,
    *,
    queue: str,
    replayers: Collection[str] = (),
    owners: Mapping[str, frozenset[str]] | None = None,
) -> Origin:
    """Where and by whom the message a dead letter keeps was first published, for its replayed copy (ORIGIN_HEADERS):
    the exchange and routing key its consumer named when it wrote the letter as `login` (first_publisher's vouched
    case), else those of the broker's first x-death, else the default exchange and `queue` (the letter says neither);
    the publisher first_publisher's. A replayed copy that dies again so keeps its original's exchange and key."""
    headers = message.headers or {}
    exchange: str | None = ""
    routing_key: str | None = queue
    if message.user_id == login and ORIGIN_HEADERS[1] in headers:
        exchange, routing_key = (_header_text(headers.get(name)) for name in ORIGIN_HEADERS[:2])
    elif not died_unseen(headers):  # else its exchange and routing keys may be its publisher's
        deaths = headers.get("x-death")
        first = deaths[0] if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict) else {}
        keys = first.get("routing-keys")
        if isinstance(first.get("exchange"), str | bytes) and isinstance(keys, list) and keys:
            exchange, routing_key = _header_text(first["exchange"]), _header_text(keys[0])
    publisher = first_publisher(message, login, replayers=replayers, owners=owners)
    return Origin(exchange if exchange is not None else "", routing_key or queue, publisher)


def connection_login(connection: AbstractConnection) -> str | None:
    """The broker user `connection` logged in as (None when it does not say), which a copy it publishes again carries
    as `user_id`: consumers of chibo.events trust who first published a copy only from their own login
    (shared.consuming.origin_of), so a dead letter replayed through its service is judged by its original publisher."""
    user = getattr(getattr(connection, "url", None), "user", None)
    return user if isinstance(user, str) and user else None


async def purge_dead_letters(
    connection: AbstractConnection,
    queue: str,
    *,
    through: datetime | None = None,
    most: int | None = None,
    newest: str | None = None,
) -> dict[str, Any]:
    """Drop the messages of a dead-letter queue; returns how many were dropped and kept. With none of `through`,
    `most` and `newest`, every one (`queue.purge`); with `most` alone, the `most` oldest. Otherwise only what a
    listing showed: letters that died before `through` (its newest death, newest_death), and those that died at
    `through` or say not when they died only when they are the very letters the listing named so (`newest`,
    newest_letters: a death's time is in whole seconds, so a letter that died later in that second is no later by it;
    without `newest` none of them is dropped); the others are given back. When more letters than `most` (the count
    the listing showed: its `listed`, at most PEEK_MOST; more than PEEK_MOST is no listing's) died by then, the
    listing did not show them all: none is dropped and LargerThanShown names `count`; so too, when no count is named,
    when more than PEEK_MOST letters died by then (no listing showed them all). Sent again after it was done
    (a form resent after a timeout), it drops none of the letters that died since, which the operator was never
    shown."""
    check_queue(queue)
    channel = await side_channel(connection)  # a missing queue closes it: not on `connection` (shared.probes)
    try:
        declared = await channel.declare_queue(queue, passive=True)
        if through is None and most is None and newest is None:
            result = await declared.purge()
            return {"queue": queue, "purged": int(getattr(result, "message_count", 0) or 0)}
        waiting = declared.declaration_result.message_count or 0
        if waiting and not await peek_is_safe(connection, queue):
            raise unsafe(queue)  # those kept are given back: each return counts
        taken: list[AbstractIncomingMessage] = []
        for _ in range(waiting):
            message = await declared.get(no_ack=False, fail=False)
            if message is None:
                break
            taken.append(message)
        last = newest is not None and newest_letters(taken, through) == newest
        named = through is not None or newest is not None  # `most` alone: the oldest letters, as before
        shown = [message for message in taken if not named or _shown_before(message, through, last=last)]
        # more than the listing showed died by then (or, no count named, more than any listing shows): some were
        # never shown, and which cannot be told; none is dropped
        larger = named and (len(shown) > PEEK_MOST if most is None else len(shown) > most or most > PEEK_MOST)
        dropped = [] if larger else sorted(shown, key=_order)[: most if most is not None else len(shown)]
        for message in dropped:
            await message.ack()
        kept = [message for message in taken if message not in dropped]
        if kept:  # every one kept given back at once, as a listing gives them back (_peek)
            await max(kept, key=lambda message: message.delivery_tag or 0).nack(multiple=True, requeue=True)
            await _returned(declared, len(kept))
        if larger:
            raise LargerThanShown(queue, selected=len(shown), shown=most, through=through)
    finally:
        await channel.close()
    return {"queue": queue, "purged": len(dropped), "kept": len(kept)}


def _shown_before(message: AbstractIncomingMessage, through: datetime | None, *, last: bool) -> bool:
    """Whether a purge naming `through` may drop the message: it died before, or at `through` (or says not when)
    when the letters of that second are the ones the listing named (`last`, newest_letters)."""
    if _last_second(message, through):
        return last
    died = _died_at(message)
    return died is not None and through is not None and died < through


def _last_second(message: AbstractIncomingMessage, through: datetime | None) -> bool:
    """Whether the message died at `through` or says not when it died: no time tells whether a listing saw it."""
    died = _died_at(message)
    return died is None or died == through
