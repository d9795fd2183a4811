"""The generator's year of meetings (`generate-province --months N`): valid contract events, a meeting a month
per cell save the few missed, the tree dated before the first meeting, the same output for the same seed."""

import io
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from services.meetings.bulk.generate import generate_province, months_back
from shared.contracts.registry import read_event
from shared.envelope import parse_envelope

ROOT = Path(__file__).parents[2]


def generated(*, cells: int = 8, months: int = 12, through: str = "2026-10") -> list[dict[str, Any]]:
    out = io.StringIO()
    generate_province(out, cells=cells, members=cells * 15, prefix="gy-", months=months, through=through)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_every_generated_event_reads_as_the_contract_says() -> None:
    events = generated()
    for event in events:
        read_event(parse_envelope(json.dumps(event).encode()))  # raises InvalidEvent naming the field
    assert len({event["id"] for event in events}) == len(events)
    types = Counter(event["type"] for event in events)
    for kind in ("attendance.recorded.v1", "minutes.submitted.v1", "meeting.assessed.v1", "task.completed.v1"):
        assert types[kind] > 0, kind


def test_each_cell_meets_monthly_in_the_months_asked_for_after_its_tree() -> None:
    events = generated()
    cells = {e["data"]["id"] for e in events if e["type"] == "org.unit.upserted.v1" and e["data"]["kind"] == "cell"}
    meetings = [e["data"] for e in events if e["type"] == "meeting.scheduled.v1"]
    months = {m["starts_at"][:7] for m in meetings}
    assert months <= {months_back("2026-10", back) for back in range(12)} and "2026-10" in months
    per_cell = Counter(m["cell_id"] for m in meetings)
    assert set(per_cell) == cells and all(9 <= count <= 12 for count in per_cell.values())
    assert sum(m["kind"] == "combined" and "topic" in m for m in meetings) >= len(cells) * 3
    first_meeting = min(e["time"] for e in events if e["type"] == "meeting.scheduled.v1")
    assert max(e["time"] for e in events if e["type"] == "member.upserted.v1") < first_meeting


def test_the_same_seed_gives_the_same_year_and_months_zero_only_the_tree() -> None:
    assert generated(cells=4) == generated(cells=4)
    assert {e["type"] for e in generated(cells=4, months=0)} == {
        "org.unit.upserted.v1",
        "member.upserted.v1",
        "monitor.assigned.v1",
    }


def test_the_command_refuses_a_through_that_is_not_a_month(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "services.meetings", "generate-province", "--cells", "2", "--members", "10"]
        + ["--months", "3", "--through", "2026-13", "--out", str(tmp_path / "x.jsonl")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "2026-13" in json.loads(result.stdout)["error"]
