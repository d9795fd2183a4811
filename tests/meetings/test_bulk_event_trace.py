"""Each line of a bulk history load leaves the trace an event of any other route leaves (docs/operations.md,
"Following an event"): an accepted one its `event_accepted` line with `route` `bulk`, its type and correlation id, a
refused one its `event_rejected` line naming that route, a copy its `event_duplicate` line, and each a
`chibo_ingest_events_total` sample under route `bulk`. The load wrote none of the accepted lines and counted nothing:
an operator searching the id of one event of a province's load found nothing of it. The set-based step's lines (units,
members, monitors) and those it leaves to the ingest path (meetings, lines refused on reading) alike. Real PostgreSQL;
the load runs in this process, so its metric is this process's registry; and the `bulk-load` command writes those lines
on stderr (it logged at WARNING, dropping them, whatever CHIBO_LOG_LEVEL said)."""

import json
import logging
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from services.meetings.bulk.generate import generate_province
from services.meetings.bulk.load import bulk_load
from services.meetings.handlers import ingest_delivery
from services.meetings.repository.ingest import INBOX
from shared.contracts.registry import read_event
from shared.envelope import parse_envelope
from tests.support.ids import random_id
from tests.support.logs import route_logs_to_stdlib, structured_logs

MEMBER = "member.upserted.v1"


def bulk_samples(outcome: str, event_type: str) -> float:
    """chibo_ingest_events_total under route `bulk` for one type and outcome (0 before any)."""
    labels = {"route": "bulk", "type": event_type, "outcome": outcome}
    return REGISTRY.get_sample_value("chibo_ingest_events_total", labels) or 0.0


def compact(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


async def test_every_line_of_a_bulk_load_is_logged_under_its_id_and_counted_under_route_bulk(  # type: ignore[no-untyped-def]
    meetings_pool, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    route_logs_to_stdlib(caplog)
    caplog.set_level(logging.INFO)
    prefix = random_id("bulkline") + "-"
    path = tmp_path / "province.jsonl"
    with path.open("w", encoding="utf-8") as out:  # units, members, monitors (set-based) and a month of meetings
        generate_province(out, cells=2, members=12, months=1, through="2026-10", prefix=prefix)
    values = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    correlated = next(value for value in values if value["type"] == MEMBER)
    correlated["correlationid"] = prefix + "history-2026"  # its own correlation id, not its id, on its line
    member = next(value for value in values if value["type"] == MEMBER and value is not correlated)
    copy = dict(member)  # the same event again: a duplicate
    reused = dict(member, data=dict(member["data"], full_name="Lê Văn Khác"))  # another event under its id
    unread = dict(member, id=prefix + "bad-status", data=dict(member["data"], status="honorary"))  # refused reading
    lines = [compact(value) for value in [*values, copy, reused, unread]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    events = [read_event(parse_envelope(compact(value))) for value in values]
    types = Counter(event.type for event in events)
    assert types[MEMBER] == 12 and types["meeting.scheduled.v1"] > 0  # both steps' lines
    before = {event_type: bulk_samples("accepted", event_type) for event_type in types}
    rejected_before, duplicate_before = bulk_samples("rejected", MEMBER), bulk_samples("duplicate", MEMBER)

    report = await bulk_load(path, meetings_pool, chunk_size=20, progress=False)  # two chunks

    assert report.outcomes == {"accepted": len(events), "duplicate": 1, "held": 0, "rejected": 2}, report.outcomes
    logged = structured_logs(caplog)
    accepted = [line for line in logged if line["event"] == "event_accepted"]
    for event in events:
        found = [line for line in accepted if line.get("event_id") == event.id]
        assert len(found) == 1, (event.id, event.type, found)
        [line] = found
        assert line["route"] == "bulk" and line["service"] == "test", line
        assert line["event_type"] == event.type and line["event_source"] == event.source, line
        assert line["correlation_id"] == event.correlation_id, line
    [own] = [line for line in accepted if line.get("event_id") == correlated["id"]]
    assert own["correlation_id"] == prefix + "history-2026"
    for event_type, count in types.items():
        assert bulk_samples("accepted", event_type) - before[event_type] == count, event_type
    rejected = [line for line in logged if line["event"] == "event_rejected" and line.get("route") == "bulk"]
    assert {line["event_id"] for line in rejected} >= {member["id"], unread["id"]}, rejected
    assert bulk_samples("rejected", MEMBER) - rejected_before == 2
    duplicates = [line for line in logged if line["event"] == "event_duplicate" and line["event_id"] == member["id"]]
    assert len(duplicates) == 1 and duplicates[0]["event_type"] == MEMBER, duplicates
    # the copy's line alone says the event is in: when its inbox row was recorded (RFC 3339, UTC)
    taken_in = await meetings_pool.fetchval(
        "SELECT processed_at FROM processed_message WHERE consumer = $1 AND source = $2 AND event_id = $3",
        INBOX,
        member["source"],
        member["id"],
    )
    stamp = duplicates[0].get("received_at")
    assert isinstance(stamp, str) and stamp.endswith("Z") and datetime.fromisoformat(stamp) == taken_in, duplicates
    assert duplicates[0].get("first_route", "absent") == "bulk", duplicates  # and by which route it came
    assert bulk_samples("duplicate", MEMBER) - duplicate_before == 1


async def test_a_bulk_copy_names_the_route_its_first_copy_came_by(  # type: ignore[no-untyped-def]
    meetings_pool, uow_factory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    route_logs_to_stdlib(caplog)
    caplog.set_level(logging.INFO)
    prefix = random_id("bulkfirst") + "-"
    path = tmp_path / "province.jsonl"
    with path.open("w", encoding="utf-8") as out:
        generate_province(out, cells=1, members=3, months=1, through="2026-10", prefix=prefix)
    values = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    unit = values[0]
    meeting = next(value for value in values if value["type"] == "meeting.scheduled.v1")
    # the unit's first copy came in an AMQP batch before the load (the set-based step meets its inbox row)
    [sent] = await ingest_delivery(
        json.dumps([unit]).encode(),
        uow_factory,
        batch=True,
        route="amqp",
        content_type="application/cloudevents-batch+json",
        message_id=random_id("m"),
    )
    assert sent.outcome == "accepted", sent
    await bulk_load(path, meetings_pool, chunk_size=50, progress=False)
    again = tmp_path / "again.jsonl"
    again.write_text(compact(meeting) + "\n", encoding="utf-8")  # a meeting's copy: the ingest path's judge

    report = await bulk_load(again, meetings_pool, chunk_size=50, progress=False)

    assert report.outcomes["duplicate"] == 1, report.outcomes
    logged = [line for line in structured_logs(caplog) if line["event"] == "event_duplicate"]
    [unit_copy] = [line for line in logged if line["event_id"] == unit["id"]]
    assert unit_copy.get("first_route", "absent") == "amqp-batch", unit_copy
    [meeting_copy] = [line for line in logged if line["event_id"] == meeting["id"]]
    assert meeting_copy.get("first_route", "absent") == "bulk", meeting_copy


def test_the_bulk_load_command_writes_each_accepted_line_on_stderr_as_json(database_url: str, tmp_path: Path) -> None:
    prefix = random_id("bulkcli") + "-"
    path = tmp_path / "cli.jsonl"
    with path.open("w", encoding="utf-8") as out:
        generate_province(out, cells=2, members=8, prefix=prefix)
    events = [read_event(parse_envelope(line)) for line in path.read_text(encoding="utf-8").splitlines()]
    env = {"CHIBO_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}

    loaded = subprocess.run(
        [sys.executable, "-m", "services.meetings", "bulk-load", str(path)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )

    summary = json.loads(loaded.stdout.strip().splitlines()[-1])
    assert summary["outcomes"]["accepted"] == len(events), summary
    # JSON lines, none cut by a progress bar's redraw (stderr is a pipe here); the vhost/database line comes first
    logged = [json.loads(line) for line in loaded.stderr.splitlines() if line.startswith("{")]
    assert all(line.startswith("{") for line in loaded.stderr.splitlines()[1:]), loaded.stderr[:2000]
    accepted = {line["event_id"]: line for line in logged if line["event"] == "event_accepted"}
    for event in events:
        line = accepted[event.id]
        assert (line["service"], line["route"], line["event_type"]) == ("meetings", "bulk", event.type), line
        assert line["correlation_id"] == event.correlation_id, line
