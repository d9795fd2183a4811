"""The generated feeds the benchmark and the fault suite send are facts meetings accepts: a reading rule added later
that refuses them would leave the measurements scoring fewer meetings without saying so (a rule refusing a reason on
a present member's line once refused nearly every month-start roster). Each event is read as meetings reads it
(handlers.ingest.read_raw: parsing, typing, the event-only plausibility rules)."""

import json
from pathlib import Path

from services.meetings.handlers.ingest import read_raw
from tests.benchmarks.month_start import month_start, province
from tests.benchmarks.runs import run_module
from tests.chaos.suite import backfill


def refused(events: list[bytes]) -> list[str]:
    """The reasons read_raw gives for the events it refuses (at most ten)."""
    return [f"{reading.type}: {reading.error}" for reading in map(read_raw, events) if reading.error][:10]


def test_the_province_year_generator_writes_only_acceptable_facts(tmp_path: Path) -> None:
    out = tmp_path / "province.jsonl"
    run_module(
        ["services.meetings", "generate-province", "--cells", "20", "--members", "400"]
        + ["--months", "12", "--out", str(out)],
        timeout=300,
    )
    lines = out.read_bytes().splitlines()
    assert len(lines) > 2000
    assert refused(lines) == []


def test_the_month_start_and_fault_suite_feeds_are_acceptable_facts() -> None:
    first = province(40)
    feeds = first + month_start(40, first_seq=len(first) + 1) + backfill(12)
    assert refused([json.dumps(event).encode() for event in feeds]) == []
