"""Where the services spend their time during a preset: py-spy sampling each service process.

`Profiler` attaches `py-spy record` (PyPI: a sampling profiler that reads a running interpreter's stacks
from outside, so the services run unchanged) to every service for the measured window, writes each
service's collapsed stacks (`<dir>/<service>.txt`, for flamegraph tools) and sums them up: the busiest
functions by own time and by inclusive time, as shares of the samples in which the process was busy.
"""

import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

RATE = 25
"""Samples a second: enough for shares of a minutes-long run, light on a shared 2-core machine."""

TOP = 12


class Profiler:
    """py-spy record on each named process, from start() to stop()."""

    def __init__(self, directory: Path, pids: dict[str, int]) -> None:
        self.directory = directory
        self.pids = pids
        self._processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        """Attach to every process."""
        self.directory.mkdir(parents=True, exist_ok=True)
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        for name, pid in self.pids.items():
            self._processes[name] = subprocess.Popen(
                [spy, "record", "--pid", str(pid), "--rate", str(RATE), "--format", "raw", "--nonblocking"]
                + ["--function", "--output", str(self.directory / f"{name}.txt")],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

    def stop(self) -> None:
        """Detach (SIGINT makes py-spy write its file)."""
        for process in self._processes.values():
            process.send_signal(signal.SIGINT)
        for process in self._processes.values():
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()

    def summary(self) -> dict[str, Any]:
        """Per service: samples, and the top functions by own and by inclusive share of them (percent)."""
        return {name: summarize(self.directory / f"{name}.txt") for name in self.pids}


def summarize(path: Path, *, top: int = TOP) -> dict[str, Any]:
    """Busy share, and own and inclusive shares of the busiest functions over the busy samples (percent), from a
    py-spy raw (collapsed stacks) file. Idle is the event loop waiting in its selector; inclusive shares are
    of the project's own functions (services/, shared/) below the start-up ones, which every sample shares."""
    if not path.exists():
        return {"samples": 0, "note": "no profile written (py-spy could not attach?)"}
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = busy = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(frame) for frame in stack.split(";")]
        total += count
        if frames[-1].startswith(IDLE):
            continue
        busy += count
        own[frames[-1]] += count
        for frame in {_short(frame) for frame in stack.split(";") if _is_ours(frame)}:
            inclusive[frame] += count
    if busy == 0:
        return {"samples": total, "busy_percent": 0.0}
    return {
        "samples": total,
        "busy_percent": round(100 * busy / total, 1),
        "own_percent": {frame: round(100 * n / busy, 1) for frame, n in own.most_common(top)},
        "inclusive_percent": {frame: round(100 * n / busy, 1) for frame, n in inclusive.most_common(top)},
    }


IDLE = "EpollSelector.select "
START_UP = ("main.py", "cli.py", "__main__.py")


def _is_ours(frame: str) -> bool:
    """A frame of the project's code, other than the start-up (cli, main) every sample passes through."""
    file = frame.partition(" (")[2]
    return file.startswith(("services/", "shared/")) and not file.split(":", 1)[0].endswith(START_UP)


def _short(frame: str) -> str:
    """`function (path/to/module.py:12)` → `function (module.py)`: one name per function, short enough to read."""
    name, _, where = frame.partition(" (")
    file = where.rstrip(")").rsplit(":", 1)[0]
    parts = file.split("/")
    return f"{name} ({'/'.join(parts[-2:])})"
