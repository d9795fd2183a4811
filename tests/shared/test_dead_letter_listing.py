"""Listing dead letters takes a `.dlq`'s messages and gives them back, and a quorum queue counts each return against
its delivery limit (RabbitMQ 4 sets 20 by default, then drops the message: a `.dlq` has no dead-letter route). On the
real broker: an operator paging the list more often than that loses nothing and is not shown the listings as
deliveries; a `.dlq` declared by an older deployment is declared again with the limit once it is empty, and kept as it
is (its dead letters with it) while it holds any."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import aio_pika
import pytest

from shared.ops import dead_letters, rfc3339
from shared.ops.dead_letters import (
    LargerThanShown,
    broker_version,
    list_dead_letters,
    peek_is_safe,
    purge_dead_letters,
    replay_dead_letters,
)
from shared.topology import (
    DEAD_LETTER_ARGUMENTS,
    DEAD_LETTER_EXCHANGE,
    EVENTS_EXCHANGE,
    NOTIFICATIONS_EVENTS,
    declare_topology,
    has_dead_letter_arguments,
)
from tests.support.ids import random_id
from tests.support.running import eventually

DLQ = NOTIFICATIONS_EVENTS.dead_letter_queue
LISTINGS = 25
"""More than RabbitMQ 4's default delivery limit of a quorum queue (20)."""


@pytest.fixture
async def connection(amqp_url: str) -> AsyncIterator[aio_pika.abc.AbstractConnection]:
    """A connection on the test vhost, the `.dlq` of notifications.events declared afresh and empty, and the queue
    itself empty (where replays go)."""
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    await channel.queue_delete(DLQ)
    await declare_topology(amqp_url, [NOTIFICATIONS_EVENTS])
    await (await channel.declare_queue(NOTIFICATIONS_EVENTS.name, passive=True)).purge()
    await channel.close()
    yield connection
    await connection.close()


async def dead_letter(
    connection: aio_pika.abc.AbstractConnection, event_id: str, *, died: datetime | None = None, **headers: str
) -> None:
    """A message as a consumer dead-letters one event of a batch itself: published straight to the `.dlq`, its AMQP
    timestamp `died` (when it died; none by default), `headers` beside the death's."""
    channel = await connection.channel(publisher_confirms=True)
    await channel.default_exchange.publish(
        aio_pika.Message(
            json.dumps({"id": event_id, "type": "meeting.scheduled.v1"}).encode(),
            headers={"x-first-death-queue": NOTIFICATIONS_EVENTS.name, "x-first-death-reason": "rejected", **headers},
            message_id=event_id,
            timestamp=died,
        ),
        routing_key=DLQ,
    )
    await channel.close()


async def test_paging_the_dead_letters_more_often_than_the_default_delivery_limit_loses_none_and_counts_none(
    connection: aio_pika.abc.AbstractConnection,
) -> None:
    """The tester's case: each listing returned every message, and each return counted as a delivery (3.10:
    `x-delivery-count` 1, 2, 3 … shown as the letter's deliveries; 4.x: dropped after the 20th)."""
    ids = sorted(random_id("dead") for _ in range(3))
    for event_id in ids:
        await dead_letter(connection, event_id)
    assert await has_dead_letter_arguments(connection, DLQ)
    assert await peek_is_safe(connection, DLQ)

    for listing in range(LISTINGS):
        first = await list_dead_letters(connection, DLQ, limit=2, offset=0)
        second = await list_dead_letters(connection, DLQ, limit=2, offset=2)
        assert first["total"] == second["total"] == len(ids), listing
        items = first["items"] + second["items"]
        assert sorted(item["event_id"] for item in items) == ids, listing
        # never delivered before it died here: 0, however often the list was read
        assert [item["delivery_count"] for item in items] == [0, 0, 0], (listing, items)
        if broker_version(connection) < (4,):  # 3.x: the `.dlq`'s own count of the listings, never shown
            assert all("x-delivery-count" not in item["headers"] for item in items), (listing, items)
        assert {item["queue"] for item in items} == {NOTIFICATIONS_EVENTS.name}

    # a replay of one row gives the others back too: they are still there, and still listed as they were
    assert (await replay_dead_letters(connection, DLQ, message_id=ids[0]))["replayed"] == 1
    after = await list_dead_letters(connection, DLQ, limit=10, offset=0)
    assert sorted(item["event_id"] for item in after["items"]) == ids[1:] and after["total"] == 2


async def test_a_dead_letter_queue_of_an_older_deployment_is_redeclared_once_empty_and_kept_while_it_holds_letters(
    amqp_url: str, connection: aio_pika.abc.AbstractConnection
) -> None:
    """A queue's arguments cannot change in place (PRECONDITION_FAILED): starting on a broker whose `.dlq` was
    declared without the limit must neither fail nor drop its dead letters."""
    channel = await connection.channel()
    await channel.queue_delete(DLQ)
    old = await channel.declare_queue(DLQ, durable=True, arguments={"x-queue-type": "quorum"})
    await old.bind(DEAD_LETTER_EXCHANGE, routing_key=NOTIFICATIONS_EVENTS.name)
    kept = random_id("kept")
    await dead_letter(connection, kept)

    await declare_topology(amqp_url, [NOTIFICATIONS_EVENTS])  # a start: not refused
    await declare_topology(amqp_url, [NOTIFICATIONS_EVENTS])
    assert not await has_dead_letter_arguments(connection, DLQ)
    listed = await list_dead_letters(connection, DLQ, limit=10, offset=0)
    assert [item["event_id"] for item in listed["items"]] == [kept]

    await (await channel.declare_queue(DLQ, passive=True)).purge()
    await declare_topology(amqp_url, [NOTIFICATIONS_EVENTS])  # the next start, once it is empty
    assert await has_dead_letter_arguments(connection, DLQ)
    # bound again: what the broker dead-letters from notifications.events arrives in it
    publisher = await connection.channel(publisher_confirms=True)
    dlx = await publisher.get_exchange(DEAD_LETTER_EXCHANGE)
    routed = random_id("routed")
    await dlx.publish(aio_pika.Message(b"{}", message_id=routed), routing_key=NOTIFICATIONS_EVENTS.name)
    listed = await list_dead_letters(connection, DLQ, limit=10, offset=0)
    assert [item["message_id"] for item in listed["items"]] == [routed]
    await declare_topology(amqp_url, [NOTIFICATIONS_EVENTS])  # and again: nothing changes
    assert await has_dead_letter_arguments(connection, DLQ)
    assert (await list_dead_letters(connection, DLQ, limit=10, offset=0))["total"] == 1


async def test_dead_letters_caught_while_a_queue_was_replaced_are_moved_in_at_the_next_start(
    amqp_url: str, connection: aio_pika.abc.AbstractConnection
) -> None:
    """A start that stopped between replacing a `.dlq` and moving in what died meanwhile (`<dlq>.upgrade`)."""
    channel = await connection.channel(publisher_confirms=True)
    holding = await channel.declare_queue(f"{DLQ}.upgrade", durable=True, arguments=DEAD_LETTER_ARGUMENTS)
    await holding.bind(DEAD_LETTER_EXCHANGE, routing_key=NOTIFICATIONS_EVENTS.name)
    caught = random_id("caught")
    died: dict[str, Any] = {"x-death": [{"count": 1, "reason": "rejected", "queue": NOTIFICATIONS_EVENTS.name}]}
    await channel.default_exchange.publish(
        aio_pika.Message(json.dumps({"specversion": "1.0", "id": caught}).encode(), message_id=caught, headers=died),
        routing_key=f"{DLQ}.upgrade",
    )
    await declare_topology(amqp_url, [NOTIFICATIONS_EVENTS])
    [item] = (await list_dead_letters(connection, DLQ, limit=10, offset=0))["items"]
    assert (item["event_id"], item["queue"], item["reason"]) == (caught, NOTIFICATIONS_EVENTS.name, "rejected")
    with pytest.raises(aio_pika.exceptions.ChannelClosed):  # moved in, then removed
        await (await connection.channel()).declare_queue(f"{DLQ}.upgrade", passive=True)


async def copy_of(connection: aio_pika.abc.AbstractConnection, event_id: str, *, died: datetime) -> None:
    """One copy of an event dead-lettered by its consumer (the same body, message id and event id each time; a
    header that a replay keeps says which)."""
    await dead_letter(connection, event_id, died=died, copy=died.isoformat())


async def test_sending_back_one_row_sends_that_copy_alone_not_every_copy_of_its_event(
    connection: aio_pika.abc.AbstractConnection,
) -> None:
    """The same event dead-lettered twice is two rows with one event and message id: the row's button replayed both
    (by event id). Each row has its own key; replaying by it sends that copy once and leaves the other listed."""
    event_id = random_id("twice")
    first, second = datetime(2026, 11, 30, 8, 0, tzinfo=UTC), datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    await copy_of(connection, event_id, died=first)
    await copy_of(connection, event_id, died=second)
    rows = (await list_dead_letters(connection, DLQ, limit=10, offset=0))["items"]
    assert [(row["event_id"], row["died_at"]) for row in rows] == [
        (event_id, rfc3339(first)),  # as the API writes a time (UTC as Z)
        (event_id, rfc3339(second)),
    ]
    assert rows[0]["key"] != rows[1]["key"]

    sent = await replay_dead_letters(connection, DLQ, event_id=event_id, key=rows[1]["key"])
    assert sent["replayed"] == 1
    [left] = (await list_dead_letters(connection, DLQ, limit=10, offset=0))["items"]
    assert (left["key"], left["died_at"]) == (rows[0]["key"], rfc3339(first))
    channel = await connection.channel()
    origin = await channel.declare_queue(NOTIFICATIONS_EVENTS.name, passive=True)
    replayed = await origin.get(no_ack=True)
    assert (replayed.message_id, (replayed.headers or {})["copy"]) == (event_id, second.isoformat())  # that copy
    assert await origin.get(fail=False) is None

    # the same message twice (same death, same body): one row's button sends one of them, the other stays
    await copy_of(connection, event_id, died=first)
    twins = (await list_dead_letters(connection, DLQ, limit=10, offset=0))["items"]
    assert len(twins) == 2 and twins[0]["key"] == twins[1]["key"]
    assert (await replay_dead_letters(connection, DLQ, key=twins[0]["key"]))["replayed"] == 1
    assert (await list_dead_letters(connection, DLQ, limit=10, offset=0))["total"] == 1
    await (await channel.declare_queue(NOTIFICATIONS_EVENTS.name, passive=True)).purge()


def fake_connection(version: Any) -> Any:
    """A connection whose handshake names the broker's version (or not)."""
    handshake = SimpleNamespace(server_properties={"version": version})
    return SimpleNamespace(transport=SimpleNamespace(connection=handshake))


def test_the_brokers_version_is_read_from_its_handshake() -> None:
    assert broker_version(fake_connection("3.10.8")) == (3, 10, 8)
    assert broker_version(fake_connection(b"4.1.0")) == (4, 1, 0)
    assert broker_version(fake_connection("4.2.0-rc.1")) == ()  # not plainly numbered: taken as 4 by the callers
    assert broker_version(fake_connection(None)) == ()
    assert broker_version(fake_connection(None).transport) == ()  # no handshake at all


async def test_the_same_replay_sent_twice_sends_a_letter_back_once_though_it_died_again(
    connection: aio_pika.abc.AbstractConnection,
) -> None:
    """A replay unanswered may have been done; sent again (the same `replay_id`: the same web form), a letter it sent
    back that died again meanwhile stays a dead letter. Another replay sends it back."""
    event_id = random_id("again")
    await dead_letter(connection, event_id)
    channel = await connection.channel()
    origin = await channel.declare_queue(NOTIFICATIONS_EVENTS.name, passive=True)

    async def died_again() -> dict[str, Any]:
        copy = await origin.get(no_ack=False, fail=True)
        assert copy is not None and copy.message_id == event_id
        dlq = await connection.channel(publisher_confirms=True)  # it dies as a consumer's dead letter: to the `.dlq`
        headers = {**(copy.headers or {}), "x-first-death-queue": NOTIFICATIONS_EVENTS.name}
        await dlq.default_exchange.publish(
            aio_pika.Message(copy.body, headers=headers, message_id=copy.message_id), routing_key=DLQ
        )
        await copy.ack()
        return headers

    assert (await replay_dead_letters(connection, DLQ, replay_id="form-1"))["replayed"] == 1
    assert (await died_again())["x-chibo-replay-ids"] == "form-1"
    assert await replay_dead_letters(connection, DLQ, replay_id="form-1") == {"queue": DLQ, "replayed": 0, "kept": 1}
    assert await origin.get(fail=False) is None
    assert (await replay_dead_letters(connection, DLQ, replay_id="form-2"))["replayed"] == 1
    headers = await died_again()
    assert (headers["x-chibo-replay-ids"], headers["x-chibo-replayed"]) == ("form-1 form-2", 2)
    await (await channel.declare_queue(DLQ, passive=True)).purge()


async def test_a_purge_naming_what_a_listing_showed_sent_again_deletes_none_that_died_since(
    connection: aio_pika.abc.AbstractConnection,
) -> None:
    """A purge resent after a timeout deleted whatever the queue held then: letters that died after the operator
    looked, which they were never shown."""
    shown = [random_id("shown") for _ in range(3)]
    for index, event_id in enumerate(shown):
        await dead_letter(connection, event_id, died=datetime(2026, 12, 5, 8, 0, index, tzinfo=UTC))
    listing = await list_dead_letters(connection, DLQ)
    assert listing["total"] == 3 and listing["through"] == "2026-12-05T08:00:02Z", listing
    through, count = datetime.fromisoformat(listing["through"]), listing["total"]
    later = random_id("later")
    await dead_letter(connection, later, died=datetime(2026, 12, 5, 8, 0, 30, tzinfo=UTC))

    first = await purge_dead_letters(connection, DLQ, through=through, most=count, newest=listing["newest"])
    again = await purge_dead_letters(connection, DLQ, through=through, most=count, newest=listing["newest"])

    assert (first["purged"], first["kept"], again["purged"], again["kept"]) == (3, 1, 0, 1)
    left = await list_dead_letters(connection, DLQ)
    assert [item["event_id"] for item in left["items"]] == [later]
    assert (await purge_dead_letters(connection, DLQ))["purged"] == 1  # named nothing: all of it, as before


async def test_a_purge_resent_deletes_no_letter_that_died_later_in_the_second_the_listing_ended(
    connection: aio_pika.abc.AbstractConnection,
) -> None:
    """A death's time is in whole seconds (the broker's x-death, a consumer's AMQP timestamp): a letter that died
    after the listing, in the same second as its newest letter, counted as shown, and a purge sent twice deleted it."""
    second = datetime(2026, 12, 5, 8, 0, 5, tzinfo=UTC)
    await dead_letter(connection, random_id("before"), died=second.replace(second=1))
    seen = random_id("seen")
    await dead_letter(connection, seen, died=second)
    listing = await list_dead_letters(connection, DLQ)
    assert listing["total"] == 2 and listing["through"] == rfc3339(second) and listing["newest"], listing
    unseen = random_id("unseen")
    await dead_letter(connection, unseen, died=second)  # died after the listing, in the second it ended with

    named = {"through": second, "most": listing["total"], "newest": listing["newest"]}
    first = await purge_dead_letters(connection, DLQ, **named)
    again = await purge_dead_letters(connection, DLQ, **named)

    # the letters of that second are not the ones listed: none of them is deleted, the older one is
    assert (first["purged"], first["kept"], again["purged"], again["kept"]) == (1, 2, 0, 2), (first, again)
    left = await list_dead_letters(connection, DLQ)
    assert sorted(item["event_id"] for item in left["items"]) == sorted([seen, unseen])
    # a purge naming `through` but not the letters of its second deletes none of that second either
    assert (await purge_dead_letters(connection, DLQ, through=second, most=2))["purged"] == 0
    # listed again, the operator sees both, and the purge naming them deletes both
    relisted = await list_dead_letters(connection, DLQ)
    named = {"through": second, "most": relisted["total"], "newest": relisted["newest"]}
    assert (await purge_dead_letters(connection, DLQ, **named))["purged"] == 2
    assert (await list_dead_letters(connection, DLQ))["total"] == 0


async def test_a_purge_resent_deletes_no_letter_that_says_not_when_it_died(
    connection: aio_pika.abc.AbstractConnection,
) -> None:
    """A letter without a death time counted as having died before `through`: one that died after the listing (a
    message put in the queue by hand, an older consumer's) was deleted by the purge naming the listing."""
    seen = random_id("seen")
    await dead_letter(connection, seen, died=datetime(2026, 12, 5, 8, 0, 1, tzinfo=UTC))
    listing = await list_dead_letters(connection, DLQ)
    untimed = random_id("untimed")
    channel = await connection.channel(publisher_confirms=True)
    await channel.default_exchange.publish(
        aio_pika.Message(json.dumps({"id": untimed}).encode(), message_id=untimed), routing_key=DLQ
    )
    await channel.close()
    named = {"through": datetime.fromisoformat(listing["through"]), "newest": listing["newest"]}
    for _ in range(2):  # no time says whether the listing saw it: with the letters of that second, it stays
        result = await purge_dead_letters(connection, DLQ, most=listing["total"], **named)
        assert (result["purged"], result["kept"]) == (0, 2), result
    left = await list_dead_letters(connection, DLQ)
    assert sorted(item["message_id"] for item in left["items"]) == sorted([seen, untimed]), left
    named = {"through": datetime.fromisoformat(left["through"]), "newest": left["newest"]}
    assert (await purge_dead_letters(connection, DLQ, most=left["total"], **named))["purged"] == 2  # listed: both


class FakeSentLetters:
    """SentLetters in memory: queue -> the row keys of letters sent back and not removed."""

    def __init__(self) -> None:
        self.keys: dict[str, set[str]] = {}

    async def marked(self, queue: str) -> set[str]:
        """The row keys marked for `queue`."""
        return set(self.keys.get(queue, set()))

    async def mark(self, queue: str, key: str, replay_id: str | None) -> None:
        """Mark one letter."""
        self.keys.setdefault(queue, set()).add(key)

    async def clear(self, queue: str, key: str) -> None:
        """Forget one letter."""
        self.keys.get(queue, set()).discard(key)


async def test_a_letter_sent_back_whose_removal_failed_is_removed_by_the_next_replay_not_sent_again(
    connection: aio_pika.abc.AbstractConnection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The copy was confirmed, then the channel was lost before the letter's removal: the letter stayed, and the next
    replay sent it again, so the operator saw it twice (its consumer dropped the second copy by its id)."""
    event_id = random_id("lost-ack")
    await dead_letter(connection, event_id)
    real_ack = aio_pika.IncomingMessage.ack

    async def channel_lost(message: aio_pika.IncomingMessage, multiple: bool = False) -> None:
        monkeypatch.setattr(aio_pika.IncomingMessage, "ack", real_ack)  # once
        await message.channel.close()
        raise aio_pika.exceptions.ChannelInvalidStateError("the channel was lost")

    monkeypatch.setattr(aio_pika.IncomingMessage, "ack", channel_lost)
    sent = FakeSentLetters()
    first = await replay_dead_letters(connection, DLQ, replay_id="form-1", sent=sent)
    assert (first["replayed"], first.get("unremoved")) == (1, 1), first
    waiting = await connection.channel()

    async def back_in_queue() -> bool:  # the broker requeues the letter taken once its channel has closed, a moment on
        return (await waiting.declare_queue(DLQ, passive=True)).declaration_result.message_count == 1

    await eventually(back_in_queue)
    await waiting.close()
    second = await replay_dead_letters(connection, DLQ, replay_id="form-1", sent=sent)

    assert second == {"queue": DLQ, "replayed": 0, "kept": 0, "removed": 1}
    channel = await connection.channel()
    assert (await channel.declare_queue(DLQ, passive=True)).declaration_result.message_count == 0
    origin = await channel.declare_queue(NOTIFICATIONS_EVENTS.name, passive=True)
    assert origin.declaration_result.message_count == 1  # one copy sent back, not two
    assert await sent.marked(DLQ) == set()


async def test_a_purge_of_a_listing_cut_at_its_most_deletes_no_letter_it_did_not_show(
    connection: aio_pika.abc.AbstractConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A listing reads at most PEEK_MOST letters (5,000; 3 here) and the page's purge named its newest death and the
    queue's total: with more letters than that, the purge deleted by count, letters the operator never saw among
    them (older ones the listing did not read), and the page did not say the list was cut."""
    monkeypatch.setattr(dead_letters, "PEEK_MOST", 3)
    listed = [random_id("listed") for _ in range(3)]
    for index, event_id in enumerate(listed):  # read first (a fresh queue delivers in order), dead since 08:00:10
        await dead_letter(connection, event_id, died=datetime(2026, 12, 5, 8, 0, 10 + index, tzinfo=UTC))
    unlisted = [random_id("unlisted") for _ in range(2)]
    for index, event_id in enumerate(unlisted):  # died before, arrived after: past the listing's most
        await dead_letter(connection, event_id, died=datetime(2026, 12, 5, 8, 0, index, tzinfo=UTC))

    listing = await list_dead_letters(connection, DLQ)
    assert listing["total"] == 5 and sorted(item["event_id"] for item in listing["items"]) == sorted(listed)
    named = {"through": datetime.fromisoformat(listing["through"]), "newest": listing["newest"]}
    for count in (len(listed), listing["total"]):  # what it showed; the queue's total, as the page sent
        with pytest.raises(LargerThanShown, match=r"^count: .*none was deleted") as refused:
            await purge_dead_letters(connection, DLQ, most=count, **named)
        assert refused.value.field == "count"
    left = await list_dead_letters(connection, DLQ)
    assert left["total"] == 5, left  # nothing deleted, every letter given back
    assert left["listed"] == 3  # and the listing says it holds fewer than the queue


async def test_a_purge_naming_a_cut_listings_through_without_its_count_deletes_no_letter_it_did_not_show(
    connection: aio_pika.abc.AbstractConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More letters than a listing reads (PEEK_MOST: 5,000; 3 here): a purge naming the listing's `through` and
    `newest` but not its `count` deleted every letter that died by then, the ones the listing never read among them.
    With more letters selected than any listing shows, none is deleted and the refusal names `count`."""
    monkeypatch.setattr(dead_letters, "PEEK_MOST", 3)
    listed = [random_id("listed") for _ in range(3)]
    for index, event_id in enumerate(listed):  # read first (a fresh queue delivers in order), dead since 08:00:10
        await dead_letter(connection, event_id, died=datetime(2026, 12, 5, 8, 0, 10 + index, tzinfo=UTC))
    unlisted = [random_id("unlisted") for _ in range(2)]
    for index, event_id in enumerate(unlisted):  # died before, arrived after: past the listing's most
        await dead_letter(connection, event_id, died=datetime(2026, 12, 5, 8, 0, index, tzinfo=UTC))
    listing = await list_dead_letters(connection, DLQ)
    assert (listing["total"], listing["listed"]) == (5, 3), listing
    named = {"through": datetime.fromisoformat(listing["through"]), "newest": listing["newest"]}

    with pytest.raises(LargerThanShown, match=r"^count: .*none was deleted") as refused:
        await purge_dead_letters(connection, DLQ, **named)

    assert refused.value.field == "count"
    assert "5 dead letters" in str(refused.value), refused.value
    assert (await list_dead_letters(connection, DLQ))["total"] == 5  # nothing deleted, every letter given back


async def test_a_listing_cut_at_its_most_purges_the_letters_it_showed(
    connection: aio_pika.abc.AbstractConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The letters a cut listing read are the oldest (the queue delivers in order): its purge deletes those, and the
    rest stay for the next listing."""
    monkeypatch.setattr(dead_letters, "PEEK_MOST", 3)
    ids = [random_id("dead") for _ in range(5)]
    for index, event_id in enumerate(ids):
        await dead_letter(connection, event_id, died=datetime(2026, 12, 5, 8, 0, index, tzinfo=UTC))
    listing = await list_dead_letters(connection, DLQ)
    assert [item["event_id"] for item in listing["items"]] == ids[:3]
    named = {"through": datetime.fromisoformat(listing["through"]), "newest": listing["newest"]}

    purged = await purge_dead_letters(connection, DLQ, most=3, **named)

    assert (purged["purged"], purged["kept"]) == (3, 2), purged
    left = await list_dead_letters(connection, DLQ)
    assert [item["event_id"] for item in left["items"]] == ids[3:]
    assert (listing["total"], listing["listed"], left["total"], left["listed"]) == (5, 3, 2, 2)


async def test_a_listing_marks_the_letters_sent_back_whose_removal_failed(
    connection: aio_pika.abc.AbstractConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A letter whose copy was confirmed and whose removal failed (dead_letter_sent) looked like any other: the
    operator could not tell that the next replay only removes it."""
    kept, lost = random_id("kept"), random_id("lost-ack")
    await dead_letter(connection, lost)
    real_ack = aio_pika.IncomingMessage.ack

    async def channel_lost(message: aio_pika.IncomingMessage, multiple: bool = False) -> None:
        monkeypatch.setattr(aio_pika.IncomingMessage, "ack", real_ack)  # once
        await message.channel.close()
        raise aio_pika.exceptions.ChannelInvalidStateError("the channel was lost")

    monkeypatch.setattr(aio_pika.IncomingMessage, "ack", channel_lost)
    sent = FakeSentLetters()
    assert (await replay_dead_letters(connection, DLQ, sent=sent)).get("unremoved") == 1
    await dead_letter(connection, kept)

    listing = await list_dead_letters(connection, DLQ, sent=sent)

    assert listing["sent_back"] == 1, listing
    assert {item["event_id"]: item["sent_back"] for item in listing["items"]} == {lost: True, kept: False}
    assert (await list_dead_letters(connection, DLQ))["sent_back"] == 0  # no marks given: none said

    async def database_down(queue: str) -> set[str]:
        raise ConnectionRefusedError("the database does not answer")

    monkeypatch.setattr(sent, "marked", database_down)
    unmarked = await list_dead_letters(connection, DLQ, sent=sent)  # listed still, the marks unread
    assert (unmarked["total"], unmarked["sent_back"]) == (2, 0), unmarked


async def test_a_replay_killed_between_the_confirm_and_the_removal_sends_the_letter_again_never_loses_it(
    connection: aio_pika.abc.AbstractConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process killed after the broker confirmed the copy and before the letter was removed (or marked): nothing
    tells whether the copy went out (a mark written before the publish cannot tell a kill before it from one after
    the confirm), so the letter stays and the next replay sends it again. The two copies are the same event (same
    CloudEvents id and source, same message id): its consumer takes the second for a duplicate by (source, id)
    (shared.consuming), the guarantee a replay gives (at least once, applied once)."""
    event_id = random_id("killed")
    await dead_letter(connection, event_id)

    async def killed(message: aio_pika.IncomingMessage, multiple: bool = False) -> None:
        raise asyncio.CancelledError  # the task stops here, as a killed process does: no ack, no mark

    monkeypatch.setattr(aio_pika.IncomingMessage, "ack", killed)
    sent = FakeSentLetters()
    with pytest.raises(asyncio.CancelledError):
        await replay_dead_letters(connection, DLQ, replay_id="form-1", sent=sent)
    monkeypatch.undo()
    assert await sent.marked(DLQ) == set()
    waiting = await connection.channel()

    async def back_in_queue() -> bool:  # the broker requeues the letter taken once its channel has closed, a moment on
        return (await waiting.declare_queue(DLQ, passive=True)).declaration_result.message_count == 1

    await eventually(back_in_queue)
    await waiting.close()

    again = await replay_dead_letters(connection, DLQ, replay_id="form-1", sent=sent)

    assert (again["replayed"], again.get("unremoved")) == (1, None), again
    channel = await connection.channel()
    origin = await channel.declare_queue(NOTIFICATIONS_EVENTS.name, passive=True)
    copies = []
    for _ in range(2):
        copy = await origin.get(no_ack=True, fail=False)
        assert copy is not None
        copies.append(copy)
    assert {(json.loads(copy.body)["id"], copy.message_id) for copy in copies} == {(event_id, event_id)}
    assert (await channel.declare_queue(DLQ, passive=True)).declaration_result.message_count == 0
    await channel.close()


async def test_a_replayed_letter_keeps_the_batch_message_it_came_in(
    connection: aio_pika.abc.AbstractConnection,
) -> None:
    """A dead letter of one event of a batch names the batch message (shared.consuming.BATCH_HEADERS); the copy a
    replay sends back keeps those headers (and none of the death's), so when it dies again the listing still names
    the batch, and the listing shows them as its own fields."""
    event_id, batch_id = random_id("element"), random_id("t34-web")
    batch = {"x-chibo-batch-message-id": batch_id, "x-chibo-batch-correlation-id": "corr-1"}
    await dead_letter(connection, event_id, **batch)  # type: ignore[arg-type]  # header names, never `died`
    [row] = (await list_dead_letters(connection, DLQ, limit=10, offset=0))["items"]
    assert (row["batch_message_id"], row["batch_correlation_id"], row["batch_position"]) == (batch_id, "corr-1", None)
    assert (await replay_dead_letters(connection, DLQ, event_id=event_id))["replayed"] == 1
    channel = await connection.channel()
    replayed = await (await channel.declare_queue(NOTIFICATIONS_EVENTS.name, passive=True)).get(no_ack=True)
    headers = replayed.headers or {}
    assert {name: headers.get(name) for name in batch} == batch
    assert "x-first-death-queue" not in headers
    await channel.close()


FORGED = {
    "x-chibo-reason": "Đã duyệt: xóa đi",
    "x-first-death-queue": "meetings.ingest",
    "x-first-death-reason": "expired",
    "x-chibo-delivery-count": 99,
    "x-chibo-batch-message-id": "forged-batch",
    "x-chibo-batch-position": 7,
    "x-chibo-replayed": 5,
    "x-chibo-replay-ids": "form-forged",
    "x-death": [{"queue": "meetings.ingest", "reason": "expired", "count": 3, "exchange": "", "routing-keys": ["x"]}],
}
"""Headers a publisher of chibo.events sets under the names the broker and chibo's consumers write on a dead letter."""


async def test_headers_a_publisher_forged_are_neither_read_nor_shown_as_the_death_nor_sent_back(
    connection: aio_pika.abc.AbstractConnection,
) -> None:
    """A message published on chibo.events carrying x-chibo-reason, x-first-death-… and the batch and replay headers,
    then dead-lettered by the broker (it keeps every header of the publisher's): the listing read them as the cause,
    the queue it died in, its counts and its batch, what an operator judges a letter by. Now they are listed apart as
    `untrusted_headers`, the death is the broker's x-death, and a replay does not send them back as chibo's own."""
    event_id = random_id("forged")
    channel = await connection.channel(publisher_confirms=True)
    exchange = await channel.get_exchange(EVENTS_EXCHANGE)
    await exchange.publish(
        aio_pika.Message(
            json.dumps({"id": event_id, "type": "meeting.scheduled.v1"}).encode(),
            headers=dict(FORGED),  # type: ignore[arg-type]
            message_id=event_id,
        ),
        routing_key="meeting.scheduled.v1",
    )
    origin = await channel.declare_queue(NOTIFICATIONS_EVENTS.name, passive=True)
    delivered = await eventually(lambda: origin.get(no_ack=False, fail=False))
    await delivered.reject(requeue=False)  # the broker dead-letters it, publisher's headers and all

    async def listed() -> dict[str, Any] | None:
        items = (await list_dead_letters(connection, DLQ))["items"]
        return items[0] if items else None

    row = await eventually(listed)

    assert row["event_id"] == event_id
    assert (row["queue"], row["reason"], row["cause"]) == (NOTIFICATIONS_EVENTS.name, "rejected", None), row
    assert (row["death_count"], row["delivery_count"]) == (1, 0), row
    assert (row["batch_message_id"], row["batch_position"]) == (None, None), row
    assert not set(FORGED) & set(row["headers"]), row["headers"]
    assert row["untrusted_headers"] == {name: value for name, value in FORGED.items() if name != "x-death"}, row

    replayed = await replay_dead_letters(connection, DLQ)

    assert replayed["replayed"] == 1, replayed
    copy = await eventually(lambda: origin.get(no_ack=True, fail=False))
    assert not set(FORGED) & set(copy.headers or {}) - {"x-chibo-replayed"}, copy.headers  # no x-death either
    assert (copy.headers or {}).get("x-chibo-replayed") == 1, copy.headers  # this replay, not the forged five
    await channel.close()


def test_the_first_death_the_broker_wrote_is_shown_as_its_own() -> None:
    """A message published through an exchange and dead-lettered once: the broker wrote its x-first-death-… headers
    (they say what its only x-death entry says), so they are listed among its headers, not as its publisher's."""
    death = {"queue": NOTIFICATIONS_EVENTS.name, "reason": "rejected", "count": 1, "exchange": EVENTS_EXCHANGE}
    headers = {
        "x-death": [death],
        "x-first-death-queue": NOTIFICATIONS_EVENTS.name,
        "x-first-death-reason": "rejected",
        "x-first-death-exchange": EVENTS_EXCHANGE,
        "x-chibo-reason": "forged",
    }
    assert dead_letters.untrusted_names(headers) == {"x-chibo-reason"}
