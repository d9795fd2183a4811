"""`python -m shared.ops`: the operators' command line against the real broker and database."""

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import aio_pika
import asyncpg

from shared.db import apply_migrations, migration_files
from shared.topology import CONSUMER_QUEUES, declare_topology
from tests.support.ids import random_id
from tests.support.ops import ROOT, ops, publish_dead_letter, run_ops


async def test_dead_letters_are_counted_listed_and_replayed_from_the_command_line(
    amqp_url: str, database_url: str
) -> None:
    await declare_topology(amqp_url, CONSUMER_QUEUES)
    await apply_migrations(database_url, schema="gateway", files=migration_files(ROOT / "services" / "gateway"))
    event_id = random_id("dead")
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        await (await channel.declare_queue("evaluation.facts.dlq", passive=True)).purge()
        await publish_dead_letter(channel, "evaluation.facts", event_id)
        counts = await asyncio.to_thread(ops, amqp_url, database_url, "dead-letters", "list")
        assert counts["evaluation.facts.dlq"] == 1
        listed = await asyncio.to_thread(
            ops, amqp_url, database_url, "dead-letters", "list", "--queue", "evaluation.facts.dlq"
        )
        assert [item["event_id"] for item in listed["items"]] == [event_id]
        assert listed["items"][0]["reason"] == "rejected"
        replayed = await asyncio.to_thread(
            ops, amqp_url, database_url, "dead-letters", "replay", "--queue", "evaluation.facts.dlq"
        )
        assert replayed == {"queue": "evaluation.facts.dlq", "replayed": 1, "kept": 0}
        facts = await channel.declare_queue("evaluation.facts", passive=True)
        ids = []
        while (message := await facts.get(fail=False)) is not None:  # others' events may wait there too
            ids.append(message.message_id)
            if message.message_id == event_id:
                await message.ack()
                break
        assert event_id in ids
    finally:
        await connection.close()


async def test_the_outbox_status_and_parked_rows_from_the_command_line(amqp_url: str, database_url: str) -> None:
    meetings_dir = ROOT / "services" / "meetings"
    await apply_migrations(database_url, schema="gateway", files=migration_files(ROOT / "services" / "gateway"))
    await apply_migrations(database_url, schema="meetings", files=migration_files(meetings_dir))
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "meetings"})
    event_id = random_id("parked")
    try:
        await conn.execute(
            "INSERT INTO outbox (event_id, type, exchange, routing_key, payload, parked_at, parked_reason)"
            " VALUES ($1, 't', 'chibo.events', 't', '{}'::jsonb, now(), 'test')",
            event_id,
        )
        status = await asyncio.to_thread(ops, amqp_url, database_url, "outbox", "status", "--service", "meetings")
        assert status["parked"] >= 1
        listed = await asyncio.to_thread(ops, amqp_url, database_url, "outbox", "list", "--service", "meetings")
        row_id = next(item["id"] for item in listed["items"] if item["event_id"] == event_id)
        replayed = await asyncio.to_thread(
            ops, amqp_url, database_url, "outbox", "replay", "--service", "meetings", "--id", str(row_id)
        )
        assert replayed == {"replayed": 1, "replayed_ids": [row_id], "unknown": []}
        assert await conn.fetchval("SELECT parked_at FROM outbox WHERE id = $1", row_id) is None
    finally:
        await conn.execute("DELETE FROM outbox WHERE event_id = $1", event_id)
        await conn.close()


async def test_the_command_line_pages_dead_letters_and_refuses_a_negative_offset_naming_it(
    amqp_url: str, database_url: str
) -> None:
    """--limit and --offset walk a dead-letter queue as the API's pages do: each message once, in the listing's
    order; a negative or non-numeric --offset or --limit is refused (exit 2) naming the argument."""
    await declare_topology(amqp_url, CONSUMER_QUEUES)
    queue = "notifications.events.dlq"
    ids = sorted(random_id("dead") for _ in range(5))
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        await (await channel.declare_queue(queue, passive=True)).purge()
        for event_id in ids:
            await publish_dead_letter(channel, "notifications.events", event_id)
        pages = [
            await asyncio.to_thread(
                ops, amqp_url, database_url, "dead-letters", "list", "--queue", queue, "--limit", "2", "--offset", at
            )
            for at in ("0", "2", "4", "6")
        ]
        assert [len(page["items"]) for page in pages] == [2, 2, 1, 0]
        assert all(page["total"] == 5 for page in pages)
        walked = [item["event_id"] for page in pages for item in page["items"]]
        assert sorted(walked) == ids and len(set(walked)) == 5
        for argument, value in (("--offset", "-1"), ("--limit", "-3"), ("--offset", "two")):
            refused = await asyncio.to_thread(
                run_ops, amqp_url, database_url, "dead-letters", "list", "--queue", queue, argument, value
            )
            assert refused.returncode == 2 and f"argument {argument}" in refused.stderr, refused.stderr
        await (await channel.declare_queue(queue, passive=True)).purge()
    finally:
        await connection.close()


async def audit_rows_since(database_url: str, after: int, path: str) -> list[tuple[str, int, dict[str, Any]]]:
    """(method, status, detail) of the audit rows written under `path` after row `after`, oldest first."""
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "gateway"})
    try:
        rows = await conn.fetch(
            "SELECT method, status, detail FROM audit_log WHERE id > $1 AND path = $2 ORDER BY id", after, path
        )
    finally:
        await conn.close()
    return [(row["method"], row["status"], json.loads(row["detail"])) for row in rows]


async def last_audit_row(database_url: str) -> int:
    await apply_migrations(database_url, schema="gateway", files=migration_files(ROOT / "services" / "gateway"))
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "gateway"})
    try:
        return int(await conn.fetchval("SELECT coalesce(max(id), 0) FROM audit_log"))
    finally:
        await conn.close()


def operator_actions(stderr: str) -> list[dict[str, Any]]:
    """The `operator_action` log lines a command wrote on stderr."""
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == "operator_action"]


async def test_dead_letter_replay_and_purge_and_outbox_replay_are_audited_and_logged(
    amqp_url: str, database_url: str
) -> None:
    """They change state as POST /v1/dead-letters/{q}/replay and /purge and /v1/outbox/{s}/parked/replay do, and
    wrote neither the audit row nor the `operator_action` line the API writes (held and rejections commands did)."""
    await declare_topology(amqp_url, CONSUMER_QUEUES)
    queue = "evaluation.facts.dlq"
    event_id = random_id("dead")
    before = await last_audit_row(database_url)
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        for _ in range(2):
            await publish_dead_letter(channel, "evaluation.facts", event_id)
        replay = await asyncio.to_thread(
            run_ops, amqp_url, database_url, "dead-letters", "replay", "--queue", queue, "--event-id", event_id
        )
        assert replay.returncode == 0, replay.stderr
        assert json.loads(replay.stdout)["replayed"] == 2
        [(method, status, detail)] = await audit_rows_since(database_url, before, f"/cli/dead-letters/{queue}/replay")
        assert (method, status) == ("CLI", 200)
        assert (detail["action"], detail["queue"], detail["event_id"], detail["replayed"]) == (
            "dead_letters_replayed",
            queue,
            event_id,
            2,
        )
        [logged] = operator_actions(replay.stderr)
        assert (logged["action"], logged["event_id"], logged["replayed"]) == ("dead_letters_replayed", event_id, 2)
        assert logged["sub"].startswith("cli:")
        facts = await channel.declare_queue("evaluation.facts", passive=True)
        found = 0
        while found < 2 and (message := await facts.get(fail=False)) is not None:
            if message.message_id == event_id:
                await message.ack()
                found += 1
        purge = await asyncio.to_thread(
            run_ops, amqp_url, database_url, "dead-letters", "purge", "--queue", queue, "--yes"
        )
        assert purge.returncode == 0, purge.stderr
        [(method, status, detail)] = await audit_rows_since(database_url, before, f"/cli/dead-letters/{queue}/purge")
        assert (method, status, detail["action"], detail["queue"]) == ("CLI", 200, "dead_letters_purged", queue)
        assert [line["action"] for line in operator_actions(purge.stderr)] == ["dead_letters_purged"]
    finally:
        await connection.close()

    await apply_migrations(database_url, schema="meetings", files=migration_files(ROOT / "services" / "meetings"))
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "meetings"})
    parked = random_id("parked")
    try:
        row_id = await park_row(conn, parked)
        again = await asyncio.to_thread(
            run_ops, amqp_url, database_url, "outbox", "replay", "--service", "meetings", "--id", str(row_id)
        )
        assert again.returncode == 0, again.stderr
        rows = await audit_rows_since(database_url, before, "/cli/outbox/meetings/parked/replay")
        assert [(m, s, d) for m, s, d in rows if d["ids"] == [row_id]] == [
            ("CLI", 200, {"action": "parked_rows_replayed", "service": "meetings", "ids": [row_id], "replayed": 1})
        ]
        [logged] = operator_actions(again.stderr)
        assert (logged["action"], logged["ids"], logged["replayed"]) == ("parked_rows_replayed", [row_id], 1)
    finally:
        await conn.execute("DELETE FROM outbox WHERE event_id = $1", parked)
        await conn.close()


async def test_a_replay_naming_what_is_not_there_is_not_found_naming_it(amqp_url: str, database_url: str) -> None:
    """`outbox replay --id` of no parked row and `dead-letters replay --event-id` of no dead letter answered
    `replayed: 0`, exit 0: now exit 1 naming them, audited 404, and the known ids of a mix are replayed all the same."""
    await declare_topology(amqp_url, CONSUMER_QUEUES)
    await apply_migrations(database_url, schema="meetings", files=migration_files(ROOT / "services" / "meetings"))
    before = await last_audit_row(database_url)
    nope = random_id("nope")
    unknown = await asyncio.to_thread(
        run_ops, amqp_url, database_url, "dead-letters", "replay", "--queue", "evaluation.facts.dlq", "--event-id", nope
    )
    assert unknown.returncode == 1, unknown.stderr
    assert f"not found: no dead letter in evaluation.facts.dlq has the event id {nope}" in unknown.stderr
    rows = await audit_rows_since(database_url, before, "/cli/dead-letters/evaluation.facts.dlq/replay")
    assert [(s, d["event_id"]) for _, s, d in rows if d.get("event_id") == nope] == [(404, nope)]

    conn = await asyncpg.connect(database_url, server_settings={"search_path": "meetings"})
    parked = random_id("parked")
    try:
        row_id = await park_row(conn, parked)
        missing = 9_000_000_000_000_000_000
        result = await asyncio.to_thread(
            run_ops, amqp_url, database_url, "outbox", "replay", "--service", "meetings", "--id", str(missing)
        )
        said = f"no parked row {missing} in the meetings outbox"
        assert result.returncode == 1 and f"not found: {said}" in result.stderr, result.stderr
        # a known and an unknown id: the known one is replayed, a success listing it and naming the other unknown
        words = ["--id", str(row_id), "--id", str(missing)]
        result = await asyncio.to_thread(
            run_ops, amqp_url, database_url, "outbox", "replay", "--service", "meetings", *words
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == {
            "replayed": 1,
            "replayed_ids": [row_id],
            "unknown": [{"id": missing, "code": "not_found", "message": said}],
        }
        assert await conn.fetchval("SELECT parked_at FROM outbox WHERE id = $1", row_id) is None
        rows = await audit_rows_since(database_url, before, "/cli/outbox/meetings/parked/replay")
        assert [(s, d["replayed"], d["missing"]) for _, s, d in rows if missing in d.get("missing", [])] == [
            (404, 0, [missing]),
            (200, 1, [missing]),
        ]
    finally:
        await conn.execute("DELETE FROM outbox WHERE event_id = $1", parked)
        await conn.close()


async def park_row(conn: asyncpg.Connection, event_id: str) -> int:
    """A parked outbox row of `event_id` (in the connection's schema); its id."""
    row_id = await conn.fetchval(
        "INSERT INTO outbox (event_id, type, exchange, routing_key, payload, parked_at, parked_reason)"
        " VALUES ($1, 't', 'chibo.events', 't', '{}'::jsonb, now(), 'test') RETURNING id",
        event_id,
    )
    return int(row_id)


async def test_a_purge_from_the_command_line_naming_its_listing_keeps_a_letter_that_died_later_in_its_last_second(
    amqp_url: str, database_url: str
) -> None:
    """`purge --through T --count N` deleted a letter that died after the listing in T's second (a death's time is in
    whole seconds): the listing's `newest` (`--newest`) names the letters of that second exactly."""
    await declare_topology(amqp_url, CONSUMER_QUEUES)
    await apply_migrations(database_url, schema="gateway", files=migration_files(ROOT / "services" / "gateway"))
    queue = "evaluation.facts.dlq"
    second = datetime(2026, 12, 5, 8, 0, 7, tzinfo=UTC)
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        await (await channel.declare_queue(queue, passive=True)).purge()

        async def dies(event_id: str) -> None:
            body = json.dumps({"id": event_id, "type": "meeting.scheduled.v1"}).encode()
            message = aio_pika.Message(
                body,
                headers={"x-first-death-queue": "evaluation.facts", "x-first-death-reason": "rejected"},
                message_id=event_id,
                timestamp=second,
            )
            await channel.default_exchange.publish(message, routing_key=queue)

        await dies(random_id("seen"))
        listed = await asyncio.to_thread(ops, amqp_url, database_url, "dead-letters", "list", "--queue", queue)
        assert listed["total"] == 1 and len(listed["newest"]) == 32, listed
        unseen = random_id("unseen")
        await dies(unseen)
        named = ("--through", listed["through"], "--newest", listed["newest"], "--count", str(listed["total"]))
        for _ in range(2):  # sent again, as after a timeout
            purge = await asyncio.to_thread(
                run_ops, amqp_url, database_url, "dead-letters", "purge", "--queue", queue, "--yes", *named
            )
            assert purge.returncode == 0, purge.stderr
            assert json.loads(purge.stdout)["purged"] == 0, purge.stdout  # that second is not what was listed
        left = await asyncio.to_thread(ops, amqp_url, database_url, "dead-letters", "list", "--queue", queue)
        assert unseen in [item["event_id"] for item in left["items"]], left
        refused = await asyncio.to_thread(
            run_ops, amqp_url, database_url, "dead-letters", "purge", "--queue", queue, "--yes", "--newest", "x"
        )
        assert refused.returncode != 0 and "is not 32 hex digits" in refused.stderr, refused.stderr
        await (await channel.declare_queue(queue, passive=True)).purge()
    finally:
        await connection.close()


async def test_a_purge_from_the_command_line_naming_more_letters_than_its_listing_showed_deletes_none(
    amqp_url: str, database_url: str
) -> None:
    """`purge --through T --count N` deleted the N oldest letters that died by T whatever the listing held: more
    letters than it showed (a listing holds at most 5,000; `--count` the queue's total) were deleted by count. Now
    exit 3 naming `count`, audited as the API's 409, nothing deleted."""
    await declare_topology(amqp_url, CONSUMER_QUEUES)
    await apply_migrations(database_url, schema="gateway", files=migration_files(ROOT / "services" / "gateway"))
    queue = "evaluation.facts.dlq"
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        await (await channel.declare_queue(queue, passive=True)).purge()
        for index in range(2):
            body = json.dumps({"id": random_id("dead"), "type": "meeting.scheduled.v1"}).encode()
            message = aio_pika.Message(
                body,
                headers={"x-first-death-queue": "evaluation.facts", "x-first-death-reason": "rejected"},
                timestamp=datetime(2026, 12, 5, 8, 0, index, tzinfo=UTC),
            )
            await channel.default_exchange.publish(message, routing_key=queue)
        listed = await asyncio.to_thread(ops, amqp_url, database_url, "dead-letters", "list", "--queue", queue)
        assert (listed["total"], listed["listed"]) == (2, 2), listed
        before = await last_audit_row(database_url)
        for count, said in (("1", "count: 2 dead letters"), ("5001", "count: 5001 is more than a listing shows")):
            named = ("--through", listed["through"], "--newest", listed["newest"], "--count", count)
            purge = await asyncio.to_thread(
                run_ops, amqp_url, database_url, "dead-letters", "purge", "--queue", queue, "--yes", *named
            )
            assert purge.returncode == 3 and f"conflict: {said}" in purge.stderr, purge.stderr
        rows = await audit_rows_since(database_url, before, f"/cli/dead-letters/{queue}/purge")
        assert [(status, detail["count"]) for _method, status, detail in rows] == [(409, 1), (409, 5001)], rows
        assert (await channel.declare_queue(queue, passive=True)).declaration_result.message_count == 2
        await (await channel.declare_queue(queue, passive=True)).purge()
    finally:
        await connection.close()


async def test_the_command_line_listing_marks_the_letters_sent_back_whose_removal_failed(
    amqp_url: str, database_url: str
) -> None:
    """A letter a replay sent back and could not remove (its service's dead_letter_sent) is `sent_back` in the
    operations page's listing, since the next replay only removes it; `dead-letters list --queue` showed it as any
    other, and counted none."""
    await declare_topology(amqp_url, CONSUMER_QUEUES)
    await apply_migrations(database_url, schema="evaluation", files=migration_files(ROOT / "services" / "evaluation"))
    queue, sent, kept = "evaluation.facts.dlq", random_id("sent"), random_id("kept")
    connection = await aio_pika.connect(amqp_url)
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "evaluation"})
    try:
        channel = await connection.channel(publisher_confirms=True)
        await (await channel.declare_queue(queue, passive=True)).purge()
        for event_id in (sent, kept):
            await publish_dead_letter(channel, "evaluation.facts", event_id)
        before = await asyncio.to_thread(ops, amqp_url, database_url, "dead-letters", "list", "--queue", queue)
        [key] = [item["key"] for item in before["items"] if item["event_id"] == sent]
        await conn.execute(  # as a replay whose removal of the letter failed marks it
            "INSERT INTO dead_letter_sent (queue, letter_key, replay_id) VALUES ($1, $2, 'r')", queue, key
        )
        listed = await asyncio.to_thread(ops, amqp_url, database_url, "dead-letters", "list", "--queue", queue)
        assert listed["sent_back"] == 1, listed
        assert {item["event_id"]: item["sent_back"] for item in listed["items"]} == {sent: True, kept: False}
        await (await channel.declare_queue(queue, passive=True)).purge()
    finally:
        await conn.execute("DELETE FROM dead_letter_sent WHERE queue = $1", queue)
        await conn.close()
        await connection.close()


async def test_a_replay_naming_a_batch_message_id_says_its_letters_and_how_to_pick_them(
    amqp_url: str, database_url: str
) -> None:
    """Trial 36 #3: `replay --message-id` of a batch's message id (a letter's `batch_message_id` in the listing) said
    only "not found"; it still is (exit 1, nothing replayed), naming the letters of that batch by their keys."""
    await declare_topology(amqp_url, CONSUMER_QUEUES)
    await apply_migrations(database_url, schema="gateway", files=migration_files(ROOT / "services" / "gateway"))
    await apply_migrations(database_url, schema="evaluation", files=migration_files(ROOT / "services" / "evaluation"))
    queue, batch = "evaluation.facts.dlq", random_id("batch")
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        await (await channel.declare_queue(queue, passive=True)).purge()
        for event_id in (random_id("ev"), random_id("ev")):
            body = json.dumps({"id": event_id, "type": "meeting.scheduled.v1"}).encode()
            headers: dict[str, Any] = {
                "x-first-death-queue": "evaluation.facts",
                "x-first-death-reason": "rejected",
                "x-chibo-batch-message-id": batch,
            }
            message = aio_pika.Message(body, headers=headers, message_id=event_id)
            await channel.default_exchange.publish(message, routing_key=queue)
        listed = await asyncio.to_thread(ops, amqp_url, database_url, "dead-letters", "list", "--queue", queue)
        keys = [item["key"] for item in listed["items"] if item["batch_message_id"] == batch]
        assert len(keys) == 2, listed
        result = await asyncio.to_thread(
            run_ops, amqp_url, database_url, "dead-letters", "replay", "--queue", queue, "--message-id", batch
        )
        assert result.returncode == 1, result.stderr
        assert f"not found: no dead letter in {queue} has the message id {batch}" in result.stderr
        assert f"2 dead letters came in the batch message {batch}" in result.stderr, result.stderr
        assert all(f"--key {key}" in result.stderr for key in keys), result.stderr
        left = await asyncio.to_thread(ops, amqp_url, database_url, "dead-letters", "list", "--queue", queue)
        assert left["total"] == 2
    finally:
        await connection.close()
