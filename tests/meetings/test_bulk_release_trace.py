"""Held events a bulk history load releases leave the trace a release on any other route leaves (docs/operations.md,
"Following an event"): one `event_accepted` line each with `route` `release`, and a `chibo_ingest_events_total`
sample under that route. The load released them silently: an operator searching a member's id found nothing of what
became of it. Real PostgreSQL; the load runs in this process, so its metric is this process's registry."""

import logging
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from services.meetings.bulk.generate import generate_province
from services.meetings.bulk.load import bulk_load
from shared.contracts.registry import read_event
from shared.envelope import parse_envelope
from tests.support.ids import random_id
from tests.support.logs import route_logs_to_stdlib, structured_logs

MEMBER = "member.upserted.v1"


def released_samples() -> float:
    labels = {"route": "release", "type": MEMBER, "outcome": "accepted"}
    return REGISTRY.get_sample_value("chibo_ingest_events_total", labels) or 0.0


async def test_members_a_bulk_load_releases_are_logged_and_counted_as_released(  # type: ignore[no-untyped-def]
    meetings_pool, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    route_logs_to_stdlib(caplog)
    caplog.set_level(logging.INFO)
    prefix = random_id("bulktrace") + "-"
    path = tmp_path / "province.jsonl"
    with path.open("w", encoding="utf-8") as out:
        generate_province(out, cells=2, members=12, prefix=prefix)
    lines = path.read_text(encoding="utf-8").splitlines()
    reversed_path = tmp_path / "reversed.jsonl"  # every member before its cell: held at its line, released by it
    reversed_path.write_text("\n".join(reversed(lines)) + "\n", encoding="utf-8")
    events = [read_event(parse_envelope(line)) for line in lines]
    members = [event for event in events if event.type == MEMBER]
    before = released_samples()

    report = await bulk_load(
        reversed_path, meetings_pool, chunk_size=7, progress=False
    )  # held and released across chunks

    assert report.held_then["released"] >= len(members) and report.held_then["still_held"] == 0, report.held_then
    lines_seen: list[dict[str, Any]] = [line for line in structured_logs(caplog) if line["event"] == "event_accepted"]
    for member in members:
        found = [line for line in lines_seen if line.get("event_id") == member.id]
        assert len(found) == 1, (member.id, found)
        [line] = found
        assert line["route"] == "release"
        assert line["event_type"] == MEMBER and line["event_source"] == member.source and line.get("correlation_id")
    assert released_samples() - before == len(members)
