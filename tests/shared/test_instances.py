"""How the gateway judges a service from its processes' heartbeats (shared.instances.InstanceBoard): down when none
reports within the window, degraded when one is silent or not ok, a clean stop is not a silence."""

import time

from shared.instances import InstanceBoard, InstanceIdentity


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
    assert attention == [f"pid {second.pid} on {second.host}:8112: outbox lag 70 s"]

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
