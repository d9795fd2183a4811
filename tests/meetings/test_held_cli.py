"""`python -m shared.ops held retry|drop`: the operator page and the API retry and drop held events, and the command
line only listed them. It does the work as the API does (meetings' RetryHeldEvent and DropHeldEvent over its RPC,
the service running) and is audited like it, in gateway.audit_log."""

import asyncio
import json
from pathlib import Path
from typing import Any

import asyncpg

from services.meetings import handlers
from shared.db import apply_migrations, migration_files
from tests.meetings import events as ev
from tests.shared.test_ops_cli import ops, run_ops
from tests.support.ids import random_id

ROOT = Path(__file__).parents[2]


async def audited(database_url: str, event_id: str) -> list[tuple[str, str, int, dict[str, Any]]]:
    """(method, path, status, detail) of the audit rows naming the event, oldest first."""
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "gateway"})
    try:
        rows = await conn.fetch(
            "SELECT method, path, status, detail FROM audit_log WHERE detail->>'event_id' = $1 ORDER BY id", event_id
        )
    finally:
        await conn.close()
    return [(row["method"], row["path"], row["status"], json.loads(row["detail"])) for row in rows]


async def test_a_held_event_is_retried_and_dropped_from_the_command_line_and_audited(
    meetings_service: str, amqp_url: str, database_url: str, uow_factory: Any
) -> None:
    await apply_migrations(database_url, schema="gateway", files=migration_files(ROOT / "services" / "gateway"))
    cell, meeting = random_id("cell"), random_id("mtg")
    held = ev.scheduled(meeting, cell, starts_at=ev.BASE_TIME)  # its cell is not known yet: held
    [result] = await handlers.ingest_batch([held], uow_factory, route="test")
    assert result.outcome == "held"
    which = ("--source", held["source"], "--event-id", held["id"])

    retried = await asyncio.to_thread(ops, amqp_url, database_url, "held", "retry", *which)
    assert (retried["outcome"], retried["waiting_for"]) == ("held", f"unit:{cell}")
    dropped = await asyncio.to_thread(
        ops, amqp_url, database_url, "held", "drop", *which, "--reason", "Chi bộ đã giải thể"
    )
    assert dropped["outcome"] == "rejected" and "dropped by an operator: Chi bộ đã giải thể" in dropped["reason"]
    listed = await asyncio.to_thread(ops, amqp_url, database_url, "held", "list", "--limit", "1000")
    assert held["id"] not in [item["event_id"] for item in listed["items"]]
    # no longer held: rejected by the drop, so its rejection is named to replay instead (409, as the API answers)
    again = await asyncio.to_thread(run_ops, amqp_url, database_url, "held", "retry", *which)
    assert again.returncode == 3 and "is not held: it was rejected (rejection " in again.stderr, again.stderr
    assert "rejections replay --id " in again.stderr
    nowhere = random_id("evt")
    never = await asyncio.to_thread(
        run_ops, amqp_url, database_url, "held", "retry", "--source", held["source"], "--event-id", nowhere
    )
    assert never.returncode == 1 and f"no held or rejected event has the id {nowhere}" in never.stderr, never.stderr

    assert [(m, p, s, d["action"]) for m, p, s, d in await audited(database_url, held["id"])] == [
        ("CLI", "/cli/held-events/retry", 200, "held_event_retried"),
        ("CLI", "/cli/held-events/drop", 200, "held_event_dropped"),
        ("CLI", "/cli/held-events/retry", 409, "held_event_retried"),
    ]
    assert [s for _, _, s, _ in await audited(database_url, nowhere)] == [404]


def test_a_drop_without_a_reason_is_refused_naming_it(amqp_url: str, database_url: str) -> None:
    result = run_ops(amqp_url, database_url, "held", "drop", "--source", "urn:x", "--event-id", "e", "--reason", " ")
    assert result.returncode == 2 and "--reason" in result.stderr


async def test_a_rejection_is_listed_replayed_and_dismissed_from_the_command_line_and_audited(
    meetings_service: str, amqp_url: str, database_url: str, uow_factory: Any
) -> None:
    """A trial's command line had no rejections at all: garbage and dropped held events stayed open for ever."""
    await apply_migrations(database_url, schema="gateway", files=migration_files(ROOT / "services" / "gateway"))
    garbage = ev.member(random_id("mem"), random_id("cell"), status="asleep")
    [result] = await handlers.ingest_batch([garbage], uow_factory, route="test")
    assert result.outcome == "rejected"
    listed = await asyncio.to_thread(ops, amqp_url, database_url, "rejections", "list", "--limit", "1000")
    [row] = [item for item in listed["items"] if item["event_id"] == garbage["id"]]
    which = ("--id", row["rejection_id"])
    # judged rejected again: exit 3, as a held retry of a rejected event, its answer still printed
    ran = await asyncio.to_thread(run_ops, amqp_url, database_url, "rejections", "replay", *which)
    assert ran.returncode == 3 and "rejected again" in ran.stderr, ran.stderr
    replayed = json.loads(ran.stdout)
    assert (replayed["outcome"], replayed["field"]) == ("rejected", "data.status")
    dismissed = await asyncio.to_thread(
        ops, amqp_url, database_url, "rejections", "dismiss", *which, "--reason", "Dữ liệu rác"
    )
    assert (dismissed["status"], dismissed["dismissal_reason"]) == ("dismissed", "Dữ liệu rác")
    assert dismissed["dismissed_by"].startswith("cli:")
    still_open = await asyncio.to_thread(ops, amqp_url, database_url, "rejections", "list", "--limit", "1000")
    assert garbage["id"] not in [item["event_id"] for item in still_open["items"]]
    closed = await asyncio.to_thread(
        ops, amqp_url, database_url, "rejections", "list", "--status", "dismissed", "--limit", "1000"
    )
    [kept] = [item for item in closed["items"] if item["event_id"] == garbage["id"]]
    assert (kept["dismissal_reason"], kept["reason_code"] or "", kept["dismissed_at"] is not None) == (
        "Dữ liệu rác",
        row["reason_code"] or "",
        True,
    )
    again = await asyncio.to_thread(run_ops, amqp_url, database_url, "rejections", "replay", *which)
    assert again.returncode == 3 and "conflict" in again.stderr
    missing = await asyncio.to_thread(
        run_ops, amqp_url, database_url, "rejections", "dismiss", "--id", "nope", "--reason", "x"
    )
    assert missing.returncode == 1 and "not found" in missing.stderr
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "gateway"})
    try:
        rows = await conn.fetch(
            "SELECT path, status FROM audit_log WHERE detail->>'rejection_id' = $1 ORDER BY id", row["rejection_id"]
        )
    finally:
        await conn.close()
    path = f"/cli/rejections/{row['rejection_id']}"
    assert [(r["path"], r["status"]) for r in rows] == [
        (f"{path}/replay", 200),
        (f"{path}/dismiss", 200),
        (f"{path}/replay", 409),
    ]
