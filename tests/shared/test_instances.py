"""How the gateway judges a service from its processes' heartbeats (shared.instances.InstanceBoard): down when none
reports within the window, degraded when one is silent or not ok, a clean stop is not a silence."""

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest

from shared.instances import InstanceBoard, InstanceIdentity
from tests.support.running import eventually, free_port


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0]


def _stopped(pid: int) -> bool:
    return _state(pid) == "T"


LISTENER = """
import socket, sys, time
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen()
print(server.getsockname()[1], flush=True)
time.sleep(600)
"""
"""A process listening on a port of its own (printed on its first line), as a service on its HTTP port."""


def _listening() -> "subprocess.Popen[str]":
    """A LISTENER process this test is the parent of and reaps only when it says (asyncio's watcher would reap it at
    once, so no zombie would be left to see)."""
    return subprocess.Popen([sys.executable, "-c", LISTENER], stdout=subprocess.PIPE, text=True)


@pytest.mark.parametrize("how", ["unreaped", "past_the_window"])
async def test_a_process_killed_outright_is_said_gone_whether_unreaped_or_first_looked_at_past_the_window(
    how: str,
) -> None:
    # a trial: meetings 17 s after `kill -9` read `silent for 17 s` without "(its process is gone)" (evaluation had
    # it): a killed process its parent has not reaped yet (a zombie: its pid still takes signal 0) counted alive,
    # and one whose last heartbeat was past the window when first looked at was never asked
    board = InstanceBoard(window_seconds=10)
    child = _listening()
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        identity = InstanceIdentity("meetings", http_port=port)
        identity.pid = child.pid
        board.record(identity.status("ok", []), received=time.monotonic() - (30 if how == "past_the_window" else 0))
        await board.check_local()
        assert "its process is gone" not in " ".join(board.view("meetings")[2])  # alive: silent at most
        os.kill(child.pid, signal.SIGKILL)
        if how == "unreaped":
            await eventually(lambda: _state(child.pid) == "Z", timeout=30)  # exited, its parent (this test) not told
        else:
            child.wait(timeout=30)
        await board.check_local()
        status, instances, attention = board.view("meetings")
        assert (status, [i["state"] for i in instances]) == ("down", ["missing"])
        assert attention[0].startswith(f"pid {child.pid} on ") and attention[0].endswith(" (its process is gone)")
    finally:
        child.kill()
        child.wait()
        assert child.stdout is not None
        child.stdout.close()


def test_a_service_is_judged_by_all_of_its_processes() -> None:
    board = InstanceBoard(window_seconds=10)
    first, second = InstanceIdentity("evaluation", http_port=8102), InstanceIdentity("evaluation", http_port=8112)
    board.record(first.status("ok", []), received=time.monotonic() - 700)
    board.record(second.status("ok", []), received=time.monotonic() - 700)
    assert board.services() == set()  # forgotten: silent longer than forget_seconds (600)
    board = InstanceBoard(window_seconds=10, forget_seconds=10**9)
    board.record(first.status("ok", []))
    board.record(second.status("degraded", ["outbox lag 70 s"]))
    status, instances, attention = board.view("evaluation")
    assert status == "degraded" and [i["state"] for i in instances] == ["reporting", "reporting"]
    assert attention == ["outbox lag 70 s"]

    board.record(second.status("ok", []))
    assert board.view("evaluation")[0] == "ok"
    assert board.view("meetings")[0] == "down"  # no process ever reported

    board.record(first.status("ok", []), received=time.monotonic() - 20)  # silent for longer than the window
    status, instances, attention = board.view("evaluation")
    assert status == "degraded" and {i["pid"]: i["state"] for i in instances} == {first.pid: "missing"} | {
        second.pid: "reporting"
    }
    assert "silent for" in attention[0]

    board.record(second.status("stopping", []))
    board.record(second.status("ok", []))  # a heartbeat overtaken by the stop
    status, instances, _ = board.view("evaluation")
    assert status == "down" and [i["state"] for i in instances] == ["missing", "stopped"]


def test_a_process_started_again_on_the_same_port_replaces_the_killed_one() -> None:
    # `make up` after a kill -9 starts the service again on its port: the killed process is gone, not silent
    board = InstanceBoard(window_seconds=10)
    killed, again = InstanceIdentity("meetings", http_port=8101), InstanceIdentity("meetings", http_port=8101)
    board.record(killed.status("ok", []), received=time.monotonic() - 30)
    assert board.view("meetings")[0] == "down"
    board.record(again.status("ok", [], {"outbox": {"parked": 0}}))
    status, instances, attention = board.view("meetings")
    assert status == "ok" and [i["pid"] for i in instances] == [again.pid] and attention == []
    assert board.latest_report("meetings") == {"outbox": {"parked": 0}}


async def test_a_process_stopped_by_a_signal_is_frozen_and_not_answering_until_it_runs_again() -> None:
    # a trial's `kill -STOP` of evaluation: its consumer stayed on evaluation.rpc and its last heartbeat within the
    # window, so the gateway's /health said "answering"; its state in /proc says it is stopped
    board = InstanceBoard(window_seconds=600)
    assert board.answering("evaluation") is None  # no heartbeats ever: nothing to judge by
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", "import time; time.sleep(600)")
    try:
        identity = InstanceIdentity("evaluation", http_port=free_port())
        identity.pid = process.pid
        board.record(identity.status("ok", []))
        await board.check_local()
        assert board.answering("evaluation") is True
        os.kill(process.pid, signal.SIGSTOP)
        await eventually(lambda: _stopped(process.pid), timeout=10)  # the signal is delivered asynchronously
        await board.check_local()
        status, instances, attention = board.view("evaluation")
        assert (status, [i["state"] for i in instances]) == ("down", ["frozen"])
        assert "frozen for" in attention[0] and "stopped by a signal" in attention[0], attention
        assert board.answering("evaluation") is False
        os.kill(process.pid, signal.SIGCONT)
        await eventually(lambda: not _stopped(process.pid), timeout=10)
        await board.check_local()
        assert board.view("evaluation")[0] == "ok" and board.answering("evaluation") is True
    finally:
        process.kill()
        await process.wait()


def test_a_process_silent_longer_than_the_window_is_not_answering() -> None:
    # a hung process elsewhere (another host, a stuck event loop) sends no heartbeat: not answering after the window
    board = InstanceBoard(window_seconds=15)
    identity = InstanceIdentity("evaluation", http_port=8102)
    board.record(identity.status("ok", []), received=time.monotonic() - 14)
    assert board.answering("evaluation") is True
    board.record(identity.status("ok", []), received=time.monotonic() - 16)
    assert board.answering("evaluation") is False
