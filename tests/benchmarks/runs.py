"""How the benchmark tests run a benchmark: `python -m <module> <args>` in a child process from the repository's root,
its output captured, as `make bench` runs it."""

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).parents[2]


def run_module(
    args: list[str], *, timeout: float, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m` with `args` (the module, then its arguments) from ROOT, this environment plus `env`, its stdout
    and stderr captured as text; raises subprocess.TimeoutExpired after `timeout` seconds, and AssertionError with
    the last 3,000 characters of each when it exits other than 0."""
    completed = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        env={**os.environ, **env} if env is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return completed
