"""deploy/pids.sh: a pid file counts only while its pid runs what `make up` started under that name. After a kill -9
or a reboot the pid may belong to another program: `make up` then thought the service was running (and waited 90 s
for its health before failing) and `make down` would have sent that program SIGTERM."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.fixture
def stranger() -> Iterator[int]:
    """Another program, alive, whose pid a stale pid file names."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        yield process.pid
    finally:
        process.kill()
        process.wait()


@pytest.fixture
def service_like() -> Iterator[int]:
    """A process whose command line is the one up.sh starts the evaluation service with."""
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", "-m", "services.evaluation", "serve"]
    )
    try:
        yield process.pid
    finally:
        process.kill()
        process.wait()


def running(workdir: Path, name: str, pid: int | None) -> bool:
    """`running NAME` of deploy/pids.sh, in a directory whose var/run/NAME.pid holds `pid` (None: no file)."""
    run = workdir / "var" / "run"
    run.mkdir(parents=True, exist_ok=True)
    pidfile = run / f"{name}.pid"
    pidfile.unlink(missing_ok=True)
    if pid is not None:
        pidfile.write_text(f"{pid}\n")
    answer = subprocess.run(
        ["bash", "-c", f'source "{ROOT}/deploy/pids.sh" && running {name}'], cwd=workdir, check=False, timeout=30
    )
    return answer.returncode == 0


def test_a_pid_reused_by_another_program_is_not_the_service(tmp_path: Path, stranger: int, service_like: int) -> None:
    assert not running(tmp_path, "evaluation", stranger)  # alive, but not ours
    assert running(tmp_path, "evaluation", service_like)
    assert not running(tmp_path, "meetings", service_like)  # ours, but another service's
    assert not running(tmp_path, "evaluation", None)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert not running(tmp_path, "evaluation", dead.pid)


def alive(pid: int) -> bool:
    """`alive PID` of deploy/pids.sh."""
    answer = subprocess.run(["bash", "-c", f'source "{ROOT}/deploy/pids.sh" && alive {pid}'], check=False, timeout=30)
    return answer.returncode == 0


def test_a_killed_process_not_yet_reaped_is_not_alive(stranger: int) -> None:
    # a zombie's pid still takes signal 0: `make down` waited 10 s on one and the health view called a killed
    # service silent, not gone (shared.instances.pid_alive says the same)
    assert alive(stranger)
    os.kill(stranger, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while _state(stranger) != "Z":  # the kill is delivered asynchronously; its parent (this test) reaps it later
        assert time.monotonic() < deadline, "never a zombie"
    assert not alive(stranger)


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0]
