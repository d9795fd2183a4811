"""The reading micro-benchmark (`python -m tests.benchmarks.reading_path`) runs and prints a figure for every side
and content form, so the per-delivery reading cost of issue 12 can be measured again in any tree."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.benchmarks.reading_path import FORMS

ROOT = Path(__file__).parents[2]

pytestmark = [pytest.mark.timeout(300)]


def test_the_reading_benchmark_prints_its_figures() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.reading_path", "--cells", "1", "--copies", "1", "--repeat", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    figures = json.loads(completed.stdout.strip().splitlines()[-1])
    assert figures["tree"] == str(ROOT)
    for side in ("meetings", "consumer"):
        for form in FORMS:
            assert figures[f"{side}/{form}"] > 0, (side, form)
