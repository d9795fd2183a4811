"""`python -m tests.benchmarks.pgstats --single`: PostgreSQL's side of the single preset (one event per message).

Not a measurement: it proves the statement profile of one event per message can be taken (issue 12's single-event
target), each event its own message, every one taken in and scored, with the statements counted per event.
"""

import json
from pathlib import Path

import pytest

from tests.benchmarks.runs import run_module

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def test_pgstats_profiles_the_single_preset_one_event_per_message(tmp_path: Path) -> None:
    out = tmp_path / "pgstats.json"
    run_module(
        ["tests.benchmarks.pgstats", "--single", "--scale", "0.0003", "--quiet", "3", "--json", str(out)],
        timeout=540,
    )
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["preset"] == "single" and result["cells"] == 3
    assert result["messages"] == result["events"] > 0  # one event per message
    assert result["missing_final_scores"] == 0 and result["rejected"] == 0, result["first_rejections"]
    assert result["postgres"]["calls_per_event"] > 0
    assert "meetings" in result["postgres"]["backend_cpu_s_by_service"]
