"""`make bench`'s sweep preset: notifications' daily sweep over a province, members scaled with the cells (trial:
"projected 175 cells, 600000 members" at --scale 0.005), its figures in the JSON like the other presets', beside a raw
baseline (bare asyncpg doing the sweep's reads and writes) and the ratio. Not a measurement: a run at 10 cells proves
the shape; its output holds no info log lines (trial: migration logs despite log_level WARNING)."""

import json
from pathlib import Path

import pytest

from tests.benchmarks.__main__ import parse
from tests.benchmarks.runs import run_module
from tests.notifications.bench_sweep import FULL_CELLS, FULL_MEMBERS, preset_size


def test_members_scale_with_the_cells() -> None:
    assert preset_size(1.0) == (FULL_CELLS, FULL_MEMBERS) == (35_000, 600_000)
    assert preset_size(0.005) == (175, 3_000)
    cells, members = preset_size(0.0001)
    assert cells == 10 and members == round(FULL_MEMBERS * 10 / FULL_CELLS) == 171


def test_the_sweep_is_a_preset_of_the_command_line() -> None:
    assert parse(["sweep", "--scale", "0.005"]).presets == ["sweep"]
    assert "sweep" in parse([]).presets


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_the_sweep_prints_its_figures_beside_the_baseline_in_the_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    completed = run_module(["tests.benchmarks", "sweep", "--scale", "0.0002", "--json", str(out)], timeout=240)
    assert "projected 10 cells, 171 members" in completed.stdout
    assert "sweep: chibo/baseline first_s =" in completed.stdout
    printed = completed.stdout + completed.stderr
    assert "migration_applied" not in printed and '"level": "info"' not in printed and "[info" not in printed
    [result] = json.loads(out.read_text(encoding="utf-8"))
    assert result["preset"] == "sweep" and result["cells"] == 10 and result["members"] == 171
    assert result["chibo"]["first_s"] > 0 and result["chibo"]["notifications"] > 0
    assert result["baseline"]["s"] > 0 and result["ratio"]["first_s"] > 0 and result["ratio"]["again_s"] > 0
